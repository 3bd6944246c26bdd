// splits.mode: import is checked when the spec loads: folds and fractions come from the split
// directories (validate shows them), a stated number that the directories cannot give is an
// error naming the directory, and the splits stage is keyed by the split files' contents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateSpec, formatSpecMessage } from '../../src/spec/load.ts';
import { planSpec } from '../../src/dag/plan.ts';
import { summarise } from '../../src/cli/validate.ts';

const root = new URL('../../', import.meta.url).pathname;
const D = join(root, 'test/fixtures/pt/clam_pt');

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'split-import-'));
  const copy = (to: string, n: number) => {
    mkdirSync(join(dir, to), { recursive: true });
    for (let k = 0; k < n; k++) copyFileSync(join(D, 'splits', `splits_${k % 2}.csv`), join(dir, to, `splits_${k}.csv`));
  };
  return { dir, copy };
}

const spec = (splits: string) => `name: imp
dataset:
  clam: { csv: ${D}/dataset.csv, features_dir: ${D}/features }
task:
  classes: [normal, tumor]
splits:
${splits}
models:
  - { name: clam_sb, type: clam_sb }
`;

async function load(dir: string, name: string, text: string) {
  writeFileSync(join(dir, name), text);
  return validateSpec(join(dir, name));
}

test('folds and training fractions are read from the directories; validate shows them', async () => {
  const { dir, copy } = workspace();
  try {
    copy('s100', 3);
    copy('s50', 3);
    const r = await load(dir, 'a.yaml', spec('  mode: import\n  import_dir: { 1.0: s100, 0.5: s50 }'));
    assert.ok(r.ok, r.ok ? '' : r.messages.map(formatSpecMessage).join('\n'));
    if (!r.ok) return;
    assert.equal(r.loaded.spec.splits.folds, 3);
    assert.deepEqual(r.loaded.spec.splits.training_fractions, [1, 0.5]);
    assert.match(summarise('a.yaml', r.loaded), /Splits: import, 3 folds × 2 training fractions \(1, 0\.5\)/);
    // The DAG uses the directory of each fraction (the map's key 1.0 is fraction 1).
    const plan = await planSpec(r.loaded, { root: join(dir, 'runs') });
    const s1 = plan.stages.find((s) => s.id === 'splits/frac=1')!;
    assert.deepEqual(Object.keys(s1.inputs).filter((k) => k.startsWith('split_')).sort(), ['split_0', 'split_1', 'split_2']);
    assert.match(s1.inputs.split_0.path!, /s100\/splits_0\.csv$/);
    assert.equal(plan.stages.filter((s) => s.kind === 'train').length, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stated number of folds or fractions the directories cannot give is an error naming them', async () => {
  const { dir, copy } = workspace();
  try {
    copy('s100', 3);
    copy('s50', 2);
    let r = await load(dir, 'b.yaml', spec('  mode: import\n  folds: 10\n  import_dir: s100'));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.messages.length, 1);
      assert.equal(r.messages[0].path, 'splits.folds');
      assert.match(r.messages[0].message, /asks for 10 folds, but s100 holds 3 split files/);
      assert.equal(r.messages[0].line, 8);
    }
    r = await load(dir, 'c.yaml', spec('  mode: import\n  import_dir: { 1.0: s100, 0.5: s50 }'));
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.messages[0].message, /different numbers of folds: s100 \(fraction 1\) holds 3 split files; s50 \(fraction 0\.5\) holds 2/);
    // With folds stated (≤ both), the first folds of each are used.
    r = await load(dir, 'd.yaml', spec('  mode: import\n  folds: 2\n  import_dir: { 1.0: s100, 0.5: s50 }'));
    assert.ok(r.ok);
    r = await load(dir, 'e.yaml', spec('  mode: import\n  training_fractions: [1.0]\n  import_dir: { 1.0: s100, 0.5: s50 }\n  folds: 2'));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.messages[0].path, 'splits.import_dir["0.5"]');
      assert.match(r.messages[0].message, /training fraction 0\.5, which training_fractions \(1\) does not list/);
    }
    r = await load(dir, 'f.yaml', spec('  mode: import\n  training_fractions: [1.0, 0.5]\n  import_dir: s100'));
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.messages[0].message, /import_dir is one directory/);
    mkdirSync(join(dir, 'empty'));
    r = await load(dir, 'g.yaml', spec('  mode: import\n  import_dir: empty'));
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.messages[0].message, /empty: no splits_<k>\.csv files/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the splits stage is keyed by the split files, not their path; the stage runs on them', async () => {
  const { dir, copy } = workspace();
  try {
    copy('a', 2);
    copy('elsewhere/b', 2);
    writeFileSync(join(dir, 'elsewhere/b', 'README.txt'), 'unrelated file next to the splits');
    const ra = await load(dir, 'a.yaml', spec('  mode: import\n  import_dir: a\n  seed: 7'));
    const rb = await load(dir, 'b.yaml', spec('  mode: import\n  import_dir: elsewhere/b'));
    assert.ok(ra.ok && rb.ok);
    if (!ra.ok || !rb.ok) return;
    const pa = await planSpec(ra.loaded, { root: join(dir, 'runs') });
    const pb = await planSpec(rb.loaded, { root: join(dir, 'runs') });
    const key = (p: typeof pa, id: string) => p.stages.find((s) => s.id === id)!.key;
    for (const id of ['splits/frac=1', 'train/clam_sb/frac=1/fold=0', 'evaluate/clam_sb/frac=1/fold=1/cohort=test']) assert.equal(key(pa, id), key(pb, id), id);
    // A changed split file changes the key.
    writeFileSync(join(dir, 'elsewhere/b/splits_1.csv'), ',train,val,test\n0,slide_00,slide_01,slide_02\n');
    const rc = await validateSpec(join(dir, 'b.yaml'));
    assert.ok(rc.ok);
    if (!rc.ok) return;
    const pc = await planSpec(rc.loaded, { root: join(dir, 'runs') });
    assert.notEqual(key(pc, 'splits/frac=1'), key(pa, 'splits/frac=1'));

    const bin = join(root, 'bin/milflow.mjs');
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const run = spawnSync(process.execPath, [bin, 'run', 'a.yaml', '--target', 'splits/**', '--no-report'], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const entry = join(dir, 'runs/cache/splits', key(pa, 'splits/frac=1'));
    assert.deepEqual(readdirSync(entry).filter((f) => /^splits_\d\.csv$/.test(f)).sort(), ['splits_0.csv', 'splits_1.csv']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
