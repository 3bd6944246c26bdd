import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSplits, readClamCsv, writeSplits } from '../../src/splits/index.ts';
import { generateSplits } from '../../src/splits/generate.ts';

const FX = new URL('../../../shared/fixtures/clam-splits/', import.meta.url).pathname;

test('clam mode reproduces the 30 CLAM task_1 split files byte for byte', { skip: !existsSync(FX) && 'needs ../shared/fixtures/clam-splits' }, () => {
  const { slides, classes } = readClamCsv(join(FX, 'tumor_vs_normal_dummy_clean.csv'));
  const folds = makeSplits({ mode: 'clam', slides, classes, folds: 10, valFrac: 0.1, testFrac: 0.1, labelFrac: 0.75, seed: 1 });
  const out = mkdtempSync(join(tmpdir(), 'milflow-splits-'));
  try {
    writeSplits(out, folds, slides, classes, 'test');
    const ref = join(FX, 'task_1_tumor_vs_normal_75');
    const names = readdirSync(ref).sort();
    assert.equal(names.length, 30);
    for (const n of names) assert.equal(readFileSync(join(out, n), 'utf8'), readFileSync(join(ref, n), 'utf8'), n);
    const leak = JSON.parse(readFileSync(join(out, 'leakage.json'), 'utf8'));
    assert.equal(leak.ok, true);
    assert.ok(leak.test_overlap.cases_in_several_test_sets > 0, 'Monte Carlo test sets overlap');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('clam mode on a 3-class dataset with majority-vote cases matches numpy vectors', () => {
  const v = JSON.parse(readFileSync(new URL('../fixtures/splits-3class-vectors.json', import.meta.url), 'utf8'));
  for (const r of v.runs) {
    const got = generateSplits(v.slides, v.classes, { folds: r.folds, valFrac: r.val_frac, testFrac: r.test_frac, labelFrac: r.label_frac, seed: r.seed, voting: 'maj' }, 'clam');
    assert.deepEqual(got, r.splits, `seed ${r.seed} frac ${r.label_frac}`);
  }
});
