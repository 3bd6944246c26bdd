// The numbers of the statistics stages over fold predictions, as pure functions: the aggregate
// stage (mean ± SD over folds, mean ROC), the compare stage (paired differences, t, Wilcoxon,
// DeLong) and the ensemble (mean softmax). The stages only read inputs and write these; the
// report's sample run calls the same functions, so there is one implementation of each.
import { aucOf, argmax, classMetrics, FPR_GRID, rocCurve, type Predictions } from './metrics.ts';
import { meanStd, pairedT, wilcoxonSignedRank } from './paired.ts';
import { alignPredictions } from './predictions.ts';
import { comparePredictions } from './summary.ts';

export interface AggregateParams { cohort: string; classes?: string[] }

/** The aggregate stage's numbers from fold predictions (pure: the report's sample run uses it too). */
export function aggregateFolds(folds: { fold: number; pred: Predictions }[], p: AggregateParams) {
  const rows = folds.map(({ fold, pred }) => {
    const a = aucOf(pred.y, pred.prob, pred.nClasses);
    const m = classMetrics(pred.y, pred.y_hat, pred.nClasses);
    return {
      fold, n: pred.y.length, auc: a.auc, auc_per_class: pred.nClasses > 2 ? a.per_class : undefined,
      accuracy: m.accuracy, balanced_accuracy: m.balanced_accuracy, f1: m.f1,
      roc: rocCurve(pred.y, pred.prob, pred.nClasses),
    };
  });
  const defined = rows.filter((r) => r.auc !== undefined);
  const stat = (k: 'auc' | 'accuracy' | 'balanced_accuracy' | 'f1') => meanStd(rows.filter((r) => r[k] !== undefined && Number.isFinite(r[k])).map((r) => r[k] as number));
  const auc = stat('auc');
  const acc = stat('accuracy');
  const bacc = stat('balanced_accuracy');
  const f1 = stat('f1');
  // Mean ROC over folds on the grid.
  const curves = rows.filter((r) => r.roc).map((r) => r.roc!.tpr);
  const roc = FPR_GRID.map((fpr, i) => {
    const ms = meanStd(curves.map((c) => c[i]));
    const sd = Number.isFinite(ms.std) ? ms.std : 0;
    return [fpr, ms.mean, sd, Math.max(0, ms.mean - sd), Math.min(1, ms.mean + sd)];
  });
  const summary = {
    cohort: p.cohort,
    classes: p.classes,
    n_folds: rows.length,
    n_folds_with_auc: defined.length,
    folds_without_auc: rows.filter((r) => r.auc === undefined).map((r) => r.fold),
    std_note: 'sample standard deviation over folds (n - 1)',
    auc, accuracy: acc, balanced_accuracy: bacc, f1,
    folds: rows.map(({ roc: _roc, ...r }) => r),
  };
  return { summary, rocRows: curves.length ? roc : [], auc, acc };
}

type FoldPreds = { fold: number; id: string; pred: Predictions }[];

/** The compare stage's numbers (pure: the report's sample run uses it too). */
export function compareFolds(Afolds: FoldPreds, Bfolds: FoldPreds, ens?: [Predictions, Predictions, [string, string]], where = 'compare') {
  const A = Afolds;
  const B = new Map(Bfolds.map((f) => [f.fold, f]));
  const folds = A.filter((f) => B.has(f.fold)).map((fa) => {
    const fb = B.get(fa.fold)!;
    const b = alignPredictions(fa.pred, fb.pred, [fa.id, fb.id]);
    const aucA = aucOf(fa.pred.y, fa.pred.prob, fa.pred.nClasses).auc;
    const aucB = aucOf(b.y, b.prob, b.nClasses).auc;
    const c = comparePredictions(fa.pred, b);
    return {
      fold: fa.fold, n: fa.pred.y.length, auc_a: aucA, auc_b: aucB,
      diff: aucA !== undefined && aucB !== undefined ? aucA - aucB : undefined,
      delong_z: c.delong?.z, delong_p: c.delong?.p,
    };
  });
  if (folds.length === 0) throw new Error(`${where}: the a_ and b_ inputs share no fold`);
  const diffs = folds.map((f) => f.diff).filter((d): d is number => d !== undefined);
  const across = {
    n_folds: folds.length,
    n_folds_with_auc: diffs.length,
    diff: meanStd(diffs),
    auc_a: meanStd(folds.map((f) => f.auc_a).filter((v): v is number => v !== undefined)),
    auc_b: meanStd(folds.map((f) => f.auc_b).filter((v): v is number => v !== undefined)),
    paired_t: pairedT(diffs),
    wilcoxon: wilcoxonSignedRank(diffs),
    a_better_in: diffs.filter((d) => d > 0).length,
    note: 'Monte Carlo folds share cases, so fold differences are correlated and these fold-level p-values are optimistic; prefer the paired DeLong on ensemble predictions of an independent cohort.',
  };
  const ensemble = ens ? comparePredictions(ens[0], alignPredictions(ens[0], ens[1], ens[2])) : undefined;
  return { folds, across, diffs, ensemble };
}

export function meanSoftmax(preds: Predictions[], names: string[] = []): Predictions {
  const first = preds[0];
  const aligned = preds.map((p, k) => (k === 0 ? p : alignPredictions(first, p, [names[0] ?? 'fold 0', names[k] ?? `fold ${k}`])));
  const C = first.nClasses;
  const prob = first.slide_id.map((_, i) => {
    const row = new Array<number>(C).fill(0);
    for (const p of aligned) for (let c = 0; c < C; c++) row[c] += p.prob[i][c];
    return row.map((v) => v / aligned.length);
  });
  return { slide_id: first.slide_id, y: first.y, prob, y_hat: prob.map(argmax), nClasses: C };
}

