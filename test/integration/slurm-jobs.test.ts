// The Slurm job runner (src/exec/slurm.ts) against a real single-node Slurm started by
// scripts/start-slurm.sh: success with streamed output, a failing exit code, cancellation, and
// sbatch options (partition, gres) reaching the controller.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSlurm, nodeGpus, releaseSlurm, skipReason } from '../helpers/slurm.ts';
import { runSlurmJob, describeSlurmFailure } from '../../src/exec/slurm.ts';
import { runCmd, scontrolJob, squeueState, SqueueWatcher, TERMINAL_STATES } from '../../src/exec/slurm-cli.ts';

const h = ensureSlurm();
const skip = skipReason(h);
after(() => releaseSlurm(h));

const dir = mkdtempSync(join(tmpdir(), 'milflow-slurm-jobs-'));
const opts = { poll_seconds: 0.3, mem: '200M', cpus_per_task: 1, time: '00:05:00' };

test('a job runs under Slurm, its output streams back, its exit code is read', { skip }, async () => {
  const lines: string[] = [];
  const states: string[] = [];
  const r = await runSlurmJob({
    stageId: 'train/clam_sb/frac=1/fold=0',
    argv: ['/bin/bash', '-c', 'for i in 1 2 3; do echo "{\\"step\\":$i,\\"job\\":\\"$SLURM_JOB_ID\\",\\"v\\":\\"$MILFLOW_TEST_VAR\\"}"; sleep 0.2; done'],
    env: { MILFLOW_TEST_VAR: "it's set" },
    cwd: dir,
    logDir: join(dir, 'slurm'),
    options: opts,
    onLine: (s, l) => { if (s === 'stdout') lines.push(l); },
    onState: (_j, s) => states.push(s),
  });
  assert.equal(r.ok, true, describeSlurmFailure('ok-job', r));
  assert.equal(r.state, 'COMPLETED');
  assert.equal(r.exitCode, 0);
  assert.equal(r.source, 'status-file');
  const parsed = lines.map((l) => JSON.parse(l));
  assert.deepEqual(parsed.map((p) => p.step), [1, 2, 3]);
  // The environment of the job script reached the command, and the command ran inside this job.
  for (const p of parsed) {
    assert.equal(p.job, r.jobId);
    assert.equal(p.v, "it's set");
  }
  assert.ok(states.includes('COMPLETED'), `states seen: ${states.join(',')}`);
  const sc = await scontrolJob(r.jobId);
  assert.equal(sc?.state, 'COMPLETED');
  assert.equal(sc?.nodes, 'localhost');
  assert.ok(existsSync(r.stdoutPath) && r.stdoutPath.includes(r.jobId));
  assert.ok(r.seconds >= 0.6 && r.seconds < 60, `seconds ${r.seconds}`);
});

test('a failing job reports its exit code and stderr', { skip }, async () => {
  const r = await runSlurmJob({
    stageId: 'evaluate/x',
    argv: ['/bin/bash', '-c', 'echo "slide_007.h5: truncated" >&2; exit 3'],
    cwd: dir,
    logDir: join(dir, 'slurm'),
    options: opts,
  });
  assert.equal(r.ok, false);
  assert.equal(r.state, 'FAILED');
  assert.equal(r.exitCode, 3);
  const msg = describeSlurmFailure('evaluate/x', r);
  assert.match(msg, /exited with code 3/);
  assert.match(msg, /slide_007\.h5: truncated/);
  assert.equal(JSON.parse(readFileSync(r.statusPath, 'utf8')).exit, 3);
});

test('aborting cancels the job with scancel', { skip }, async () => {
  const ac = new AbortController();
  let jobId = '';
  const t0 = Date.now();
  const p = runSlurmJob({
    stageId: 'train/long',
    argv: ['/bin/sleep', '120'],
    cwd: dir,
    logDir: join(dir, 'slurm'),
    options: opts,
    signal: ac.signal,
    onState: (j, s) => { jobId = j; if (s === 'RUNNING') ac.abort(); },
  });
  setTimeout(() => ac.abort(), 5000).unref();
  await assert.rejects(p, (e: Error) => e.name === 'AbortError');
  assert.ok(Date.now() - t0 < 60_000);
  assert.equal(await squeueState(jobId), 'CANCELLED');
});

