import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StageContext, StageInput } from '../../src/types/stage.ts';
import splitsStage from '../../src/stages/splits.ts';
import evaluateStage from '../../src/stages/evaluate.ts';
import aggregateStage from '../../src/stages/aggregate.ts';
import ensembleStage from '../../src/stages/ensemble.ts';
import compareStage from '../../src/stages/compare.ts';
import { writeBag } from '../../src/io/h5.ts';
import { makeConfig, saveCheckpoint } from '../../src/models/checkpoint.ts';
import { initParams, layout } from '../../src/models/params.ts';
import { loadModel } from '../../src/models/index.ts';
import { readPredictions } from '../../src/stats/predictions.ts';
import { auc, delong, delongPaired } from '../../src/stats/delong.ts';
import { RandomState } from '../../src/splits/mt19937.ts';

const input = (id: string, dir: string): StageInput => ({ id, kind: 'x', key: id, dir, manifest: {} as any });

function ctx(outDir: string, inputs: Record<string, StageInput>, id = 'test'): StageContext {
  mkdirSync(outDir, { recursive: true });
  return {
    id, key: 'k', outDir, inputs, externals: {}, device: { kind: 'cpu', index: 0, threads: 1 },
    signal: new AbortController().signal, log: () => {}, progress: () => {}, metric: () => {},
  };
}

/** An evaluate output dir with a hand-written predictions.csv (binary). */
function evalDir(dir: string, rows: [string, number, number][]): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'predictions.csv'), 'slide_id,Y,Y_hat,p_0,p_1\n' +
    rows.map(([s, y, p1]) => `${s},${y},${p1 > 0.5 ? 1 : 0},${1 - p1},${p1}`).join('\n') + '\n');
  return dir;
}

