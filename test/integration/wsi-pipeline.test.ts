// WSI preprocessing through the real executor and cache: the CMU slide, a slide without mpp
// metadata (generic pyramidal TIFF made with sharp) and a truncated slide file. Patching at a
// target µm/px must succeed for the first, record a clear per-slide error for the other two,
// and the dataset stage must list both in excluded.csv while keeping the good slide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Slide, openslideUnavailable } from '../../src/wsi/openslide.ts';
import { segmentStep, patchStep, extractStep } from '../../src/stages/wsi-steps.ts';
import { PRESETS } from '../../src/wsi/presets.ts';
import { expandWsiDataset } from '../../src/dag/wsi.ts';
import { tinyEncoder } from '../../src/features/onnx-writer.ts';
import { readBag } from '../../src/io/h5.ts';
import { planDecls } from '../../src/dag/plan.ts';
import { executePlan } from '../../src/exec/orchestrator.ts';
import { tempDir } from '../helpers/cli.ts';

const CMU = '/work/shared/data/wsi/CMU-1-Small-Region.svs';
const noLib = openslideUnavailable();
const have = existsSync(CMU) && !noLib;
if (!have) console.log(`skipping: ${noLib ?? `${CMU} not present`}`);

async function makeInputs(dir: string) {
  const s = Slide.open(CMU);
  const crop = s.readRegion(600, 900, 0, 512, 512);
  s.close();
  const tile = join(dir, 'nompp.tif');
  await sharp(crop.data, { raw: { width: 512, height: 512, channels: 3 } }).tiff({ tile: true, pyramid: true, tileWidth: 256, tileHeight: 256, compression: 'jpeg' }).toFile(tile);
  const broken = join(dir, 'broken.svs');
  writeFileSync(broken, readFileSync(CMU).subarray(0, 300_000));
  const onnx = join(dir, 'enc.onnx');
  writeFileSync(onnx, tinyEncoder({ inputSize: 32, dim: 8, channels: 4, seed: 1 }).bytes);
  return { tile, broken, onnx };
}

test('per-slide steps: corrupt file and missing mpp give clear errors; extraction writes [N,E] + coords', { skip: !have }, async (t) => {
  const dir = tempDir('milflow-wsi-steps-', t);
  const { tile, broken, onnx } = await makeInputs(dir);
  const seg = PRESETS.bwh_biopsy.seg;

  const bad = await segmentStep(broken, { slide_id: 'broken', seg, line_thickness: 50 }, join(dir, 'seg-broken'));
  assert.equal(bad.ok, false);
  assert.match(bad.reason!, /^broken\.svs: .*(truncated|corrupt)/);

  const okTile = await segmentStep(tile, { slide_id: 'nompp', seg: { ...seg, seg_level: 0, a_t: 0.1 }, line_thickness: 50 }, join(dir, 'seg-tile'));
  assert.equal(okTile.ok, true, okTile.reason);
  assert.equal(okTile.mpp, null);
  const tileSeg = JSON.parse(readFileSync(join(dir, 'seg-tile', 'segmentation.json'), 'utf8'));
  const base = { slide_id: 'nompp', size: 128, step: 128, level: 0, contour_fn: 'four_pt' as const, use_padding: true };
  const noMpp = await patchStep(tile, tileSeg, { ...base, mpp: 0.5 }, join(dir, 'patch-nompp'));
  assert.equal(noMpp.ok, false);
  assert.match(noMpp.reason!, /^nompp\.tif: no µm-per-pixel .*mpp_override/);
  const overridden = await patchStep(tile, tileSeg, { ...base, mpp: 1.0, mpp_override: 0.5 }, join(dir, 'patch-override'));
  assert.equal(overridden.ok, true, overridden.reason);
  // 1.0 µm/px from 0.5 µm/px: level 1 of the pyramid (downsample 2), 128 px there, 256 px grid at level 0.
  assert.deepEqual((overridden.geometry as any).level, 1);
  assert.equal((overridden.geometry as any).ref_size, 256);

  // CMU at its own level 0, then features.
  const cmuSeg = await segmentStep(CMU, { slide_id: 'cmu', seg, line_thickness: 50 }, join(dir, 'seg-cmu'));
  assert.equal(cmuSeg.ok, true);
  const segJson = JSON.parse(readFileSync(join(dir, 'seg-cmu', 'segmentation.json'), 'utf8'));
  const p = await patchStep(CMU, segJson, { ...base, slide_id: 'cmu', size: 256, step: 256 }, join(dir, 'patch-cmu'));
  assert.equal(p.n_patches, 50);
  assert.ok(readFileSync(join(dir, 'patch-cmu', 'stitch.png')).subarray(1, 4).toString() === 'PNG');
  const spec = { onnx, dim: 8, input_size: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], batch_size: 16 };
  const e = await extractStep(CMU, join(dir, 'patch-cmu', 'cmu.h5'), 'cmu', spec, join(dir, 'extract-cmu'));
  assert.equal(e.ok, true, e.reason);
  const bag = await readBag(join(dir, 'extract-cmu', 'cmu.h5'));
  assert.equal(bag.n, 50);
  assert.equal(bag.dim, 8);
  assert.ok(bag.features.every(Number.isFinite));
  // Patches differ, so features differ between rows.
  assert.notDeepEqual(Array.from(bag.features.subarray(0, 8)), Array.from(bag.features.subarray(8, 16)));
  assert.deepEqual(Array.from(bag.coords!.subarray(0, 2)), [320, 838]);
  // Batch size does not change the features.
  const e1 = await extractStep(CMU, join(dir, 'patch-cmu', 'cmu.h5'), 'cmu', { ...spec, batch_size: 7 }, join(dir, 'extract-cmu-b7'));
  assert.equal(e1.ok, true);
  const bag7 = await readBag(join(dir, 'extract-cmu-b7', 'cmu.h5'));
  for (let i = 0; i < bag.features.length; i++) assert.ok(Math.abs(bag.features[i] - bag7.features[i]) < 1e-5);
});

