// Stage `compare` (compare/<a>-vs-<b>/frac=<f>/cohort=<c>): model A against model B.
// Per fold: both models predicted the same slides (same split), so the AUC difference is paired;
// across folds: mean ± std of the differences with a paired t-test and an exact Wilcoxon
// signed-rank test; per fold also a paired DeLong test. With ensemble inputs (independent
// cohorts): paired DeLong on the two ensembles' predictions — the paper's comparison.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import {
  alignPredictions, aucOf, comparePredictions, jsonSafe, meanStd, pairedT, readPredictions,
  wilcoxonSignedRank,
} from '../stats/index.ts';
import { readFoldPredictions } from './folds.ts';

export interface CompareParams { a: string; b: string; cohort: string; classes?: string[]; ci?: string; bootstrap?: unknown }

const stage: StageKind<CompareParams> = {
  kind: 'compare',
  async run(p, ctx) {
    const A = readFoldPredictions(ctx.inputs, 'a_', ctx.id);
    const B = new Map(readFoldPredictions(ctx.inputs, 'b_', ctx.id).map((f) => [f.fold, f]));
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
    if (folds.length === 0) throw new Error(`${ctx.id}: the a_ and b_ inputs share no fold`);
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
    let ensemble: unknown;
    if (ctx.inputs.a_ensemble && ctx.inputs.b_ensemble) {
      const ea = readPredictions(join(ctx.inputs.a_ensemble.dir, 'predictions.csv'));
      const eb = alignPredictions(ea, readPredictions(join(ctx.inputs.b_ensemble.dir, 'predictions.csv')), [ctx.inputs.a_ensemble.id, ctx.inputs.b_ensemble.id]);
      ensemble = comparePredictions(ea, eb);
    }
    const out = { a: p.a, b: p.b, cohort: p.cohort, across_folds: across, folds, ensemble_delong: ensemble ?? null };
    writeFileSync(join(ctx.outDir, 'compare.json'), JSON.stringify(jsonSafe(out), null, 2) + '\n');
    const metrics: Record<string, number> = { n_folds: folds.length };
    const put = (k: string, v: number | undefined) => { if (v !== undefined && Number.isFinite(v)) metrics[k] = v; };
    put('auc_diff_mean', across.diff.mean); put('auc_diff_std', across.diff.std);
    put('paired_t_p', across.paired_t?.p); put('wilcoxon_p', across.wilcoxon?.p);
    const e = ensemble as ReturnType<typeof comparePredictions> | undefined;
    put('ensemble_auc_diff', e?.diff); put('ensemble_delong_z', e?.delong?.z); put('ensemble_delong_p', e?.delong?.p);
    ctx.log(`${p.a} − ${p.b} (${p.cohort}): ΔAUC ${across.diff.mean.toFixed(4)} ± ${across.diff.std.toFixed(4)} over ${diffs.length} folds` +
      (e?.delong ? `; ensembles: Δ ${e.diff?.toFixed(4)}, DeLong p ${e.delong.p.toPrecision(3)}` : ''));
    return { metrics };
  },
};

export default stage;
