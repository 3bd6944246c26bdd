// expandWsiDataset: stage ids, what enters each stage's params (so a patch change never touches
// segment), preset + spec overrides + per-slide process-list rows, and errors that name the line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { expandWsiDataset } from '../../src/dag/wsi.ts';
import { PRESETS, resolvePreset } from '../../src/wsi/presets.ts';

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-wsi-expand-'));
  for (const f of ['a.svs', 'b.tif', 'enc.onnx']) writeFileSync(join(dir, f), 'x');
  writeFileSync(join(dir, 'slides.csv'), 'case_id,slide_id,label,path\nc1,a,tumor,a.svs\nc1,,normal,b.tif\n');
  return dir;
}
const enc = { onnx: 'enc.onnx', dim: 16 };

test('stages per slide, ids with cohort prefix, externals and params split by stage', () => {
  const dir = setup();
  try {
    const r = expandWsiDataset({ csv: 'slides.csv', encoder: enc } as any, dir, 'cohort=ext', { classes: ['normal', 'tumor'], label_map: null });
    assert.equal(r.datasetStageId, 'dataset/cohort=ext');
    assert.deepEqual(r.stages.map((s) => s.id), [
      'segment/cohort=ext/a', 'patch/cohort=ext/a', 'extract/cohort=ext/a',
      'segment/cohort=ext/b', 'patch/cohort=ext/b', 'extract/cohort=ext/b', 'dataset/cohort=ext',
    ]);
    const seg = r.stages[0], patch = r.stages[1], ext = r.stages[2], ds = r.stages[6];
    assert.deepEqual(seg.externals, { slide: join(dir, 'a.svs') });
    assert.deepEqual((seg.params as any).seg, PRESETS.bwh_biopsy.seg);
    assert.equal((seg.params as any).size, undefined, 'no patch params in segment');
    assert.deepEqual(patch.inputs, { segment: 'segment/cohort=ext/a' });
    assert.deepEqual(patch.params, { slide_id: 'a', size: 256, step: 256, level: 0, contour_fn: 'four_pt', use_padding: true });
    assert.deepEqual(ext.externals, { slide: join(dir, 'a.svs'), encoder: join(dir, 'enc.onnx') });
    assert.equal((ext.params as any).encoder.onnx, undefined, 'the encoder path is an external (digest), not a param');
    assert.deepEqual((ext.params as any).encoder, { dim: 16, input_size: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], batch_size: 64, resize: 'bilinear' });
    assert.deepEqual(ds.inputs, { 'extract:a': 'extract/cohort=ext/a', 'extract:b': 'extract/cohort=ext/b' });
    assert.deepEqual((ds.params as any).classes, ['normal', 'tumor']);
    assert.equal(r.stages[3].labels!.slide, 'b', 'empty slide_id → file stem');
    assert.equal(r.stages[3].labels!.cohort, 'ext');

    // A different patch size changes patch and extract inputs' params, never segment.
    const r2 = expandWsiDataset({ csv: 'slides.csv', encoder: enc, patch: { size: 512 } } as any, dir, 'cohort=ext');
    assert.deepEqual(r2.stages[0], seg);
    assert.equal((r2.stages[1].params as any).size, 512);
    assert.equal((r2.stages[1].params as any).step, 512, 'step defaults to the size');
    assert.deepEqual(r2.stages[2].params, ext.params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('preset, spec segmentation overrides and process-list rows', () => {
  const dir = setup();
  try {
    writeFileSync(join(dir, 'pl.csv'), 'slide_id,process,sthresh,keep_ids,exclude_ids,contour_fn,use_otsu\na.svs,1,20,1 2,none,center,TRUE\n');
    const r = expandWsiDataset({ csv: 'slides.csv', encoder: enc, preset: 'tcga', process_list: 'pl.csv', segmentation: { a_h: 3, exclude_ids: [4] } } as any, dir, '');
    const segA = (r.stages[0].params as any).seg, segB = (r.stages[3].params as any).seg;
    assert.deepEqual(segB, { ...PRESETS.tcga.seg, a_h: 3, exclude_ids: [4] });
    assert.deepEqual(segA, { ...PRESETS.tcga.seg, a_h: 3, sthresh: 20, keep_ids: [1, 2], exclude_ids: [], use_otsu: true });
    assert.equal((r.stages[1].params as any).contour_fn, 'center');
    assert.equal((r.stages[4].params as any).contour_fn, 'four_pt');
    assert.equal((r.stages[0].params as any).line_thickness, 100);
    assert.deepEqual(resolvePreset('biopsy'), PRESETS.bwh_biopsy);
    assert.throws(() => resolvePreset('nope'), /unknown segmentation preset 'nope'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors name the CSV line', () => {
  const dir = setup();
  try {
    writeFileSync(join(dir, 'bad.csv'), 'case_id,slide_id,label,path\nc1,a,x,a.svs\nc2,a,y,b.tif\nc3,z,y,missing.svs\n');
    assert.throws(() => expandWsiDataset({ csv: 'bad.csv', encoder: enc } as any, dir, ''), (e: Error) => {
      assert.match(e.message, /bad\.csv:3: slide 'a' is listed twice \(also line 2\)/);
      assert.match(e.message, /bad\.csv:4: slide file not found: .*missing\.svs/);
      return true;
    });
    writeFileSync(join(dir, 'nohdr.csv'), 'id,file\n1,a.svs\n');
    assert.throws(() => expandWsiDataset({ csv: 'nohdr.csv', encoder: enc } as any, dir, ''), /nohdr\.csv:1: header lacks case_id, label, path/);
    assert.throws(() => expandWsiDataset({ csv: 'slides.csv' } as any, dir, ''), /dataset\.wsi\.encoder is required/);
    writeFileSync(join(dir, 'pl2.csv'), 'slide_id,sthresh\na,abc\n');
    assert.throws(() => expandWsiDataset({ csv: 'slides.csv', encoder: enc, process_list: 'pl2.csv' } as any, dir, ''), /pl2\.csv:2 column sthresh: expected a number, got 'abc'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
