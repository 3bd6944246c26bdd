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
import { initParams, layout } from '../models/params.ts';
import { feedStandardize, openFold } from '../train/data.ts';
import { TRAIN_DEFAULTS, trainFrom, type EvalRow, type TrainOptions } from '../train/loop.ts';
import { EpochPace, peakRssMb } from '../train/pace.ts';
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
    ctx.log(`opening fold ${p.fold} bags`);
    const data = await openFold(dataset, splits.dir, p.fold, p.n_classes, {
      signal: ctx.signal,
      onLoad: (d, t) => ctx.progress(0, opts.max_epochs, `loading bags ${d}/${t}`),
      onProgress: (d, t, gb) => ctx.progress(0, opts.max_epochs, `packing the dataset's feature store ${d}/${t} (${gb.toFixed(2)} GB)`),
      onWait: () => ctx.log('waiting for the feature store another stage is packing'),
    });
    let standardize: Standardize | undefined;
    if (p.standardize) {
      standardize = await feedStandardize(data.train);
      data.train.standardize(standardize);
      data.val.standardize(standardize);
    }
    const m = p.model;
    const cfg = makeConfig({
      type: m.type, n_classes: p.n_classes, dim: data.dim, size: m.size, B: m.B, subtyping: p.subtyping,
      dropout: m.dropout, c1: m.c1, c2: m.c2, inst_loss: m.inst_loss, bag_loss: m.bag_loss,
    });
    const model = await createModel(cfg, initParams(layout(cfg), opts.seed));
    const size = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GB` : `${(b / 2 ** 20).toFixed(1)} MB`);
    ctx.log(`${cfg.type} (${cfg.size}, E=${cfg.dim}, C=${cfg.n_classes}) on ${data.train.size} train / ${data.val.size} val slides, engine ${model.engine}, ${lib.threads()} BLAS threads; ` +
      `bags ${data.train.mode === 'memory' ? 'in memory' : 'streamed'} (${size(data.train.bytes + data.val.bytes)}, largest ${size(Math.max(data.train.maxBagFloats, data.val.maxBagFloats) * 4)})`);
    const pace = new EpochPace(opts.max_epochs, (done, total, note) => ctx.progress(done, total, note));
    let readBefore = 0;
    const res = await trainFrom(model, (q) => (q.set === 'train' ? data.train : data.val).get(q.index, q.next), data.train.bags.map((b) => b.label), data.val.size, opts, {
      signal: ctx.signal,
      onBag: (done, total, patches) => pace.bag(done, total, patches),
      onEpoch(r) {
        for (const k of ['train_loss', 'train_error', 'train_inst_loss', 'val_loss', 'val_error', 'val_auc'] as const) {
          if (Number.isFinite(r[k])) ctx.metric(k, r[k], r.epoch);
        }
        const read = data.train.bytesRead + data.val.bytesRead;
        const rate = pace.epochEnd(r.epoch);
        // One stage-log line per epoch (Slurm logs and `runs/<exp>/<run>/logs/` show it).
        ctx.log(`epoch ${r.epoch}: train_loss ${fmt(r.train_loss)} train_error ${fmt(r.train_error)} inst_loss ${fmt(r.train_inst_loss)} ` +
          `val_loss ${fmt(r.val_loss)} val_error ${fmt(r.val_error)} val_auc ${fmt(r.val_auc)} · ${r.seconds.toFixed(1)} s, ${Math.round(rate)} patches/s` +
          (read > readBefore ? `, read ${size(read - readBefore)} at ${((read - readBefore) / 2 ** 20 / r.seconds).toFixed(0)} MB/s` : ''));
        readBefore = read;
        ctx.progress(r.epoch, opts.max_epochs, `val_loss ${fmt(r.val_loss)}`);
      },
    });
    data.train.close();
    data.val.close();
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
      summary: { best_epoch: res.best_epoch, stopped_early: res.stopped_early, threads: lib.threads(), n_train: data.train.size, n_val: data.val.size, dim: data.dim, bags: data.train.mode, peak_rss_mb: peakRssMb() },
    };
  },
};

export default stage;
