// `milflow eval` on CLAM's own artefacts: pt_files/<slide>.pt features and DataParallel-wrapped
// s_<fold>_checkpoint.pt state dicts saved by torch.save(model.state_dict()) (fold 0 zip format,
// fold 1 the legacy format CLAM's published checkpoints use). Probabilities must equal PyTorch's
// (test/fixtures/pt/clam_pt/expected.json, scripts/make-pt-fixtures.py) within 1e-5.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPredictions } from '../../src/stats/index.ts';
import { readClamDataset } from '../../src/datasets/clam.ts';
import { DatasetError } from '../../src/datasets/types.ts';

const root = new URL('../../', import.meta.url).pathname;
const D = join(root, 'test/fixtures/pt/clam_pt');
const expected = JSON.parse(readFileSync(join(D, 'expected.json'), 'utf8'));
const milflow = (...args: string[]) => execFileSync(process.execPath, [join(root, 'bin/milflow.mjs'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function checkFold(file: string, fold: number, ids?: string[]) {
  const p = readPredictions(file);
  const want = expected.folds[fold].probs as Record<string, number[]>;
  if (ids) assert.deepEqual(p.slide_id, ids);
  let worst = 0;
  p.slide_id.forEach((sid, i) => p.prob[i].forEach((v, c) => (worst = Math.max(worst, Math.abs(v - want[sid][c])))));
  assert.ok(worst < 1e-5, `fold ${fold}: max |Δp| ${worst}`);
  return p;
}

test('milflow eval --split all: every fold model on every slide equals PyTorch within 1e-5; ensemble = mean softmax', () => {
  const out = mkdtempSync(join(tmpdir(), 'eval-'));
  try {
    const text = milflow('eval', '--checkpoints', join(D, 'checkpoints'), '--csv', join(D, 'dataset.csv'), '--features', join(D, 'features'), '--split', 'all', '--out', out);
    assert.match(text, /fold 0 .*AUC/);
    assert.match(text, /ensemble .*AUC \d\.\d{4} \[/);
    const p0 = checkFold(join(out, 'fold_0/predictions.csv'), 0);
    const p1 = checkFold(join(out, 'fold_1/predictions.csv'), 1);
    assert.equal(p0.slide_id.length, 10);
    const ens = readPredictions(join(out, 'ensemble/predictions.csv'));
    ens.slide_id.forEach((_, i) => assert.ok(Math.abs(ens.prob[i][1] - (p0.prob[i][1] + p1.prob[i][1]) / 2) < 1e-7));
    const m = JSON.parse(readFileSync(join(out, 'fold_0/metrics.json'), 'utf8'));
    assert.equal(m.ci_method, 'delong');
    assert.equal(m.auc_ci.length, 2);
    const summary = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n');
    assert.equal(summary[0], 'fold,n,auc,auc_ci_low,auc_ci_high,ci_method,accuracy,balanced_accuracy,f1');
    assert.equal(summary.length, 4);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("milflow eval --split test|val: each fold model on its own split (CLAM's semantics)", () => {
  const out = mkdtempSync(join(tmpdir(), 'eval-'));
  try {
    const args = ['--checkpoints', join(D, 'checkpoints'), '--csv', join(D, 'dataset.csv'), '--features', join(D, 'features'), '--splits', join(D, 'splits')];
    milflow('eval', ...args, '--out', out);
    checkFold(join(out, 'fold_0/predictions.csv'), 0, ['slide_08', 'slide_09']);
    checkFold(join(out, 'fold_1/predictions.csv'), 1, ['slide_06', 'slide_07']);
    milflow('eval', ...args, '--split', 'val', '--folds', '1', '--out', join(out, 'val'));
    checkFold(join(out, 'val/fold_1/predictions.csv'), 1, ['slide_00', 'slide_01']);
    // Without the split files, --split test cannot know the test set: a clear error.
    const r = spawnSync(process.execPath, [join(root, 'bin/milflow.mjs'), 'eval', '--checkpoints', join(D, 'checkpoints'), '--csv', join(D, 'dataset.csv'), '--features', join(D, 'features'), '--out', join(out, 'x')], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /splits_0\.csv/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the clam source reads pt_files/; a missing slide names where it looked and what the directory holds', async () => {
  const l = await readClamDataset({ csv: join(D, 'dataset.csv'), features_dir: join(D, 'features'), classes: ['normal', 'tumor'] });
  assert.equal(l.slides.length, 10);
  assert.equal(l.dim, 64);
  assert.equal(l.slides.find((s) => s.slide_id === 'slide_05')!.n, 2000);
  assert.match(l.slides[0].externalPath!, /pt_files\/slide_00\.pt$/);
  await assert.rejects(
    readClamDataset({ csv: join(D, 'dataset.csv'), features_dir: join(D, 'features', 'pt_files', '..', '..'), classes: ['normal', 'tumor'] }),
    (e: unknown) => {
      assert.ok(e instanceof DatasetError);
      assert.match((e as Error).message, /dataset\.csv:2: slide 'slide_00': no feature file \(looked for h5_files\/slide_00\.h5, slide_00\.h5, pt_files\/slide_00\.pt and slide_00\.pt/);
      return true;
    },
  );
});
