// Heatmap arithmetic on tiny hand-computed cases: percentiles, per-pixel averaging of
// overlapping patches, the RdBu_r colormap, the alpha blend and the tissue mask.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attentionRow, averageScores, overlay, percentiles, rdbuR, tissueMask } from '../../src/heatmaps/paint.ts';

test('percentiles: rank / N × 100 (ties share the upper rank), or against a reference set', () => {
  // sorted [1,2,2,3]: 3 → 4/4, 1 → 1/4, each 2 → 3/4
  assert.deepEqual(Array.from(percentiles([3, 1, 2, 2])), [100, 25, 75, 75]);
  // against the non-overlapping set [1,2,3,4]: 0 → none ≤, 2.5 → two, 10 → all four
  assert.deepEqual(Array.from(percentiles([0, 2.5, 10], [4, 1, 3, 2])), [0, 50, 100]);
  assert.throws(() => percentiles([1], []), /empty reference/);
  assert.throws(() => percentiles([NaN]), /NaN/);
});

test('averageScores: overlapping patches averaged per pixel (pixel centres in level-0 coordinates)', () => {
  // Canvas 4×2 px, 2 level-0 px per canvas px; centres at x = 1, 3, 5, 7 and y = 1, 3.
  // Patch A (0,0) size 4 covers x∈[0,4) → px 0,1; patch B (2,0) covers [2,6) → px 1,2.
  const m = averageScores([0, 0, 2, 0], [10, 30], 4, { width: 4, height: 2, scale: [2, 2] });
  assert.deepEqual(Array.from(m.count), [1, 2, 1, 0, 1, 2, 1, 0]);
  assert.deepEqual(Array.from(m.mean), [10, 20, 30, 0, 10, 20, 30, 0]);
  // A patch partly outside the canvas is clipped, not wrapped.
  const c = averageScores([6, 2], [5], 4, { width: 4, height: 2, scale: [2, 2] });
  assert.deepEqual(Array.from(c.count), [0, 0, 0, 0, 0, 0, 0, 1]);
  assert.throws(() => averageScores([0, 0], [1, 2], 4, { width: 1, height: 1, scale: [1, 1] }), /1 patches but 2 scores/);
});

test('rdbuR: blue at 0, near-white at 0.5, dark red at 1, linear between anchors', () => {
  assert.deepEqual(rdbuR(0), [5, 48, 97]);
  assert.deepEqual(rdbuR(0.5), [247, 247, 247]);
  assert.deepEqual(rdbuR(1), [103, 0, 31]);
  // 0.05 is halfway between anchors 0 (5,48,97) and 1 (33,102,172): (19, 75, 134.5 → 135)
  assert.deepEqual(rdbuR(0.05), [19, 75, 135]);
  assert.deepEqual(rdbuR(-3), rdbuR(0));
  assert.deepEqual(rdbuR(7), rdbuR(1));
});

test('overlay: alpha blend where patches are, untouched elsewhere', () => {
  const rgb = new Uint8Array(3 * 3).fill(100);
  const map = { mean: Float32Array.of(100, 0, 0), count: Uint16Array.of(1, 1, 0) };
  const out = overlay(rgb, map, 0.5);
  // 0.5·100 + 0.5·(103,0,31) = (101.5, 50, 65.5) → (102, 50, 66); 0.5·100 + 0.5·(5,48,97) = (52.5, 74, 98.5)
  assert.deepEqual(Array.from(out), [102, 50, 66, 53, 74, 99, 100, 100, 100]);
  assert.deepEqual(Array.from(rgb), new Array(9).fill(100), 'input not modified');
});

test('attentionRow: predicted class branch for multi-branch attention, else the single branch', () => {
  const A = Float32Array.of(1, 2, 3, 4, 5, 6);
  assert.deepEqual(Array.from(attentionRow(A, 3, 1)), [4, 5, 6]);
  assert.deepEqual(Array.from(attentionRow(A, 3, 0)), [1, 2, 3]);
  assert.deepEqual(Array.from(attentionRow(Float32Array.of(7, 8), 2, 1)), [7, 8]);
  assert.throws(() => attentionRow(A, 4, 0), /not a multiple/);
});

test('tissueMask: pixel centres inside a contour and outside its holes, at scale and offset', () => {
  const rows = (m: Uint8Array, w: number) => Array.from({ length: m.length / w }, (_, y) => Array.from(m.subarray(y * w, (y + 1) * w)).join(''));
  // 6×6 canvas, 1 level-0 px per pixel (centres at 0.5 … 5.5): tissue [1, 5)², hole [2, 4)².
  const square = (a: number, b: number) => [a, a, b, a, b, b, a, b];
  const t = { tissue: [square(1, 5)], holes: [[square(2, 4)]] };
  assert.deepEqual(rows(tissueMask(t, { width: 6, height: 6, scale: [1, 1] }), 6), ['000000', '011110', '010010', '010010', '011110', '000000']);
  // 2 level-0 px per pixel, canvas starting at level-0 (2, 0) (an ROI): centres x = 3, 5, 7; y = 1, 3, 5.
  const big = { tissue: [square(0, 6)], holes: [[]] };
  assert.deepEqual(rows(tissueMask(big, { width: 3, height: 3, scale: [2, 2] }, [2, 0]), 3), ['110', '110', '110']);
  // A triangle (x ≤ y): the diagonal's pixel centres lie on the edge and count once, on the left.
  const tri = { tissue: [[0, 0, 4, 4, 0, 4]], holes: [[]] };
  assert.deepEqual(rows(tissueMask(tri, { width: 4, height: 4, scale: [1, 1] }), 4), ['0000', '1000', '1100', '1110']);
  // No contours: nothing is tissue.
  assert.ok(tissueMask({ tissue: [], holes: [] }, { width: 3, height: 2, scale: [1, 1] }).every((v) => v === 0));
});
