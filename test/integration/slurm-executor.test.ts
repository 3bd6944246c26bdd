// The scheduler with `resources.executor: slurm` against a real single-node Slurm: heavy stages
// become sbatch jobs (job name = stage id, logs in the run dir), outputs are published to the
// cache and verify against their manifests, a rerun submits nothing, a failing stage reports its
// own error, and an interrupted run cancels its job with scancel and leaves nothing partial.
// Stage kinds here are machinery probes (registered from a temp module), not models.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSlurm, releaseSlurm, skipReason } from '../helpers/slurm.ts';
import { scontrolJob, squeueState } from '../../src/exec/slurm-cli.ts';
import type { StageDecl } from '../../src/types/stage.ts';
import type { Resources } from '../../src/spec/types.gen.ts';
import type { RunEvent } from '../../src/records/events.ts';

const h = ensureSlurm();
const skip = skipReason(h);
after(() => releaseSlurm(h));

const dir = mkdtempSync(join(tmpdir(), 'milflow-slurm-exec-'));
const probe = join(dir, 'probe-kind.mjs');
// A heavy stage that proves where it ran: it logs its Slurm job id, streams progress and a metric,
// can fail with a slide-naming error, and can run long enough to be interrupted.
writeFileSync(probe, `
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  kind: 'slurm_probe', version: '1', heavy: true,
  async run(params, ctx) {
    ctx.log('probe ran in slurm job ' + (process.env.SLURM_JOB_ID ?? 'none') + ' threads ' + process.env.OMP_NUM_THREADS);
    const prev = ctx.inputs.prev ? readFileSync(join(ctx.inputs.prev.dir, 'out.txt'), 'utf8') : '';
    const steps = Math.max(1, Math.round((params.sleep ?? 0) / 0.1));
    for (let i = 1; i <= steps; i++) {
      if (ctx.signal.aborted) throw new Error('aborted');
      if (params.sleep) await new Promise((r) => setTimeout(r, 100));
      ctx.progress(i, steps, 'step');
    }
    if (params.fail) throw new Error(params.fail);
    // Fails on its first attempt only: the marker file outlives the attempt's temp dir.
    if (params.flaky && !existsSync(params.flaky)) { writeFileSync(params.flaky, 'seen'); throw new Error('transient failure'); }
    const text = prev + params.text + '\\n';
    ctx.metric('chars', text.length, 1);
    writeFileSync(join(ctx.outDir, 'out.txt'), text);
    return { metrics: { chars: text.length } };
  },
};
`);

const resources: Resources = { executor: 'slurm', slurm: { poll_seconds: 0.3, mem: '500M', cpus_per_task: 1, time: '00:10:00' } };

async function load() {
  const { registerStageKind } = await import('../../src/stages/registry.ts');
  await registerStageKind(probe);
  const { planDecls } = await import('../../src/dag/plan.ts');
  const { executePlan } = await import('../../src/exec/orchestrator.ts');
  const { CacheStore } = await import('../../src/cache/store.ts');
  return { planDecls, executePlan, CacheStore };
}

const jobIdsIn = (logText: string) => [...new Set([...logText.matchAll(/slurm job (\d+): COMPLETED/g)].map((m) => m[1]))];

