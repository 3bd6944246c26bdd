// The picture under a heatmap: a pyramid level that fits as is, a too-big level resized, and a
// too-big unpyramided slide box-averaged in stripes (bounded memory) — sizes and colours by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import sharp from 'sharp';
import { openslideUnavailable } from '../../src/wsi/openslide.ts';
import { slideImage } from '../../src/heatmaps/slide-image.ts';

const noLib = openslideUnavailable();
if (noLib) console.log(`skipping: ${noLib}`);

test('slideImage: level choice, resize and striped box average', { skip: !!noLib, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-heatmap-img-'));
  try {
    // 1000×600: left 500 columns red (200,g,40), right blue (40,g,200), green g = ⌊y/4⌋ mod 200
    // (constant in each 4-row block, so it tells output rows apart); single level (no pyramid).
    const W = 1000, H = 600;
    const raw = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) raw.set(x < 500 ? [200, Math.floor(y / 4) % 200, 40] : [40, Math.floor(y / 4) % 200, 200], (y * W + x) * 3);
    const flat = join(dir, 'flat.tif');
    await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).tiff({ tile: true, tileWidth: 256, tileHeight: 256, compression: 'deflate' }).toFile(flat);

    const fits = await slideImage(flat, { maxSide: 1000 });
    assert.deepEqual([fits.width, fits.height, fits.level, ...fits.scale], [1000, 600, 0, 1, 1]);
    assert.deepEqual(Array.from(fits.rgb.subarray(0, 3)), [200, 0, 40]);
    assert.deepEqual(Array.from(fits.rgb.subarray((599 * W + 999) * 3, (599 * W + 999) * 3 + 3)), [40, 149, 200]);

    // Too big, small enough to resize whole: longer side becomes maxSide.
    const resized = await slideImage(flat, { maxSide: 300 });
    assert.deepEqual([resized.width, resized.height], [300, 180]);
    assert.deepEqual(resized.scale, [W / 300, H / 180]);

    // Too big and over the pixel budget: k = ceil(1000 / 300) = 4 → 250×150, each pixel the mean
    // of a 4×4 block; scale exactly 4. Column 124 is all red, 125 all blue (500 = 125·4).
    const boxed = await slideImage(flat, { maxSide: 300, maxPixels: 1 });
    assert.deepEqual([boxed.width, boxed.height, ...boxed.scale], [250, 150, 4, 4]);
    const px = (x: number, y: number) => Array.from(boxed.rgb.subarray((y * 250 + x) * 3, (y * 250 + x) * 3 + 3));
    assert.deepEqual(px(124, 149), [200, 149, 40]);
    assert.deepEqual(px(124, 37), [200, 37, 40]);
    assert.deepEqual(px(125, 0), [40, 0, 200]);
    // Stripes of 7 output rows (28 level rows): the same picture as one stripe.
    const striped = await slideImage(flat, { maxSide: 300, maxPixels: 1, stripePixels: 7 * 4 * W });
    assert.deepEqual(Buffer.from(striped.rgb), Buffer.from(boxed.rgb));

    // A pyramid: the first level whose longer side ≤ maxSide (1000 → 500 → 250).
    const pyr = join(dir, 'pyr.tif');
    await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).tiff({ tile: true, pyramid: true, tileWidth: 128, tileHeight: 128, compression: 'deflate' }).toFile(pyr);
    const lv = await slideImage(pyr, { maxSide: 600 });
    assert.deepEqual([lv.level, lv.width, lv.height, ...lv.scale], [1, 500, 300, 2, 2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
