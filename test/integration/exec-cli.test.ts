// A small real pipeline through the CLI: dataset + splits (+ train when it is registered) with
// `milflow run`, then plan / run again / status / graph on the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRegistered } from '../../src/stages/registry.ts';
import { CacheStore } from '../../src/cache/store.ts';
import { milflow, newestRunDir, printedPath, readRunRecord, startCli, syntheticSpec, tempDir, waitFor, writeSpec } from '../helpers/cli.ts';

const CLI = {
  name: 'cli', synthetic: { seed: 5, cases: 20, bag_size: [10, 30], dim: 8, signal: 3.0 },
  splits: { folds: 2, training_fractions: [1.0, 0.5] }, train: { max_epochs: 2, min_epochs: 1, patience: 1 },
  resources: { devices: ['cpu'], slots_per_device: 2 },
};
const SPEC = syntheticSpec(CLI);

test('milflow run / plan / status / graph on a small real pipeline', (t) => {
  const dir = tempDir('milflow-cli-', t);
  writeSpec(dir, SPEC);
  const withTrain = isRegistered('train');
  if (!withTrain) console.log('# train is not registered in this build: running dataset + splits only');
  const target = withTrain ? 'train/clam_sb/frac=0.5/**' : 'splits/**';
  const expected = withTrain ? ['dataset', 'splits/frac=0.5', 'train/clam_sb/frac=0.5/fold=0', 'train/clam_sb/frac=0.5/fold=1'] : ['dataset', 'splits/frac=0.5', 'splits/frac=1'];

  const before = milflow(dir, 'plan', 'spec.yaml', '--target', target, '--json');
  assert.equal(before.code, 0, before.err);
  const p0 = JSON.parse(before.out);
  assert.deepEqual(p0.stages.map((s: any) => s.id).sort(), expected);
  assert.ok(p0.stages.every((s: any) => s.action === 'run' && s.reason === 'new' && /^[0-9a-f]{64}$/.test(s.key)));
  const splits = p0.stages.find((s: any) => s.id === 'splits/frac=0.5');
  assert.equal(splits.inputs.dataset.id, 'dataset');
  assert.equal(splits.params.frac, 0.5);

  const run = milflow(dir, 'run', 'spec.yaml', '--target', target);
  assert.equal(run.code, 0, run.err);
  const runDir = printedPath(dir, run.out);
  const rec = readRunRecord(runDir);
  assert.equal(rec.status, 'succeeded');
  assert.equal(rec.counts.executed, expected.length);
  assert.equal(readFileSync(join(runDir, 'spec.yaml'), 'utf8'), SPEC);
  const store = new CacheStore(join(dir, 'runs', 'cache'));
  for (const s of rec.stages) {
    assert.deepEqual(store.verify(s.kind, s.key), { ok: true, problems: [] });
    const m = store.readManifest(s.kind, s.key);
    assert.equal(m.id, s.id);
  }
  const ds = rec.stages.find((s: any) => s.id === 'dataset');
  assert.ok(existsSync(join(store.entryDir('dataset', ds.key), 'slides.csv')));
  const sp = rec.stages.find((s: any) => s.id === 'splits/frac=0.5');
  assert.ok(existsSync(join(store.entryDir('splits', sp.key), 'splits_1.csv')));
  if (withTrain) {
    const tr = rec.stages.find((s: any) => s.id === 'train/clam_sb/frac=0.5/fold=1');
    assert.ok(existsSync(join(store.entryDir('train', tr.key), 'model.safetensors')));
    assert.equal(tr.device.kind, 'cpu');
  }

  // Unchanged: nothing runs.
  const again = milflow(dir, 'run', 'spec.yaml', '--target', target);
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, new RegExp(`0 executed, ${expected.length} cached`));
  const plan = milflow(dir, 'plan', 'spec.yaml', '--target', target);
  assert.match(plan.out, /nothing to run/);

  const status = milflow(dir, 'status', 'spec.yaml');
  assert.equal(status.code, 0, status.err);
  assert.match(status.out, /succeeded/);
  assert.match(status.out, new RegExp(`0 executed, ${expected.length} cached`));

  const verified = milflow(dir, 'status', 'spec.yaml', '--verify');
  assert.equal(verified.code, 0, verified.out);
  assert.match(verified.out, new RegExp(`verified ${expected.length} cache entries: all match`));
  writeFileSync(join(store.entryDir('splits', sp.key), 'splits_0.csv'), 'tampered\n');
  const tampered = milflow(dir, 'status', 'spec.yaml', '--verify');
  assert.equal(tampered.code, 1);
  assert.match(tampered.out, /corrupt: splits\/frac=0\.5 .*size mismatch: splits_0\.csv is 9 bytes, manifest says \d+/);

  const full = milflow(dir, 'plan', 'spec.yaml');
  assert.match(full.out, /evaluate\s+4\s+run\s+4/);
  const dot = milflow(dir, 'graph', 'spec.yaml', '--format', 'dot', '--collapse');
  assert.match(dot.out, /^digraph milflow/);
  assert.match(dot.out, /k_dataset -> k_splits \[label="2"\]/);
  const mm = milflow(dir, 'graph', 'spec.yaml');
  assert.match(mm.out, /^flowchart LR/);
  assert.equal(milflow(dir, 'graph', 'spec.yaml', '--format', 'png').code, 2);
});

test('Ctrl-C during training: workers stop, temp dirs go, the record says interrupted, exit 130', { skip: isRegistered('train') ? false : 'train is not registered in this build' }, async (t) => {
  const dir = tempDir('milflow-cli-int-', t);
  writeSpec(dir, syntheticSpec({ ...CLI, train: { ...CLI.train, max_epochs: 50, min_epochs: 50 } }));
  const cli = startCli(['run', 'spec.yaml', '--target', 'train/**'], { cwd: dir });
  const expDir = join(dir, 'runs', 'cli');
  const started = () => {
    const run = newestRunDir(expDir);
    if (!run || !existsSync(join(run, 'events.jsonl'))) return false;
    // A train stage has started and reported progress (its worker is mid-training).
    const text = readFileSync(join(run, 'events.jsonl'), 'utf8');
    return /"type":"stage-start"[^\n]*"kind":"train"/.test(text) && text.includes('"type":"stage-progress"');
  };
  await waitFor(started, 120_000, () => `training to start: ${cli.output()}`, 100);
  cli.child.kill('SIGINT');
  const code = await cli.exited;
  assert.equal(code, 130, cli.output());
  const rec = readRunRecord(newestRunDir(expDir)!);
  assert.equal(rec.status, 'interrupted');
  assert.ok(rec.stages.some((s: any) => s.kind === 'train' && s.status === 'skipped' && s.reason === 'interrupted'));
  assert.deepEqual(readdirSync(join(dir, 'runs', 'cache', '.tmp')), []);
  const store = new CacheStore(join(dir, 'runs', 'cache'));
  assert.equal(store.entries().filter((e) => e.kind === 'train').length, 0);
});
