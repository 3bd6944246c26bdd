// A quick learnability check of a synthetic dataset that needs no MIL training: fit a logistic
// regression on instances (with the instance ground truth, which MIL never sees), then score
// each held-out slide by aggregating its instance scores two ways:
//  - max: the top instance decides (what max-pooling MIL can at best do);
//  - top-k mean: mean of the k highest scores, k = 5 % of the bag (a stand-in for attention
//    pooling, which weighs how many instances look tumorous).
// Reported: instance AUC and both slide AUCs. Used by tests and to tune the quickstart.
import type { SyntheticSlide } from './synthetic.ts';

export function aucBinary(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let nPos = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) if (labels[idx[t]]) {
      rankSumPos += avgRank;
      nPos++;
    }
    i = j + 1;
  }
  const nNeg = idx.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Full-batch gradient descent logistic regression with a little L2; returns [w..., b]. */
export function fitLogistic(X: Float32Array, y: Uint8Array, dim: number, epochs = 150, lr = 0.5, l2 = 1e-3): Float64Array {
  const n = y.length;
  const w = new Float64Array(dim + 1);
  const g = new Float64Array(dim + 1);
  // Balance the classes: tumour instances are rare.
  const nPos = y.reduce((a, b) => a + b, 0);
  const wPos = n / (2 * Math.max(1, nPos));
  const wNeg = n / (2 * Math.max(1, n - nPos));
  for (let e = 0; e < epochs; e++) {
    g.fill(0);
    for (let i = 0; i < n; i++) {
      let z = w[dim];
      const o = i * dim;
      for (let j = 0; j < dim; j++) z += w[j] * X[o + j];
      const p = 1 / (1 + Math.exp(-z));
      const r = (p - y[i]) * (y[i] ? wPos : wNeg);
      for (let j = 0; j < dim; j++) g[j] += r * X[o + j];
      g[dim] += r;
    }
    for (let j = 0; j <= dim; j++) w[j] -= lr * (g[j] / n + (j < dim ? l2 * w[j] : 0));
  }
  return w;
}

export interface SanityResult {
  instanceAuc: number;
  slideAucMax: number;
  slideAucTopK: number;
  nTrainSlides: number;
  nTestSlides: number;
}

/** Binary (normal vs any tumour) check; slides of the first `trainFrac` of cases train the scorer. */
export function sanityCheck(slides: SyntheticSlide[], trainFrac = 0.5): SanityResult {
  const dim = slides[0].dim;
  const cases = [...new Set(slides.map((s) => s.case_id))];
  const trainCases = new Set(cases.slice(0, Math.max(1, Math.floor(cases.length * trainFrac))));
  const train = slides.filter((s) => trainCases.has(s.case_id));
  const test = slides.filter((s) => !trainCases.has(s.case_id));
  const nTr = train.reduce((a, s) => a + s.n, 0);
  const X = new Float32Array(nTr * dim);
  const y = new Uint8Array(nTr);
  let off = 0;
  for (const s of train) {
    X.set(s.features, off * dim);
    for (let i = 0; i < s.n; i++) y[off + i] = s.instance_labels[i] > 0 ? 1 : 0;
    off += s.n;
  }
  const w = fitLogistic(X, y, dim);
  const instScores: number[] = [];
  const instLabels: number[] = [];
  const maxS: number[] = [];
  const topS: number[] = [];
  const bagY: number[] = [];
  for (const s of test) {
    const sc = new Float64Array(s.n);
    for (let i = 0; i < s.n; i++) {
      let z = w[dim];
      for (let j = 0; j < dim; j++) z += w[j] * s.features[i * dim + j];
      sc[i] = z;
      instScores.push(z);
      instLabels.push(s.instance_labels[i] > 0 ? 1 : 0);
    }
    const sorted = Array.from(sc).sort((a, b) => b - a);
    const k = Math.max(2, Math.round(0.05 * s.n));
    maxS.push(sorted[0]);
    topS.push(sorted.slice(0, k).reduce((a, b) => a + b, 0) / k);
    bagY.push(s.label_index > 0 ? 1 : 0);
  }
  return {
    instanceAuc: aucBinary(instScores, instLabels),
    slideAucMax: aucBinary(maxS, bagY),
    slideAucTopK: aucBinary(topS, bagY),
    nTrainSlides: train.length,
    nTestSlides: test.length,
  };
}
