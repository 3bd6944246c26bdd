// Segmentation and patching options on the CMU slide: Otsu, keep/exclude ids, contour checks,
// holes excluded at the patch centre, padding, and exact OpenCV medianBlur vs the fast path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Slide, openslideUnavailable } from '../../src/wsi/openslide.ts';
import { segmentTissue, type Segmentation } from '../../src/wsi/segment.ts';
import { patchTissue } from '../../src/wsi/patch.ts';
import { PRESETS } from '../../src/wsi/presets.ts';

const CMU = '/work/shared/data/wsi/CMU-1-Small-Region.svs';
const noLib = openslideUnavailable();
const have = existsSync(CMU) && !noLib;
if (!have) console.log(`skipping: ${noLib ?? `${CMU} not present`}`);
const set = (r: { coords: Int32Array; n: number }) => new Set(Array.from({ length: r.n }, (_, i) => `${r.coords[2 * i]},${r.coords[2 * i + 1]}`));
const base = { size: 256, step: 256, level: 0, contour_fn: 'four_pt' as const, use_padding: true };

test('segmentation options on CMU-1-Small-Region', { skip: !have }, async () => {
  const slide = Slide.open(CMU);
  try {
    const p = PRESETS.bwh_biopsy.seg;
    const fast = (await segmentTissue(slide, p)).seg;
    const exact = (await segmentTissue(slide, p, { exactMedian: true })).seg;
    assert.deepEqual(fast.tissue, exact.tissue, 'box-count fast path = OpenCV medianBlur + threshold');
    assert.equal(fast.tissue.length, 1);

    const otsu = (await segmentTissue(slide, { ...p, use_otsu: true })).seg;
    assert.ok(otsu.tissue.length >= 1);
    const rel = otsu.areas[0] / fast.areas[0];
    assert.ok(rel > 0.5 && rel < 2, `Otsu tissue area within 2× of sthresh 15 (${rel.toFixed(2)})`);

    assert.equal((await segmentTissue(slide, { ...p, exclude_ids: [0] })).seg.tissue.length, 0);
    assert.deepEqual((await segmentTissue(slide, { ...p, keep_ids: [0] })).seg.tissue, fast.tissue);
    await assert.rejects(segmentTissue(slide, { ...p, keep_ids: [3] }), /CMU-1-Small-Region\.svs: keep_ids\/exclude_ids refer to contour 3, but only 1 were found/);
    // The tissue's net area is 2,358,130 px² = 8.996 patches of 512²: a_t is a strict lower bound.
    assert.equal(fast.areas[0], 2358130);
    assert.equal((await segmentTissue(slide, { ...p, a_t: 9 })).seg.tissue.length, 0);
    assert.equal((await segmentTissue(slide, { ...p, a_t: 8.99 })).seg.tissue.length, 1);
    await assert.rejects(segmentTissue(slide, { ...p, mthresh: 4 }), /mthresh must be an odd/);

    // Contour checks: four_pt_hard ⊆ four_pt, and both non-empty.
    const easy = set(await patchTissue(slide, fast, base));
    const hard = set(await patchTissue(slide, fast, { ...base, contour_fn: 'four_pt_hard' }));
    const center = set(await patchTissue(slide, fast, { ...base, contour_fn: 'center' }));
    assert.ok(hard.size > 0 && hard.size < easy.size, `${hard.size} hard vs ${easy.size} easy`);
    for (const c of hard) assert.ok(easy.has(c));
    assert.ok(center.size > hard.size && center.size <= easy.size);
    // Overlap: step 128 gives about 4× the patches of step 256.
    const dense = await patchTissue(slide, fast, { ...base, step: 128 });
    assert.ok(dense.n > 3 * easy.size && dense.n < 5 * easy.size, `${dense.n} vs ${easy.size}`);
  } finally {
    slide.close();
  }
});

test('holes: no patch centre inside a hole; padding off keeps patches inside the slide', { skip: !have }, async () => {
  const slide = Slide.open(CMU);
  try {
    const square = (x0: number, y0: number, x1: number, y1: number) => [x0, y0, x0, y1, x1, y1, x1, y0];
    const seg: Segmentation = {
      slide: 'synthetic', seg_level: 0, seg_downsample: [1, 1], level0_dim: [2220, 2967],
      tissue: [square(0, 0, 2219, 2966)], holes: [[square(600, 600, 1600, 1600)]], areas: [1], params: PRESETS.bwh_biopsy.seg, largest_area: 1,
    };
    const r = await patchTissue(slide, seg, { ...base, contour_fn: 'center' });
    for (let i = 0; i < r.n; i++) {
      const cx = r.coords[2 * i] + 128, cy = r.coords[2 * i + 1] + 128;
      assert.ok(!(cx > 600 && cx < 1600 && cy > 600 && cy < 1600), `patch centre ${cx},${cy} inside the hole`);
    }
    const noHole = await patchTissue(slide, { ...seg, holes: [[]] }, { ...base, contour_fn: 'center' });
    assert.ok(noHole.n > r.n);
    // With padding, the grid runs to the contour's edge (patches may stick out); without, every patch fits.
    const padded = await patchTissue(slide, { ...seg, holes: [[]] }, { ...base, contour_fn: 'basic' });
    const unpadded = await patchTissue(slide, { ...seg, holes: [[]] }, { ...base, contour_fn: 'basic', use_padding: false });
    assert.ok(padded.n > unpadded.n);
    for (let i = 0; i < unpadded.n; i++) assert.ok(unpadded.coords[2 * i] + 256 <= 2220 && unpadded.coords[2 * i + 1] + 256 <= 2967);
  } finally {
    slide.close();
  }
});
