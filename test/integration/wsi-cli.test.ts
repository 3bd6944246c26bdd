// `milflow patch` on one slide: CLAM outputs where the issue says, and a per-slide error that
// names the file (exit code 1) for a truncated slide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openslideUnavailable } from '../../src/wsi/openslide.ts';
import { readCoordsH5 } from '../../src/wsi/coords-h5.ts';
import { runCli, tempDir } from '../helpers/cli.ts';

const CMU = '/work/shared/data/wsi/CMU-1-Small-Region.svs';
const noLib = openslideUnavailable();
const have = existsSync(CMU) && !noLib;
if (!have) console.log(`skipping: ${noLib ?? `${CMU} not present`}`);
const milflow = (...args: string[]) => runCli(args, { timeout: 120_000 });

test('milflow patch writes patches/<id>.h5, masks/<id>.png; a broken slide fails naming the file', { skip: !have }, async (t) => {
  const dir = tempDir('milflow-wsi-cli-', t);
  const r = milflow('patch', '--slide', CMU, '--preset', 'bwh_biopsy', '--patch-size', '256', '--step', '256', '--level', '0', '--out', dir);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /50 patches of 256 px at level 0/);
  const c = await readCoordsH5(join(dir, 'patches', 'CMU-1-Small-Region.h5'));
  assert.equal(c.n, 50);
  assert.equal(c.attrs.name, 'CMU-1-Small-Region');
  assert.equal(readFileSync(join(dir, 'masks', 'CMU-1-Small-Region.png')).subarray(1, 4).toString(), 'PNG');

  // 0.998 µm/px on a 0.499 µm/px slide: level 0 (the only one), 2× the area per patch.
  const m = milflow('patch', '--slide', CMU, '--mpp', '0.998', '--patch-size', '128', '--out', join(dir, 'mpp'));
  assert.equal(m.code, 0, m.err);
  const cm = await readCoordsH5(join(dir, 'mpp', 'patches', 'CMU-1-Small-Region.h5'));
  assert.equal(cm.attrs.patch_size, 256);
  assert.equal(cm.attrs.target_patch_size, 128);
  assert.equal(cm.attrs.target_mpp, 0.998);

  const broken = join(dir, 'cut.svs');
  writeFileSync(broken, readFileSync(CMU).subarray(0, 100_000));
  const b = milflow('patch', '--slide', broken, '--out', dir);
  assert.equal(b.code, 1);
  assert.match(b.err, /milflow: cut\.svs: .*(truncated|corrupt)/);
  const bad = milflow('patch', '--slide', CMU, '--seg', 'nonsense=1', '--out', dir);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--seg nonsense=1: expected KEY=VALUE/);
});
