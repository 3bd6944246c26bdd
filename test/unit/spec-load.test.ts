import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadSpec, parseSpec, SpecError, validateSpec } from '../../src/spec/load.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'milflow-spec-'));

function write(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

const BASE = `name: t
dataset:
  synthetic: { cases: 30 }
task:
  classes: [normal, tumor]
models:
  - name: clam_sb
    type: clam_sb
  - name: mil
    type: mil
`;

test('defaults are filled everywhere, including nested sections the user left out', async () => {
  const l = await loadSpec(write('defaults.yaml', BASE));
  const s = l.spec;
  assert.equal(s.splits.folds, 10);
  assert.deepEqual(s.splits.training_fractions, [1]);
  assert.equal(s.splits.mode, 'nested');
  assert.equal(s.train.lr, 0.0002);
  assert.equal(s.train.min_epochs, 50);
  assert.deepEqual(s.models[0], { name: 'clam_sb', type: 'clam_sb', size: 'small', B: 8, c1: 0.7, c2: 0.3, inst_loss: 'svm', bag_loss: 'ce', dropout: 0.25 });
  assert.equal(s.dataset.synthetic!.n_classes, 2, 'n_classes follows the task');
  assert.equal(s.dataset.synthetic!.dim, 64);
  assert.deepEqual(s.evaluate.bootstrap, { n: 2000, seed: 1 });
  assert.deepEqual(s.evaluate.compare, [['clam_sb', 'mil']], 'default compare: CLAM models vs the others');
  assert.equal(s.resources.devices, 'auto');
  assert.equal(s.output.root, 'runs');
  assert.equal(l.variants.length, 1);
  assert.deepEqual(l.variants[0].coords, {});
  assert.equal(l.variants[0].spec.sweep, undefined);
});

test('the hash ignores formatting, key order and spelled-out defaults, but not values', async () => {
  const a = await loadSpec(write('h1.yaml', BASE));
  const reordered = `# comment
task: { classes: [normal, tumor] }
models: [{ type: clam_sb, name: clam_sb }, { name: mil, type: mil }]
dataset: { synthetic: { cases: 30.0 } }
name: t
train: { lr: 2.0e-4 }
`;
  const b = await loadSpec(write('h2.yaml', reordered));
  assert.equal(a.hash, b.hash);
  assert.match(a.hash, /^[0-9a-f]{64}$/);
  const c = await loadSpec(write('h3.yaml', BASE + 'train: { lr: 0.001 }\n'));
  assert.notEqual(a.hash, c.hash);
});

test('relative dataset paths resolve against the spec file, not the working directory', async () => {
  const d = join(tmp, 'proj');
  mkdirSync(join(d, 'data/feats'), { recursive: true });
  writeFileSync(join(d, 'data/set.csv'), 'case_id,slide_id,label\n');
  const p = join(d, 'spec.yaml');
  writeFileSync(p, BASE.replace('synthetic: { cases: 30 }', 'clam: { csv: data/set.csv, features_dir: data/feats }'));
  const l = await loadSpec(p);
  assert.equal(l.spec.dataset.clam!.csv, join(d, 'data/set.csv'));
  assert.equal(l.spec.dataset.clam!.features_dir, join(d, 'data/feats'));
  assert.equal(l.dir, d);
});

test('sweep: cartesian product in written order, models addressed by name', async () => {
  const l = await loadSpec(
    write('sweep.yaml', BASE + `sweep:\n  models.mil.dropout: [0, 0.5]\n  models.clam_sb.B: [4, 8, 16]\n  splits.seed: [1, 2]\n`),
  );
  assert.equal(l.variants.length, 12);
  assert.deepEqual(l.variants[0].coords, { 'models.mil.dropout': 0, 'models.clam_sb.B': 4, 'splits.seed': 1 });
  assert.deepEqual(l.variants[1].coords, { 'models.mil.dropout': 0, 'models.clam_sb.B': 4, 'splits.seed': 2 });
  assert.deepEqual(l.variants[11].coords, { 'models.mil.dropout': 0.5, 'models.clam_sb.B': 16, 'splits.seed': 2 });
  const v = l.variants[5]; // dropout 0, B 16, seed 2
  assert.equal(v.spec.models[0].B, 16);
  assert.equal(v.spec.models[1].dropout, 0);
  assert.equal(v.spec.models[1].B, 8, 'the other model is untouched');
  assert.equal(v.spec.splits.seed, 2);
  assert.equal(new Set(l.variants.map((x) => x.hash)).size, 12);
  assert.equal(l.spec.models[0].B, 8, 'the base spec keeps its own values');
});

test('sweep over an optional field without default works; a bad combination is blamed on its value', async () => {
  const ok = await loadSpec(write('sw2.yaml', BASE + `sweep:\n  resources.threads_per_slot: [1, 2]\n`));
  assert.deepEqual(ok.variants.map((v) => v.spec.resources.threads_per_slot), [1, 2]);
  const r = await validateSpec(write('sw3.yaml', BASE + `sweep:\n  splits.val_frac: [0.1, 0.95]\n`));
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.messages.length, 1);
  assert.equal(r.messages[0].line, 12);
  assert.equal(r.messages[0].path, 'sweep["splits.val_frac"][1]');
  assert.match(r.messages[0].message, /val_frac \+ test_frac must be < 1/);
});

