// Tracking against a real MLflow server (sqlite store, artifact proxy). The tracker is driven
// with recorded run event streams and cache entries (src/report/sample-run.ts), exactly as the
// executor feeds it; the quickstart-driven test lives in mlflow-quickstart.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMlflow, mlflowUnavailable, type MlflowServer } from '../helpers/mlflow.ts';
import { countingProxy } from '../helpers/counting-proxy.ts';
import { startCli } from '../helpers/cli.ts';
import { writeSampleRun } from '../../src/report/sample-run.ts';
import { createTracker } from '../../src/tracking/index.ts';
import { syncRun } from '../../src/tracking/sync.ts';
import { MlflowClient, type MlflowRun } from '../../src/tracking/mlflow-client.ts';
import type { RunEvent } from '../../src/records/events.ts';

const why = mlflowUnavailable();
if (why) console.log(`# skipping MLflow integration tests: ${why}`);

let server: MlflowServer;
let client: MlflowClient;
const tmp = mkdtempSync(join(tmpdir(), 'milflow-track-'));
const small = { models: ['clam_sb', 'mil'], fracs: [1, 0.5], folds: 2, epochs: 5, slides: 30 };

before(async () => {
  if (why) return;
  server = await startMlflow();
  client = new MlflowClient(server.uri);
});
after(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const tag = (r: MlflowRun, k: string) => r.data.tags?.find((t) => t.key === k)?.value;

async function feed(events: RunEvent[], runDir: string, spec: unknown, runId: string, opts: { stopAfter?: number; onStop?: () => Promise<void> } = {}) {
  const tracker = createTracker({ spec, runDir, runId, retryAfterMs: 600_000, log: () => {}, out: null, waitMs: 600_000 });
  for (const [i, e] of events.entries()) {
    await tracker.onEvent(e);
    if (i === opts.stopAfter) {
      await tracker.flush();
      await opts.onStop?.();
    }
  }
  const t0 = Date.now();
  await tracker.close();
  return Date.now() - t0;
}

/** What MLflow holds for an experiment, independent of ids and times. */
async function snapshot(experiment: string) {
  const exp = await client.getExperimentByName(experiment);
  assert.ok(exp, `experiment ${experiment} exists`);
  const runs = await client.searchRuns([exp.experiment_id]);
  const out: Record<string, unknown> = {};
  for (const r of runs) {
    const name = `${tag(r, 'milflow.run_id')}:${tag(r, 'milflow.role') === 'parent' ? '<parent>' : tag(r, 'milflow.stage_id')!}`;
    assert.ok(!(name in out), `duplicate MLflow run for ${name}`);
    const metricCounts: Record<string, number> = {};
    for (const m of r.data.metrics ?? []) metricCounts[m.key] = (await client.getMetricHistory(r.info.run_id, m.key)).length;
    out[name] = {
      status: r.info.status,
      params: Object.fromEntries((r.data.params ?? []).map((p) => [p.key, p.value]).sort()),
      metricCounts: Object.fromEntries(Object.entries(metricCounts).sort()),
      reused: tag(r, 'milflow.reused'),
      kind: tag(r, 'milflow.kind'),
      hasParent: tag(r, 'mlflow.parentRunId') !== undefined,
    };
  }
  return out;
}

test('parent run, one child per executed stage, per-epoch history, reused children after a rerun', { skip: why }, async () => {
  const root = join(tmp, 'online');
  const spec = { name: 'track-online', tracking: { mlflow: { uri: server.uri } }, models: [{ name: 'clam_sb' }, { name: 'mil' }] };
  const run1 = writeSampleRun({ root, experiment: 'track-online', runId: 'r1', ...small });
  await feed(run1.events, run1.runDir, spec, 'r1');
  const exp = (await client.getExperimentByName('track-online'))!;
  const parents = await client.searchRuns([exp.experiment_id], "tags.`milflow.run_id` = 'r1' and tags.`milflow.role` = 'parent'");
  assert.equal(parents.length, 1);
  const parent = parents[0];
  assert.equal(parent.info.status, 'FINISHED');
  assert.equal(parent.data.params?.find((p) => p.key === 'models.1.name')?.value, 'mil');
  const children = await client.searchRuns([exp.experiment_id], `tags.\`mlflow.parentRunId\` = '${parent.info.run_id}'`);
  assert.deepEqual(children.map((c) => tag(c, 'milflow.stage_id')).sort(), [...run1.stageIds].sort());
  assert.ok(children.every((c) => tag(c, 'milflow.reused') === 'false' && c.info.status === 'FINISHED'));

  const train = children.find((c) => tag(c, 'milflow.stage_id') === 'train/clam_sb/frac=0.5/fold=1')!;
  assert.equal(tag(train, 'fold'), '1');
  assert.equal(tag(train, 'frac'), '0.5');
  assert.equal(tag(train, 'model'), 'clam_sb');
  assert.equal(tag(train, 'milflow.engine'), 'native-openblas');
  assert.equal(tag(train, 'milflow.reason'), 'new');
  assert.match(tag(train, 'milflow.cache_key')!, /^[0-9a-f]{16}$/);
  const hist = await client.getMetricHistory(train.info.run_id, 'val_loss');
  assert.deepEqual(hist.map((m) => m.step), [0, 1, 2, 3, 4]);
  const expected = readFileSync(join(root, 'cache/train', tag(train, 'milflow.cache_key')!, 'epochs.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[4]));
  assert.deepEqual(hist.map((m) => m.value), expected);
  assert.equal(train.data.params?.find((p) => p.key === 'train.max_epochs')?.value, '5');
  // The checkpoint is an MLflow 3 logged model: safetensors + config + MLmodel, output of the train run.
  const st1 = JSON.parse(readFileSync(join(run1.runDir, 'tracking-state.json'), 'utf8'));
  const modelId = st1.stages['train/clam_sb/frac=0.5/fold=1'].model;
  assert.match(modelId, /^m-/);
  const model = await client.getLoggedModel(modelId);
  assert.equal(model.info.status, 'LOGGED_MODEL_READY');
  assert.equal(model.info.source_run_id, train.info.run_id);
  assert.deepEqual((await client.listProxyArtifacts(model.info.artifact_uri)).map((f) => f.path).sort(), ['MLmodel', 'config.json', 'model.safetensors']);
  assert.ok((await client.listArtifacts(train.info.run_id)).some((a) => a.path === 'epochs.csv'));
  // Experiment opens in MLflow's training view.
  assert.equal((await client.getExperiment(exp.experiment_id)).tags?.find((t) => t.key === 'mlflow.experimentKind')?.value, 'custom_model_development');
  const ev = children.find((c) => tag(c, 'milflow.kind') === 'evaluate')!;
  assert.ok((await client.listArtifacts(ev.info.run_id)).some((a) => a.path === 'predictions.csv'), 'predictions uploaded');

  // Rerun: everything from cache → a second parent whose children are tagged reused and linked.
  const run2 = writeSampleRun({ root, experiment: 'track-online', runId: 'r2', ...small, cachedFrom: 'r1' });
  await feed(run2.events, run2.runDir, spec, 'r2');
  const p2 = (await client.searchRuns([exp.experiment_id], "tags.`milflow.run_id` = 'r2' and tags.`milflow.role` = 'parent'"))[0];
  const reused = await client.searchRuns([exp.experiment_id], `tags.\`mlflow.parentRunId\` = '${p2.info.run_id}'`);
  assert.equal(reused.length, run2.stageIds.length);
  assert.ok(reused.every((c) => tag(c, 'milflow.reused') === 'true' && tag(c, 'milflow.reused_from_run_id') === 'r1'));
  const rt = reused.find((c) => tag(c, 'milflow.stage_id') === 'train/clam_sb/frac=0.5/fold=1')!;
  assert.equal(tag(rt, 'milflow.reused_from_mlflow_run_id'), train.info.run_id);
  assert.equal((await client.getMetricHistory(rt.info.run_id, 'val_loss')).length, 0, 'reused child carries no re-logged history');

  // Sync after a complete online run changes nothing.
  const before = await snapshot('track-online');
  const again = await syncRun(run1.runDir, { force: true });
  assert.equal(again.runsCreated + again.metricsLogged + again.paramsLogged, 0);
  assert.deepEqual(await snapshot('track-online'), before);
});

test('outage: server stopped mid-run, run completes, sync after restart equals an uninterrupted run', { skip: why }, async () => {
  const root = join(tmp, 'outage');
  const mk = (experiment: string) => ({ name: 'outage', tracking: { mlflow: { uri: server.uri, experiment } }, models: [{ name: 'clam_sb' }, { name: 'mil' }] });
  const ref = writeSampleRun({ root, experiment: 'outage-ref', runId: 'r1', ...small });
  await feed(ref.events, ref.runDir, mk('outage-ref'), 'r1');

  const cut = writeSampleRun({ root, experiment: 'outage-cut', runId: 'r1', ...small });
  const stopAt = cut.events.findIndex((e) => e.type === 'stage-end' && e.kind === 'evaluate') + 3;
  const closeMs = await feed(cut.events, cut.runDir, mk('outage-cut'), 'r1', { stopAfter: stopAt, onStop: () => server.stop() });
  assert.ok(closeMs < 15_000, `the run is not held up by the outage (close took ${closeMs} ms)`);
  const st = JSON.parse(readFileSync(join(cut.runDir, 'tracking-state.json'), 'utf8'));
  assert.equal(st.pending, true);
  assert.ok(Object.keys(st.stages).length > 0 && Object.keys(st.stages).length < cut.stageIds.length, 'part was pushed before the outage');

  await server.start();
  const r = await syncRun(cut.runDir);
  assert.ok(r.runsCreated > 0 && r.metricsLogged > 0);
  const a = await snapshot('outage-ref');
  const b = await snapshot('outage-cut');
  assert.equal(Object.keys(b).length, cut.stageIds.length + 1);
  assert.deepEqual(b, a);

  // Idempotent: a second (forced) sync adds nothing.
  const r2 = await syncRun(cut.runDir, { force: true });
  assert.equal(r2.runsCreated + r2.metricsLogged, 0);
  assert.deepEqual(await snapshot('outage-cut'), a);
});

test('lost state: sync finds runs by tag and tops up metric histories without duplicates', { skip: why }, async () => {
  const root = join(tmp, 'lost');
  const spec = { name: 'lost-state', tracking: { mlflow: { uri: server.uri } } };
  const run = writeSampleRun({ root, experiment: 'lost-state', runId: 'r1', ...small, models: ['clam_sb'], fracs: [1] });
  await feed(run.events, run.runDir, spec, 'r1');
  const ref = await snapshot('lost-state');
  rmSync(join(run.runDir, 'tracking-state.json'));
  const r = await syncRun(run.runDir);
  assert.equal(r.runsCreated, 0);
  assert.equal(r.metricsLogged, 0);
  assert.deepEqual(await snapshot('lost-state'), ref);
});

test('REST calls grow with stages, not stages²: a 74-stage cached rerun costs ≤ 3 requests per stage; a second sync costs none', { skip: why }, async () => {
  const root = join(tmp, 'count');
  const proxy = await countingProxy(server.uri);
  try {
    const spec = { name: 'count', tracking: { mlflow: { uri: proxy.uri } }, models: [{ name: 'clam_sb', type: 'clam_sb' }, { name: 'mil', type: 'mil' }] };
    const big = { models: ['clam_sb', 'mil'], fracs: [1, 0.5, 0.25], folds: 5, epochs: 20, slides: 30 };
    const run1 = writeSampleRun({ root, experiment: 'count', runId: 'r1', ...big });
    await feed(run1.events, run1.runDir, spec, 'r1');
    const first = proxy.total();
    const run2 = writeSampleRun({ root, experiment: 'count', runId: 'r2', ...big, cachedFrom: 'r1' });
    assert.ok(run2.stageIds.length >= 70, `${run2.stageIds.length} stages`);
    proxy.reset();
    await feed(run2.events, run2.runDir, spec, 'r2');
    const cached = proxy.total();
    console.log(`# ${run1.stageIds.length}-stage run: ${first} requests executed, ${cached} requests all cached: ${JSON.stringify(Object.fromEntries(proxy.counts))}`);
    assert.ok(cached <= 3 * run2.stageIds.length + 10, `${cached} requests for ${run2.stageIds.length} cached stages`);
    assert.ok(!proxy.counts.has('POST /api/2.0/mlflow/runs/search'), 'producers resolved from the producer run\'s state, no search');
    // Executed: per-epoch metrics in a handful of log-batches, not one per point.
    assert.ok(first <= 10 * run1.stageIds.length, `${first} requests for ${run1.stageIds.length} executed stages`);
    proxy.reset();
    const again = await syncRun(run2.runDir, { uri: proxy.uri, force: true });
    assert.equal(again.runsCreated + again.metricsLogged + again.paramsLogged, 0);
    assert.ok(proxy.total() <= 1, `a forced sync of a synced run: ${proxy.total()} requests`);
  } finally {
    await proxy.close();
  }
});

test('two syncs of one run at once (the run\'s background sync and the user\'s): the second sends nothing again', { skip: why }, async () => {
  const root = join(tmp, 'twosyncs');
  const proxy = await countingProxy(server.uri);
  try {
    const run = writeSampleRun({ root, experiment: 'two-syncs', runId: 'r1', ...small });
    const sync = async () => {
      const r = await startCli(['sync', '--run', run.runDir, '--uri', proxy.uri]).closed;
      if (r.code !== 0) throw new Error(`sync exited ${r.code}: ${r.out}${r.err}`);
      return r.out + r.err;
    };
    const outs = await Promise.all([sync(), sync()]);
    // One of them pushed the run; the other waited for its lock, then read the state it left.
    const pushed = outs.filter((o) => /\b\d+ runs created/.test(o) && !/\b0 runs created/.test(o));
    assert.equal(pushed.length, 1, outs.join('\n---\n'));
    const idle = outs.find((o) => o !== pushed[0])!;
    assert.match(idle, /already in sync|0 runs created, 0 params, 0 metric points/, idle);
    const snap = await snapshot('two-syncs');
    assert.equal(Object.keys(snap).length, run.stageIds.length + 1);
  } finally {
    await proxy.close();
  }
});