test('expandWsiDataset + executor: failing slides excluded with reasons, others continue; patch size re-runs patch+extract only', { skip: !have }, async (t) => {
  const dir = tempDir('milflow-wsi-dag-', t);
  const { tile, broken, onnx } = await makeInputs(dir);
  const csv = join(dir, 'slides.csv');
  writeFileSync(csv, `case_id,slide_id,label,path\nc1,cmu,a,${CMU}\nc2,nompp,b,nompp.tif\nc3,broken,b,broken.svs\n`);
  const ds = {
    csv,
    preset: 'bwh_biopsy',
    segmentation: { seg_level: 0, a_t: 0.1 },
    patch: { size: 256, step: 256, mpp: 0.5 },
    encoder: { onnx, dim: 8, input_size: 32, batch_size: 32 },
  };
  const task = { classes: ['a', 'b'], label_map: null };
  const { stages, datasetStageId } = expandWsiDataset(ds as any, dir, '', task);
  assert.equal(datasetStageId, 'dataset');
  assert.deepEqual(stages.map((s) => s.id).filter((i) => i.endsWith('/cmu')), ['segment/cmu', 'patch/cmu', 'extract/cmu']);
  assert.equal(stages.find((s) => s.id === 'extract/cmu')!.externals!.encoder, onnx);
  assert.equal(stages.find((s) => s.id === 'segment/nompp')!.externals!.slide, tile);

  const root = join(dir, 'runs');
  mkdirSync(root);
  const plan = await planDecls(stages, { root, experiment: 'wsi' });
  const r = await executePlan({ plan, resources: { devices: ['cpu'] } as any, progress: 'none' });
  assert.equal(r.record.status, 'succeeded', JSON.stringify(r.record.stages.filter((s) => s.status === 'failed')));
  const dsDir = join(root, 'cache', 'wsi-dataset', plan.stages.find((s) => s.id === 'dataset')!.key);
  const slides = readFileSync(join(dsDir, 'slides.csv'), 'utf8').trim().split('\n');
  assert.equal(slides.length, 2);
  assert.match(slides[1], /^c1,cmu,a,0,\d+,bags\/cmu\.h5$/);
  const excluded = readFileSync(join(dsDir, 'excluded.csv'), 'utf8');
  assert.match(excluded, /nompp,"?patch: nompp\.tif: no µm-per-pixel/);
  assert.match(excluded, /broken,"?segment: broken\.svs: .*(truncated|corrupt)/);
  const info = JSON.parse(readFileSync(join(dsDir, 'dataset.json'), 'utf8'));
  assert.equal(info.n_slides, 1);
  assert.equal(info.n_excluded, 2);
  assert.equal(info.dim, 8);
  const bag = await readBag(join(dsDir, 'bags', 'cmu.h5'));
  assert.equal(bag.dim, 8);

  // A new patch size: segment stays cached, patch and extract (and the dataset) re-run.
  const again = expandWsiDataset({ ...ds, patch: { size: 128, step: 128, mpp: 0.5 } } as any, dir, '', task);
  const plan2 = await planDecls(again.stages, { root, experiment: 'wsi' });
  const action = (id: string) => plan2.stages.find((s) => s.id === id)!.action;
  assert.equal(action('segment/cmu'), 'cached');
  assert.equal(action('patch/cmu'), 'run');
  assert.equal(action('extract/cmu'), 'run');
  assert.equal(action('dataset'), 'run');
});
