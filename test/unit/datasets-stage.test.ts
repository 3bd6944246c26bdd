import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import stage, { type DatasetParams } from '../../src/stages/dataset.ts';
import type { StageContext } from '../../src/types/stage.ts';
import { readBag, writeBag } from '../../src/io/h5.ts';
import { parseCsvRows } from '../../src/io/csv.ts';

const tmp = mkdtempSync(join(tmpdir(), 'milflow-dsstage-'));
let counter = 0;

function ctx(externals: Record<string, string> = {}): StageContext & { logs: string[] } {
  const outDir = join(tmp, `out${counter++}`);
  mkdirSync(outDir, { recursive: true });
  const logs: string[] = [];
  return {
    id: 'dataset', key: 'k', outDir, inputs: {}, externals,
    device: { kind: 'cpu', index: 0, threads: 1 },
    signal: new AbortController().signal,
    log: (m) => logs.push(m), progress: () => {}, metric: () => {}, logs,
  };
}

function slidesCsv(dir: string) {
  const rows = parseCsvRows(readFileSync(join(dir, 'slides.csv'), 'utf8'));
  assert.deepEqual(rows[0].fields, ['case_id', 'slide_id', 'label', 'label_index', 'n', 'path']);
  return rows.slice(1).map((r) => ({ case_id: r.fields[0], slide_id: r.fields[1], label: r.fields[2], label_index: Number(r.fields[3]), n: Number(r.fields[4]), path: r.fields[5] }));
}

test('synthetic: writes exactly the contract outputs, quickly, and the same bytes for the same seed', async () => {
  const p: DatasetParams = { source: 'synthetic', classes: ['normal', 'tumor'], label_map: null, synthetic: { seed: 3, cases: 120 } };
  const c1 = ctx();
  const t0 = performance.now();
  const r = await stage.run(p, c1);
  const ms = performance.now() - t0;
  console.log(`synthetic default, 120 cases: ${Math.round(ms)} ms, ${r.metrics!.n_slides} slides`);
  assert.ok(ms < 4000, `took ${ms} ms (budget 2 s on an idle machine)`);
  assert.deepEqual(readdirSync(c1.outDir).sort(), ['bags', 'dataset.json', 'excluded.csv', 'slides.csv']);
  const rows = slidesCsv(c1.outDir);
  assert.equal(rows.length, r.metrics!.n_slides);
  assert.equal(new Set(rows.map((x) => x.case_id)).size, 120);
  const info = JSON.parse(readFileSync(join(c1.outDir, 'dataset.json'), 'utf8'));
  assert.deepEqual(info.classes, ['normal', 'tumor']);
  assert.equal(info.dim, 64);
  assert.equal(info.n_cases, 120);
  assert.equal(info.source, 'synthetic');
  assert.equal(readFileSync(join(c1.outDir, 'excluded.csv'), 'utf8'), 'slide_id,reason\n');
  assert.equal(readdirSync(join(c1.outDir, 'bags')).length, rows.length);
  const first = rows[0];
  assert.equal(first.path, `bags/${first.slide_id}.h5`);
  const bag = await readBag(join(c1.outDir, first.path), { extra: true });
  assert.equal(bag.n, first.n);
  assert.equal(bag.dim, 64);
  assert.equal(bag.coords!.length, 2 * bag.n);
  const il = bag.extra!.instance_labels.data;
  assert.equal(il.length, bag.n);
  const tumourCount = Array.from(il).filter((v) => v > 0).length;
  if (first.label_index === 0) assert.equal(tumourCount, 0);
  else assert.ok(tumourCount >= 1 && Array.from(il).every((v) => v === 0 || v === first.label_index));

  const c2 = ctx();
  await stage.run(p, c2);
  assert.equal(readFileSync(join(c2.outDir, 'slides.csv'), 'utf8'), readFileSync(join(c1.outDir, 'slides.csv'), 'utf8'));
  const b2 = await readBag(join(c2.outDir, first.path));
  assert.deepEqual(b2.features, bag.features);
});

test('mil_csv: Musk1 becomes 92 one-slide cases with -1/1 → class 0/1', async () => {
  // The copy the project ships for experiments/mil-benchmarks.yaml (same bytes as the benchmark file).
  const musk = join(import.meta.dirname, '../../experiments/data/mil/musk1/musk1.csv');
  const c = ctx({ csv: musk });
  await stage.run({ source: 'mil_csv', classes: ['negative', 'positive'], label_map: null }, c);
  const rows = slidesCsv(c.outDir);
  assert.equal(rows.length, 92);
  assert.equal(rows.filter((r) => r.label_index === 1).length, 47);
  assert.equal(rows.reduce((a, r) => a + r.n, 0), 476);
  assert.ok(rows.every((r) => r.case_id === r.slide_id));
  const info = JSON.parse(readFileSync(join(c.outDir, 'dataset.json'), 'utf8'));
  assert.equal(info.dim, 166);
  const bag = await readBag(join(c.outDir, rows[0].path));
  assert.equal(bag.dim, 166);
  assert.equal(bag.n, rows[0].n);
});

test('clam: slides.csv points at the external feature files (absolute), label_map applied, null dropped', async () => {
  const d = join(tmp, 'clam1');
  mkdirSync(join(d, 'feats/h5_files'), { recursive: true });
  const f = (n: number) => new Float32Array(n * 4).map((_, i) => i / 10);
  await writeBag(join(d, 'feats/h5_files/s1.h5'), f(5), 5, 4);
  await writeBag(join(d, 'feats/s2.h5'), f(7), 7, 4); // flat layout also accepted
  await writeBag(join(d, 'feats/h5_files/s3.h5'), f(3), 3, 4);
  writeFileSync(join(d, 'set.csv'), 'case_id,slide_id,label\np1,s1,tumor_tissue\np1,s2,tumor_tissue\np2,s3,normal_tissue\np3,s4,unknown_tissue\n');
  const c = ctx({ csv: join(d, 'set.csv'), features_dir: join(d, 'feats') });
  await stage.run({ source: 'clam', classes: ['normal', 'tumor'], label_map: { tumor_tissue: 'tumor', normal_tissue: 'normal', unknown_tissue: null }, features_dir: join(d, 'feats') }, c);
  const rows = slidesCsv(c.outDir);
  assert.deepEqual(rows.map((r) => [r.slide_id, r.label, r.label_index, r.n]), [['s1', 'tumor', 1, 5], ['s2', 'tumor', 1, 7], ['s3', 'normal', 0, 3]]);
  assert.equal(rows[0].path, join(d, 'feats/h5_files/s1.h5'));
  assert.equal(rows[1].path, join(d, 'feats/s2.h5'));
  assert.ok(!existsSync(join(c.outDir, 'bags')), 'clam features are not copied');
  assert.match(readFileSync(join(c.outDir, 'excluded.csv'), 'utf8'), /^slide_id,reason\ns4,label 'unknown_tissue' mapped to null\n$/);
});
