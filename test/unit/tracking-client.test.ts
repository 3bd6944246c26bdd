// MLflow client and tracker behaviour that needs no MLflow: retries with backoff on 5xx,
// no retry on MLflow's 4xx answers, a clear error when nothing listens, param flattening, and
// a tracker that neither throws nor holds the run up when the server is down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowClient, MlflowApiError, MlflowUnavailableError } from '../../src/tracking/mlflow-client.ts';
import { toParams, flatten } from '../../src/tracking/flatten.ts';
import { createTracker } from '../../src/tracking/index.ts';
import { writeSampleRun } from '../../src/report/sample-run.ts';
import { freePort } from '../helpers/mlflow.ts';

async function serve(handler: (body: string, url: string, n: number) => [number, unknown]): Promise<{ uri: string; server: Server; calls: string[] }> {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      calls.push(`${req.method} ${req.url}`);
      const [status, json] = handler(body, req.url ?? '', calls.length);
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(json));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { uri: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, calls };
}

test('retries transient 5xx with backoff, then succeeds', async () => {
  const s = await serve((_b, _u, n) => (n < 3 ? [503, { error_code: 'TEMPORARILY_UNAVAILABLE' }] : [200, { experiment_id: '7' }]));
  try {
    const c = new MlflowClient(s.uri, { retries: 4, backoffMs: 10 });
    assert.equal(await c.createExperiment('x'), '7');
    assert.equal(s.calls.length, 3);
  } finally {
    s.server.close();
  }
});

test("MLflow's 4xx answers are not retried and carry the error code", async () => {
  const s = await serve(() => [400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'Changing param values is not allowed' }]);
  try {
    const c = new MlflowClient(s.uri, { retries: 4, backoffMs: 10 });
    await assert.rejects(c.logBatch('r', { params: [{ key: 'a', value: '1' }] }), (e: unknown) => e instanceof MlflowApiError && e.errorCode === 'INVALID_PARAMETER_VALUE' && /Changing param/.test(e.message));
    assert.equal(s.calls.length, 1);
  } finally {
    s.server.close();
  }
});

test('log-batch is packed within MLflow limits (100 params, 100 tags, 1000 entities per request)', async () => {
  const bodies: { params?: unknown[]; metrics?: unknown[] }[] = [];
  const s = await serve((b) => {
    bodies.push(JSON.parse(b));
    return [200, {}];
  });
  try {
    const c = new MlflowClient(s.uri);
    const params = Array.from({ length: 250 }, (_, i) => ({ key: `p${i}`, value: String(i) }));
    const metrics = Array.from({ length: 2500 }, (_, i) => ({ key: 'm', value: i, step: i, timestamp: 1 }));
    await c.logBatch('r', { params, metrics });
    assert.deepEqual(bodies.map((b) => [b.params?.length ?? 0, b.metrics?.length ?? 0]), [[100, 900], [100, 900], [50, 700]]);
  } finally {
    s.server.close();
  }
});

test('nothing listening → MlflowUnavailableError naming the server', async () => {
  const port = await freePort();
  const c = new MlflowClient(`http://127.0.0.1:${port}`, { retries: 2, backoffMs: 5 });
  await assert.rejects(c.getExperimentByName('x'), (e: unknown) => e instanceof MlflowUnavailableError && e.message.includes(`127.0.0.1:${port}`));
});

test('params: dotted keys, arrays of objects by index, long values cut to 500 chars', () => {
  assert.deepEqual(flatten({ a: { b: 1, c: [1, 3] }, models: [{ name: 'x' }, { name: 'y' }], e: {} }), { 'a.b': '1', 'a.c': '[1,3]', 'models.0.name': 'x', 'models.1.name': 'y', e: '{}' });
  const p = toParams({ description: 'x'.repeat(2000), z: 1, a: true });
  assert.deepEqual(p.map((x) => x.key), ['a', 'description', 'z']);
  assert.equal(p[1].value.length, 500);
  assert.match(p[1].value, /truncated\]$/);
});

