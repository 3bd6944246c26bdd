// Classification metrics from predicted probabilities. AUC follows CLAM's evaluation: binary
// uses p_1; multi-class is the mean of one-vs-rest AUCs over classes present in the labels
// (an absent class is NaN and skipped). A set with a single class has no AUC: `undefined`,
// never a number (JSON null).
import { auc as binaryAuc } from './delong.ts';

export interface Predictions {
  slide_id: string[];
  /** True class index per slide. */
  y: number[];
  /** Row-major probabilities [n, C]. */
  prob: number[][];
  /** Predicted class (argmax unless given). */
  y_hat: number[];
  nClasses: number;
  /** Case (patient) of each slide, when the file has a case_id column (case-level bootstrap). */
  case_id?: string[];
}

export function argmax(p: number[]): number {
  let k = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[k]) k = i;
  return k;
}

export function column(prob: number[][], c: number): Float64Array {
  return Float64Array.from(prob, (r) => r[c]);
}

export function oneVsRest(y: number[], c: number): Uint8Array {
  return Uint8Array.from(y, (v) => (v === c ? 1 : 0));
}

export interface AucResult {
  /** Binary: AUC of p_1; multi-class: macro mean of per-class one-vs-rest AUCs. */
  auc: number | undefined;
  /** One-vs-rest AUC per class; NaN where the class is absent (multi-class) or undefined set. */
  per_class: number[];
}

export function aucOf(y: number[], prob: number[][], nClasses: number): AucResult {
  const present = new Set(y);
  if (present.size < 2) return { auc: undefined, per_class: Array(nClasses).fill(NaN) };
  if (nClasses === 2) {
    const a = binaryAuc(Uint8Array.from(y), column(prob, 1))!;
    return { auc: a, per_class: [a, a] };
  }
  const per = Array.from({ length: nClasses }, (_, c) =>
    present.has(c) ? binaryAuc(oneVsRest(y, c), column(prob, c))! : NaN);
  const ok = per.filter((v) => !Number.isNaN(v));
  return { auc: ok.reduce((s, v) => s + v, 0) / ok.length, per_class: per };
}

export function confusion(y: number[], yHat: number[], nClasses: number): number[][] {
  const m = Array.from({ length: nClasses }, () => Array(nClasses).fill(0));
  y.forEach((t, i) => m[t][yHat[i]]++);
  return m;
}

export interface ClassMetrics {
  n: number;
  accuracy: number;
  /** Mean recall over classes present in the labels. */
  balanced_accuracy: number;
  /** Binary: F1 of class 1; multi-class: macro F1 over present classes. */
  f1: number;
  per_class: { recall: number; precision: number; f1: number; support: number }[];
  confusion: number[][];
}

export function classMetrics(y: number[], yHat: number[], nClasses: number): ClassMetrics {
  const cm = confusion(y, yHat, nClasses);
  const n = y.length;
  let correct = 0;
  for (let c = 0; c < nClasses; c++) correct += cm[c][c];
  const per = cm.map((row, c) => {
    const support = row.reduce((s, v) => s + v, 0);
    const predicted = cm.reduce((s, r) => s + r[c], 0);
    const tp = row[c];
    const recall = support ? tp / support : NaN;
    const precision = predicted ? tp / predicted : support ? 0 : NaN;
    const f1 = support + predicted ? (2 * tp) / (support + predicted) : NaN;
    return { recall, precision, f1, support };
  });
  const presentCls = per.filter((p) => p.support > 0);
  const meanOf = (k: 'recall' | 'f1') => presentCls.reduce((s, p) => s + p[k], 0) / presentCls.length;
  return {
    n,
    accuracy: n ? correct / n : NaN,
    balanced_accuracy: presentCls.length ? meanOf('recall') : NaN,
    f1: nClasses === 2 ? (Number.isNaN(per[1].f1) ? 0 : per[1].f1) : presentCls.length ? meanOf('f1') : NaN,
    per_class: per,
    confusion: cm,
  };
}

export interface RocPoint { fpr: number; tpr: number; threshold: number }

/** ROC points of scores for label 1 (one point per distinct threshold, from (0,0) to (1,1)). */
export function rocPoints(labels: ArrayLike<number>, scores: ArrayLike<number>): RocPoint[] | undefined {
  const n = labels.length;
  let P = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) P++;
  const N = n - P;
  if (P === 0 || N === 0) return undefined;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const pts: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Infinity }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    if (labels[i] === 1) tp++;
    else fp++;
    if (k === n - 1 || scores[idx[k + 1]] !== scores[i]) pts.push({ fpr: fp / N, tpr: tp / P, threshold: scores[i] });
  }
  return pts;
}

/** TPR at each grid FPR by linear interpolation of the ROC (taking the highest TPR at a vertical step's FPR). */
export function interpRoc(pts: RocPoint[], grid: number[]): number[] {
  return grid.map((f) => {
    if (f <= 0) {
      let t = 0;
      for (const p of pts) if (p.fpr === 0) t = Math.max(t, p.tpr);
      return t;
    }
    for (let i = 1; i < pts.length; i++) {
      const a = pts[i - 1];
      const b = pts[i];
      if (b.fpr >= f) {
        if (b.fpr === a.fpr) return b.tpr;
        // At an exact hit take the last (highest) point with this FPR.
        if (b.fpr === f) {
          let t = b.tpr;
          for (let j = i + 1; j < pts.length && pts[j].fpr === f; j++) t = pts[j].tpr;
          return t;
        }
        return a.tpr + ((b.tpr - a.tpr) * (f - a.fpr)) / (b.fpr - a.fpr);
      }
    }
    return 1;
  });
}

export const FPR_GRID = Array.from({ length: 101 }, (_, i) => i / 100);

/** ROC of a prediction set: binary → class 1; multi-class → macro mean of one-vs-rest TPRs on the grid. */
export function rocCurve(y: number[], prob: number[][], nClasses: number, grid = FPR_GRID): { fpr: number[]; tpr: number[] } | undefined {
  if (new Set(y).size < 2) return undefined;
  const classes = nClasses === 2 ? [1] : [...new Set(y)].sort((a, b) => a - b);
  const curves = classes.map((c) => interpRoc(rocPoints(oneVsRest(y, c), column(prob, c))!, grid));
  return { fpr: grid, tpr: grid.map((_, i) => curves.reduce((s, t) => s + t[i], 0) / curves.length) };
}