test('evaluate runs a checkpoint on the fold test split and on a cohort', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'milflow-eval-'));
  try {
    const ds = join(tmp, 'dataset');
    mkdirSync(join(ds, 'bags'), { recursive: true });
    const rs = new RandomState(1);
    const dim = 8;
    const lines = ['case_id,slide_id,label,label_index,n,path'];
    for (let i = 0; i < 24; i++) {
      const y = i % 2;
      const n = 5 + rs.interval(10);
      const f = Float32Array.from({ length: n * dim }, () => rs.random() + (y && rs.random() < 0.3 ? 1 : 0));
      await writeBag(join(ds, 'bags', `s${i}.h5`), f, n, dim);
      lines.push(`c${i >> 1},s${i},${y ? 'tumor' : 'normal'},${y},${n},bags/s${i}.h5`);
    }
    writeFileSync(join(ds, 'slides.csv'), lines.join('\n') + '\n');
    writeFileSync(join(ds, 'dataset.json'), JSON.stringify({ classes: ['normal', 'tumor'], dim, n_slides: 24, n_cases: 12, source: 'test' }));
    const sp = join(tmp, 'splits');
    await splitsStage.run({ mode: 'nested', folds: 2, val_frac: 0.2, test_frac: 0.3, frac: 1 }, ctx(sp, { dataset: input('dataset', ds) }));
    const md = join(tmp, 'model');
    mkdirSync(md);
    const cfg = makeConfig({ type: 'clam_sb', n_classes: 2, dim, dropout: 0 });
    await saveCheckpoint(join(md, 'model.safetensors'), { config: cfg, params: initParams(layout(cfg), 3), meta: {} });

    const out = join(tmp, 'eval-test');
    const r = await evaluateStage.run({ fold: 1, cohort: 'test', n_classes: 2 }, ctx(out, { model: input('train', md), dataset: input('dataset', ds), splits: input('splits', sp) }));
    const pred = readPredictions(join(out, 'predictions.csv'));
    const testIds = readFileSync(join(sp, 'splits_1.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[3]).filter(Boolean);
    assert.deepEqual(pred.slide_id, testIds);
    const model = await loadModel(join(md, 'model.safetensors'));
    const { readBag } = await import('../../src/io/h5.ts');
    for (let i = 0; i < pred.slide_id.length; i++) {
      const k = Number(pred.slide_id[i].slice(1));
      assert.equal(pred.y[i], k % 2);
      const bag = await readBag(join(ds, 'bags', `s${k}.h5`));
      const want = model.predict(bag.features, bag.n, bag.dim);
      assert.ok(Math.abs(pred.prob[i][1] - want.Y_prob[1]) < 1e-6);
      assert.equal(pred.y_hat[i], want.Y_hat);
    }
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    assert.equal(metrics.auc, auc(pred.y, pred.prob.map((p) => p[1])));
    assert.equal(r.metrics!.auc, metrics.auc);
    const emb = readFileSync(join(out, 'embeddings.csv'), 'utf8').trim().split('\n');
    assert.equal(emb.length, pred.slide_id.length + 1);
    assert.equal(emb[0].split(',').length, 2 + 512);

    const outC = join(tmp, 'eval-cohort');
    await evaluateStage.run({ fold: 0, cohort: 'ext', n_classes: 2 }, ctx(outC, { model: input('train', md), dataset: input('dataset', ds) }));
    assert.equal(readPredictions(join(outC, 'predictions.csv')).slide_id.length, 24);
    await assert.rejects(evaluateStage.run({ fold: 0, cohort: 'test', n_classes: 3 }, ctx(join(tmp, 'x'), { model: input('train', md), dataset: input('dataset', ds), splits: input('splits', sp) })), /3/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('aggregate: mean ± std of fold AUCs, single-class folds listed not averaged, mean ROC band', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'milflow-agg-'));
  try {
    const f0 = evalDir(join(tmp, 'f0'), [['a', 0, 0.1], ['b', 0, 0.2], ['c', 1, 0.8], ['d', 1, 0.9]]); // AUC 1
    const f1 = evalDir(join(tmp, 'f1'), [['a', 0, 0.9], ['b', 0, 0.05], ['c', 1, 0.8], ['d', 1, 0.1]]); // AUC 0.5
    const f2 = evalDir(join(tmp, 'f2'), [['a', 1, 0.9], ['b', 1, 0.2]]); // one class
    const out = join(tmp, 'out');
    const r = await aggregateStage.run({ cohort: 'test' }, ctx(out, { fold0: input('e0', f0), fold1: input('e1', f1), fold2: input('e2', f2) }));
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(s.auc.mean, 0.75);
    assert.ok(Math.abs(s.auc.std - Math.sqrt(0.125)) < 1e-12);
    assert.deepEqual(s.folds_without_auc, [2]);
    assert.equal(s.folds[2].auc, null);
    assert.equal(r.metrics!.auc_mean, 0.75);
    const roc = readFileSync(join(out, 'roc_mean.csv'), 'utf8').trim().split('\n');
    assert.equal(roc[0], 'fpr,tpr_mean,tpr_std,tpr_lower,tpr_upper');
    assert.equal(roc.length, 102);
    const last = roc[101].split(',').map(Number);
    assert.deepEqual(last.slice(0, 3), [1, 1, 0]);
    const q = roc[26].split(',').map(Number); // fpr 0.25: fold0 tpr 1, fold1 tpr 0 (first step is a negative)
    assert.deepEqual([q[0], q[1], q[3], q[4]], [0.25, 0.5, 0, 1]);
    assert.ok(Math.abs(q[2] - Math.SQRT1_2) < 1e-12);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('ensemble averages fold softmax per slide; compare gives paired fold differences and ensemble DeLong', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'milflow-ens-'));
  try {
    const rs = new RandomState(4);
    const ids = Array.from({ length: 60 }, (_, i) => `s${i}`);
    const y = ids.map((_, i) => i % 2);
    const mk = (name: string, strength: number, reverse: boolean) => {
      const rows = ids.map((s, i) => [s, y[i], Math.min(1, Math.max(0, 0.5 + (y[i] - 0.5) * strength + (rs.random() - 0.5) * 0.8))] as [string, number, number]);
      return { dir: evalDir(join(tmp, name), reverse ? [...rows].reverse() : rows), p: new Map(rows.map((r) => [r[0], r[2]])) };
    };
    const a0 = mk('a0', 0.6, false), a1 = mk('a1', 0.6, true), b0 = mk('b0', 0.1, false), b1 = mk('b1', 0.1, true);
    const ea = join(tmp, 'ea'), eb = join(tmp, 'eb');
    const r = await ensembleStage.run({ cohort: 'ext', ci: 'delong' }, ctx(ea, { fold0: input('a0', a0.dir), fold1: input('a1', a1.dir) }));
    await ensembleStage.run({ cohort: 'ext' }, ctx(eb, { fold0: input('b0', b0.dir), fold1: input('b1', b1.dir) }));
    const ens = readPredictions(join(ea, 'predictions.csv'));
    assert.deepEqual(ens.slide_id, ids);
    for (let i = 0; i < ids.length; i++) assert.ok(Math.abs(ens.prob[i][1] - (a0.p.get(ids[i])! + a1.p.get(ids[i])!) / 2) < 1e-12);
    const m = JSON.parse(readFileSync(join(ea, 'metrics.json'), 'utf8'));
    const d = delong(ens.y, ens.prob.map((p) => p[1]))!;
    assert.ok(Math.abs(m.auc - d.auc) < 1e-12);
    assert.deepEqual(m.auc_ci, d.ci);
    assert.equal(r.metrics!.n_models, 2);

    const out = join(tmp, 'cmp');
    const res = await compareStage.run({ a: 'A', b: 'B', cohort: 'ext' }, ctx(out, {
      a_fold0: input('a0', a0.dir), a_fold1: input('a1', a1.dir), b_fold0: input('b0', b0.dir), b_fold1: input('b1', b1.dir),
      a_ensemble: input('ea', ea), b_ensemble: input('eb', eb),
    }));
    const c = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    const aucOf = (p: Map<string, number>) => auc(y, ids.map((s) => p.get(s)!))!;
    const d0 = aucOf(a0.p) - aucOf(b0.p), d1 = aucOf(a1.p) - aucOf(b1.p);
    assert.ok(Math.abs(c.across_folds.diff.mean - (d0 + d1) / 2) < 1e-12);
    assert.ok(Math.abs(c.folds[1].diff - d1) < 1e-12);
    const eB = readPredictions(join(eb, 'predictions.csv'));
    const pz = delongPaired(y, ens.prob.map((p) => p[1]), eB.prob.map((p) => p[1]))!;
    assert.ok(Math.abs(c.ensemble_delong.delong.z - pz.z) < 1e-12);
    assert.ok(Math.abs(res.metrics!.ensemble_delong_p - pz.p) < 1e-15);
    assert.ok(c.across_folds.diff.mean > 0, 'the stronger model wins');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
