// Local executor machinery on test-only stage kinds: worker processes, cache entries and their
// manifests, run records, resume from cache, failures with --keep-going, retries, interruption,
// and two processes racing for one stage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planDecls } from '../../src/dag/plan.ts';
import { CacheStore } from '../../src/cache/store.ts';
import { executePlan } from '../../src/exec/orchestrator.ts';
import { registerStageKind } from '../../src/stages/registry.ts';
import { readEvents } from '../../src/records/events.ts';
import type { StageDecl } from '../../src/types/stage.ts';
import { childPayload, exitWithStageStatus, fileLines as lines, printedStageStatus, runAtOnce, tempDir } from '../helpers/cli.ts';

const KINDS = fileURLToPath(new URL('./exec-kinds.ts', import.meta.url));
const THIS = fileURLToPath(import.meta.url);
await registerStageKind(`${KINDS}#heavy`);
await registerStageKind(`${KINDS}#light`);

const resources = { devices: ['cpu'] as [string], slots_per_device: 2 };

function chain(count: string, ms = 150): StageDecl[] {
  return [
    { id: 'a', kind: 't_light', params: { name: 'a', count_file: count }, inputs: {} },
    { id: 'b', kind: 't_heavy', params: { name: 'b', ms, count_file: count }, inputs: { a: 'a' } },
    { id: 'c', kind: 't_heavy', params: { name: 'c', ms, count_file: count }, inputs: { a: 'a' } },
    { id: 'd', kind: 't_light', params: { name: 'd', count_file: count }, inputs: { b: 'b', c: 'c' } },
  ];
}

async function run(decls: StageDecl[], root: string, extra: Partial<Parameters<typeof executePlan>[0]> = {}) {
  const plan = await planDecls(decls, { root, experiment: 't' });
  return { plan, result: await executePlan({ plan, resources, progress: 'none', ...extra }) };
}

function tmpLeft(root: string): string[] {
  const d = join(root, 'cache', '.tmp');
  return existsSync(d) ? readdirSync(d) : [];
}

