// Where a run's outputs land: the output root resolves against the spec's directory (whatever
// the working directory), --out overrides it for every verb, `milflow run` writes the report
// into runs/<name>/<run-id>/report/ and prints its path, and `status` exits non-zero for a
// failed or interrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadPid, milflow, printedPath, readRunRecord, specYaml, syntheticSpec, tempDir, writeSpec } from '../helpers/cli.ts';

const SECTIONS = {
  splits: { folds: 2, val_frac: 0.2, test_frac: 0.2 }, models: [{ name: 'mil', type: 'mil' }],
  train: { max_epochs: 1, min_epochs: 0, patience: 1 }, resources: { devices: ['cpu'] },
};
const SPEC = syntheticSpec({ name: 'outputs', synthetic: { seed: 3, cases: 16, bag_size: [8, 16], dim: 6, signal: 3.0 }, ...SECTIONS });

test('output root follows the spec (not the working directory); --out overrides it; run writes and prints the report', (t) => {
  const dir = tempDir('milflow-out-', t);
  mkdirSync(join(dir, 'exp'));
  mkdirSync(join(dir, 'elsewhere'));
  const spec = writeSpec(join(dir, 'exp'), SPEC);
  const run = milflow(join(dir, 'elsewhere'), 'run', spec);
  assert.equal(run.code, 0, run.err);
  assert.ok(existsSync(join(dir, 'exp', 'runs', 'cache')), 'cache under the spec directory');
  assert.equal(existsSync(join(dir, 'elsewhere', 'runs')), false, 'no stray runs/ in the working directory');
  const runDir = printedPath(join(dir, 'elsewhere'), run.out);
  assert.match(runDir, /exp\/runs\/outputs\/[^/]+$/);
  assert.equal(printedPath(join(dir, 'elsewhere'), run.out, 'report'), join(runDir, 'report', 'report.html'));
  assert.ok(existsSync(join(runDir, 'report', 'report.html')));
  assert.ok(existsSync(join(runDir, 'report', 'report.md')));

  // Every verb, from any directory, sees the same cache.
  const plan = milflow(dir, 'plan', 'exp/spec.yaml', '--json');
  assert.equal(plan.code, 0, plan.err);
  const p = JSON.parse(plan.out);
  assert.equal(p.counts.run, 0, 'everything cached when planned from another directory');
  const st = milflow(join(dir, 'elsewhere'), 'status', spec);
  assert.equal(st.code, 0, st.err);
  assert.match(st.out, /succeeded/);

  // --out: a different root, for plan and status alike.
  const alt = join(dir, 'alt');
  const p2 = JSON.parse(milflow(dir, 'plan', 'exp/spec.yaml', '--json', '--out', alt).out);
  assert.equal(p2.counts.cached, 0);
  assert.equal(p2.cache, join(alt, 'cache'));
  const st2 = milflow(dir, 'status', 'exp/spec.yaml', '--out', alt);
  assert.notEqual(st2.code, 0);
  assert.match(st2.err, /no runs found|no run record/);
});

test('status exits 1 for a failed run and 3 for one whose orchestrator died', (t) => {
  const dir = tempDir('milflow-out-', t);
  writeFileSync(join(dir, 'bad.csv'), '1,b1,0.5\n0,b2,x\n');
  writeSpec(dir, specYaml({ name: 'broken', dataset: { mil_csv: { csv: 'bad.csv' } }, ...SECTIONS }));
  const run = milflow(dir, 'run', 'spec.yaml');
  assert.equal(run.code, 1, run.out + run.err);
  const st = milflow(dir, 'status', 'spec.yaml');
  assert.equal(st.code, 1, st.out + st.err);
  assert.match(st.out, /failed/);

  // A record still saying 'running' whose orchestrator process is gone: interrupted.
  const runDir = printedPath(dir, run.out);
  const rec = readRunRecord(runDir);
  writeFileSync(join(runDir, 'record.json'), JSON.stringify({ ...rec, status: 'running', pid: deadPid(), finished: undefined }));
  const st3 = milflow(dir, 'status', '--run', runDir);
  assert.equal(st3.code, 3, st3.out + st3.err);
  assert.match(st3.out, /crashed/);
});
