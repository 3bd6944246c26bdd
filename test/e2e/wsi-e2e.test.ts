// experiments/wsi-e2e.yaml end to end in a temp directory: prepare the inputs (tiles of the CMU
// slide as pyramidal TIFFs, a truncated slide, the tiny encoder), `milflow preprocess`, then
// `milflow run` (train / evaluate CLAM-SB and MIL on the extracted features), and a second run
// that is fully cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openslideUnavailable } from '../../src/wsi/openslide.ts';
import { ROOT, runCli, tempDir, writeSpec } from '../helpers/cli.ts';

const CMU = '/work/shared/data/wsi/CMU-1-Small-Region.svs';
const noLib = openslideUnavailable();
const have = existsSync(CMU) && !noLib;
if (!have) console.log(`skipping: ${noLib ?? `${CMU} not present`}`);

const milflow = (cwd: string, ...args: string[]) => runCli(args, { cwd, timeout: 300_000 });

test('wsi-e2e: slides → features → CLAM train/eval; broken slide excluded; rerun cached', { skip: !have, timeout: 600_000 }, (t) => {
  const dir = tempDir('milflow-wsi-e2e-', t);
  const prep = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'experiments/wsi-e2e/prepare.ts'), CMU, '--out', join(dir, 'wsi-e2e')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(prep.status, 0, prep.stderr);
  const spec = readFileSync(join(ROOT, 'experiments/wsi-e2e.yaml'), 'utf8') + `output:\n  root: ${join(dir, 'runs')}\n`;
  writeSpec(dir, spec, 'wsi-e2e.yaml');

  const pre = milflow(dir, 'preprocess', 'wsi-e2e.yaml');
  assert.equal(pre.code, 0, pre.err);
  assert.match(pre.err, /broken: EXCLUDED \(broken\.tif: .*corrupt/);
  assert.match(pre.err, /CMU-1-Small-Region: \d+ patches → 32-d features/);
  assert.doesNotMatch(pre.err, /train\//, 'preprocess runs only the WSI stages');

  const run = milflow(dir, 'run', 'wsi-e2e.yaml');
  assert.equal(run.code, 0, run.err);
  assert.match(run.err, /succeeded: \d+ executed, 43 cached, 0 failed/);
  const cache = join(dir, 'runs', 'cache');
  const dsDir = join(cache, 'wsi-dataset', readdirSync(join(cache, 'wsi-dataset'))[0]);
  const info = JSON.parse(readFileSync(join(dsDir, 'dataset.json'), 'utf8'));
  assert.equal(info.n_slides, 13);
  assert.equal(info.n_excluded, 1);
  assert.deepEqual(info.slides_per_class, { original: 7, shifted: 6 });
  assert.match(readFileSync(join(dsDir, 'excluded.csv'), 'utf8'), /^broken,/m);
  const evals = readdirSync(join(cache, 'evaluate'));
  assert.equal(evals.length, 6);
  for (const e of evals) {
    const preds = readFileSync(join(cache, 'evaluate', e, 'predictions.csv'), 'utf8').trim().split('\n');
    assert.ok(preds.length >= 2, 'each fold evaluates test slides');
  }

  const again = milflow(dir, 'run', 'wsi-e2e.yaml');
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, /0 executed, 66 cached/); // 60 + 6 heatmap stages (2 models × 3 folds)
});
