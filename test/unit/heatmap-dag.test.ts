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
    // The segment stages too, without overlap: their contours clip the colour to tissue.
    assert.deepEqual(h.inputs, { model: 'train/mil/frac=1/fold=1', dataset: 'dataset', splits: 'splits/frac=1', 'patch:sa': 'patch/sa', 'patch:sb': 'patch/sb', 'segment:sa': 'segment/sa', 'segment:sb': 'segment/sb' });
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

    // Not a WSI dataset: nothing to paint on, so asking is an error (not silently nothing).
    assert.throws(() => load(spec('evaluate: { heatmaps: 2 }\n', '', '  synthetic: { seed: 1, cases: 20 }')), /evaluate\.heatmaps: heatmaps need slide images, but dataset\.synthetic/);

    // The heatmaps section: chosen checkpoints, CLAM's options, named slides one stage each.
    const sec = await buildDag(load(spec('evaluate: { ci: delong }\n', 'heatmaps:\n  slides: [sb]\n  models: [clam_sb]\n  folds: [1]\n  overlap: 0.5\n  roi: [0, 0, 512, 512]\n  topk: 3\n  blur: true\n')));
    const one = sec.filter((d) => d.kind === 'heatmap');
    assert.deepEqual(one.map((d) => d.id), ['heatmap/clam_sb/frac=1/fold=1/slide=sb']);
    const p = one[0].params as any;
    assert.deepEqual([p.slides, p.options.overlap, p.options.roi, p.options.topk, p.options.blur, p.options.cmap, p.options.alpha], [['sb'], 0.5, [0, 0, 512, 512], 3, true, 'coolwarm', 0.4]);
    assert.equal(p.encoder.dim, 8, 'overlap: the dataset encoder encodes the overlapping grid');
    assert.equal(p.patch.size, 256);
    assert.deepEqual(Object.keys(one[0].inputs).sort(), ['dataset', 'model', 'patch:sb', 'segment:sb', 'splits']);
    assert.deepEqual(Object.keys(one[0].externals!).sort(), ['encoder', 'slide:sb']);
    assert.throws(() => load(spec('evaluate: { ci: delong }\n', 'heatmaps:\n  slides: [sz]\n')), /heatmaps\.slides: no slide image for sz/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a heatmap request on a features-only (CLAM) dataset fails validation naming the slides without images', () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-heatmap-clam-'));
  try {
    writeFileSync(join(dir, 'clam.csv'), 'case_id,slide_id,label\nc1,TCGA-01,normal\nc2,TCGA-02,tumor\nc3,TCGA-03,tumor\n');
    const text = spec('evaluate: { ci: delong }\n', 'heatmaps:\n  slides: 1\n', '  clam: { csv: clam.csv, features_dir: feats }');
    assert.throws(() => parseSpec(text, join(dir, 'spec.yaml'), { checkFiles: false }), (e: Error) => {
      assert.match(e.message, /heatmaps: heatmaps need slide images, but dataset\.clam holds CLAM features only: no slide image for TCGA-01, TCGA-02, TCGA-03/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
