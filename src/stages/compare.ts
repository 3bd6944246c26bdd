// Stage `compare` (compare/<a>-vs-<b>/frac=<f>/cohort=<c>): model A against model B.
// Per fold: both models predicted the same slides (same split), so the AUC difference is paired;
// across folds: mean ± std of the differences with a paired t-test and an exact Wilcoxon
// signed-rank test; per fold also a paired DeLong test. With ensemble inputs (independent
// cohorts): paired DeLong on the two ensembles' predictions — the paper's comparison.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import { jsonSafe, readPredictions, type Predictions } from '../stats/index.ts';
import { readFoldPredictions } from './folds.ts';
import { compareFolds } from '../stats/folds-summary.ts';

export interface CompareParams { a: string; b: string; cohort: string; classes?: string[]; ci?: string; bootstrap?: unknown }

const stage: StageKind<CompareParams> = {
  kind: 'compare',
  async run(p, ctx) {
    let ens: [Predictions, Predictions, [string, string]] | undefined;
    if (ctx.inputs.a_ensemble && ctx.inputs.b_ensemble)
      ens = [readPredictions(join(ctx.inputs.a_ensemble.dir, 'predictions.csv')), readPredictions(join(ctx.inputs.b_ensemble.dir, 'predictions.csv')), [ctx.inputs.a_ensemble.id, ctx.inputs.b_ensemble.id]];
    const { folds, across, diffs, ensemble } = compareFolds(readFoldPredictions(ctx.inputs, 'a_', ctx.id), readFoldPredictions(ctx.inputs, 'b_', ctx.id), ens, ctx.id);
    const out = { a: p.a, b: p.b, cohort: p.cohort, across_folds: across, folds, ensemble_delong: ensemble ?? null };
    writeFileSync(join(ctx.outDir, 'compare.json'), JSON.stringify(jsonSafe(out), null, 2) + '\n');
    const metrics: Record<string, number> = { n_folds: folds.length };
    const put = (k: string, v: number | undefined) => { if (v !== undefined && Number.isFinite(v)) metrics[k] = v; };
    put('auc_diff_mean', across.diff.mean); put('auc_diff_std', across.diff.std);
    put('paired_t_p', across.paired_t?.p); put('wilcoxon_p', across.wilcoxon?.p);
    const e = ensemble;
    put('ensemble_auc_diff', e?.diff); put('ensemble_delong_z', e?.delong?.z); put('ensemble_delong_p', e?.delong?.p);
    ctx.log(`${p.a} − ${p.b} (${p.cohort}): ΔAUC ${across.diff.mean.toFixed(4)} ± ${across.diff.std.toFixed(4)} over ${diffs.length} folds` +
      (e?.delong ? `; ensembles: Δ ${e.diff?.toFixed(4)}, DeLong p ${e.delong.p.toPrecision(3)}` : ''));
    return { metrics };
  },
};

export default stage;
