// The JS fast paths of segmentation against OpenCV itself: HSV saturation (every max/min pair
// and random pixels) and "median blur then threshold" as a box count (random images, several
// kernel sizes and thresholds, borders included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCv } from '../../src/wsi/cv.ts';
import { saturation, saturationFromArgb, medianThreshold } from '../../src/wsi/saturation.ts';
import { mulberry32 as rng } from '../../src/datasets/prng.ts';


test('saturation equals OpenCV RGB2HSV S for every (max, min) pair and random pixels', async () => {
  const { cv } = await loadCv();
  const r = rng(1);
  const px: number[] = [];
  for (let v = 0; v < 256; v++) for (let m = 0; m <= v; m++) px.push(v, m, Math.floor(m + (v - m) * r()));
  for (let i = 0; i < 20000; i++) px.push(Math.floor(256 * r()), Math.floor(256 * r()), Math.floor(256 * r()));
  const n = px.length / 3;
  const rgb = cv.matFromArray(1, n, cv.CV_8UC3, px);
  const hsv = new cv.Mat();
  try {
    cv.cvtColor(rgb, hsv, cv.COLOR_RGB2HSV);
    let bad = 0;
    const argb = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      if (saturation(px[3 * i], px[3 * i + 1], px[3 * i + 2]) !== hsv.data[3 * i + 1]) bad++;
      argb[i] = ((255 << 24) | (px[3 * i] << 16) | (px[3 * i + 1] << 8) | px[3 * i + 2]) >>> 0;
    }
    assert.equal(bad, 0, `${bad} of ${n} pixels differ from OpenCV`);
    const s = saturationFromArgb(argb);
    for (let i = 0; i < n; i++) assert.equal(s[i], hsv.data[3 * i + 1]);
    // Transparent pixels count as black (saturation 0), as CLAM's RGBA → RGB path sees them.
    assert.equal(saturationFromArgb(Uint32Array.of(0))[0], 0);
  } finally {
    rgb.delete();
    hsv.delete();
  }
});

test('medianThreshold equals threshold(medianBlur(src, k), t) of OpenCV, borders included', async () => {
  const { cv } = await loadCv();
  const r = rng(7);
  for (const [w, h, k, t] of [[37, 23, 3, 100], [64, 48, 5, 15], [50, 61, 11, 15], [13, 9, 7, 128], [40, 40, 1, 50]] as const) {
    // Blobs plus noise, so the median is near the threshold in many windows.
    const src = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const blob = Math.hypot(x - w / 2, y - h / 2) < Math.min(w, h) / 3 ? 1 : 0;
      src[y * w + x] = Math.max(0, Math.min(255, Math.round(t + (blob ? 30 : -30) + 90 * (r() - 0.5))));
    }
    const m = new cv.Mat(h, w, cv.CV_8UC1);
    const blurred = new cv.Mat();
    const bin = new cv.Mat();
    try {
      m.data.set(src);
      cv.medianBlur(m, blurred, k);
      cv.threshold(blurred, bin, t, 255, cv.THRESH_BINARY);
      const mine = medianThreshold(src, w, h, k, t);
      let diff = 0;
      for (let i = 0; i < mine.length; i++) if (mine[i] !== bin.data[i]) diff++;
      assert.equal(diff, 0, `${w}x${h} k=${k} t=${t}: ${diff} pixels differ`);
      assert.ok(mine.some((v) => v === 255) && mine.some((v) => v === 0), 'test image must exercise both sides');
    } finally {
      m.delete();
      blurred.delete();
      bin.delete();
    }
  }
  assert.throws(() => medianThreshold(new Uint8Array(4), 2, 2, 4, 1), /odd/);
});
