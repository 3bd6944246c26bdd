// Stage `evaluate` (evaluate/<model>/frac=<f>/fold=<k>/cohort=<c>): one trained fold model on
// its fold's test split (cohort "test") or on every slide of an independent cohort.
// Writes predictions.csv (CLAM's fold layout), embeddings.csv and metrics.json.
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import { BagFeed, openDatasetBags } from '../bags/feed.ts';
import { loadModel } from '../models/index.ts';
import { readBagPaths as bagPaths, readDatasetDir, readSplitsCsv } from '../splits/index.ts';
import { jsonSafe, summarize, writePredictions, type Predictions } from '../stats/index.ts';

export interface EvaluateParams {
  fold: number;
  /** "test" (the fold's test split) or a cohort name (all its slides). */
  cohort: string;
  n_classes: number;
  ci?: 'delong' | 'bootstrap';
  bootstrap?: { n?: number; seed?: number };
}

/** Metrics for the manifest: finite numbers only (an undefined AUC is left out). */
export function scalarMetrics(s: ReturnType<typeof summarize>): Record<string, number> {
  const m: Record<string, number> = { n: s.n, accuracy: s.accuracy, balanced_accuracy: s.balanced_accuracy, f1: s.f1 };
  if (s.auc !== undefined) m.auc = s.auc;
  if (s.auc_ci) { m.auc_ci_low = s.auc_ci[0]; m.auc_ci_high = s.auc_ci[1]; }
  for (const k of Object.keys(m)) if (!Number.isFinite(m[k])) delete m[k];
  return m;
}

const stage: StageKind<EvaluateParams> = {
  kind: 'evaluate',
  async run(p, ctx) {
    const { model: mIn, dataset: dIn, splits: sIn } = ctx.inputs;
    if (!mIn || !dIn) throw new Error(`${ctx.id}: needs inputs 'model' and 'dataset'`);
    const { slides } = readDatasetDir(dIn.dir);
    const paths = bagPaths(dIn.dir);
    let ids: string[];
    if (p.cohort === 'test') {
      if (!sIn) throw new Error(`${ctx.id}: cohort 'test' needs the 'splits' input`);
      const f = join(sIn.dir, `splits_${p.fold}.csv`);
      ids = readSplitsCsv(f).test;
      if (ids.length === 0) throw new Error(`${f}: fold ${p.fold} has an empty test set`);
    } else {
      ids = slides.map((s) => s.slide_id);
    }
    const bySlide = new Map(slides.map((s) => [s.slide_id, s]));
    const model = await loadModel(join(mIn.dir, 'model.safetensors'));
    const C = model.config.n_classes;
    if (p.n_classes && C !== p.n_classes) throw new Error(`${ctx.id}: checkpoint has ${C} classes, the task ${p.n_classes}`);
    const pred: Predictions = { slide_id: [], y: [], prob: [], y_hat: [], nClasses: C };
    const caseOf: string[] = [];
    const emb = createWriteStream(join(ctx.outDir, 'embeddings.csv'));
    let header = false;
    const refs = ids.map((sid) => {
      const s = bySlide.get(sid);
      if (!s || !paths.has(sid)) throw new Error(`${ctx.id}: slide '${sid}' of the split is not in ${join(dIn.dir, 'slides.csv')}`);
      if (s.label_index >= C) throw new Error(`${ctx.id}: slide '${sid}' has label index ${s.label_index}, the model knows ${C} classes`);
      return { slide_id: sid, label: s.label_index };
    });
    // One bag in flight at a time plus the next one being read (src/bags/feed.ts).
    const reader = await openDatasetBags(dIn, {
      signal: ctx.signal,
      onProgress: (d, t, gb) => ctx.progress(0, ids.length, `packing the dataset's feature store ${d}/${t} (${gb.toFixed(2)} GB)`),
      onWait: () => ctx.log('waiting for the feature store another stage is packing'),
    });
    const feed = await BagFeed.open(reader, refs, { mode: 'stream' });
    for (let i = 0; i < ids.length; i++) {
      if (ctx.signal.aborted) throw new Error(`${ctx.id}: aborted`);
      const sid = ids[i];
      const s = bySlide.get(sid)!;
      const bag = await feed.get(i, i + 1 < ids.length ? i + 1 : undefined);
      const out = model.predict(bag.features, bag.n, feed.dim, sid);
      pred.slide_id.push(sid);
      pred.y.push(s.label_index);
      pred.prob.push(Array.from(out.Y_prob, (v) => Number(v)));
      pred.y_hat.push(out.Y_hat);
      caseOf.push(s.case_id);
      if (!header) {
        emb.write(`slide_id,label,${Array.from(out.embedding, (_, j) => `e_${j}`).join(',')}\n`);
        header = true;
      }
      emb.write(`${sid},${s.label_index},${Array.from(out.embedding).join(',')}\n`);
      ctx.progress(i + 1, ids.length, sid);
    }
    feed.close();
    await new Promise<void>((res, rej) => emb.end((e?: Error | null) => (e ? rej(e) : res())));
    writePredictions(join(ctx.outDir, 'predictions.csv'), pred);
    const s = summarize(pred, { ci: p.ci, bootstrap: p.bootstrap, caseOf });
    writeFileSync(join(ctx.outDir, 'metrics.json'), JSON.stringify(jsonSafe({ cohort: p.cohort, fold: p.fold, ...s }), null, 2) + '\n');
    const metrics = scalarMetrics(s);
    ctx.log(`${p.cohort}: ${s.n} slides, AUC ${s.auc === undefined ? 'undefined (one class)' : s.auc.toFixed(4)}, accuracy ${s.accuracy.toFixed(4)}`);
    const warnings = s.auc === undefined ? [`the ${p.cohort} set of fold ${p.fold} holds one class (${s.n} slides): no AUC`] : [];
    return { metrics, engine: model.engine, summary: { cohort: p.cohort, fold: p.fold, auc_defined: s.auc_defined }, ...(warnings.length ? { warnings } : {}) };
  },
};

export default stage;