test('tracker with the server down: never throws, does not hold the run, buffers for sync', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'milflow-trk-'));
  try {
    const port = await freePort();
    const run = writeSampleRun({ root: tmp, runId: 'r9', models: ['clam_sb'], fracs: [1], folds: 2, epochs: 3, slides: 12 });
    const logs: string[] = [];
    const tracker = createTracker({ spec: { name: 'x', tracking: { mlflow: { uri: `http://127.0.0.1:${port}` } } }, runDir: run.runDir, runId: 'r9', log: (m) => logs.push(m) });
    const t0 = Date.now();
    for (const e of run.events) await tracker.onEvent(e);
    const fed = Date.now() - t0;
    await tracker.close();
    assert.ok(fed < 200, `onEvent does not wait for the server (${fed} ms)`);
    assert.ok(Date.now() - t0 < 10_000);
    const st = JSON.parse(readFileSync(join(run.runDir, 'tracking-state.json'), 'utf8'));
    assert.equal(st.pending, true);
    assert.match(st.lastError, /unavailable/);
    assert.equal(logs.filter((l) => /milflow sync --run/.test(l)).length >= 1, true, 'tells the user how to push later');
    assert.deepEqual(JSON.parse(readFileSync(join(run.runDir, 'tracking-spec.json'), 'utf8')).name, 'x');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('no tracking URI: the tracker is a no-op', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'milflow-trk-'));
  try {
    const tracker = createTracker({ spec: { name: 'x' }, runDir: tmp, runId: 'r', env: {} });
    await tracker.onEvent({ type: 'run-end', time: new Date().toISOString(), runId: 'r', status: 'succeeded', counts: { executed: 0, cached: 0, failed: 0, skipped: 0 }, seconds: 0 });
    await tracker.close();
    assert.throws(() => readFileSync(join(tmp, 'tracking-state.json')));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('credentials in the URI (or MLFLOW_TRACKING_USERNAME/PASSWORD) become a basic auth header and are never shown', async () => {
  const seen: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    const ok = req.headers.authorization === 'Basic ' + Buffer.from('alice:s3cr#t').toString('base64');
    res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(ok ? { experiment_id: '3' } : { error_code: 'UNAUTHENTICATED', message: 'nope' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const c = new MlflowClient(`http://alice:s3cr%23t@127.0.0.1:${port}`, { env: {} });
    assert.equal(c.base, `http://127.0.0.1:${port}`);
    assert.equal(await c.createExperiment('x'), '3');
    const e = new MlflowClient(`http://127.0.0.1:${port}`, { env: { MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 's3cr#t' } });
    assert.equal(await e.createExperiment('x'), '3');
    const bad = new MlflowClient(`http://alice:wrong@127.0.0.1:${port}`, { env: {} });
    await assert.rejects(bad.createExperiment('x'), (err: unknown) => err instanceof MlflowApiError && err.status === 401 && !/wrong/.test(err.message) && /MLFLOW_TRACKING_USERNAME/.test(err.message));
    assert.equal(seen.length, 3);
  } finally {
    server.close();
  }
});

test('a password in the tracking URI is not printed nor stored (state, spec snapshot, logs)', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'milflow-trk-'));
  try {
    const port = await freePort();
    const run = writeSampleRun({ root: tmp, runId: 'r8', models: ['clam_sb'], fracs: [1], folds: 2, epochs: 2, slides: 12 });
    const logs: string[] = [];
    const uri = `http://bob:hunter2@127.0.0.1:${port}`;
    const tracker = createTracker({ spec: { name: 'x', tracking: { mlflow: { uri } } }, runDir: run.runDir, runId: 'r8', log: (m) => logs.push(m), out: null, env: {} });
    for (const e of run.events) await tracker.onEvent(e);
    await tracker.close();
    const stored = readFileSync(join(run.runDir, 'tracking-state.json'), 'utf8') + readFileSync(join(run.runDir, 'tracking-spec.json'), 'utf8') + logs.join('\n');
    assert.ok(logs.length > 0);
    assert.doesNotMatch(stored, /hunter2/);
    assert.match(stored, new RegExp(`127\\.0\\.0\\.1:${port}`));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a server that accepts connections and never answers costs seconds, once', async () => {
  const sockets: import('node:net').Socket[] = [];
  const hung = (await import('node:net')).createServer((s) => sockets.push(s)); // accept, never answer
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  const port = (hung.address() as { port: number }).port;
  const tmp = mkdtempSync(join(tmpdir(), 'milflow-trk-'));
  try {
    const c = new MlflowClient(`http://127.0.0.1:${port}`, { retries: 2, backoffMs: 10, timeoutMs: 300 });
    const t1 = Date.now();
    await assert.rejects(c.getExperimentByName('x'), (e: unknown) => e instanceof MlflowUnavailableError && /timed out/.test(e.message));
    assert.ok(Date.now() - t1 < 2000, `bounded by the response timeout (${Date.now() - t1} ms)`);
    const run = writeSampleRun({ root: tmp, runId: 'r7', models: ['clam_sb'], fracs: [1], folds: 2, epochs: 3, slides: 12 });
    const tracker = createTracker({ spec: { name: 'x', tracking: { mlflow: { uri: `http://127.0.0.1:${port}` } } }, runDir: run.runDir, runId: 'r7', log: () => {}, out: null, background: false });
    const t0 = Date.now();
    for (const e of run.events) await tracker.onEvent(e);
    await tracker.close();
    const took = Date.now() - t0;
    assert.ok(took < 8000, `a hung server costs seconds (${took} ms)`);
    assert.equal(JSON.parse(readFileSync(join(run.runDir, 'tracking-state.json'), 'utf8')).pending, true);
  } finally {
    for (const s of sockets) s.destroy();
    hung.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
