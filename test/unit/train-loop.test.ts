import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainingRng } from '../../src/engine/rng.ts';
import { makeConfig } from '../../src/models/config.ts';
import { initParams, layout } from '../../src/models/params.ts';
import { NativeModel } from '../../src/models/native.ts';
import { epochOrder, train, TRAIN_DEFAULTS, type TrainBag } from '../../src/train/loop.ts';
import { computeStandardize } from '../../src/train/data.ts';
import { writeBag } from '../../src/io/h5.ts';
import { loadModel } from '../../src/models/index.ts';
import trainStage from '../../src/stages/train.ts';
import type { StageContext } from '../../src/types/stage.ts';

/** Bags whose positive slides contain a few instances shifted along one direction. */
function synthBags(count: number, E: number, seed: number): TrainBag[] {
  const r = new TrainingRng(seed);
  return Array.from({ length: count }, (_, s) => {
    const label = s % 2;
    const n = 20 + r.int(20);
    const f = Float32Array.from({ length: n * E }, () => r.normal());
    if (label) for (let i = 0; i < 4; i++) f[i * E] += 4;
    return { slide_id: `s${seed}_${s}`, features: f, n, label };
  });
}

test('class-balanced sampling draws each class about equally often, with replacement', () => {
  const labels = [...Array(90).fill(0), ...Array(10).fill(1)];
  const rng = new TrainingRng(1);
  let ones = 0, total = 0;
  for (let e = 0; e < 50; e++) {
    const o = epochOrder(labels, 2, true, rng);
    assert.equal(o.length, 100);
    ones += o.filter((i) => labels[i] === 1).length;
    total += o.length;
  }
  assert.ok(Math.abs(ones / total - 0.5) < 0.03, `share of class 1: ${ones / total}`);
  const perm = epochOrder(labels, 2, false, new TrainingRng(2));
  assert.deepEqual([...perm].sort((a, b) => a - b), labels.map((_, i) => i));
});

test('training learns a separable task, is seeded, and early stopping keeps the best epoch', () => {
  const E = 8;
  const tr = synthBags(24, E, 1), va = synthBags(10, E, 2);
  const cfg = makeConfig({ type: 'clam_sb', n_classes: 2, dim: E, B: 4 });
  const opts = { ...TRAIN_DEFAULTS, lr: 1e-3, max_epochs: 12, min_epochs: 3, patience: 2, seed: 4 };
  const run = () => {
    const m = new NativeModel(cfg, initParams(layout(cfg), opts.seed));
    const res = train(m, tr, va, opts);
    return { m, res };
  };
  const a = run(), b = run();
  assert.deepEqual(Array.from(a.m.params.subarray(0, 50)), Array.from(b.m.params.subarray(0, 50)));
  assert.deepEqual(a.res.epochs.map((e) => e.train_loss), b.res.epochs.map((e) => e.train_loss));
  const ep = a.res.epochs;
  assert.ok(ep[ep.length - 1].train_loss < ep[0].train_loss, 'training loss decreases');
  const best = Math.min(...ep.map((e) => e.val_loss));
  const bestEpoch = a.res.best_epoch;
  assert.equal(ep[bestEpoch - 1].val_loss, best);
  // ties count as improvement: no later epoch has the same best loss
  assert.ok(ep.slice(bestEpoch).every((e) => e.val_loss > best));
  if (a.res.stopped_early) {
    assert.ok(ep.length > opts.min_epochs);
    assert.equal(ep.length - bestEpoch, opts.patience);
  }
  // restored parameters are those of the best epoch: val loss recomputed equals the best
  const vl = a.res.val.reduce((s, r) => s + r.loss, 0) / a.res.val.length;
  assert.ok(Math.abs(vl - best) < 1e-9);
  assert.ok(ep[bestEpoch - 1].val_auc > 0.8, `val AUC ${ep[bestEpoch - 1].val_auc}`);
  const other = new NativeModel(cfg, initParams(layout(cfg), 5));
  train(other, tr, va, { ...opts, seed: 5 });
  assert.notDeepEqual(Array.from(other.params.subarray(0, 20)), Array.from(a.m.params.subarray(0, 20)));
});

test('standardisation: mean/std over all training instances', () => {
  const bags = [{ features: Float32Array.from([1, 10, 3, 10]), n: 2 }, { features: Float32Array.from([5, 10]), n: 1 }];
  const s = computeStandardize(bags, 2);
  assert.deepEqual(Array.from(s.mean), [3, 10]);
  assert.ok(Math.abs(s.std[0] - Math.sqrt(8 / 3)) < 1e-6);
  assert.equal(s.std[1], 1); // constant column: std 1, not a division by zero
});

// --- the stage, on a tiny dataset in the dataset/splits stage layouts -----------------------

