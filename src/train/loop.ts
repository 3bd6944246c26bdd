// The training loop of the paper: batch of one slide, Adam (L2 in the gradient, or AdamW),
// class-balanced sampling with replacement, early stopping on the validation slide loss
// (patience, never before min_epochs, ties count as improvement), best parameters restored.
// Pure computation: bags come in memory or from a source the stage and CLI verbs provide (I/O).
import { TrainingRng } from '../engine/rng.ts';
import type { BagModel } from '../models/engine.ts';
import { Adam } from './optim.ts';
import { layout } from '../models/params.ts';
import { binaryAucOf } from './metrics.ts';

export interface TrainBag {
  slide_id: string;
  features: Float32Array;
  n: number;
  label: number;
}

export interface TrainOptions {
  optimizer: 'adam' | 'adamw';
  lr: number;
  weight_decay: number;
  max_epochs: number;
  min_epochs: number;
  patience: number;
  early_stopping: boolean;
  class_balanced: boolean;
  seed: number;
}

export const TRAIN_DEFAULTS: TrainOptions = {
  optimizer: 'adam', lr: 2e-4, weight_decay: 1e-5, max_epochs: 200, min_epochs: 50, patience: 20,
  early_stopping: true, class_balanced: true, seed: 1,
};

export interface EpochRecord {
  epoch: number;
  train_loss: number;
  train_error: number;
  train_inst_loss: number;
  val_loss: number;
  val_error: number;
  val_auc: number;
  seconds: number;
}

export interface EvalRow {
  slide_id: string;
  Y: number;
  Y_hat: number;
  prob: Float32Array;
  loss: number;
}

export interface TrainResult {
  epochs: EpochRecord[];
  best_epoch: number;
  stopped_early: boolean;
  val: EvalRow[];
}

export interface TrainHooks {
  onEpoch?(r: EpochRecord): void;
  signal?: AbortSignal;
  /** Called after every training bag (progress inside long epochs): bags done, bags per epoch, its patches. */
  onBag?(done: number, total: number, patches: number): void;
}

/** Order of training slides for one epoch: class-balanced with replacement, or a permutation. */
export function epochOrder(labels: number[], nClasses: number, balanced: boolean, rng: TrainingRng): number[] {
  const n = labels.length;
  if (!balanced) {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }
  // weight of a slide = 1 / (slides of its class): every class equally likely per draw
  const count = new Array(nClasses).fill(0);
  for (const y of labels) count[y]++;
  const cum = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) cum[i] = s += 1 / count[labels[i]];
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const u = rng.next() * s;
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > u) hi = mid; else lo = mid + 1;
    }
    out.push(lo);
  }
  return out;
}

/** Eval-mode pass over bags: per-slide probabilities and bag loss (CE, or the model's bag loss). */
export function evaluateBags(model: BagModel, bags: TrainBag[]): EvalRow[] {
  return bags.map((b) => evalRow(model, b));
}

function evalRow(model: BagModel, b: TrainBag): EvalRow {
  const f = model.forward(b.features, b.n, { label: b.label });
  return { slide_id: b.slide_id, Y: b.label, Y_hat: f.Y_hat, prob: f.Y_prob, loss: f.bag_loss! };
}

export function summarizeEval(rows: EvalRow[], nClasses: number): { loss: number; error: number; auc: number } {
  if (!rows.length) return { loss: NaN, error: NaN, auc: NaN };
  const loss = rows.reduce((s, r) => s + r.loss, 0) / rows.length;
  const error = rows.filter((r) => r.Y_hat !== r.Y).length / rows.length;
  const auc = binaryAucOf(rows.map((r) => r.Y), rows.map((r) => Array.from(r.prob)), nClasses);
  return { loss, error, auc };
}

/**
 * A request of the loop for one bag: of the training or validation set, by index, and the bag it
 * will ask for next (so a streaming source reads it while this one computes).
 */
export interface BagRequest {
  set: 'train' | 'val';
  index: number;
  next?: number;
}

