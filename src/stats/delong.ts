// AUC (Mann–Whitney, ties ½) and DeLong's variance, CI and paired test.
// The structural components (placement values) of DeLong, DeLong & Clarke-Pearson (1988)
// come from one ordering of all scores — the midrank formulation of Sun & Xu (2014) — so
// the cost is the sort: O(n) radix here (rank.ts), O(n log n) in general.
import { qnorm, twoSidedP } from './normal.ts';
import { sortScores } from './rank.ts';

/**
 * Placement value of every case in input order: V10 for positives, V01 for negatives, from
 * one sorted pass over both classes (groups of equal scores give the ½ for ties). Aligned
 * by index, so two models' components pair up for the paired test.
 */
export interface IndexedPlacements {
  place: Float64Array;
  isPos: Uint8Array;
  m: number;
  n: number;
  auc: number;
}

export function placementsByIndex(labels: ArrayLike<number>, scores: ArrayLike<number>): IndexedPlacements | undefined {
  const N = labels.length;
  if (scores.length !== N) throw new Error(`labels (${N}) and scores (${scores.length}) differ in length`);
  const isPos = new Uint8Array(N);
  let m = 0;
  for (let i = 0; i < N; i++) {
    const l = labels[i];
    if (l === 1) { isPos[i] = 1; m++; }
    else if (l !== 0) throw new Error(`label ${i} is ${l}, expected 0 or 1`);
  }
  const n = N - m;
  if (m === 0 || n === 0) return undefined;
  const { order, hi, lo } = sortScores(scores);
  const place = new Float64Array(N);
  let negBefore = 0;
  let posBefore = 0;
  let sum10 = 0;
  for (let k = 0; k < N; ) {
    let e = k + 1;
    while (e < N && hi[e] === hi[k] && lo[e] === lo[k]) e++;
    let pg = 0;
    for (let j = k; j < e; j++) pg += isPos[order[j]];
    const ng = e - k - pg;
    const v10 = (negBefore + ng / 2) / n;
    const v01 = (m - posBefore - pg + pg / 2) / m;
    for (let j = k; j < e; j++) {
      const i = order[j];
      place[i] = isPos[i] ? v10 : v01;
    }
    sum10 += pg * v10;
    negBefore += ng;
    posBefore += pg;
    k = e;
  }
  return { place, isPos, m, n, auc: sum10 / m };
}

/** DeLong covariance of two AUCs from index-aligned placements (variance when a = b). */
export function delongCov(a: IndexedPlacements, b: IndexedPlacements): number {
  return delongCov3(a, b)[2];
}

/** [var a, var b, cov a·b] in two passes over the cases. */
export function delongCov3(a: IndexedPlacements, b: IndexedPlacements): [number, number, number] {
  const N = a.place.length;
  const pa = a.place, pb = b.place, pos = a.isPos;
  let ma10 = 0, mb10 = 0, ma01 = 0, mb01 = 0;
  for (let i = 0; i < N; i++) {
    if (pos[i]) { ma10 += pa[i]; mb10 += pb[i]; }
    else { ma01 += pa[i]; mb01 += pb[i]; }
  }
  const m = a.m;
  const n = a.n;
  ma10 /= m; mb10 /= m; ma01 /= n; mb01 /= n;
  let aa10 = 0, bb10 = 0, ab10 = 0, aa01 = 0, bb01 = 0, ab01 = 0;
  for (let i = 0; i < N; i++) {
    if (pos[i]) {
      const x = pa[i] - ma10, y = pb[i] - mb10;
      aa10 += x * x; bb10 += y * y; ab10 += x * y;
    } else {
      const x = pa[i] - ma01, y = pb[i] - mb01;
      aa01 += x * x; bb01 += y * y; ab01 += x * y;
    }
  }
  const f10 = m > 1 ? 1 / ((m - 1) * m) : 0;
  const f01 = n > 1 ? 1 / ((n - 1) * n) : 0;
  return [aa10 * f10 + aa01 * f01, bb10 * f10 + bb01 * f01, ab10 * f10 + ab01 * f01];
}

/** AUC of scores for label 1 vs 0; undefined for a single-class set. */
export function auc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | undefined {
  return placementsByIndex(labels, scores)?.auc;
}

export interface DelongResult {
  auc: number;
  variance: number;
  se: number;
  ci: [number, number];
  level: number;
  n_pos: number;
  n_neg: number;
}

/** DeLong variance of the AUC and its normal CI, clipped to [0, 1]. */
export function delong(labels: ArrayLike<number>, scores: ArrayLike<number>, level = 0.95): DelongResult | undefined {
  const p = placementsByIndex(labels, scores);
  if (!p) return undefined;
  const { m, n } = p;
  const variance = delongCov(p, p);
  const se = Math.sqrt(variance);
  const z = qnorm(1 - (1 - level) / 2);
  return {
    auc: p.auc, variance, se, level, n_pos: m, n_neg: n,
    ci: [Math.max(0, p.auc - z * se), Math.min(1, p.auc + z * se)],
  };
}

export interface PairedDelong {
  auc_a: number;
  auc_b: number;
  diff: number;
  var_a: number;
  var_b: number;
  covariance: number;
  se_diff: number;
  z: number;
  p: number;
  ci_diff: [number, number];
  n_pos: number;
  n_neg: number;
}

/** Paired DeLong test of two score vectors on the same labelled cases (H0: equal AUC). */
export function delongPaired(labels: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>, level = 0.95): PairedDelong | undefined {
  const pa = placementsByIndex(labels, a);
  const pb = placementsByIndex(labels, b);
  if (!pa || !pb) return undefined;
  const { m, n } = pa;
  const [var_a, var_b, covariance] = delongCov3(pa, pb);
  const vd = var_a + var_b - 2 * covariance;
  const diff = pa.auc - pb.auc;
  const se_diff = Math.sqrt(Math.max(0, vd));
  // Identical predictions: no variance and no difference; the test says "no evidence".
  const z = se_diff === 0 ? (diff === 0 ? 0 : Math.sign(diff) * Infinity) : diff / se_diff;
  const q = qnorm(1 - (1 - level) / 2);
  return {
    auc_a: pa.auc, auc_b: pb.auc, diff, var_a, var_b, covariance, se_diff, z, p: twoSidedP(z),
    ci_diff: [diff - q * se_diff, diff + q * se_diff], n_pos: m, n_neg: n,
  };
}
