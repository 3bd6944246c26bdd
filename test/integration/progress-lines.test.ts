// Progress inside long stages when output is not a terminal (Slurm logs, CI, nohup): with
// stdout and stderr pipes, `milflow run` writes a plain line per running stage at a fixed
// interval (30 s by default; shortened here) with bags done/total, patches/s and the epoch ETA,
// and the stage log gets one line per epoch with the losses and AUC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { printedPath, runCli, syntheticSpec, tempDir, writeSpec } from '../helpers/cli.ts';

const SPEC = syntheticSpec({
  name: 'lines', synthetic: { seed: 2, cases: 30, bag_size: [100, 300], dim: 32 },
  splits: { folds: 2, training_fractions: [1.0] }, train: { max_epochs: 2, min_epochs: 1, patience: 5 },
  resources: { devices: ['cpu'], slots_per_device: 1 },
});

test('plain progress lines per running stage when stdout is a pipe; one stage-log line per epoch', (t) => {
  const dir = tempDir('milflow-lines-', t);
  writeSpec(dir, SPEC);
  const r = runCli(['run', 'spec.yaml', '--target', 'train/clam_sb/frac=1/fold=0'], { cwd: dir, env: { MILFLOW_PROGRESS_LINE_S: '0.2' } });
  assert.equal(r.code, 0, r.err);
  const text = r.out + r.err;
  assert.doesNotMatch(text, /\r|\x1b\[/, 'no terminal control sequences in a pipe');
  const running = text.split('\n').filter((l) => l.startsWith('[running] train/clam_sb/frac=1/fold=0 '));
  assert.ok(running.length >= 2, `plain progress lines:\n${text}`);
  assert.ok(running.some((l) => /epoch \d+: bag \d+\/\d+ · [\d.]+k? patches\/s · epoch ETA \d+[smh]/.test(l)), running.join('\n'));
  const runDir = printedPath(dir, r.out);
  const logFile = readdirSync(join(runDir, 'logs')).find((f) => f.startsWith('train'))!;
  const epochs = readFileSync(join(runDir, 'logs', logFile), 'utf8').split('\n').filter((l) => /^epoch \d+: /.test(l));
  assert.equal(epochs.length, 2, 'one line per epoch');
  for (const l of epochs) assert.match(l, /train_loss [\d.]+ .* val_loss [\d.]+ .*val_auc [\d.]+ .* patches\/s/);
});
