// Validation AUC for early-stopping logs: the stats module's AUC (Mann-Whitney; macro
// one-vs-rest for multi-class), NaN when undefined (one class only).
import { aucOf } from '../stats/metrics.ts';

export function binaryAucOf(y: number[], prob: number[][], nClasses: number): number {
  if (!y.length) return NaN;
  const r = aucOf(y, prob, nClasses);
  return r.auc === undefined ? NaN : r.auc;
}
