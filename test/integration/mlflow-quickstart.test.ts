// The quickstart pipeline (`milflow run`, shrunk to seconds) tracked by a real MLflow server:
// parent + one child per executed stage, a training stage's per-epoch history, reused children
// after a rerun; and an outage mid-run healed by `milflow sync`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { parse, stringify } from 'yaml';
import { startMlflow, mlflowUnavailable, type MlflowServer } from '../helpers/mlflow.ts';
import { chromiumUnavailable, launchBrowser } from '../helpers/browser.ts';
import { mkdirSync } from 'node:fs';
import { MlflowClient, type MlflowRun } from '../../src/tracking/mlflow-client.ts';
import type { RunEvent } from '../../src/records/events.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const why = mlflowUnavailable();
if (why) console.log(`# skipping MLflow quickstart tests: ${why}`);
let server: MlflowServer;
let client: MlflowClient;
const tmp = mkdtempSync(join(tmpdir(), 'milflow-qs-'));
before(async () => {
  if (why) return;
  server = await startMlflow();
  client = new MlflowClient(server.uri);
});
after(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** experiments/quickstart.yaml, shrunk: 2 folds × 2 fractions × 2 models, 4 epochs. */
function tinySpec(dir: string, experiment: string): string {
  const spec = parse(readFileSync(join(ROOT, 'experiments/quickstart.yaml'), 'utf8'));
  spec.dataset.synthetic.cases = 40;
  spec.splits.folds = 2;
  spec.splits.training_fractions = [1.0, 0.5];
  spec.train.max_epochs = 4;
  spec.train.min_epochs = 4;
  spec.resources = { devices: 'auto' };
  spec.tracking = { mlflow: { uri: server.uri, experiment } };
  spec.output = { root: join(dir, 'runs') };
  const p = join(dir, 'spec.yaml');
  writeFileSync(p, stringify(spec));
  return p;
}

// The run waits for MLflow to hold everything (no background sync), so the test can look at once.
const env = () => ({ ...process.env, MLFLOW_TRACKING_URI: '', MILFLOW_TRACKING_WAIT_MS: '600000' });
function milflow(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/milflow.mjs'), ...args], { encoding: 'utf8', env: env(), timeout: 600_000 });
  assert.equal(r.status, 0, `milflow ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}
function runDirs(root: string): string[] {
  const exp = join(root, 'quickstart');
  return readdirSync(exp).filter((d) => existsSync(join(exp, d, 'events.jsonl'))).sort().map((d) => join(exp, d));
}
const events = (dir: string): RunEvent[] => readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const tag = (r: MlflowRun, k: string) => r.data.tags?.find((t) => t.key === k)?.value;

async function tracked(experiment: string, runId: string) {
  const exp = (await client.getExperimentByName(experiment))!;
  assert.ok(exp, `MLflow experiment ${experiment}`);
  const parents = await client.searchRuns([exp.experiment_id], `tags.\`milflow.run_id\` = '${runId}' and tags.\`milflow.role\` = 'parent'`);
  assert.equal(parents.length, 1, 'one parent run');
  const children = await client.searchRuns([exp.experiment_id], `tags.\`mlflow.parentRunId\` = '${parents[0].info.run_id}'`);
  return { exp, parent: parents[0], children };
}

async function snapshot(experiment: string, runId: string) {
  const { parent, children } = await tracked(experiment, runId);
  const out: Record<string, unknown> = {};
  for (const r of [parent, ...children]) {
    const name = tag(r, 'milflow.stage_id') ?? '<parent>';
    assert.ok(!(name in out), `duplicate run ${name}`);
    const counts: Record<string, number> = {};
    for (const m of r.data.metrics ?? []) counts[m.key] = (await client.getMetricHistory(r.info.run_id, m.key)).length;
    out[name] = {
      status: r.info.status,
      params: Object.fromEntries((r.data.params ?? []).map((p) => [p.key, p.value]).sort()),
      metrics: Object.fromEntries(Object.entries(counts).sort()),
    };
  }
  return out;
}

test('quickstart: parent, one child per executed stage, epoch history; rerun → reused children', { skip: why }, async () => {
  const dir = mkdtempSync(join(tmp, 'a-'));
  const spec = tinySpec(dir, 'qs-online');
  milflow('run', spec);
  const [run1] = runDirs(join(dir, 'runs'));
  const ev1 = events(run1);
  const runId1 = (ev1[0] as Extract<RunEvent, { type: 'run-start' }>).runId;
  const executed = ev1.filter((e): e is Extract<RunEvent, { type: 'stage-end' }> => e.type === 'stage-end' && e.status === 'executed');
  assert.ok(executed.some((e) => e.kind === 'train') && executed.some((e) => e.kind === 'evaluate'));

  const { parent, children } = await tracked('qs-online', runId1);
  assert.equal(parent.info.status, 'FINISHED');
  assert.equal(parent.data.params?.find((p) => p.key === 'splits.folds')?.value, '2');
  assert.deepEqual(children.map((c) => tag(c, 'milflow.stage_id')).sort(), executed.map((e) => e.id).sort(), 'one child per executed stage');
  const trainEnd = executed.find((e) => e.kind === 'train')!;
  const train = children.find((c) => tag(c, 'milflow.stage_id') === trainEnd.id)!;
  assert.equal(tag(train, 'milflow.cache_key'), trainEnd.key);
  assert.ok(tag(train, 'model') && tag(train, 'fold') !== undefined && tag(train, 'frac') !== undefined);
  const epochs = readFileSync(join(trainEnd.manifestPath!, '../epochs.csv'), 'utf8').trim().split('\n');
  const head = epochs[0].split(',');
  const rows = epochs.slice(1).map((l) => l.split(','));
  const hist = await client.getMetricHistory(train.info.run_id, 'val_loss');
  assert.equal(hist.length, rows.length, 'one val_loss point per epoch');
  assert.deepEqual(hist.map((m) => m.step), rows.map((r) => Number(r[head.indexOf('epoch')])));
  for (const [i, m] of hist.entries()) assert.ok(Math.abs(m.value - Number(rows[i][head.indexOf('val_loss')])) < 1e-6);
  // The checkpoint as an MLflow 3 logged model whose params are the model config.
  const modelId = JSON.parse(readFileSync(join(run1, 'tracking-state.json'), 'utf8')).stages[trainEnd.id].model;
  const model = await client.getLoggedModel(modelId);
  assert.equal(model.info.source_run_id, train.info.run_id);
  assert.ok((await client.listProxyArtifacts(model.info.artifact_uri)).some((f) => f.path === 'model.safetensors'));
  assert.ok(model.data?.params?.some((p) => p.key === 'type'));
  // MIL children list no CLAM-only params; the parent carries the headline results.
  const milTrain = children.find((c) => tag(c, 'milflow.kind') === 'train' && tag(c, 'model') === 'mil')!;
  assert.ok(milTrain.data.params?.some((p) => p.key === 'model.type') && !milTrain.data.params?.some((p) => p.key === 'model.B' || p.key === 'model.c1'));
  assert.ok(train.data.params?.some((p) => p.key === 'model.B'));
  const headline = (parent.data.metrics ?? []).map((m) => m.key);
  assert.ok(headline.some((k) => /^auc_mean\/clam_sb\//.test(k)) && headline.some((k) => /^auc_sd\/mil\//.test(k)), headline.join(' '));
  assert.ok(headline.some((k) => /^auc_diff\/clam_sb-vs-mil\//.test(k)) && headline.some((k) => /^auc_diff_p\//.test(k)), headline.join(' '));

  // `milflow report` renders into the run dir and attaches the report to the parent run.
  milflow('report', spec);
  assert.ok(existsSync(join(run1, 'report/report.html')));
  assert.ok((await client.listArtifacts(parent.info.run_id, 'report')).some((a) => a.path === 'report/report.html'));

  milflow('run', spec);
  const run2 = runDirs(join(dir, 'runs')).find((d) => d !== run1)!;
  const ev2 = events(run2);
  const cached = ev2.filter((e): e is Extract<RunEvent, { type: 'stage-end' }> => e.type === 'stage-end' && e.status === 'cached');
  assert.ok(cached.length >= executed.length - 1, 'the rerun is served from cache');
  const second = await tracked('qs-online', (ev2[0] as Extract<RunEvent, { type: 'run-start' }>).runId);
  const reused = second.children.filter((c) => tag(c, 'milflow.reused') === 'true');
  assert.deepEqual(reused.map((c) => tag(c, 'milflow.stage_id')).sort(), cached.map((e) => e.id).sort());
  const rt = reused.find((c) => tag(c, 'milflow.stage_id') === trainEnd.id)!;
  assert.equal(tag(rt, 'milflow.reused_from_run_id'), runId1);
  assert.equal(tag(rt, 'milflow.reused_from_mlflow_run_id'), train.info.run_id);
});

const noBrowser = why ?? chromiumUnavailable();
test('the experiment page opens in the training view; headline AUC columns in the runs table (screenshot)', { skip: noBrowser }, async () => {
  const exp = await client.getExperimentByName('qs-online');
  assert.ok(exp, 'run the first quickstart test before this one');
  // The URL milflow prints at the end of a run.
  const url = `${server.uri}/#/experiments/${exp.experiment_id}?workflowType=machine_learning`;
  const b = await launchBrowser();
  try {
    const page = await b.context.newPage();
    await page.setViewportSize({ width: 2000, height: 800 });
    await page.goto(url, { waitUntil: 'networkidle', timeout: 120_000 });
    await page.waitForFunction(() => document.body.innerText.includes('Run Name'), undefined, { timeout: 120_000 });
    // The assistant side panel takes a third of the page: closed, as a user would.
    const closeButton = page.locator('[aria-label*="close" i]').last();
    if (await closeButton.count()) await closeButton.click().catch(() => {});
    // Metric columns are opt-in in MLflow 3's table: tick the filtered "Metrics (n)" group, as a user would.
    await page.getByRole('button', { name: 'Columns' }).click();
    await page.getByPlaceholder('Search columns').fill('auc_mean/');
    await page.locator('.du-bois-light-tree-treenode', { hasText: /^Metrics \(/ }).locator('.du-bois-light-tree-checkbox').click();
    await page.keyboard.press('Escape');
    await page.waitForTimeout(1000);
    const dir = join(ROOT, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'mlflow-experiment.png') });
    const text = await page.innerText('body');
    assert.match(text, /Model training/);
    assert.doesNotMatch(text, /Token Usage|Detect Issues/, 'not the GenAI overview');
    const heads = await page.locator('[role="columnheader"]').allInnerTexts();
    assert.ok(heads.some((h) => /^auc_mean\/clam_sb\//.test(h)) && heads.some((h) => /^auc_mean\/mil\//.test(h)), heads.join(' | '));
  } finally {
    await b.close();
  }
});

test('quickstart outage: server stopped mid-run, run completes, sync → same as an uninterrupted run', { skip: why }, async () => {
  const refDir = mkdtempSync(join(tmp, 'ref-'));
  milflow('run', tinySpec(refDir, 'qs-ref'));
  const [refRun] = runDirs(join(refDir, 'runs'));
  const refId = (events(refRun)[0] as Extract<RunEvent, { type: 'run-start' }>).runId;

  const dir = mkdtempSync(join(tmp, 'cut-'));
  const spec = tinySpec(dir, 'qs-cut');
  const child = spawn(process.execPath, [join(ROOT, 'bin/milflow.mjs'), 'run', spec, '--jobs', '1'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? 1)));
  // Stop the server as soon as the run has finished its first stage.
  let stopped = false;
  while (!stopped) {
    await new Promise((r) => setTimeout(r, 50));
    const root = join(dir, 'runs', 'quickstart');
    const d = existsSync(root) ? readdirSync(root).find((x) => existsSync(join(root, x, 'events.jsonl'))) : undefined;
    if (d && readFileSync(join(root, d, 'events.jsonl'), 'utf8').includes('"stage-end"')) {
      await server.stop();
      stopped = true;
    }
    if (child.exitCode !== null) break;
  }
  assert.ok(stopped, `server stopped mid-run (run output: ${output})`);
  assert.equal(await exited, 0, `the run completes without MLflow: ${output}`);
  const [cutRun] = runDirs(join(dir, 'runs'));
  const cutId = (events(cutRun)[0] as Extract<RunEvent, { type: 'run-start' }>).runId;
  assert.equal(JSON.parse(readFileSync(join(cutRun, 'tracking-state.json'), 'utf8')).pending, true, 'events buffered for sync');
  assert.match(output, /milflow sync/);

  await server.start();
  const s = milflow('sync', '--run', cutRun);
  assert.match(s.stdout, /runs created/);
  const want = await snapshot('qs-ref', refId);
  assert.deepEqual(await snapshot('qs-cut', cutId), want);
  // Idempotent: syncing again (forced) changes nothing.
  const again = milflow('sync', '--run', cutRun, '--force');
  assert.match(again.stdout, /0 runs created, 0 params, 0 metric points/);
  assert.deepEqual(await snapshot('qs-cut', cutId), want);
});

test('live: a training stage\'s epochs reach MLflow while it trains, each with its own time', { skip: why }, async () => {
  const dir = mkdtempSync(join(tmp, 'live-'));
  const p = tinySpec(dir, 'qs-live');
  const spec = parse(readFileSync(p, 'utf8'));
  spec.dataset.synthetic.cases = 80;
  spec.splits.folds = 1;
  spec.splits.training_fractions = [1.0];
  spec.models = [spec.models[0]];
  spec.train.max_epochs = 30;
  spec.train.min_epochs = 30;
  writeFileSync(p, stringify(spec));
  const child = spawn(process.execPath, [join(ROOT, 'bin/milflow.mjs'), 'run', p], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? 1)));
  const root = join(dir, 'runs', 'quickstart');
  let seenDuring = 0;
  let trainId: string | undefined;
  while (child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 300));
    const d = existsSync(root) ? readdirSync(root).find((x) => existsSync(join(root, x, 'events.jsonl'))) : undefined;
    if (!d) continue;
    const evs = readFileSync(join(root, d, 'events.jsonl'), 'utf8');
    trainId ??= /"type":"stage-start","time":"[^"]+","id":"(train\/[^"]+)"/.exec(evs)?.[1];
    if (!trainId || evs.includes(`"type":"stage-end","time"`) && evs.split('\n').some((l) => l.includes('"stage-end"') && l.includes(`"id":"${trainId}"`))) continue;
    const exp = await client.getExperimentByName('qs-live');
    if (!exp) continue;
    const runs = await client.searchRuns([exp.experiment_id], `tags.\`milflow.stage_id\` = '${trainId}'`);
    if (!runs.length) continue;
    const hist = await client.getMetricHistory(runs[0].info.run_id, 'train_loss');
    // Only count what MLflow held while the stage was still running (re-checked after the query).
    const now = readFileSync(join(root, d, 'events.jsonl'), 'utf8');
    if (!now.split('\n').some((l) => l.includes('"stage-end"') && l.includes(`"id":"${trainId}"`))) seenDuring = Math.max(seenDuring, hist.length);
  }
  assert.equal(await exited, 0, output);
  console.log(`# MLflow held ${seenDuring} of 30 epochs of ${trainId} before the stage ended`);
  assert.ok(seenDuring >= 1 && seenDuring < 30, `epochs visible while training: ${seenDuring}`);
  const { children } = await tracked('qs-live', (events(runDirs(join(dir, 'runs'))[0])[0] as Extract<RunEvent, { type: 'run-start' }>).runId);
  const train = children.find((c) => tag(c, 'milflow.stage_id') === trainId)!;
  const hist = await client.getMetricHistory(train.info.run_id, 'train_loss');
  assert.deepEqual(hist.map((m) => m.step), Array.from({ length: 30 }, (_, i) => i + 1), 'each epoch once');
  assert.ok(new Set(hist.map((m) => m.timestamp)).size > 1, 'epochs carry their own timestamps');
  assert.equal(train.info.status, 'FINISHED');
});
