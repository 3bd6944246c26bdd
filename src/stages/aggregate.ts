// Stage `aggregate` (aggregate/<model>/frac=<f>/cohort=<c>): the paper's per-fold summary —
// mean ± std (sample, n − 1) of fold AUCs and accuracies, and the mean ROC on a common FPR grid
// with a ±1 std band. Folds whose test set holds one class have no AUC and are listed, not averaged.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import { aucOf, classMetrics, FPR_GRID, jsonSafe, meanStd, rocCurve } from '../stats/index.ts';
import { readFoldPredictions } from './folds.ts';
import { toCsv } from '../splits/csv.ts';

export interface AggregateParams { cohort: string; classes?: string[] }

const stage: StageKind<AggregateParams> = {
  kind: 'aggregate',
  async run(p, ctx) {
    const folds = readFoldPredictions(ctx.inputs, '', ctx.id);
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
    writeFileSync(join(ctx.outDir, 'roc_mean.csv'), toCsv(['fpr', 'tpr_mean', 'tpr_std', 'tpr_lower', 'tpr_upper'], curves.length ? roc : []));
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
    writeFileSync(join(ctx.outDir, 'summary.json'), JSON.stringify(jsonSafe(summary), null, 2) + '\n');
    const metrics: Record<string, number> = { n_folds: rows.length };
    const put = (k: string, v: number) => { if (Number.isFinite(v)) metrics[k] = v; };
    put('auc_mean', auc.mean); put('auc_std', auc.std); put('accuracy_mean', acc.mean); put('accuracy_std', acc.std);
    put('balanced_accuracy_mean', bacc.mean); put('f1_mean', f1.mean);
    ctx.log(`${p.cohort}: AUC ${auc.mean.toFixed(4)} ± ${auc.std.toFixed(4)} over ${auc.n} folds, accuracy ${acc.mean.toFixed(4)} ± ${acc.std.toFixed(4)}`);
    return { metrics, summary: jsonSafe({ auc_mean: auc.mean, auc_std: auc.std, n_folds: rows.length }) as any };
  },
};

export default stage;