test('heavy stages run as Slurm jobs, publish to the cache, and a rerun is all cached', { skip }, async () => {
  const { planDecls, executePlan, CacheStore } = await load();
  const root = join(dir, 'runs-ok');
  const decls: StageDecl[] = [
    { id: 'probe/a', kind: 'slurm_probe', params: { text: 'alpha' }, inputs: {} },
    { id: 'probe/b', kind: 'slurm_probe', params: { text: 'beta' }, inputs: {} },
    { id: 'probe/ab', kind: 'slurm_probe', params: { text: 'gamma' }, inputs: { prev: 'probe/a' } },
  ];
  const plan = await planDecls(decls, { root, experiment: 'slurm-exec' });
  assert.equal(plan.counts.run, 3);
  const events: RunEvent[] = [];
  const r = await executePlan({ plan, resources, progress: 'none', onEvent: (e) => events.push(e) });
  assert.equal(r.record.status, 'succeeded', JSON.stringify(r.record.stages.map((s) => [s.id, s.status, s.error])));
  assert.deepEqual(r.record.counts, { executed: 3, cached: 0, failed: 0, skipped: 0 });

  // Each stage went through its own Slurm job, named after the stage, with logs in the run dir.
  const slurmDir = join(r.runDir, 'slurm');
  const jobIds = new Set<string>();
  for (const s of decls) {
    const log = readFileSync(join(r.runDir, 'logs', s.id.replace(/\//g, '_') + '.log'), 'utf8');
    const ids = jobIdsIn(log);
    assert.equal(ids.length, 1, `${s.id}: one completed slurm job in its log:\n${log}`);
    assert.match(log, new RegExp(`probe ran in slurm job ${ids[0]} threads 1`));
    const info = await scontrolJob(ids[0]);
    assert.equal(info?.state, 'COMPLETED');
    jobIds.add(ids[0]);
    const out = readdirSync(slurmDir).filter((f) => f.endsWith(`.${ids[0]}.out`));
    assert.equal(out.length, 1, `stdout of job ${ids[0]} in ${slurmDir}`);
  }
  assert.equal(jobIds.size, 3);
  const jobName = (await import('../../src/exec/slurm-cli.ts')).runCmd;
  const names = await jobName('squeue', ['-h', '--states=all', '-j', [...jobIds].join(','), '-o', '%j']);
  assert.deepEqual(names.stdout.trim().split('\n').sort(), ['probe/a', 'probe/ab', 'probe/b']);

  // Progress and metrics streamed back from the jobs' stdout while they ran.
  assert.ok(events.some((e) => e.type === 'stage-progress' && e.id === 'probe/ab'));
  // Outputs: the downstream stage read its upstream's published output; every entry verifies.
  const store = new CacheStore(plan.cacheRoot);
  const ab = plan.stages.find((s) => s.id === 'probe/ab')!;
  assert.equal(readFileSync(join(store.entryDir('slurm_probe', ab.key), 'out.txt'), 'utf8'), 'alpha\ngamma\n');
  for (const s of plan.stages) {
    const v = store.verify(s.kind, s.key);
    assert.ok(v.ok, `${s.id}: ${v.problems.join('; ')}`);
    const m = store.readManifest(s.kind, s.key);
    assert.equal(m.device.kind, 'cpu');
    assert.ok(m.metrics.chars > 0);
    assert.ok(existsSync(join(store.entryDir(s.kind, s.key), 'metrics.jsonl')));
  }

  // Rerun: everything cached, nothing submitted.
  const plan2 = await planDecls(decls, { root, experiment: 'slurm-exec' });
  assert.equal(plan2.counts.cached, 3);
  const r2 = await executePlan({ plan: plan2, resources, progress: 'none' });
  assert.deepEqual(r2.record.counts, { executed: 0, cached: 3, failed: 0, skipped: 0 });
  assert.equal(existsSync(join(r2.runDir, 'slurm')), false, 'a cached rerun submits no job');
});

test('a failing stage reports its own error and the job id; dependants are skipped; nothing is cached', { skip }, async () => {
  const { planDecls, executePlan, CacheStore } = await load();
  const root = join(dir, 'runs-fail');
  const decls: StageDecl[] = [
    { id: 'probe/bad', kind: 'slurm_probe', params: { text: 'x', fail: 'slide_042.h5: features has 0 rows' }, inputs: {} },
    { id: 'probe/after', kind: 'slurm_probe', params: { text: 'y' }, inputs: { prev: 'probe/bad' } },
  ];
  const plan = await planDecls(decls, { root, experiment: 'slurm-fail' });
  const r = await executePlan({ plan, resources, progress: 'none' });
  assert.equal(r.record.status, 'failed');
  const bad = r.record.stages.find((s) => s.id === 'probe/bad')!;
  assert.equal(bad.status, 'failed');
  assert.match(bad.error ?? '', /slide_042\.h5: features has 0 rows \(slurm job \d+, logs /);
  assert.equal(r.record.stages.find((s) => s.id === 'probe/after')!.status, 'skipped');
  const store = new CacheStore(plan.cacheRoot);
  assert.equal(store.entries().length, 0);
  assert.deepEqual(readdirSync(store.tmpRoot).filter((f) => !f.startsWith('.')), []);
});

test('interrupting a run cancels its Slurm job and leaves no cache entry', { skip }, async () => {
  const { planDecls, executePlan, CacheStore } = await load();
  const root = join(dir, 'runs-int');
  const decls: StageDecl[] = [{ id: 'probe/long', kind: 'slurm_probe', params: { text: 'z', sleep: 120 }, inputs: {} }];
  const plan = await planDecls(decls, { root, experiment: 'slurm-int' });
  const ac = new AbortController();
  let runDir = '';
  const t0 = Date.now();
  const r = await executePlan({
    plan, resources, progress: 'none', signal: ac.signal,
    // The first progress line means the job is running its stage: interrupt then.
    onEvent: (e) => { if (e.type === 'run-start') runDir = join(root, 'slurm-int', e.runId); if (e.type === 'stage-progress') ac.abort(); },
  });
  assert.equal(r.record.status, 'interrupted');
  assert.equal(r.exitCode, 130);
  assert.ok(Date.now() - t0 < 90_000, 'cancelled long before the stage would have finished');
  const log = readFileSync(join(r.runDir || runDir, 'logs', 'probe_long.log'), 'utf8');
  const id = /slurm job (\d+): RUNNING/.exec(log)?.[1];
  assert.ok(id, `job id in the stage log:\n${log}`);
  assert.equal(await squeueState(id!), 'CANCELLED');
  const store = new CacheStore(plan.cacheRoot);
  assert.equal(store.entries().length, 0);
  assert.deepEqual(readdirSync(store.tmpRoot).filter((f) => !f.startsWith('.')), []);
});

test('resources.retries resubmits a failed stage as a new Slurm job', { skip }, async () => {
  const { planDecls, executePlan, CacheStore } = await load();
  const root = join(dir, 'runs-retry');
  const marker = join(dir, 'flaky-marker');
  const decls: StageDecl[] = [{ id: 'probe/flaky', kind: 'slurm_probe', params: { text: 'f', flaky: marker }, inputs: {} }];
  const plan = await planDecls(decls, { root, experiment: 'slurm-retry' });
  const r = await executePlan({ plan, resources: { ...resources, retries: 1 }, progress: 'none' });
  assert.equal(r.record.status, 'succeeded', JSON.stringify(r.record.stages));
  assert.equal(r.record.stages[0].attempts, 2);
  const files = readdirSync(join(r.runDir, 'slurm'));
  const statuses = files.filter((f) => f.endsWith('.status.json')).sort();
  assert.equal(statuses.length, 2, files.join(' '));
  // probe_flaky.a<attempt>.<jobid>.status.json: attempt 1 failed, attempt 2 (another job) succeeded.
  const byAttempt = statuses.map((f) => ({ attempt: /\.a(\d+)\./.exec(f)![1], ...JSON.parse(readFileSync(join(r.runDir, 'slurm', f), 'utf8')) }));
  assert.deepEqual(byAttempt.map((x) => [x.attempt, x.exit]), [['1', 1], ['2', 0]]);
  assert.notEqual(byAttempt[0].job, byAttempt[1].job, 'two distinct jobs');
  const store = new CacheStore(plan.cacheRoot);
  assert.ok(store.verify('slurm_probe', plan.stages[0].key).ok);
});

test('a rerun after the orchestrator was SIGKILLed cancels the job it left behind', { skip }, async () => {
  const { runStageOnSlurm } = await import('../../src/exec/slurm.ts');
  const outDir = mkdtempSync(join(dir, 'orphan-out-'));
  const job = {
    id: 'probe/orphan', kind: 'slurm_probe', key: 'orphan-key-' + process.pid, params: { text: 'o', sleep: 120 }, outDir,
    inputs: {}, externals: {}, device: { kind: 'cpu' as const, index: 0, threads: 1 }, version: '1', modules: { slurm_probe: probe },
  };
  const child = join(dir, 'orphan-child.mts');
  writeFileSync(child, `
import { runStageOnSlurm } from ${JSON.stringify(new URL('../../src/exec/slurm.ts', import.meta.url).pathname)};
await runStageOnSlurm({ job: ${JSON.stringify(job)}, runDir: ${JSON.stringify(join(dir, 'orphan-run-1'))}, slurm: ${JSON.stringify(resources.slurm)},
  onJob: (id, st) => { if (st === 'RUNNING') console.log('job ' + id); } });
`);
  // The first orchestrator: killed with SIGKILL (no exit hook, no scancel) once its job runs.
  const { spawn } = await import('node:child_process');
  const p = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'inherit'] });
  const orphan = await new Promise<string>((res, rej) => {
    let buf = '';
    p.stdout.on('data', (d) => { buf += d; const m = /job (\d+)/.exec(buf); if (m) res(m[1]); });
    p.on('exit', (c) => rej(new Error(`child exited ${c} before its job ran`)));
  });
  p.kill('SIGKILL');
  await new Promise((res) => p.once('exit', res));
  assert.equal(await squeueState(orphan), 'RUNNING', 'the orphan outlives its orchestrator');

  // The rerun of the same stage (same key) cancels it before submitting its own job.
  const logs: string[] = [];
  const r = await runStageOnSlurm({
    job: { ...job, params: { text: 'o' } }, runDir: join(dir, 'orphan-run-2'), slurm: resources.slurm,
    onMessage: (m) => { if (m.t === 'log') logs.push(m.message); },
  });
  assert.ok(r.slurm.jobId !== orphan);
  assert.ok(logs.some((l) => l.includes(`cancelled slurm job ${orphan}`)), logs.join('\n'));
  let st = await squeueState(orphan);
  for (let i = 0; i < 100 && st === 'COMPLETING'; i++) { await new Promise((res) => setTimeout(res, 200)); st = await squeueState(orphan); }
  assert.equal(st, 'CANCELLED');
});