/** Bags in memory. */
export function train(model: BagModel, trainBags: TrainBag[], valBags: TrainBag[], opts: TrainOptions, hooks: TrainHooks = {}): TrainResult {
  const loop = trainLoop(model, trainBags.map((b) => b.label), valBags.length, opts, hooks);
  let r = loop.next();
  while (!r.done) r = loop.next((r.value.set === 'train' ? trainBags : valBags)[r.value.index]);
  return r.value;
}

/** Bags from a source that may read them on demand (one bag's view valid until the next request). */
export async function trainFrom(model: BagModel, source: (req: BagRequest) => Promise<TrainBag>, trainLabels: number[], nVal: number, opts: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const loop = trainLoop(model, trainLabels, nVal, opts, hooks);
  let r = loop.next();
  while (!r.done) r = loop.next(await source(r.value));
  return r.value;
}

/** The loop itself, as a generator of bag requests: one loop for in-memory and streamed bags. */
function* trainLoop(model: BagModel, labels: number[], nVal: number, opts: TrainOptions, hooks: TrainHooks): Generator<BagRequest, TrainResult, TrainBag> {
  if (!labels.length) throw new Error('no training slides');
  const C = model.cfg.n_classes;
  const lay = layout(model.cfg);
  const opt = new Adam(lay.views, model.params.length, {
    lr: opts.lr, weightDecay: opts.weight_decay, decoupled: opts.optimizer === 'adamw',
  });
  const rng = new TrainingRng(opts.seed);
  const dropRng = new TrainingRng(opts.seed * 7919 + 17);
  const epochs: EpochRecord[] = [];
  let best = Infinity, bestEpoch = 0, counter = 0, stopped = false;
  let bestParams: Float32Array | null = null;
  const useVal = opts.early_stopping && nVal > 0;
  function* evaluate(): Generator<BagRequest, EvalRow[], TrainBag> {
    const rows: EvalRow[] = [];
    for (let i = 0; i < nVal; i++) rows.push(evalRow(model, yield { set: 'val', index: i, next: i + 1 < nVal ? i + 1 : undefined }));
    return rows;
  }
  for (let epoch = 1; epoch <= opts.max_epochs; epoch++) {
    const t0 = performance.now();
    const order = epochOrder(labels, C, opts.class_balanced, rng);
    let lossSum = 0, errSum = 0, instSum = 0;
    for (let k = 0; k < order.length; k++) {
      if (hooks.signal?.aborted) throw new Error('training aborted');
      const b: TrainBag = yield { set: 'train', index: order[k], next: order[k + 1] };
      const f = model.forward(b.features, b.n, { label: b.label, train: true, rng: dropRng });
      if (!Number.isFinite(f.loss!)) throw new Error(`${b.slide_id}: loss became ${f.loss} at epoch ${epoch} (diverged)`);
      model.backward();
      opt.step(model.params, model.grad, (model as { inactive?: Set<number> }).inactive);
      model.paramsChanged?.();
      lossSum += f.bag_loss!;
      instSum += f.inst_loss ?? 0;
      errSum += f.Y_hat === b.label ? 0 : 1;
      hooks.onBag?.(k + 1, order.length, b.n);
    }
    const v = summarizeEval(yield* evaluate(), C);
    const rec: EpochRecord = {
      epoch, train_loss: lossSum / order.length, train_error: errSum / order.length, train_inst_loss: instSum / order.length,
      val_loss: v.loss, val_error: v.error, val_auc: v.auc, seconds: (performance.now() - t0) / 1000,
    };
    epochs.push(rec);
    hooks.onEpoch?.(rec);
    if (!useVal) continue;
    if (v.loss <= best) {
      // ties count as improvement (the later, equally good model is kept)
      best = v.loss;
      bestEpoch = epoch;
      counter = 0;
      bestParams = model.params.slice();
    } else {
      counter++;
      if (counter >= opts.patience && epoch > opts.min_epochs) {
        stopped = true;
        break;
      }
    }
  }
  if (useVal && bestParams) {
    model.params.set(bestParams);
    model.paramsChanged?.();
  } else {
    bestEpoch = epochs.length;
  }
  return { epochs, best_epoch: bestEpoch, stopped_early: stopped, val: yield* evaluate() };
}
