// The feature store and bag feeds: packed bytes read back exactly, streamed and in-memory feeds
// train to identical numbers, a streaming feed holds at most three bag buffers, bad bags are
// found at pack time and reported naming the slide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainingRng } from '../../src/engine/rng.ts';
import { writeBag } from '../../src/io/h5.ts';
import { makeConfig } from '../../src/models/config.ts';
import { initParams, layout } from '../../src/models/params.ts';
import { NativeModel } from '../../src/models/native.ts';
import { TRAIN_DEFAULTS, train, trainFrom, type TrainBag } from '../../src/train/loop.ts';
import { BagFeed, openDatasetBags } from '../../src/bags/feed.ts';
import { storeDirOf } from '../../src/bags/cache.ts';
import { StoreReader } from '../../src/bags/store.ts';

const E = 6;
function bags(count: number, seed: number): TrainBag[] {
  const r = new TrainingRng(seed);
  return Array.from({ length: count }, (_, s) => {
    const label = s % 2;
    const n = 5 + r.int(40);
    const f = Float32Array.from({ length: n * E }, () => r.normal());
    if (label) for (let i = 0; i < 3; i++) f[i * E] += 4;
    return { slide_id: `s${s}`, features: f, n, label };
  });
}

/** A dataset stage output laid out as a cache entry (<root>/dataset/<key>/ with a manifest). */
async function cacheEntry(root: string, data: TrainBag[], nan?: string) {
  const key = 'a'.repeat(64);
  const dir = join(root, 'dataset', key);
  mkdirSync(join(dir, 'bags'), { recursive: true });
  const rows = ['case_id,slide_id,label,label_index,n,path'];
  for (const b of data) {
    const f = b.slide_id === nan ? Object.assign(b.features.slice(), { 7: NaN }) : b.features;
    await writeBag(join(dir, 'bags', `${b.slide_id}.h5`), f, b.n, E);
    rows.push(`c_${b.slide_id},${b.slide_id},${b.label ? 't' : 'n'},${b.label},${b.n},bags/${b.slide_id}.h5`);
  }
  writeFileSync(join(dir, 'slides.csv'), rows.join('\n') + '\n');
  writeFileSync(join(dir, 'manifest.json'), '{}');
  return { dir, key };
}

test('packed store: written once into <cache>/.bags/<key>, bytes read back exactly', async () => {
  const root = mkdtempSync(join(tmpdir(), 'milflow-bags-'));
  const data = bags(12, 1);
  const ds = await cacheEntry(root, data);
  const reader = await openDatasetBags(ds);
  assert.equal(reader.kind, 'store');
  assert.equal(storeDirOf(ds), join(root, '.bags', ds.key));
  const store = new StoreReader(storeDirOf(ds)!);
  assert.equal(store.index.bytes, data.reduce((s, b) => s + b.n * E * 4, 0));
  for (const b of data) {
    const got = await reader.read(b.slide_id, new Float32Array(64 * E));
    assert.deepEqual(Array.from(got), Array.from(b.features), b.slide_id);
  }
  // Not a cache entry (no manifest / key mismatch): HDF5 reads, nothing written elsewhere.
  assert.equal(storeDirOf({ dir: ds.dir, key: 'other' }), undefined);
  store.close();
  reader.close();
  rmSync(root, { recursive: true, force: true });
});

test('streamed and in-memory feeds train to identical numbers; a stream holds at most 3 bag buffers', async () => {
  const root = mkdtempSync(join(tmpdir(), 'milflow-bags-'));
  const tr = bags(16, 2), va = bags(6, 3).map((b) => ({ ...b, slide_id: `v${b.slide_id}` }));
  const ds = await cacheEntry(root, [...tr, ...va]);
  const cfg = makeConfig({ type: 'clam_sb', n_classes: 2, dim: E, B: 4 });
  const opts = { ...TRAIN_DEFAULTS, lr: 1e-3, max_epochs: 4, min_epochs: 1, patience: 2, seed: 4 };
  const ref = train(new NativeModel(cfg, initParams(layout(cfg), 4)), tr, va, opts);
  for (const mode of ['stream', 'memory'] as const) {
    const reader = await openDatasetBags(ds);
    const trF = await BagFeed.open(reader, tr.map((b) => ({ slide_id: b.slide_id, label: b.label })), { mode });
    const vaF = await BagFeed.open(reader, va.map((b) => ({ slide_id: b.slide_id, label: b.label })), { mode });
    assert.equal(trF.mode, mode);
    const buffers = new Set<ArrayBufferLike>();
    const res = await trainFrom(new NativeModel(cfg, initParams(layout(cfg), 4)), async (q) => {
      const b = await (q.set === 'train' ? trF : vaF).get(q.index, q.next);
      if (q.set === 'train') buffers.add(b.features.buffer);
      return b;
    }, tr.map((b) => b.label), va.length, opts);
    assert.deepEqual(res.epochs.map((e) => [e.train_loss, e.val_loss]), ref.epochs.map((e) => [e.train_loss, e.val_loss]), mode);
    assert.deepEqual(res.val.map((r) => Array.from(r.prob)), ref.val.map((r) => Array.from(r.prob)));
    if (mode === 'stream') {
      assert.ok(buffers.size <= 3, `${buffers.size} distinct buffers served`);
      assert.ok(trF.bytesRead >= trF.bytes * opts.max_epochs * 0.5, 'a stream re-reads bags every epoch');
    } else {
      assert.equal(buffers.size, tr.length, 'memory feed: one array per bag');
    }
    trF.close();
    vaF.close();
  }
  rmSync(root, { recursive: true, force: true });
});

test('a bag with non-finite values is recorded at pack time and named when a feed opens it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'milflow-bags-'));
  const data = bags(6, 5);
  const ds = await cacheEntry(root, data, 's3');
  const reader = await openDatasetBags(ds);
  assert.equal(reader.kind, 'store');
  await assert.rejects(BagFeed.open(reader, data.map((b) => ({ slide_id: b.slide_id, label: b.label })), { mode: 'stream' }), /s3: non-finite feature value \(NaN\) at patch 1, column 1/);
  const ok = await BagFeed.open(reader, data.filter((b) => b.slide_id !== 's3').map((b) => ({ slide_id: b.slide_id, label: b.label })), { mode: 'stream' });
  assert.equal(ok.size, 5);
  ok.close();
  rmSync(root, { recursive: true, force: true });
});
