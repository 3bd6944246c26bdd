// Stage `ensemble` (ensemble/<model>/frac=<f>/cohort=<name>): the paper's 10-model ensemble on
// an independent cohort — mean softmax of the fold models per slide, argmax → Y_hat, AUC with a
// DeLong CI (or a stratified bootstrap when asked, and always for a multi-class macro AUC).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import { alignPredictions, argmax, jsonSafe, summarize, writePredictions, type Predictions } from '../stats/index.ts';
import { readFoldPredictions } from './folds.ts';
import { scalarMetrics } from './evaluate.ts';

import { meanSoftmax } from '../stats/folds-summary.ts';
export { meanSoftmax };

export interface EnsembleParams { cohort: string; classes?: string[]; ci?: 'delong' | 'bootstrap'; bootstrap?: { n?: number; seed?: number } }

const stage: StageKind<EnsembleParams> = {
  kind: 'ensemble',
  async run(p, ctx) {
    const folds = readFoldPredictions(ctx.inputs, '', ctx.id);
    const ens = meanSoftmax(folds.map((f) => f.pred), folds.map((f) => f.id));
    writePredictions(join(ctx.outDir, 'predictions.csv'), ens);
    const s = summarize(ens, { ci: p.ci, bootstrap: p.bootstrap });
    writeFileSync(join(ctx.outDir, 'metrics.json'), JSON.stringify(jsonSafe({ cohort: p.cohort, n_models: folds.length, ...s }), null, 2) + '\n');
    ctx.log(`${p.cohort}: ensemble of ${folds.length} fold models, AUC ${s.auc?.toFixed(4) ?? 'undefined'}` +
      (s.auc_ci ? ` [${s.auc_ci[0].toFixed(4)}, ${s.auc_ci[1].toFixed(4)}] (${s.ci_method})` : ''));
    return { metrics: { ...scalarMetrics(s), n_models: folds.length }, summary: jsonSafe({ ci_method: s.ci_method }) as any };
  },
};

export default stage;