async function makeDataset(root: string, opts: { nan?: string; badDim?: string; badLabel?: string } = {}) {
  const ds = join(root, 'dataset'), sp = join(root, 'splits');
  mkdirSync(join(ds, 'bags'), { recursive: true });
  mkdirSync(sp, { recursive: true });
  const E = 6;
  const bags = synthBags(16, E, 7);
  const rows = ['case_id,slide_id,label,label_index,n,path'];
  for (const b of bags) {
    let f = b.features, dim = E;
    if (b.slide_id === opts.nan) { f = f.slice(); f[3] = NaN; }
    if (b.slide_id === opts.badDim) { dim = E - 1; f = f.slice(0, b.n * dim); }
    const li = b.slide_id === opts.badLabel ? 2 : b.label;
    await writeBag(join(ds, 'bags', `${b.slide_id}.h5`), f, b.n, dim);
    rows.push(`c_${b.slide_id},${b.slide_id},${li ? 'tumor' : 'normal'},${li},${b.n},bags/${b.slide_id}.h5`);
  }
  writeFileSync(join(ds, 'slides.csv'), rows.join('\n') + '\n');
  writeFileSync(join(ds, 'dataset.json'), JSON.stringify({ classes: ['normal', 'tumor'], dim: E, n_slides: 16, n_cases: 16, source: 'synthetic' }));
  const ids = bags.map((b) => b.slide_id);
  const split = [',train,val,test', ...ids.slice(0, 10).map((id, i) => `${i},${id},${ids[10 + i] && i < 4 ? ids[10 + i] : ''},${i < 2 ? ids[14 + i] : ''}`)];
  writeFileSync(join(sp, 'splits_0.csv'), split.join('\n') + '\n');
  return { ds, sp, ids };
}

function fakeCtx(root: string, ds: string, sp: string) {
  const out = join(root, 'out');
  mkdirSync(out, { recursive: true });
  const metrics: { name: string; value: number; step?: number }[] = [];
  const input = (dir: string, kind: string) => ({ id: kind, kind, key: 'k', dir, manifest: {} as any });
  const ctx: StageContext = {
    id: 'train/clam_sb/frac=1/fold=0', key: 'test', outDir: out,
    inputs: { dataset: input(ds, 'dataset'), splits: input(sp, 'splits') }, externals: {},
    device: { kind: 'cpu', index: 0, threads: 1 }, signal: new AbortController().signal,
    log() {}, progress() {}, metric(name, value, step) { metrics.push({ name, value, step }); },
  };
  return { ctx, out, metrics };
}

const params = (model: 'clam_sb' | 'mil', standardize = false) => ({
  model: { name: model, type: model, B: 4 } as any, n_classes: 2, subtyping: false,
  train: { max_epochs: 4, min_epochs: 1, patience: 2, seed: 3, lr: 1e-3 } as any, fold: 0, frac: 1, standardize,
});

test('train stage writes checkpoint, epochs.csv, val predictions, metrics and the engine', async () => {
  const root = mkdtempSync(join(tmpdir(), 'milflow-train-'));
  const { ds, sp } = await makeDataset(root);
  const { ctx, out, metrics } = fakeCtx(root, ds, sp);
  const res = await trainStage.run(params('clam_sb', true), ctx);
  assert.match(res.engine!, /^native-(openblas|js)$/);
  assert.ok(res.metrics!.best_epoch >= 1 && res.metrics!.epochs_run <= 4);
  const epochs = readFileSync(join(out, 'epochs.csv'), 'utf8').trim().split('\n');
  assert.equal(epochs[0], 'epoch,train_loss,train_error,train_inst_loss,val_loss,val_error,val_auc');
  assert.equal(epochs.length - 1, res.metrics!.epochs_run);
  const preds = readFileSync(join(out, 'val_predictions.csv'), 'utf8').trim().split('\n');
  assert.equal(preds[0], 'slide_id,Y,Y_hat,p_0,p_1');
  assert.equal(preds.length - 1, 4);
  assert.ok(metrics.some((m) => m.name === 'val_auc' && m.step === 1));
  assert.ok(metrics.some((m) => m.name === 'train_inst_loss'));
  const m = await loadModel(join(out, 'model.safetensors'));
  assert.equal(m.config.type, 'clam_sb');
  assert.ok(m.standardize, 'standardisation stored in the checkpoint');
});

test('train stage rejects bad input naming the slide, before writing anything', async () => {
  for (const [kind, rx] of [['nan', /non-finite/], ['badDim', /dimension 5, the model expects 6/], ['badLabel', /outside the label map/]] as const) {
    const root = mkdtempSync(join(tmpdir(), 'milflow-train-bad-'));
    const { ds, sp, ids } = await makeDataset(root, { [kind]: ids0(kind) });
    const { ctx, out } = fakeCtx(root, ds, sp);
    await assert.rejects(trainStage.run(params('mil'), ctx), (e: Error) => {
      assert.match(e.message, rx);
      assert.ok(e.message.includes(ids0(kind)), `error names the slide: ${e.message}`);
      return true;
    });
    assert.ok(!existsSync(join(out, 'model.safetensors')));
    void ids;
  }
});

function ids0(kind: string) {
  return kind === 'badDim' ? 's7_3' : 's7_1';
}

test('engine selection: MILFLOW_ENGINE=tfjs trains with the tfjs variant and records it', async () => {
  const { chooseEngine } = await import('../../src/models/engine.ts');
  const prev = process.env.MILFLOW_ENGINE;
  try {
    delete process.env.MILFLOW_ENGINE;
    assert.equal((await chooseEngine({ kind: 'cpu' })).name, 'native');
    process.env.MILFLOW_ENGINE = 'bogus';
    await assert.rejects(chooseEngine(), /MILFLOW_ENGINE must be native, tfjs or auto/);
    process.env.MILFLOW_ENGINE = 'tfjs';
    const root = mkdtempSync(join(tmpdir(), 'milflow-train-tfjs-'));
    const { ds, sp } = await makeDataset(root);
    const { ctx } = fakeCtx(root, ds, sp);
    const p = params('mil');
    p.train.max_epochs = 2;
    const res = await trainStage.run(p, ctx);
    assert.match(res.engine!, /^tfjs-/);
  } finally {
    if (prev === undefined) delete process.env.MILFLOW_ENGINE; else process.env.MILFLOW_ENGINE = prev;
  }
});
