// Slurm parity for tracking: the same small spec run locally and with `resources.executor: slurm`
// (single-node Slurm of scripts/start-slurm.sh) appears in MLflow with the same runs, params and
// metric histories; only where it ran (resources.*, device, host) may differ.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureSlurm, releaseSlurm, skipReason } from '../helpers/slurm.ts';
import { startMlflow, mlflowUnavailable, type MlflowServer } from '../helpers/mlflow.ts';
import { MlflowClient, type MlflowRun } from '../../src/tracking/mlflow-client.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const noMlflow = mlflowUnavailable();
const h = noMlflow ? undefined : ensureSlurm();
const skip = noMlflow ?? (h ? skipReason(h) : undefined);
let server: MlflowServer;
let client: MlflowClient;
const dir = mkdtempSync(join(tmpdir(), 'milflow-mlflow-slurm-'));
before(async () => {
  if (skip) return;
  server = await startMlflow();
  client = new MlflowClient(server.uri);
});
after(async () => {
  await server?.close();
  if (h) releaseSlurm(h);
  rmSync(dir, { recursive: true, force: true });
});

function spec(executor: 'local' | 'slurm'): string {
  const p = join(dir, `${executor}.yaml`);
  writeFileSync(p, `
name: parity
dataset:
  synthetic: { seed: 3, cases: 16, slides_per_case: [1, 1], dim: 8, bag_size: [10, 30], tumour_fraction: [0.1, 0.3], signal: 3.0 }
task:
  classes: [normal, tumor]
splits: { folds: 2, val_frac: 0.25, test_frac: 0.25, training_fractions: [1.0] }
models:
  - { name: clam_sb, type: clam_sb, B: 2 }
  - { name: mil, type: mil }
train: { max_epochs: 3, min_epochs: 3, patience: 1 }
resources:
  executor: ${executor}
${executor === 'slurm' ? '  slurm: { poll_seconds: 0.5, mem: 1G, cpus_per_task: 1, time: "00:10:00" }' : ''}
tracking:
  mlflow: { uri: ${server.uri}, experiment: parity-${executor} }
output:
  root: ${join(dir, executor)}
`);
  return p;
}

const tag = (r: MlflowRun, k: string) => r.data.tags?.find((t) => t.key === k)?.value;

/** What MLflow holds for the experiment's one run, without ids, times, devices or resources. */
async function snapshot(experiment: string) {
  const exp = (await client.getExperimentByName(experiment))!;
  assert.ok(exp, experiment);
  const out: Record<string, unknown> = {};
  for (const r of await client.searchRuns([exp.experiment_id])) {
    const counts: Record<string, number> = {};
    for (const m of r.data.metrics ?? []) counts[m.key] = (await client.getMetricHistory(r.info.run_id, m.key)).length;
    out[tag(r, 'milflow.stage_id') ?? '<parent>'] = {
      status: r.info.status,
      kind: tag(r, 'milflow.kind'),
      labels: ['model', 'frac', 'fold', 'cohort'].map((k) => tag(r, k)),
      params: Object.fromEntries((r.data.params ?? []).filter((p) => !p.key.startsWith('resources.')).map((p) => [p.key, p.value]).sort()),
      metrics: Object.fromEntries(Object.entries(counts).sort()),
    };
  }
  return out;
}

test('a Slurm-executed run appears in MLflow like the local run', { skip }, async () => {
  for (const ex of ['local', 'slurm'] as const) {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/milflow.mjs'), 'run', spec(ex)], {
      encoding: 'utf8', timeout: 15 * 60_000, env: { ...process.env, MLFLOW_TRACKING_URI: '', MILFLOW_TRACKING_WAIT_MS: '600000' },
    });
    assert.equal(r.status, 0, `${ex}: ${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /MLflow: \d+\/\d+ stages logged · http/);
  }
  const local = await snapshot('parity-local');
  const slurm = await snapshot('parity-slurm');
  assert.ok(Object.keys(local).some((k) => k.startsWith('train/')), Object.keys(local).join(' '));
  assert.deepEqual(slurm, local);
  const exp = (await client.getExperimentByName('parity-slurm'))!;
  const train = (await client.searchRuns([exp.experiment_id], "tags.`milflow.kind` = 'train'"))[0];
  assert.equal((await client.getMetricHistory(train.info.run_id, 'train_loss')).length, 3, 'per-epoch history from the Slurm job');
});
