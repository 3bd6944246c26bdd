// The heatmap options have one source, the schema's `heatmaps:` section: the colormaps the
// renderer knows are exactly the schema's cmap enum, and `milflow heatmap` refuses any other name
// at once (before segmenting and encoding a slide), naming the choices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COLORMAPS, colormap } from '../../src/heatmaps/paint.ts';
import { ROOT, runCli, tempDir } from '../helpers/cli.ts';

test('colormaps: the schema enum, each one drawable', () => {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schemas/experiment.schema.json'), 'utf8'));
  assert.deepEqual([...COLORMAPS].sort(), [...schema.$defs.Heatmaps.properties.cmap.enum].sort());
  for (const c of COLORMAPS) assert.equal(colormap(c)(0.5).length, 3);
  assert.throws(() => colormap('magma'), /unknown colormap 'magma'/);
});

test('milflow heatmap: an unknown --cmap is a usage error before any work', (t) => {
  const d = tempDir('milflow-heatmap-cmap-', t);
  const args = ['heatmap', '--slide', join(d, 'absent.svs'), '--checkpoint', join(d, 'absent.safetensors'), '--encoder', join(d, 'absent.onnx'), '--dim', '8', '--out', join(d, 'out')];
  const bad = runCli([...args, '--cmap', 'magma']);
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err, /--cmap must be one of coolwarm, jet, viridis, rdbu_r, not 'magma'/);
  // An accepted name (any case) gets past option parsing: the failure is then the missing checkpoint.
  const ok = runCli([...args, '--cmap', 'JET']);
  assert.notEqual(ok.code, 0);
  assert.doesNotMatch(ok.err, /--cmap/);
  assert.match(ok.err, /absent/);
});
