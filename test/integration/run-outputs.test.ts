// Where a run's outputs land: the output root resolves against the spec's directory (whatever
// the working directory), --out overrides it for every verb, `milflow run` writes the report
// into runs/<name>/<run-id>/report/ and prints its path, and `status` exits non-zero for a
// failed or interrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/milflow.mjs', import.meta.url));
const SPEC = `name: outputs
dataset:
  synthetic: { seed: 3, cases: 16, bag_size: [8, 16], dim: 6, signal: 3.0 }
task:
  classes: [normal, tumor]
splits:
  folds: 2
  val_frac: 0.2
  test_frac: 0.2
models:
  - { name: mil, type: mil }
train:
  max_epochs: 1
  min_epochs: 0
  patience: 1
resources:
  devices: [cpu]
`;

function milflow(cwd: string, ...args: string[]) {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('output root follows the spec (not the working directory); --out overrides it; run writes and prints the report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-out-'));
  try {
    mkdirSync(join(dir, 'exp'));
    mkdirSync(join(dir, 'elsewhere'));
    writeFileSync(join(dir, 'exp', 'spec.yaml'), SPEC);
    const spec = join(dir, 'exp', 'spec.yaml');
    const run = milflow(join(dir, 'elsewhere'), 'run', spec);
    assert.equal(run.code, 0, run.err);
    assert.ok(existsSync(join(dir, 'exp', 'runs', 'cache')), 'cache under the spec directory');
    assert.equal(existsSync(join(dir, 'elsewhere', 'runs')), false, 'no stray runs/ in the working directory');
    const runDir = join(dir, 'elsewhere', /run: (.*)/.exec(run.out)![1].trim());
    assert.match(runDir, /exp\/runs\/outputs\/[^/]+$/);
    const report = /report: (.*)/.exec(run.out)![1].trim();
    assert.equal(join(dir, 'elsewhere', report), join(runDir, 'report', 'report.html'));
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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('status exits 1 for a failed run and 3 for one whose orchestrator died', () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-out-'));
  try {
    writeFileSync(join(dir, 'bad.csv'), '1,b1,0.5\n0,b2,x\n');
    writeFileSync(join(dir, 'spec.yaml'), SPEC.replace(/dataset:\n  synthetic: .*\n/, 'dataset:\n  mil_csv: { csv: bad.csv }\n').replace('name: outputs', 'name: broken'));
    const run = milflow(dir, 'run', 'spec.yaml');
    assert.equal(run.code, 1, run.out + run.err);
    const st = milflow(dir, 'status', 'spec.yaml');
    assert.equal(st.code, 1, st.out + st.err);
    assert.match(st.out, /failed/);

    // A record still saying 'running' whose orchestrator process is gone: interrupted.
    const runDir = join(dir, /run: (.*)/.exec(run.out)![1].trim());
    const rec = JSON.parse(readFileSync(join(runDir, 'record.json'), 'utf8'));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(runDir, 'record.json'), JSON.stringify({ ...rec, status: 'running', pid: Number(dead.stdout), finished: undefined }));
    const st3 = milflow(dir, 'status', '--run', runDir);
    assert.equal(st3.code, 3, st3.out + st3.err);
    assert.match(st3.out, /crashed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
