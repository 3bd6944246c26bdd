// Tests on per-fold paired differences (model A − model B on the same fold's test set).
// Monte Carlo folds share training and test cases, so fold differences are not independent;
// both tests below are reported with that caveat (the per-cohort paired DeLong on ensemble
// predictions has no such problem).
import { twoSidedP } from './normal.ts';

export function meanStd(xs: number[]): { mean: number; std: number; n: number } {
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = xs.reduce((s, v) => s + v, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : NaN;
  return { mean, std, n };
}

function lgamma(x: number): number {
  // Lanczos (g = 7, n = 9), |ε| < 1e-15 for x > 0.
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta (modified Lentz). */
function betacf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d; if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d; h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d; if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function ibeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lbt) * betacf(a, b, x)) / a;
  return 1 - (Math.exp(lbt) * betacf(b, a, 1 - x)) / b;
}

/** Two-sided p of Student's t with df degrees of freedom. */
export function tTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return Number.isNaN(t) ? NaN : 0;
  return ibeta(df / (df + t * t), df / 2, 0.5);
}

/** Quantile of Student's t (bisection on the CDF; only needed for a handful of CIs). */
export function qt(p: number, df: number): number {
  const cdf = (t: number) => (t >= 0 ? 1 - tTwoSidedP(t, df) / 2 : tTwoSidedP(t, df) / 2);
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface PairedT { n: number; mean: number; std: number; t: number; df: number; p: number; ci: [number, number] }

export function pairedT(d: number[], level = 0.95): PairedT | undefined {
  const { mean, std, n } = meanStd(d);
  if (n < 2) return undefined;
  const se = std / Math.sqrt(n);
  const df = n - 1;
  const t = se === 0 ? (mean === 0 ? 0 : Math.sign(mean) * Infinity) : mean / se;
  const q = qt(1 - (1 - level) / 2, df);
  return { n, mean, std, t, df, p: se === 0 && mean === 0 ? 1 : tTwoSidedP(t, df), ci: [mean - q * se, mean + q * se] };
}

/**
 * Wilcoxon signed-rank test, exact by enumerating all 2^n sign patterns (midranks for tied
 * |d|, zeros dropped); normal approximation above n = 20.
 */
export function wilcoxonSignedRank(d: number[]): { n: number; w_plus: number; p: number; exact: boolean } | undefined {
  const x = d.filter((v) => v !== 0 && Number.isFinite(v));
  const n = x.length;
  if (n === 0) return undefined;
  const order = x.map((v, i) => [Math.abs(v), i] as [number, number]).sort((a, b) => a[0] - b[0]);
  const rank = new Array<number>(n);
  for (let k = 0; k < n; ) {
    let e = k + 1;
    while (e < n && order[e][0] === order[k][0]) e++;
    const r = (k + 1 + e) / 2;
    for (let j = k; j < e; j++) rank[order[j][1]] = r;
    k = e;
  }
  const wPlus = x.reduce((s, v, i) => s + (v > 0 ? rank[i] : 0), 0);
  const total = (n * (n + 1)) / 2;
  const mu = total / 2;
  if (n <= 20) {
    const dev = Math.abs(wPlus - mu);
    let extreme = 0;
    const N = 2 ** n;
    for (let mask = 0; mask < N; mask++) {
      let w = 0;
      for (let i = 0; i < n; i++) if (mask & (1 << i)) w += rank[i];
      if (Math.abs(w - mu) >= dev - 1e-9) extreme++;
    }
    return { n, w_plus: wPlus, p: extreme / N, exact: true };
  }
  const sd = Math.sqrt(rank.reduce((s, r) => s + r * r, 0) / 4);
  return { n, w_plus: wPlus, p: twoSidedP((wPlus - mu) / sd), exact: false };
}
