// Stage `train` (train/<model>[/<sweep>]/frac=<f>/fold=<k>): one model × hyperparameters ×
// training fraction × fold. Reads the fold's train/val slides from `dataset` + `splits`,
// trains with the native engine (or tfjs, see src/models/engine.ts), and writes
// model.safetensors (config + standardisation inside), epochs.csv and val_predictions.csv.
// Bad input throws (naming the slide) before anything is written, so nothing reaches the cache.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import type { Model, Train } from '../spec/types.gen.ts';
import { blas } from '../engine/blas.ts';
import { makeConfig } from '../models/config.ts';
import { saveCheckpoint, type Standardize } from '../models/checkpoint.ts';
import { createModel } from '../models/engine.ts';
import { applyStandardize } from '../models/index.ts';
import { initParams, layout } from '../models/params.ts';
import { computeStandardize, loadFold } from '../train/data.ts';
import { TRAIN_DEFAULTS, train, type EvalRow, type TrainOptions } from '../train/loop.ts';
import { predictionsCsv } from '../stats/predictions.ts';
import type { Predictions } from '../stats/metrics.ts';

export interface TrainParams {
  model: Model;
  n_classes: number;
  subtyping: boolean;
  train: Train;
  fold: number;
  frac: number;
  standardize: boolean;
}

const asPredictions = (rows: EvalRow[], nClasses: number): Predictions => ({
  slide_id: rows.map((r) => r.slide_id), y: rows.map((r) => r.Y), y_hat: rows.map((r) => r.Y_hat), prob: rows.map((r) => Array.from(r.prob)), nClasses,
});

const fmt = (v: number) => (Number.isFinite(v) ? v.toPrecision(8) : '');

const stage: StageKind<TrainParams> = {
  kind: 'train',
  async run(p, ctx) {
    const { dataset, splits } = ctx.inputs;
    if (!dataset || !splits) throw new Error(`${ctx.id}: needs inputs 'dataset' and 'splits'`);
    const lib = blas();
    lib.setThreads(ctx.device.threads);
    const opts: TrainOptions = { ...TRAIN_DEFAULTS, ...(p.train as Partial<TrainOptions>) };
    ctx.log(`loading fold ${p.fold} bags`);
    const data = await loadFold(dataset.dir, splits.dir, p.fold, p.n_classes, (d, t) => ctx.progress(0, opts.max_epochs, `loading bags ${d}/${t}`));
    let standardize: Standardize | undefined;
    if (p.standardize) {
      standardize = computeStandardize(data.train, data.dim);
      for (const b of [...data.train, ...data.val]) b.features = applyStandardize(b.features, b.n, data.dim, standardize);
    }
    const m = p.model;
    const cfg = makeConfig({
      type: m.type, n_classes: p.n_classes, dim: data.dim, size: m.size, B: m.B, subtyping: p.subtyping,
      dropout: m.dropout, c1: m.c1, c2: m.c2, inst_loss: m.inst_loss, bag_loss: m.bag_loss,
    });
    const model = await createModel(cfg, initParams(layout(cfg), opts.seed), ctx.device);
    ctx.log(`${cfg.type} (${cfg.size}, E=${cfg.dim}, C=${cfg.n_classes}) on ${data.train.length} train / ${data.val.length} val slides, engine ${model.engine}, ${lib.threads()} BLAS threads`);
    const res = train(model, data.train, data.val, opts, {
      signal: ctx.signal,
      onEpoch(r) {
        for (const k of ['train_loss', 'train_error', 'train_inst_loss', 'val_loss', 'val_error', 'val_auc'] as const) {
          if (Number.isFinite(r[k])) ctx.metric(k, r[k], r.epoch);
        }
        ctx.progress(r.epoch, opts.max_epochs, `val_loss ${fmt(r.val_loss)}`);
      },
    });
    await saveCheckpoint(join(ctx.outDir, 'model.safetensors'), {
      config: cfg, params: model.params, standardize,
      meta: { best_epoch: String(res.best_epoch), engine: model.engine, classes: JSON.stringify(data.classes) },
    });
    const cols = ['epoch', 'train_loss', 'train_error', 'train_inst_loss', 'val_loss', 'val_error', 'val_auc'] as const;
    writeFileSync(join(ctx.outDir, 'epochs.csv'),
      [cols.join(','), ...res.epochs.map((r) => cols.map((c) => (c === 'epoch' ? String(r.epoch) : fmt(r[c]))).join(','))].join('\n') + '\n');
    writeFileSync(join(ctx.outDir, 'val_predictions.csv'), predictionsCsv(asPredictions(res.val, cfg.n_classes), { precision: 8 }));
    const best = res.epochs[res.best_epoch - 1];
    const metrics: Record<string, number> = {
      best_epoch: res.best_epoch,
      epochs_run: res.epochs.length,
      train_loss: res.epochs[res.epochs.length - 1].train_loss,
      seconds_per_epoch: res.epochs.reduce((s, r) => s + r.seconds, 0) / res.epochs.length,
    };
    if (best) for (const k of ['val_loss', 'val_error', 'val_auc'] as const) if (Number.isFinite(best[k])) metrics[k] = best[k];
    for (const k of Object.keys(metrics)) if (!Number.isFinite(metrics[k])) delete metrics[k];
    return {
      metrics,
      engine: model.engine,
      summary: { best_epoch: res.best_epoch, stopped_early: res.stopped_early, threads: lib.threads(), n_train: data.train.length, n_val: data.val.length, dim: data.dim },
    };
  },
};

export default stage;
