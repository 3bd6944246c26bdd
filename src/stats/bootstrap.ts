// Stratified, case-level bootstrap CI of the AUC: resample cases with replacement within
// each case-label stratum (so every replicate keeps both classes, as pROC's stratified
// bootstrap does), carrying all slides of a drawn case; percentile interval.
import { RandomState } from '../splits/mt19937.ts';
import { aucOf } from './metrics.ts';

export interface BootstrapOptions {
  n?: number;
  seed?: number;
  level?: number;
  /** Case id per slide; default: each slide is its own case. */
  caseOf?: string[];
}

export interface BootstrapResult {
  auc: number | undefined;
  ci: [number, number] | undefined;
  se: number | undefined;
  n: number;
  seed: number;
  level: number;
}

/** Quantile type 7 (R's default, numpy's linear). */
export function quantile(sorted: Float64Array | number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export function bootstrapAuc(y: number[], prob: number[][], nClasses: number, o: BootstrapOptions = {}): BootstrapResult {
  const n = o.n ?? 2000;
  const seed = o.seed ?? 1;
  const level = o.level ?? 0.95;
  const point = aucOf(y, prob, nClasses).auc;
  if (point === undefined) return { auc: undefined, ci: undefined, se: undefined, n, seed, level };
  const caseOf = o.caseOf ?? y.map((_, i) => String(i));
  const slidesOf = new Map<string, number[]>();
  caseOf.forEach((c, i) => {
    let s = slidesOf.get(c);
    if (!s) slidesOf.set(c, (s = []));
    s.push(i);
  });
  // A case's stratum is its highest slide label (the MIL case label used by the splits).
  const strata = new Map<number, number[][]>();
  for (const idx of slidesOf.values()) {
    const l = Math.max(...idx.map((i) => y[i]));
    let s = strata.get(l);
    if (!s) strata.set(l, (s = []));
    s.push(idx);
  }
  const groups = [...strata.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
  const rs = new RandomState(seed >>> 0);
  const stats: number[] = [];
  for (let b = 0; b < n; b++) {
    const yy: number[] = [];
    const pp: number[][] = [];
    for (const g of groups) {
      for (let k = 0; k < g.length; k++) {
        for (const i of g[rs.interval(g.length - 1)]) { yy.push(y[i]); pp.push(prob[i]); }
      }
    }
    const a = aucOf(yy, pp, nClasses).auc;
    if (a !== undefined) stats.push(a);
  }
  const sorted = Float64Array.from(stats).sort();
  const alpha = (1 - level) / 2;
  const m = stats.reduce((s, v) => s + v, 0) / stats.length;
  const se = Math.sqrt(stats.reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, stats.length - 1));
  return { auc: point, ci: [quantile(sorted, alpha), quantile(sorted, 1 - alpha)], se, n, seed, level };
}
