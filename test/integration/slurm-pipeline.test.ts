// `milflow run` of a small real spec (synthetic dataset → splits → train → evaluate → aggregate)
// with `resources.executor: slurm`, against the single-node Slurm of scripts/start-slurm.sh:
// the heavy stages (train, evaluate) must go through Slurm jobs, every cache entry must verify
// against its manifest, and a rerun must be all cached without submitting anything.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { printedPath, readRunRecord, runCli, syntheticSpec, tempDir, writeSpec } from '../helpers/cli.ts';
import { ensureSlurm, releaseSlurm, skipReason } from '../helpers/slurm.ts';
import { sacctJob, scontrolJob, runCmd } from '../../src/exec/slurm-cli.ts';
import { stageKinds } from '../../src/stages/registry.ts';
import { CacheStore } from '../../src/cache/store.ts';

const h = ensureSlurm();
let skip = skipReason(h);
const missing = ['dataset', 'splits', 'train'].filter((k) => !stageKinds().includes(k));
if (!skip && missing.length) {
  skip = `stage kinds not registered in this build: ${missing.join(', ')}`;
  console.log(`skipped: ${skip}`);
}
after(() => releaseSlurm(h));

const dir = tempDir('milflow-slurm-pipeline-');
const specPath = writeSpec(dir, syntheticSpec({
  name: 'slurm-tiny', synthetic: { seed: 3, cases: 16, slides_per_case: [1, 1], dim: 8, bag_size: [10, 30], tumour_fraction: [0.1, 0.3], signal: 3.0 },
  splits: { folds: 2, val_frac: 0.25, test_frac: 0.25, training_fractions: [1.0] }, models: [{ name: 'clam_sb', type: 'clam_sb', B: 2 }],
  train: { max_epochs: 2, min_epochs: 1, patience: 1 },
  resources: { executor: 'slurm', slurm: { poll_seconds: 0.5, mem: '1G', cpus_per_task: 1, time: '00:10:00' } },
  output: { root: 'runs' },
}), 'tiny.yaml');

const milflow = (...args: string[]) => runCli(args, { cwd: dir, timeout: 10 * 60_000 });

interface StageRec { id: string; kind: string; key: string; status: string; error?: string; manifestPath?: string }
const readRecord = (runDir: string) => readRunRecord(runDir) as { status: string; stages: StageRec[]; counts: Record<string, number> };
const runDirOf = (out: string) => printedPath(dir, out);

test('a real spec runs its heavy stages as Slurm jobs; outputs verify; a rerun is all cached', { skip, timeout: 10 * 60_000 }, async () => {
  const t0 = Date.now();
  const first = milflow('run', specPath);
  assert.equal(first.code, 0, `milflow run failed:\n${first.err}\n${first.out}`);
  const seconds = (Date.now() - t0) / 1000;
  const runDir = runDirOf(first.out);
  const rec = readRecord(runDir);
  const heavy = rec.stages.filter((s) => s.kind === 'train' || s.kind === 'evaluate');
  assert.ok(heavy.filter((s) => s.kind === 'train').length === 2, 'two folds of train');
  for (const s of rec.stages) assert.ok(['executed', 'skipped'].includes(s.status), `${s.id}: ${s.status} ${s.error ?? ''}`);
  for (const s of heavy) assert.equal(s.status, 'executed', `${s.id}: ${s.error ?? ''}`);

  // Every heavy stage went through exactly one completed Slurm job named after it.
  const jobIds: string[] = [];
  for (const s of heavy) {
    const log = readFileSync(join(runDir, 'logs', s.id.replace(/[^A-Za-z0-9_.=-]+/g, '_') + '.log'), 'utf8');
    const ids = [...log.matchAll(/slurm job (\d+): COMPLETED/g)].map((m) => m[1]);
    assert.equal(ids.length, 1, `${s.id}: one completed job in its log:\n${log}`);
    assert.match(log, new RegExp(`milflow: slurm job ${ids[0]} on `), 'the job script itself reported from inside the job');
    const acct = await sacctJob(ids[0]); // only when accounting is enabled on this cluster
    if (acct) assert.equal(acct.state, 'COMPLETED');
    const sc = await scontrolJob(ids[0]);
    assert.equal(sc?.state, 'COMPLETED', `job ${ids[0]} of ${s.id}`);
    assert.equal(JSON.parse(readFileSync(join(runDir, 'slurm', readdirSync(join(runDir, 'slurm')).find((f) => f.endsWith(`.${ids[0]}.status.json`))!), 'utf8')).exit, 0);
    jobIds.push(ids[0]);
  }
  const names = await runCmd('squeue', ['-h', '--states=all', '-j', jobIds.join(','), '-o', '%j']);
  assert.deepEqual(names.stdout.trim().split('\n').sort(), heavy.map((s) => s.id).sort());

  // Outputs: every executed stage's cache entry verifies against its manifest.
  const store = new CacheStore(join(dir, 'runs', 'cache'));
  for (const s of rec.stages.filter((x) => x.status === 'executed')) {
    const v = store.verify(s.kind, s.key);
    assert.ok(v.ok, `${s.id}: ${v.problems.join('; ')}`);
  }
  const train0 = heavy.find((s) => s.kind === 'train')!;
  assert.ok(existsSync(join(store.entryDir('train', train0.key), 'model.safetensors')));
  for (const s of heavy.filter((x) => x.kind === 'evaluate')) {
    const csv = readFileSync(join(store.entryDir('evaluate', s.key), 'predictions.csv'), 'utf8').trim().split('\n');
    assert.ok(csv.length >= 2 && /slide_id/.test(csv[0]), `${s.id}: predictions.csv has a header and rows`);
  }
  console.log(`slurm pipeline: ${rec.stages.length} stages, ${jobIds.length} slurm jobs, ${seconds.toFixed(1)} s`);

  // Rerun: nothing to execute, nothing submitted.
  const second = milflow('run', specPath);
  assert.equal(second.code, 0, second.err);
  const runDir2 = runDirOf(second.out);
  const rec2 = readRecord(runDir2);
  assert.equal(rec2.counts.executed, 0, JSON.stringify(rec2.counts));
  for (const s of rec2.stages.filter((x) => x.kind !== 'report')) assert.equal(s.status, 'cached', s.id);
  assert.equal(existsSync(join(runDir2, 'slurm')), false, 'a cached rerun submits no Slurm job');
  assert.ok(dirname(runDir2) === dirname(runDir));
});
