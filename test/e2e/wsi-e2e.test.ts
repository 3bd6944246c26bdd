// experiments/wsi-e2e.yaml end to end in a temp directory: prepare the inputs (tiles of the CMU
// slide as pyramidal TIFFs, a truncated slide, the tiny encoder), `milflow preprocess`, then
// `milflow run` (train / evaluate CLAM-SB and MIL on the extracted features), and a second run
// that is fully cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openslideUnavailable } from '../../src/wsi/openslide.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CMU = '/work/shared/data/wsi/CMU-1-Small-Region.svs';
const noLib = openslideUnavailable();
const have = existsSync(CMU) && !noLib;
if (!have) console.log(`skipping: ${noLib ?? `${CMU} not present`}`);

const milflow = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/milflow.mjs'), ...args], { cwd, encoding: 'utf8', timeout: 300_000 });

test('wsi-e2e: slides → features → CLAM train/eval; broken slide excluded; rerun cached', { skip: !have, timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-wsi-e2e-'));
  try {
    const prep = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'experiments/wsi-e2e/prepare.ts'), CMU, '--out', join(dir, 'wsi-e2e')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(prep.status, 0, prep.stderr);
    const spec = readFileSync(join(ROOT, 'experiments/wsi-e2e.yaml'), 'utf8') + `output:\n  root: ${join(dir, 'runs')}\n`;
    writeFileSync(join(dir, 'wsi-e2e.yaml'), spec);

    const pre = milflow(dir, 'preprocess', 'wsi-e2e.yaml');
    assert.equal(pre.status, 0, pre.stderr);
    assert.match(pre.stderr, /broken: EXCLUDED \(broken\.tif: .*corrupt/);
    assert.match(pre.stderr, /CMU-1-Small-Region: \d+ patches → 32-d features/);
    assert.doesNotMatch(pre.stderr, /train\//, 'preprocess runs only the WSI stages');

    const run = milflow(dir, 'run', 'wsi-e2e.yaml');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /succeeded: \d+ executed, 43 cached, 0 failed/);
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
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /0 executed, 66 cached/); // 60 + 6 heatmap stages (2 models × 3 folds)
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
