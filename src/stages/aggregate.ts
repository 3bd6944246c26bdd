// Stage `aggregate` (aggregate/<model>/frac=<f>/cohort=<c>): the paper's per-fold summary —
// mean ± std (sample, n − 1) of fold AUCs and accuracies, and the mean ROC on a common FPR grid
// with a ±1 std band. Folds whose test set holds one class have no AUC and are listed, not averaged.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import { jsonSafe } from '../stats/index.ts';
import { readFoldPredictions } from './folds.ts';
import { toCsv } from '../io/csv.ts';

import { aggregateFolds, type AggregateParams } from '../stats/folds-summary.ts';
export type { AggregateParams };

const stage: StageKind<AggregateParams> = {
  kind: 'aggregate',
  async run(p, ctx) {
    const { summary, rocRows, auc, acc } = aggregateFolds(readFoldPredictions(ctx.inputs, '', ctx.id), p);
    writeFileSync(join(ctx.outDir, 'roc_mean.csv'), toCsv(['fpr', 'tpr_mean', 'tpr_std', 'tpr_lower', 'tpr_upper'], rocRows));
    const { f1, balanced_accuracy: bacc } = summary;
    writeFileSync(join(ctx.outDir, 'summary.json'), JSON.stringify(jsonSafe(summary), null, 2) + '\n');
    const metrics: Record<string, number> = { n_folds: summary.n_folds };
    const put = (k: string, v: number) => { if (Number.isFinite(v)) metrics[k] = v; };
    put('auc_mean', auc.mean); put('auc_std', auc.std); put('accuracy_mean', acc.mean); put('accuracy_std', acc.std);
    put('balanced_accuracy_mean', bacc.mean); put('f1_mean', f1.mean);
    ctx.log(`${p.cohort}: AUC ${auc.mean.toFixed(4)} ± ${auc.std.toFixed(4)} over ${auc.n} folds, accuracy ${acc.mean.toFixed(4)} ± ${acc.std.toFixed(4)}`);
    const warnings: string[] = [];
    const without = summary.folds_without_auc;
    const nDefined = summary.n_folds - without.length;
    if (summary.n_folds && !nDefined) warnings.push(`no fold has an AUC (every ${p.cohort} set holds one class): the AUC columns of the report are empty`);
    else if (without.length) warnings.push(`fold(s) ${without.join(', ')} have no AUC (one-class ${p.cohort} set); the mean is over ${nDefined} of ${summary.n_folds} folds`);
    for (const w of warnings) ctx.log(`warning: ${w}`);
    return { metrics, summary: jsonSafe({ auc_mean: auc.mean, auc_std: auc.std, n_folds: summary.n_folds }) as any, ...(warnings.length ? { warnings } : {}) };
  },
};

export default stage;
