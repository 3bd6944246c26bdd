// The DAG builder declares heatmap stages only for WSI datasets with evaluate.heatmaps > 0: one
// per model × fraction × fold, reading the train, dataset and splits stages plus every slide's
// patch stage (coordinate attributes) and slide file (external), as src/dag/wsi.ts names them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseSpec } from '../../src/spec/load.ts';
import { buildDag } from '../../src/dag/build.ts';
import type { LoadedSpec } from '../../src/spec/resolved.ts';

const spec = (evaluate: string, extra = '', dataset = '  wsi: { csv: slides.csv, encoder: { onnx: enc.onnx, dim: 8 } }') => `name: w
dataset:
${dataset}
task:
  classes: [normal, tumor]
splits: { folds: 2 }
models:
  - { name: clam_sb, type: clam_sb }
  - { name: mil, type: mil }
${evaluate}${extra}`;

test('heatmap stages: declared for wsi + heatmaps > 0 with patch inputs and slide externals; sweeps in the identity', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-heatmap-dag-'));
  try {
    for (const f of ['a.tif', 'b.tif', 'enc.onnx']) writeFileSync(join(dir, f), 'x');
    writeFileSync(join(dir, 'slides.csv'), 'case_id,slide_id,label,path\nc1,sa,normal,a.tif\nc2,sb,tumor,b.tif\n');
    const load = (text: string) => parseSpec(text, join(dir, 'spec.yaml'), { checkFiles: false }) as unknown as LoadedSpec;

    const off = await buildDag(load(spec('evaluate: { ci: delong }\n')));
    assert.equal(off.filter((d) => d.kind === 'heatmap').length, 0, 'heatmaps default to 0');

    const ds = await buildDag(load(spec('evaluate: { heatmaps: 3 }\n')));
    const hm = ds.filter((d) => d.kind === 'heatmap');
    assert.deepEqual(hm.map((d) => d.id).sort(), [
      'heatmap/clam_sb/frac=1/fold=0', 'heatmap/clam_sb/frac=1/fold=1', 'heatmap/mil/frac=1/fold=0', 'heatmap/mil/frac=1/fold=1',
    ]);
    const h = hm.find((d) => d.id === 'heatmap/mil/frac=1/fold=1')!;
    assert.deepEqual(h.params, { fold: 1, n: 3 });
    assert.deepEqual(h.inputs, { model: 'train/mil/frac=1/fold=1', dataset: 'dataset', splits: 'splits/frac=1', 'patch:sa': 'patch/sa', 'patch:sb': 'patch/sb' });
    assert.deepEqual(h.externals, { 'slide:sa': join(dir, 'a.tif'), 'slide:sb': join(dir, 'b.tif') });
    for (const up of Object.values(h.inputs)) assert.ok(ds.some((d) => d.id === up), `input ${up} is declared`);
    assert.ok(!ds.find((d) => d.kind === 'report')!.inputs[h.id], 'the report does not wait for heatmaps');

    // A sweep over a CLAM parameter multiplies clam_sb's heatmaps, not mil's.
    const sw = await buildDag(load(spec('evaluate: { heatmaps: 1 }\n', 'sweep:\n  models.clam_sb.B: [4, 8]\n')));
    const ids = sw.filter((d) => d.kind === 'heatmap').map((d) => d.id).sort();
    assert.deepEqual(ids, [
      'heatmap/clam_sb/B=4/frac=1/fold=0', 'heatmap/clam_sb/B=4/frac=1/fold=1', 'heatmap/clam_sb/B=8/frac=1/fold=0', 'heatmap/clam_sb/B=8/frac=1/fold=1',
      'heatmap/mil/frac=1/fold=0', 'heatmap/mil/frac=1/fold=1',
    ]);

    // Not a WSI dataset: nothing to paint on, no heatmap stages.
    const syn = await buildDag(load(spec('evaluate: { heatmaps: 2 }\n', '', '  synthetic: { seed: 1, cases: 20 }')));
    assert.equal(syn.filter((d) => d.kind === 'heatmap').length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
