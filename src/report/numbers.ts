// Small statistics the report needs on top of src/stats: fold summaries, paired tests over
// folds (t and exact Wilcoxon signed-rank), PCA of embeddings, number formatting.

export const mean = (x: number[]) => (x.length ? x.reduce((a, b) => a + b, 0) / x.length : NaN);
/** Sample standard deviation (n − 1), as fold-to-fold spread is reported in the paper. */
export function sd(x: number[]): number {
  if (x.length < 2) return NaN;
  const m = mean(x);
  return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1));
}

function lnGamma(z: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  z -= 1;
  let x = c[0];
  for (let i = 1; i < 9; i++) x += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
}

/** Regularized incomplete beta I_x(a, b) by its continued fraction (modified Lentz). */
export function betaInc(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - betaInc(1 - x, b, a);
  const front = Math.exp(a * Math.log(x) + b * Math.log(1 - x) - (lnGamma(a) + lnGamma(b) - lnGamma(a + b))) / a;
  let f = 1, C = 1, D = 0;
  for (let i = 0; i <= 300; i++) {
    const m = Math.floor(i / 2);
    let num: number;
    if (i === 0) num = 1;
    else if (i % 2 === 0) num = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    else num = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    D = 1 + num * D;
    if (Math.abs(D) < 1e-30) D = 1e-30;
    D = 1 / D;
    C = 1 + num / C;
    if (Math.abs(C) < 1e-30) C = 1e-30;
    const cd = C * D;
    f *= cd;
    if (Math.abs(1 - cd) < 1e-12) break;
  }
  return front * (f - 1);
}

/** Two-sided p of Student's t with df degrees of freedom. */
export const tTwoSidedP = (t: number, df: number) => betaInc(df / (df + t * t), df / 2, 0.5);

/** Student t quantile by bisection on the CDF (report-grade precision). */
export function tQuantile(p: number, df: number): number {
  let lo = 0, hi = 1000;
  const target = 2 * (1 - p); // two-sided tail mass
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (tTwoSidedP(mid, df) > target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface PairedTest {
  n: number;
  meanDiff: number;
  sdDiff: number;
  ci: [number, number];
  tP: number;
  wilcoxonP: number;
}

/** Paired comparison of per-fold values a − b: t-test (+95 % CI) and exact Wilcoxon signed-rank. */
export function pairedTest(a: number[], b: number[]): PairedTest {
  const d = a.map((v, i) => v - b[i]).filter((v) => Number.isFinite(v));
  const n = d.length;
  const m = mean(d);
  const s = sd(d);
  let tP = NaN;
  let ci: [number, number] = [NaN, NaN];
  if (n >= 2) {
    if (s === 0) tP = m === 0 ? 1 : 0;
    else tP = tTwoSidedP(m / (s / Math.sqrt(n)), n - 1);
    const h = tQuantile(0.975, n - 1) * (s / Math.sqrt(n));
    ci = [m - h, m + h];
  }
  return { n, meanDiff: m, sdDiff: s, ci, tP, wilcoxonP: wilcoxonExact(d) };
}

/** Exact two-sided Wilcoxon signed-rank p (zeros dropped, mid-ranks for ties); n ≤ 20 enumerated. */
export function wilcoxonExact(d: number[]): number {
  const x = d.filter((v) => v !== 0 && Number.isFinite(v));
  const n = x.length;
  if (n === 0) return 1;
  if (n > 20) return NaN;
  const order = x.map((v, i) => [Math.abs(v), i] as const).sort((p, q) => p[0] - q[0]);
  const ranks = new Array<number>(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const wPlus = x.reduce((s, v, i) => s + (v > 0 ? ranks[i] : 0), 0);
  const total = (n * (n + 1)) / 2;
  const stat = Math.min(wPlus, total - wPlus);
  let count = 0;
  const N = 1 << n;
  for (let mask = 0; mask < N; mask++) {
    let w = 0;
    for (let i = 0; i < n; i++) if (mask & (1 << i)) w += ranks[i];
    if (Math.min(w, total - w) <= stat + 1e-9) count++;
  }
  return Math.min(1, count / N);
}

/** Top-2 eigenpairs of a symmetric PSD matrix by power iteration with deflation. */
function top2(M: Float64Array[], iters = 500): { vals: number[]; vecs: Float64Array[] } {
  const m = M.length;
  const vecs: Float64Array[] = [];
  const vals: number[] = [];
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: m }, (_, i) => 1 + ((i * 7919) % 13) / 13);
    let lambda = 0;
    for (let it = 0; it < iters; it++) {
      const w = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        const row = M[i];
        let acc = 0;
        for (let j = 0; j < m; j++) acc += row[j] * v[j];
        w[i] = acc;
      }
      for (const u of vecs) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += w[i] * u[i];
        for (let i = 0; i < m; i++) w[i] -= dot * u[i];
      }
      let norm = 0;
      for (let i = 0; i < m; i++) norm += w[i] * w[i];
      norm = Math.sqrt(norm);
      if (norm === 0) break;
      let delta = 0;
      for (let i = 0; i < m; i++) {
        const x = w[i] / norm;
        delta = Math.max(delta, Math.abs(x - v[i]));
        w[i] = x;
      }
      v = w;
      const done = Math.abs(norm - lambda) <= 1e-12 * norm && delta < 1e-10;
      lambda = norm;
      if (done) break;
    }
    vecs.push(v);
    vals.push(lambda);
  }
  return { vals, vecs };
}

