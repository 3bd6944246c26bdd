// AUC (Mann–Whitney, ties ½) and DeLong's variance, CI and paired test.
// O(n log n): the placement value of each case is found by binary search in the sorted
// scores of the other class — the same quantity as the midrank formulation (structural
// components of DeLong, DeLong & Clarke-Pearson 1988; fast form of Sun & Xu 2014).
import { qnorm, twoSidedP } from './normal.ts';

export interface Placements {
  /** V10_i: for each positive, P(neg < x_i) + ½ P(neg = x_i). */
  v10: Float64Array;
  /** V01_j: for each negative, P(pos > y_j) + ½ P(pos = y_j). */
  v01: Float64Array;
  auc: number;
}

function lowerBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Splits scores by a 0/1 label vector; throws on NaN scores (they have no rank). */
export function byClass(labels: ArrayLike<number>, scores: ArrayLike<number>): { pos: Float64Array; neg: Float64Array } {
  if (labels.length !== scores.length) throw new Error(`labels (${labels.length}) and scores (${scores.length}) differ in length`);
  let m = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) m++;
  const pos = new Float64Array(m);
  const neg = new Float64Array(labels.length - m);
  let a = 0;
  let b = 0;
  for (let i = 0; i < labels.length; i++) {
    const s = scores[i];
    if (Number.isNaN(s)) throw new Error(`score ${i} is NaN`);
    if (labels[i] === 1) pos[a++] = s;
    else if (labels[i] === 0) neg[b++] = s;
    else throw new Error(`label ${i} is ${labels[i]}, expected 0 or 1`);
  }
  return { pos, neg };
}

/** Placement values; undefined when either class is empty (AUC is not defined). */
export function placements(pos: Float64Array, neg: Float64Array): Placements | undefined {
  const m = pos.length;
  const n = neg.length;
  if (m === 0 || n === 0) return undefined;
  const sp = Float64Array.from(pos).sort();
  const sn = Float64Array.from(neg).sort();
  const v10 = new Float64Array(m);
  const v01 = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < m; i++) {
    const lb = lowerBound(sn, pos[i]);
    const ub = lb < n && sn[lb] === pos[i] ? upperBound(sn, pos[i]) : lb;
    const v = (lb + (ub - lb) / 2) / n;
    v10[i] = v;
    sum += v;
  }
  for (let j = 0; j < n; j++) {
    const lb = lowerBound(sp, neg[j]);
    const ub = lb < m && sp[lb] === neg[j] ? upperBound(sp, neg[j]) : lb;
    v01[j] = (m - ub + (ub - lb) / 2) / m;
  }
  return { v10, v01, auc: sum / m };
}

/** AUC of scores for label 1 vs 0; undefined for a single-class set. */
export function auc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | undefined {
  const { pos, neg } = byClass(labels, scores);
  return placements(pos, neg)?.auc;
}

function mean(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/** Sample covariance (denominator n − 1); 0 for a single element, as the variance term vanishes. */
function cov(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  if (n < 2) return 0;
  const ma = mean(a);
  const mb = mean(b);
  let s = 0;
  for (let i = 0; i < n; i++) s += (a[i] - ma) * (b[i] - mb);
  return s / (n - 1);
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
  const { pos, neg } = byClass(labels, scores);
  const p = placements(pos, neg);
  if (!p) return undefined;
  return delongFromPlacements(p, level);
}

export function delongFromPlacements(p: Placements, level = 0.95): DelongResult {
  const m = p.v10.length;
  const n = p.v01.length;
  const variance = cov(p.v10, p.v10) / m + cov(p.v01, p.v01) / n;
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
  const A = byClass(labels, a);
  const B = byClass(labels, b);
  const pa = placements(A.pos, A.neg);
  const pb = placements(B.pos, B.neg);
  if (!pa || !pb) return undefined;
  const m = pa.v10.length;
  const n = pa.v01.length;
  const var_a = cov(pa.v10, pa.v10) / m + cov(pa.v01, pa.v01) / n;
  const var_b = cov(pb.v10, pb.v10) / m + cov(pb.v01, pb.v01) / n;
  const covariance = cov(pa.v10, pb.v10) / m + cov(pa.v01, pb.v01) / n;
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