test('sbatch options reach the controller: an unknown partition is rejected', { skip }, async () => {
  const base = { argv: ['/bin/true'], cwd: dir, logDir: join(dir, 'slurm') };
  await assert.rejects(runSlurmJob({ ...base, stageId: 'p', options: { ...opts, partition: 'no_such_partition' } }), /partition/i);
  const ok = await runSlurmJob({ ...base, stageId: 'p-debug', options: { ...opts, partition: 'debug' } });
  assert.equal(ok.ok, true);
});

test('--gres from resources.slurm.gres: a GPU job is scheduled against the node\'s GPUs', { skip }, async () => {
  const base = { cwd: dir, logDir: join(dir, 'slurm') };
  const gpus = nodeGpus();
  if (gpus === 0) {
    // A node without GPUs must refuse a GPU request rather than silently run it on CPU.
    await assert.rejects(runSlurmJob({ ...base, argv: ['/bin/true'], stageId: 'g', options: { ...opts, gres: 'gpu:1' } }), /gres|generic resource|Requested node configuration/i);
    return;
  }
  const lines: string[] = [];
  const r = await runSlurmJob({
    ...base, stageId: 'train/gpu', options: { ...opts, gres: 'gpu:1' },
    argv: ['/bin/bash', '-c', 'echo "gpus=${SLURM_GPUS_ON_NODE:-none}"'],
    onLine: (s, l) => { if (s === 'stdout') lines.push(l); },
  });
  assert.equal(r.ok, true, describeSlurmFailure('gpu', r));
  assert.deepEqual(lines, ['gpus=1']);
  const tres = await runCmd('squeue', ['-h', '--states=all', '-j', r.jobId, '-o', '%b']);
  assert.match(tres.stdout, /gpu:1/);
  // More GPUs than the node has: refused at submission.
  await assert.rejects(runSlurmJob({ ...base, argv: ['/bin/true'], stageId: 'g', options: { ...opts, gres: `gpu:${gpus + 1}` } }), /gres|generic resource|Requested node configuration/i);
});

test('jobs still in flight when the orchestrator exits are cancelled', { skip }, async () => {
  const script = join(dir, 'exit-early.mts');
  writeFileSync(script, `
import { runSlurmJob } from ${JSON.stringify(new URL('../../src/exec/slurm.ts', import.meta.url).pathname)};
void runSlurmJob({ stageId: 'exit/probe', argv: ['/bin/sleep', '120'], cwd: ${JSON.stringify(dir)}, logDir: ${JSON.stringify(join(dir, 'slurm'))},
  options: { poll_seconds: 0.3, mem: '100M', cpus_per_task: 1 },
  onState: (j, s) => { if (s === 'RUNNING') { console.log(j); process.exit(3); } } });
`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 3, r.stderr);
  const jobId = r.stdout.trim();
  assert.match(jobId, /^\d+$/);
  // scancel returns at once; the job passes through COMPLETING while slurmd kills it.
  let st = await squeueState(jobId);
  for (let i = 0; i < 100 && st === 'COMPLETING'; i++) { await new Promise((res) => setTimeout(res, 200)); st = await squeueState(jobId); }
  assert.equal(st, 'CANCELLED');
});

test('a job the controller has already forgotten (MinJobAge) is judged by its status file', { skip }, async () => {
  // squeue stops listing finished jobs after MinJobAge; with a long poll interval a job can finish
  // and vanish between two polls. Simulate that: once the job is done, report it as unknown.
  class Forgetful extends SqueueWatcher {
    override async state(jobId: string) {
      const s = await super.state(jobId);
      return s && TERMINAL_STATES.has(s) ? undefined : s;
    }
  }
  // And a controller that never lists the job at all (e.g. restarted with a fresh state): the job
  // is not declared lost while its status file may still come; it comes, and decides.
  class Blind extends SqueueWatcher {
    override async state(_jobId: string) { return undefined; }
  }
  for (const [code, pause, blind] of [[0, 0.5, 0], [4, 0.5, 0], [5, 1, 1]]) {
    const t0 = Date.now();
    const r = await runSlurmJob({
      stageId: `forgotten/${code}`,
      argv: ['/bin/bash', '-c', `sleep ${pause}; exit ${code}`],
      cwd: dir,
      logDir: join(dir, 'slurm'),
      options: opts,
      watcher: blind ? new Blind(100) : new Forgetful(100),
    });
    assert.equal(r.source, 'status-file');
    assert.equal(r.exitCode, code);
    assert.equal(r.state, code === 0 ? 'COMPLETED' : 'FAILED');
    assert.equal(r.ok, code === 0);
    assert.ok(Date.now() - t0 < 20_000, 'no wait for a job that has finished');
  }
});
