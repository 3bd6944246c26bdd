// One training epoch over the same bags of a packed feature store, streamed or in memory, and the
// raw read rates of the two bag sources (HDF5 via h5wasm vs positional reads of the store).
//   node --import tsx scripts/bench-feed.ts --store DIR --gb 0.3 --mode stream|memory [--model clam_sb]
//   node --import tsx scripts/bench-feed.ts --store DIR --gb 0.3 --read-rates --bags DATASET_DIR
// Prints one JSON line. The same bags (the first slides of the store, sorted, up to --gb) and the
// same seed in both modes, so the two epochs do identical arithmetic.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { blas } from '../src/engine/blas.ts';
import { makeConfig } from '../src/models/config.ts';
import { createModel } from '../src/models/engine.ts';
import { initParams, layout } from '../src/models/params.ts';
import { TRAIN_DEFAULTS, trainFrom } from '../src/train/loop.ts';
import { BagFeed, storeBagReader } from '../src/bags/feed.ts';
import { StoreReader } from '../src/bags/store.ts';
import { peakRssMb } from '../src/train/pace.ts';

const { values: o } = parseArgs({
  options: {
    store: { type: 'string' }, gb: { type: 'string', default: '0.3' }, mode: { type: 'string', default: 'stream' },
    model: { type: 'string', default: 'clam_sb' }, 'read-rates': { type: 'boolean', default: false }, bags: { type: 'string' },
  },
});
if (!o.store) throw new Error('--store DIR is required');
const store = new StoreReader(o.store);
const dim = store.index.dim;
const limit = Number(o.gb) * 2 ** 30;
const picked: { slide_id: string; n: number }[] = [];
let bytes = 0;
for (const id of Object.keys(store.index.slides).sort()) {
  const e = store.index.slides[id];
  if (e.problem || bytes + e.n * dim * 4 > limit) continue;
  picked.push({ slide_id: id, n: e.n });
  bytes += e.n * dim * 4;
}
const patches = picked.reduce((s, b) => s + b.n, 0);

if (o['read-rates']) {
  if (!o.bags) throw new Error('--read-rates needs --bags DATASET_DIR (the HDF5 files)');
  // Imported here only: h5wasm alone adds ~600 MB of RSS, which would blur the epoch runs' peak.
  const { readBag } = await import('../src/io/h5.ts');
  const buf = new Float32Array(Math.max(...picked.map((b) => b.n)) * dim);
  let t = performance.now();
  for (const b of picked) await store.read(b.slide_id, buf);
  const pread = bytes / ((performance.now() - t) / 1000);
  t = performance.now();
  for (const b of picked) await readBag(join(o.bags, 'bags', `${b.slide_id}.h5`));
  const h5 = bytes / ((performance.now() - t) / 1000);
  console.log(JSON.stringify({ bags: picked.length, gb: bytes / 2 ** 30, store_pread_mb_s: Math.round(pread / 2 ** 20), h5wasm_mb_s: Math.round(h5 / 2 ** 20) }));
} else {
  blas().setThreads(1);
  const reader = storeBagReader(o.store);
  const labels = picked.map((_, i) => i % 2);
  const feed = await BagFeed.open(reader, picked.map((b, i) => ({ slide_id: b.slide_id, label: labels[i] })), { mode: o.mode as 'stream' | 'memory' });
  const cfg = makeConfig({ type: o.model as 'clam_sb', n_classes: 2, dim });
  const model = await createModel(cfg, initParams(layout(cfg), 1));
  const t0 = performance.now();
  const res = await trainFrom(model, (q) => feed.get(q.index, q.next), labels, 0, { ...TRAIN_DEFAULTS, max_epochs: 1, min_epochs: 1, early_stopping: false, class_balanced: false, seed: 1 });
  const s = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ mode: feed.mode, bags: picked.length, gb: +(bytes / 2 ** 30).toFixed(3), patches_per_epoch: patches, epoch_s: +s.toFixed(2), patches_per_s: Math.round(patches / s), train_loss: res.epochs[0].train_loss, peak_rss_mb: peakRssMb() }));
}
