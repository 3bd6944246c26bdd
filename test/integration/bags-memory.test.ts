// Memory budget of a train worker on a dataset larger than what it may hold: a generated
// dataset with a long-tailed bag-size spread (CI-sized, ~0.3 GB), packed into its feature store,
// then one train stage in a child process. Its peak RSS must stay within 1 GB + 4 × the largest
// bag's bytes (the acceptance bound), and above its own baseline by no more than the bags in
// flight plus model working memory, far below the dataset's size: loading the fold fails this.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import datasetStage from '../../src/stages/dataset.ts';
import { ensureStore } from '../../src/bags/cache.ts';
import { readBagPaths } from '../../src/splits/dataset.ts';
import type { StageContext } from '../../src/types/stage.ts';
import { runNode, tempDir } from '../helpers/cli.ts';

const HELPER = fileURLToPath(new URL('../helpers/train-rss.ts', import.meta.url));
const MB = 2 ** 20;

test('train worker peak RSS ≤ 1 GB + 4 × largest bag, and grows by the bags in flight, not the dataset', async (t) => {
  const root = tempDir('milflow-rss-', t);
  const key = 'b'.repeat(64);
  const dsDir = join(root, 'cache', 'dataset', key);
  mkdirSync(dsDir, { recursive: true });
  const ctx = {
    id: 'dataset', key, outDir: dsDir, inputs: {}, externals: {}, device: { kind: 'cpu', index: 0, threads: 1 },
    signal: new AbortController().signal, log() {}, progress() {}, metric() {},
  } as StageContext;
  const dim = 512;
  await datasetStage.run({
    source: 'synthetic', classes: ['normal', 'tumor'],
    synthetic: { seed: 3, cases: 260, slides_per_case: [1, 1], dim, bag_size: [100, 4000], bag_size_mean: 800 },
  }, ctx);
  writeFileSync(join(dsDir, 'manifest.json'), '{}');
  const rows = readFileSync(join(dsDir, 'slides.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const sizes = rows.map((r) => Number(r[4]));
  const largest = Math.max(...sizes) * dim * 4;
  const total = sizes.reduce((a, b) => a + b, 0) * dim * 4;
  assert.ok(Math.max(...sizes) > 5 * Math.min(...sizes), 'bag sizes spread');
  // Packed once, here, so the child measures training only.
  const paths = readBagPaths(dsDir);
  await ensureStore({ dir: dsDir, key }, () => [...paths].map(([slide_id, path]) => ({ slide_id, path })));
  const ids = rows.map((r) => r[1]);
  const spDir = join(root, 'splits');
  mkdirSync(spDir);
  const nTrain = Math.round(ids.length * 0.8);
  const lines = [',train,val,test', ...ids.slice(0, nTrain).map((id, i) => `${i},${id},${ids[nTrain + i] ?? ''},`)];
  writeFileSync(join(spDir, 'splits_0.csv'), lines.join('\n') + '\n');

  const r = runNode(['--import', 'tsx', HELPER, dsDir, key, spDir, 'mil'], { env: { MILFLOW_BAGS: '' }, timeout: 300_000 });
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out.trim().split('\n').pop()!);
  console.log(`# dataset ${(total / MB).toFixed(0)} MB, largest bag ${(largest / MB).toFixed(1)} MB; worker RSS before ${out.before} MB, peak ${out.peak} MB; ${out.log.find((l: string) => l.includes('bags '))}`);
  assert.equal(out.summary.bags, 'stream', 'a dataset above the in-memory limit streams');
  assert.ok(out.peak * MB <= 2 ** 30 + 4 * largest, `peak ${out.peak} MB > 1 GB + 4 × ${(largest / MB).toFixed(1)} MB`);
  const grew = (out.peak - out.before) * MB;
  assert.ok(grew <= 4 * largest + 160 * MB, `peak grew ${(grew / MB).toFixed(0)} MB over the baseline (bags in flight: ≤ ${(4 * largest / MB).toFixed(0)} MB)`);
  assert.ok(grew < total / 2, `peak grew by ${(grew / MB).toFixed(0)} MB, more than half the ${(total / MB).toFixed(0)} MB dataset`);
});