/**
 * First two principal components (scores) of rows. With fewer rows than dimensions (slide
 * embeddings: ~100 slides × 512) the n × n Gram matrix is decomposed instead of the covariance.
 */
export function pca2(rows: number[][]): { scores: [number, number][]; explained: [number, number] } {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  if (n < 2 || d === 0) return { scores: rows.map(() => [0, 0]), explained: [NaN, NaN] };
  const mu = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mu[j] += r[j] / n;
  const X = rows.map((r) => Float64Array.from(r, (v, j) => v - mu[j]));
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  };
  let scores: [number, number][];
  let vals: number[];
  let trace = 0;
  if (n <= d) {
    const K = Array.from({ length: n }, () => new Float64Array(n));
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) K[i][j] = K[j][i] = dot(X[i], X[j]);
    for (let i = 0; i < n; i++) trace += K[i][i];
    const e = top2(K);
    vals = e.vals;
    // X v_c = σ_c u_c with σ_c² the Gram eigenvalue.
    scores = X.map((_, i) => [e.vecs[0][i] * Math.sqrt(vals[0]), e.vecs[1][i] * Math.sqrt(vals[1])]);
  } else {
    const C = Array.from({ length: d }, () => new Float64Array(d));
    for (const r of X) for (let i = 0; i < d; i++) for (let j = i; j < d; j++) C[i][j] += r[i] * r[j];
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) C[i][j] = C[j][i];
    for (let i = 0; i < d; i++) trace += C[i][i];
    const e = top2(C);
    vals = e.vals;
    scores = X.map((r) => [dot(r, e.vecs[0]), dot(r, e.vecs[1])]);
  }
  // Sign convention: the most extreme score of each component is positive (stable pictures).
  for (const c of [0, 1]) {
    let k = 0;
    for (let i = 1; i < n; i++) if (Math.abs(scores[i][c]) > Math.abs(scores[k][c])) k = i;
    if (scores[k][c] < 0) for (const s of scores) s[c] = -s[c];
  }
  return { scores, explained: [vals[0] / trace, vals[1] / trace] };
}

export const fmt = (x: number | undefined | null, digits = 3) => (x === undefined || x === null || !Number.isFinite(x) ? '–' : x.toFixed(digits));
export const fmtP = (p: number | undefined | null) => (p === undefined || p === null || !Number.isFinite(p) ? '–' : p < 0.001 ? '< 0.001' : p.toFixed(3));
export const pct = (f: number) => `${+(f * 100).toFixed(1)} %`;
