import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import stage from '../../src/stages/splits.ts';
import { generateSplits } from '../../src/splits/generate.ts';
import { leakageReport, assertNoLeakage } from '../../src/splits/leakage.ts';
import { readSplitsCsv } from '../../src/splits/files.ts';
import type { StageContext } from '../../src/types/stage.ts';
import type { SlideRow } from '../../src/splits/types.ts';

function dataset(nCases: number, nClasses: number): SlideRow[] {
  const rows: SlideRow[] = [];
  let s = 0;
  for (let c = 0; c < nCases; c++) {
    const label = c % nClasses;
    for (let j = 0; j < 1 + (c % 3); j++) rows.push({ case_id: `p${c}`, slide_id: `s${s++}`, label_index: label });
  }
  return rows;
}

function ctxFor(tmp: string, datasetDir: string, externals: Record<string, string> = {}): StageContext {
  const out = join(tmp, 'out');
  mkdirSync(out, { recursive: true });
  return {
    id: 'splits/frac=1', key: 'k', outDir: out,
    inputs: { dataset: { id: 'dataset', kind: 'dataset', key: 'd', dir: datasetDir, manifest: {} as any } },
    externals, device: { kind: 'cpu', index: 0, threads: 1 }, signal: new AbortController().signal,
    log: () => {}, progress: () => {}, metric: () => {},
  };
}

function writeDataset(dir: string, rows: SlideRow[], classes: string[]) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'slides.csv'), 'case_id,slide_id,label,label_index,n,path\n' +
    rows.map((r) => `${r.case_id},${r.slide_id},${classes[r.label_index]},${r.label_index},10,bags/${r.slide_id}.h5`).join('\n') + '\n');
  writeFileSync(join(dir, 'dataset.json'), JSON.stringify({ classes, dim: 4, n_slides: rows.length, n_cases: 0, source: 'test' }));
  writeFileSync(join(dir, 'excluded.csv'), 'slide_id,reason\n');
}

test('nested mode: val/test fixed across fractions, training subsets nested and stratified', () => {
  const rows = dataset(200, 3);
  const classes = ['a', 'b', 'c'];
  const fr = [0.1, 0.25, 0.5, 0.75, 1];
  const all = fr.map((f) => generateSplits(rows, classes, { folds: 5, valFrac: 0.1, testFrac: 0.1, labelFrac: f, seed: 3 }, 'nested'));
  const clam = generateSplits(rows, classes, { folds: 5, valFrac: 0.1, testFrac: 0.1, labelFrac: 0.1, seed: 3 }, 'clam');
  const caseOf = new Map(rows.map((r) => [r.slide_id, r.case_id]));
  const labelOf = new Map(rows.map((r) => [r.case_id, r.label_index]));
  for (let k = 0; k < 5; k++) {
    for (let i = 1; i < fr.length; i++) {
      assert.deepEqual(all[i][k].val, all[0][k].val);
      assert.deepEqual(all[i][k].test, all[0][k].test);
      const big = new Set(all[i][k].train);
      for (const s of all[i - 1][k].train) assert.ok(big.has(s), `fold ${k}: ${s} in ${fr[i - 1]} but not in ${fr[i]}`);
      assert.ok(all[i][k].train.length > all[i - 1][k].train.length);
    }
    // Same val/test as CLAM for the same seed; but a random, not lowest-id, 10 % subset.
    assert.deepEqual(all[0][k].test, clam[k].test);
    assert.notDeepEqual(all[0][k].train, clam[k].train);
    // Stratified: every class present in each training subset.
    const cls = new Set(all[0][k].train.map((s) => labelOf.get(caseOf.get(s)!)));
    assert.equal(cls.size, 3);
  }
  assert.notDeepEqual(all[4][0].test, all[4][1].test, 'folds differ');
});

test('leakage: a case in two sets of one fold is an error; cross-fold test overlap is informational', () => {
  const rows = dataset(30, 2);
  const ok = leakageReport(generateSplits(rows, ['x', 'y'], { folds: 10, valFrac: 0.2, testFrac: 0.2, labelFrac: 1, seed: 1 }, 'nested'), rows);
  assert.equal(ok.ok, true);
  assert.ok(ok.test_overlap.cases_in_several_test_sets > 0);
  // p2 has slides s3, s4, s5: put one in train and one in test.
  const bad = leakageReport([{ train: ['s0', 's3'], val: ['s1', 's2'], test: ['s4'] }], rows);
  assert.equal(bad.ok, false);
  assert.equal(bad.errors[0].case_id, 'p2');
  assert.throws(() => assertNoLeakage(bad, 'x'), /case 'p2' in train and test/);
  const unknown = leakageReport([{ train: ['nope'], val: [], test: [] }], rows);
  assert.equal(unknown.errors[0].kind, 'unknown_slide');
});

test('splits stage writes CLAM files + leakage.json; import mode round-trips them', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'milflow-splits-stage-'));
  try {
    const rows = dataset(60, 2);
    const ds = join(tmp, 'ds');
    writeDataset(ds, rows, ['normal', 'tumor']);
    const ctx = ctxFor(join(tmp, 'a'), ds);
    const res = await stage.run({ mode: 'nested', folds: 4, frac: 0.5, seed: 2 }, ctx);
    assert.equal(res.metrics!.folds, 4);
    for (let k = 0; k < 4; k++) for (const f of [`splits_${k}.csv`, `splits_${k}_bool.csv`, `splits_${k}_descriptor.csv`]) assert.ok(existsSync(join(ctx.outDir, f)), f);
    assert.ok(!existsSync(join(ctx.outDir, 'splits_4.csv')));
    const desc = readFileSync(join(ctx.outDir, 'splits_0_descriptor.csv'), 'utf8').trim().split('\n');
    assert.equal(desc[0], ',train,val,test');
    assert.match(desc[1], /^normal,\d+,\d+,\d+$/);
    const f0 = readSplitsCsv(join(ctx.outDir, 'splits_0.csv'));
    const ctx2 = ctxFor(join(tmp, 'b'), ds, { import_dir: ctx.outDir });
    await stage.run({ mode: 'import', frac: 0.5 }, ctx2);
    for (let k = 0; k < 4; k++) {
      assert.equal(readFileSync(join(ctx2.outDir, `splits_${k}.csv`), 'utf8'), readFileSync(join(ctx.outDir, `splits_${k}.csv`), 'utf8'));
    }
    await assert.rejects(stage.run({ mode: 'import', folds: 5 }, ctxFor(join(tmp, 'e'), ds, { import_dir: ctx.outDir })), /holds 4 split file\(s\), the experiment asks for 5 folds/);
    const three = await stage.run({ mode: 'import', folds: 3 }, ctxFor(join(tmp, 'f'), ds, { import_dir: ctx.outDir }));
    assert.equal(three.metrics!.folds, 3);
    // Importing a split with leakage fails and names the case.
    const badDir = join(tmp, 'bad');
    mkdirSync(badDir);
    writeFileSync(join(badDir, 'splits_0.csv'), `,train,val,test\n0,${f0.train[0]},${f0.val[0]},${f0.train[0]}\n`);
    await assert.rejects(stage.run({ mode: 'import' }, ctxFor(join(tmp, 'c'), ds, { import_dir: badDir })), /leakage.*case 'p\d+' in train and test/);
    await assert.rejects(stage.run({ mode: 'clam', val_frac: 0.5, test_frac: 0.5 }, ctxFor(join(tmp, 'd'), ds)), /val_frac \+ test_frac/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
