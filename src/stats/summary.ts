// One JSON summary of a prediction set (metrics.json of evaluate / ensemble, `stats auc`),
// and the paired comparison of two prediction sets (`stats compare`, compare stage).
import { bootstrapAuc } from './bootstrap.ts';
import { delong, delongPaired } from './delong.ts';
import { aucOf, classMetrics, column, oneVsRest, rocCurve, rocPoints, type Predictions } from './metrics.ts';

export interface SummaryOptions {
  ci?: 'delong' | 'bootstrap';
  bootstrap?: { n?: number; seed?: number };
  level?: number;
  caseOf?: string[];
}

/** NaN/±Infinity are not JSON: write null. */
export function jsonSafe(x: unknown): unknown {
  if (typeof x === 'number') return Number.isFinite(x) ? x : null;
  if (Array.isArray(x)) return x.map(jsonSafe);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v === undefined ? null : jsonSafe(v)]));
  return x === undefined ? null : x;
}

export function summarize(p: Predictions, o: SummaryOptions = {}) {
  const level = o.level ?? 0.95;
  const C = p.nClasses;
  const a = aucOf(p.y, p.prob, C);
  const cm = classMetrics(p.y, p.y_hat, C);
  const classesPresent = [...new Set(p.y)].sort((x, y) => x - y);
  let ci: [number, number] | undefined;
  let se: number | undefined;
  let variance: number | undefined;
  let ciMethod: string | undefined;
  const perClassCi: ([number, number] | null)[] = [];
  if (a.auc !== undefined) {
    if (C === 2 && (o.ci ?? 'delong') === 'delong') {
      const d = delong(Uint8Array.from(p.y), column(p.prob, 1), level)!;
      ci = d.ci; se = d.se; variance = d.variance; ciMethod = 'delong';
    } else {
      // DeLong covers one binary AUC; a macro mean over one-vs-rest AUCs gets the bootstrap.
      const b = bootstrapAuc(p.y, p.prob, C, { ...o.bootstrap, level, caseOf: o.caseOf ?? p.case_id });
      ci = b.ci; se = b.se; ciMethod = `bootstrap(n=${b.n}, seed=${b.seed}, stratified, case-level)`;
    }
    if (C > 2) {
      for (let c = 0; c < C; c++) {
        const d = classesPresent.includes(c) ? delong(oneVsRest(p.y, c), column(p.prob, c), level) : undefined;
        perClassCi.push(d ? d.ci : null);
      }
    }
  }
  const roc = rocCurve(p.y, p.prob, C);
  // Exact ROC vertices [fpr, tpr, threshold]: binary for class 1, multi-class one-vs-rest per class.
  const pts = (c: number) => rocPoints(oneVsRest(p.y, c), column(p.prob, c))?.map((q) => [q.fpr, q.tpr, q.threshold]) ?? null;
  const roc_points = a.auc === undefined ? undefined : C === 2 ? pts(1) : Array.from({ length: C }, (_, c) => pts(c));
  return {
    n: p.y.length,
    n_classes: C,
    class_counts: Array.from({ length: C }, (_, c) => p.y.filter((v) => v === c).length),
    auc: a.auc,
    auc_defined: a.auc !== undefined,
    auc_note: a.auc === undefined ? 'undefined: the set holds a single class' : undefined,
    auc_ci: ci,
    auc_se: se,
    auc_variance: variance,
    ci_method: ciMethod,
    ci_level: level,
    auc_per_class: C > 2 ? a.per_class : undefined,
    auc_per_class_ci_delong: C > 2 ? perClassCi : undefined,
    accuracy: cm.accuracy,
    balanced_accuracy: cm.balanced_accuracy,
    f1: cm.f1,
    per_class: cm.per_class,
    confusion: cm.confusion,
    roc,
    roc_points,
  };
}

export type Summary = ReturnType<typeof summarize>;

/** Paired comparison of two models' predictions on the same slides. */
export function comparePredictions(a: Predictions, b: Predictions, level = 0.95) {
  const C = a.nClasses;
  if (b.nClasses !== C) throw new Error(`class counts differ: ${C} vs ${b.nClasses}`);
  const A = aucOf(a.y, a.prob, C);
  const B = aucOf(b.y, b.prob, C);
  const perClass: ReturnType<typeof delongPaired>[] = [];
  let paired: ReturnType<typeof delongPaired>;
  if (C === 2) {
    paired = delongPaired(Uint8Array.from(a.y), column(a.prob, 1), column(b.prob, 1), level);
  } else {
    for (let c = 0; c < C; c++) perClass.push(delongPaired(oneVsRest(a.y, c), column(a.prob, c), column(b.prob, c), level));
    paired = undefined;
  }
  return {
    n: a.y.length,
    auc_a: A.auc,
    auc_b: B.auc,
    diff: A.auc !== undefined && B.auc !== undefined ? A.auc - B.auc : undefined,
    delong: paired,
    delong_per_class: C > 2 ? perClass : undefined,
    note: C > 2 ? 'multi-class: paired DeLong per one-vs-rest class' : undefined,
  };
}