// Child mode: one orchestrator in its own process (for the race test).
const payload = childPayload('MILFLOW_EXEC_CHILD');
if (payload) {
  const { root, count, ms } = payload;
  const { result } = await run([{ id: 'slow', kind: 't_heavy', params: { name: 'slow', ms, count_file: count }, inputs: {} }], root);
  exitWithStageStatus(result);
} else {
  test('runs light stages in-process and heavy ones in workers; publishes verified entries and records', async (t) => {
    const root = tempDir('milflow-exec-', t);
    const count = join(root, 'count.txt');
    const { plan, result } = await run(chain(count), root);
    assert.equal(result.exitCode, 0, JSON.stringify(result.record.stages));
    assert.deepEqual(result.record.counts, { executed: 4, cached: 0, failed: 0, skipped: 0 });
    // Heavy stages ran in other processes, light ones here.
    const pids = new Map(lines(count).map((l) => l.split(' ') as [string, string]));
    assert.equal(pids.get('a'), String(process.pid));
    assert.notEqual(pids.get('b'), String(process.pid));
    assert.notEqual(pids.get('b'), pids.get('c'));
    const store = new CacheStore(plan.cacheRoot);
    const d = plan.stages.find((s) => s.id === 'd')!;
    assert.equal(readFileSync(join(store.entryDir('t_light', d.key), 'out.txt'), 'utf8'), 'a\nb\na\nc\nd\n');
    for (const s of plan.stages) {
      assert.deepEqual(store.verify(s.kind, s.key), { ok: true, problems: [] });
      const m = store.readManifest(s.kind, s.key);
      assert.equal(m.id, s.id);
      assert.equal(m.run_id, result.runId);
      assert.equal(lines(join(store.entryDir(s.kind, s.key), 'metrics.jsonl')).length, 2);
    }
    const bm = store.readManifest('t_heavy', plan.stages[1].key);
    assert.equal(bm.device.kind, 'cpu');
    assert.equal(bm.engine, 'test');
    assert.equal(bm.inputs.a.key, plan.stages[0].key);
    // Run records.
    const ev = readEvents(result.runDir);
    assert.equal(ev[0].type, 'run-start');
    assert.equal(ev.at(-1)!.type, 'run-end');
    assert.equal(ev.filter((e) => e.type === 'stage-end').length, 4);
    assert.ok(ev.some((e) => e.type === 'stage-metric' && e.id === 'b' && e.name === 'loss'));
    const rec = JSON.parse(readFileSync(join(result.runDir, 'record.json'), 'utf8'));
    assert.equal(rec.status, 'succeeded');
    assert.equal(rec.stages.find((s: any) => s.id === 'b').status, 'executed');
    assert.deepEqual(tmpLeft(root), []);

    // Rerun: nothing executes, every stage comes from the cache.
    const again = await run(chain(count), root);
    assert.deepEqual(again.plan.counts, { run: 0, cached: 4, total: 4 });
    assert.deepEqual(again.result.record.counts, { executed: 0, cached: 4, failed: 0, skipped: 0 });
    assert.equal(lines(count).length, 4);
    const cachedEnd = readEvents(again.result.runDir).find((e) => e.type === 'stage-end' && e.id === 'b');
    assert.equal(cachedEnd && cachedEnd.type === 'stage-end' && cachedEnd.producedByRunId, result.runId);
  });

  test('a failing stage is recorded with its message, caches nothing, and --keep-going runs the independent branch', async (t) => {
    const root = tempDir('milflow-exec-', t);
    const count = join(root, 'count.txt');
    const decls: StageDecl[] = [
      { id: 'a', kind: 't_light', params: { name: 'a' }, inputs: {} },
      { id: 'bad', kind: 't_heavy', params: { name: 'bad', fail_slide: 'TCGA-AB-1234' }, inputs: { a: 'a' } },
      { id: 'after-bad', kind: 't_light', params: { name: 'x' }, inputs: { bad: 'bad' } },
      { id: 'good', kind: 't_heavy', params: { name: 'good', ms: 300 }, inputs: { a: 'a' } },
    ];
    const { plan, result } = await run(decls, root, { keepGoing: true });
    assert.equal(result.exitCode, 1);
    const by = new Map(result.record.stages.map((s) => [s.id, s]));
    assert.equal(by.get('bad')!.status, 'failed');
    assert.match(by.get('bad')!.error!, /TCGA-AB-1234\.svs/);
    assert.equal(by.get('after-bad')!.status, 'skipped');
    assert.match(by.get('after-bad')!.reason, /upstream bad failed/);
    assert.equal(by.get('good')!.status, 'executed');
    const store = new CacheStore(plan.cacheRoot);
    assert.equal(existsSync(store.entryDir('t_heavy', plan.stages[1].key)), false);
    assert.deepEqual(tmpLeft(root), []);
    // The next plan says why it runs again.
    const again = await planDecls(decls, { root, experiment: 't' });
    assert.equal(again.stages.find((s) => s.id === 'bad')!.reason, 'failed last run');
    assert.equal(again.stages.find((s) => s.id === 'after-bad')!.reason, 'new');

    // Without --keep-going the run stops scheduling after the failure.
    const root2 = tempDir('milflow-exec-', t);
    const serial: StageDecl[] = [
      { id: 'bad', kind: 't_heavy', params: { name: 'bad', fail_slide: 'S1', count_file: count }, inputs: {} },
      { id: 'later', kind: 't_heavy', params: { name: 'later', count_file: count }, inputs: {} },
    ];
    const r2 = await run(serial, root2, { jobs: 1 });
    assert.equal(r2.result.exitCode, 1);
    const later = r2.result.record.stages.find((s) => s.id === 'later')!;
    assert.equal(later.status, 'skipped');
    assert.match(later.reason, /stopped after a failure/);
  });

  test('a slot reuses its worker process for the next heavy stage, and replaces it after a failure', async (t) => {
    const root = tempDir('milflow-exec-', t);
    const count = join(root, 'count.txt');
    const decls: StageDecl[] = [
      { id: 'h1', kind: 't_heavy', params: { name: 'h1', count_file: count }, inputs: {} },
      { id: 'h2', kind: 't_heavy', params: { name: 'h2', count_file: count }, inputs: { h1: 'h1' } },
      { id: 'bad', kind: 't_heavy', params: { name: 'bad', fail_slide: 'S3', count_file: count }, inputs: { h2: 'h2' } },
      { id: 'h3', kind: 't_heavy', params: { name: 'h3', count_file: count }, inputs: { h2: 'h2' } },
    ];
    const { result } = await run(decls, root, { jobs: 1, keepGoing: true });
    assert.equal(result.record.counts.executed, 3);
    const pid = new Map(lines(count).map((l) => l.split(' ') as [string, string]));
    assert.equal(pid.get('h1'), pid.get('h2'), 'one worker for consecutive stages on a slot');
    assert.notEqual(pid.get('h1'), String(process.pid));
    const order = lines(count).map((l) => l.split(' ')[0]);
    const after = order.indexOf('bad') < order.indexOf('h3');
    if (after) assert.notEqual(pid.get('h3'), pid.get('bad'), 'a worker whose stage failed is not reused');
  });

  test('an unreachable tracking server never fails the run', async (t) => {
    const root = tempDir('milflow-exec-', t);
    const decls: StageDecl[] = [{ id: 'a', kind: 't_light', params: { name: 'a' }, inputs: {} }];
    const plan = await planDecls(decls, { root, experiment: 't' });
    const spec = { name: 't', tracking: { mlflow: { uri: 'http://127.0.0.1:9' } } } as any;
    const r = await executePlan({ plan, resources, progress: 'none', spec: { path: join(root, 'spec.yaml'), hash: 'h', text: 'name: t\n', spec } });
    assert.equal(r.exitCode, 0);
    assert.equal(r.record.counts.executed, 1);
    assert.equal(readFileSync(join(r.runDir, 'spec.yaml'), 'utf8'), 'name: t\n');
  });

  test('retries a failed attempt in a fresh temp dir', async (t) => {
    const root = tempDir('milflow-exec-', t);
    const count = join(root, 'count.txt');
    const decls: StageDecl[] = [{ id: 'flaky', kind: 't_heavy', params: { name: 'f', fail_slide: 'S7', fail_times: 1, count_file: count }, inputs: {} }];
    const { plan, result } = await run(decls, root, { retries: 1 });
    assert.equal(result.exitCode, 0);
    assert.equal(result.record.stages[0].attempts, 2);
    assert.equal(lines(count).length, 2);
    assert.ok(new CacheStore(plan.cacheRoot).verify('t_heavy', plan.stages[0].key).ok);
    assert.ok(readEvents(result.runDir).filter((e) => e.type === 'stage-start').length === 2);
  });

  test('interruption stops workers, leaves no temp dirs or partial entries, records "interrupted"; a rerun resumes', async (t) => {
    const root = tempDir('milflow-exec-', t);
    const count = join(root, 'count.txt');
    const decls = chain(count, 20_000);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 1500);
    const t0 = performance.now();
    const { plan, result } = await run(decls, root, { signal: ac.signal });
    clearTimeout(timer);
    assert.ok(performance.now() - t0 < 10_000, 'workers were not stopped');
    assert.equal(result.exitCode, 130);
    assert.equal(result.record.status, 'interrupted');
    const by = new Map(result.record.stages.map((s) => [s.id, s.status]));
    assert.equal(by.get('a'), 'executed');
    assert.equal(by.get('d'), 'skipped');
    const store = new CacheStore(plan.cacheRoot);
    assert.equal(store.has('t_heavy', plan.stages[1].key), false);
    assert.deepEqual(tmpLeft(root), []);
    const ev = readEvents(result.runDir);
    const end = ev.at(-1)!;
    assert.equal(end.type === 'run-end' && end.status, 'interrupted');

    const again = await run(chain(count, 100), root);
    assert.equal(again.result.exitCode, 0);
  });

  test('two processes racing for one stage: it runs once, the other waits and takes it from the cache', async (t) => {
    const root = tempDir('milflow-exec-', t);
    const count = join(root, 'count.txt');
    const [x, y] = await runAtOnce(2, ['--import', 'tsx', THIS], { env: { MILFLOW_EXEC_CHILD: JSON.stringify({ root, count, ms: 2000 }) } });
    assert.equal(x.code, 0, x.err);
    assert.equal(y.code, 0, y.err);
    assert.equal(lines(count).length, 1, 'the stage ran more than once');
    const statuses = [x, y].map((r) => printedStageStatus(r.out)).sort();
    assert.deepEqual(statuses, ['cached', 'executed']);
  });
}