test('all problems are reported at once, sorted by line, each with line:column', () => {
  const text = `name: t
dataset: { synthetic: {} }
task: { classes: [a, b] }
models:
  - { name: m, type: mil, B: 0 }
  - { name: m, type: clam_sb, c1: -1 }
train: { patience: 0 }
`;
  try {
    parseSpec(text, join(tmp, 'multi.yaml'));
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof SpecError);
    assert.equal(e.exitCode, 2);
    const got = e.messages.map((m) => `${m.line}:${m.column} ${m.path}`);
    assert.deepEqual(got, ['5:30 models[0].B', '6:13 models[1].name', '6:35 models[1].c1', '7:20 train.patience']);
    assert.match(e.message, /multi\.yaml:5:30 models\[0\]\.B: must be ≥ 1 \(got 0\)/);
  }
});

test('unknown keys list what is allowed and suggest the closest', () => {
  try {
    parseSpec(BASE + 'splits:\n  fold: 5\n', join(tmp, 'typo.yaml'));
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof SpecError);
    assert.equal(e.messages.length, 1);
    const m = e.messages[0];
    assert.equal(m.line, 12);
    assert.equal(m.column, 3);
    assert.match(m.message, /unknown key 'fold' \(allowed: mode, folds, .*\); did you mean 'folds'\?/);
  }
});

test('milflow validate: exit 0 with a summary; exit 2 with every message', () => {
  const good = spawnSync(process.execPath, ['bin/milflow.mjs', 'validate', 'experiments/quickstart.yaml'], { cwd: root, encoding: 'utf8' });
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /is valid/);
  assert.match(good.stdout, /10 folds × 3 training fractions/);
  assert.match(good.stdout, /clam_sb vs mil/);
  const bad = spawnSync(process.execPath, ['bin/milflow.mjs', 'validate', 'test/fixtures/bad-specs/two-dataset-sources.yaml'], { cwd: root, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  const lines = bad.stderr.trim().split('\n');
  assert.match(lines[0], /^test\/fixtures\/bad-specs\/two-dataset-sources\.yaml:4:1 dataset: must name exactly one dataset source/);
  assert.match(bad.stderr, /2 problems/);
  const js = spawnSync(process.execPath, ['bin/milflow.mjs', 'validate', '--json', 'test/fixtures/bad-specs/b-zero.yaml'], { cwd: root, encoding: 'utf8' });
  assert.equal(js.status, 2);
  const parsed = JSON.parse(js.stdout);
  assert.equal(parsed.ok, false);
  assert.deepEqual(parsed.messages.map((m: any) => [m.line, m.path]), [[11, 'models[0].B']]);
});

test('a sweep over a dataset path checks each value\'s file', async () => {
  writeFileSync(join(tmp, 'present.csv'), '1,1,0.5\n0,2,1.5\n');
  const text = BASE.replace('synthetic: { cases: 30 }', 'mil_csv: { csv: present.csv }') + 'sweep:\n  dataset.mil_csv.csv: [present.csv, absent.csv]\n';
  const r = await validateSpec(write('swfile.yaml', text));
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.messages.length, 1);
  assert.equal(r.messages[0].path, 'sweep["dataset.mil_csv.csv"][1]');
  assert.match(r.messages[0].message, /file not found: absent\.csv/);
  const ok = await loadSpec(write('swfile2.yaml', text.replace('absent.csv', 'present.csv').replace('[present.csv, present.csv]', '[present.csv]')));
  assert.equal(ok.variants[0].spec.dataset.mil_csv!.csv, join(tmp, 'present.csv'));
});
