// The heatmap stage's run() on real slide files: two pyramidal TIFFs written with sharp (as
// experiments/wsi-e2e/prepare.ts does), patch-coordinate files with CLAM's attributes, bags with
// features + coords, a CLAM-SB checkpoint, the segment stage's tissue contours. Checks sizes, CSV
// contents against an independent prediction, that the top-attention patch is painted red-ish and
// the lowest blue-ish, and that colour lands on tissue only: background and a hole under patches
// keep the slide's own pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import sharp from 'sharp';
import type { StageContext, StageInput } from '../../src/types/stage.ts';
import heatmapStage from '../../src/stages/heatmap.ts';
import { openslideUnavailable } from '../../src/wsi/openslide.ts';
import { writeCoordsH5 } from '../../src/wsi/coords-h5.ts';
import { makeConfig, saveCheckpoint } from '../../src/models/checkpoint.ts';
import { initParams, layout } from '../../src/models/params.ts';
import { loadModel } from '../../src/models/index.ts';
import { mulberry32 } from '../../src/datasets/prng.ts';
import { readBag, writeBag } from '../../src/io/h5.ts';
import { rdbuR } from '../../src/heatmaps/paint.ts';

const noLib = openslideUnavailable();
if (noLib) console.log(`skipping: ${noLib}`);

const input = (id: string, dir: string): StageInput => ({ id, kind: 'x', key: id, dir, manifest: {} as any });
const W = 1024, H = 768, DIM = 8;
// Tissue: x < 832 (the last patch column is half tissue, the one after it background) minus a hole.
const TISSUE_X = 832, HOLE = [256, 384];
const onTissue = (x: number, y: number) => x < TISSUE_X && !(x >= HOLE[0] && x < HOLE[1] && y >= HOLE[0] && y < HOLE[1]);

/** A grid of level-0 patch coordinates over the slide. */
function grid(size: number, step: number): number[] {
  const c: number[] = [];
  for (let y = 0; y + size <= H; y += step) for (let x = 0; x + size <= W; x += step) c.push(x, y);
  return c;
}

test('heatmap stage: PNG at thumbnail size, CSV matches the model, top patch red, lowest blue', { skip: !!noLib, timeout: 60_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'milflow-heatmap-'));
  try {
    const rand = mulberry32(7);
    const ds = join(tmp, 'dataset');
    mkdirSync(join(ds, 'bags'), { recursive: true });
    const inputs: Record<string, StageInput> = {};
    const externals: Record<string, string> = {};
    const lines = ['case_id,slide_id,label,label_index,n,path'];
    // slide_b: non-overlapping 128 px grid; slide_a: 50 % overlap (step 64).
    const layouts: Record<string, number[]> = { slide_b: grid(128, 128), slide_a: grid(128, 64), slide_c: grid(128, 128) };
    for (const [sid, coords] of Object.entries(layouts)) {
      // Light uniform "tissue" so the overlay colour dominates the blend; white glass beside it and in the hole.
      const path = join(tmp, `${sid}.tif`);
      const glass = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 243, g: 243, b: 243 } } }).png().toBuffer();
      const pink = await sharp({ create: { width: W, height: H, channels: 3, background: { r: 225, g: 215, b: 225 } } })
        .composite([{ input: await glass(W - TISSUE_X, H), left: TISSUE_X, top: 0 }, { input: await glass(HOLE[1] - HOLE[0], HOLE[1] - HOLE[0]), left: HOLE[0], top: HOLE[0] }])
        .raw()
        .toBuffer();
      await sharp(pink, { raw: { width: W, height: H, channels: 3 } })
        .tiff({ tile: true, pyramid: true, tileWidth: 256, tileHeight: 256, compression: 'jpeg', quality: 95 })
        .toFile(path);
      externals[`slide:${sid}`] = path;
      const pd = join(tmp, `patch-${sid}`);
      mkdirSync(pd);
      await writeCoordsH5(join(pd, `${sid}.h5`), coords, { patch_size: 128, patch_level: 0, downsample: [1, 1], downsampled_level_dim: [W, H], level_dim: [W, H], name: sid });
      inputs[`patch:${sid}`] = input(`patch/${sid}`, pd);
      const sd = join(tmp, `segment-${sid}`);
      mkdirSync(sd);
      const box = (x0: number, y0: number, x1: number, y1: number) => [x0, y0, x1, y0, x1, y1, x0, y1];
      writeFileSync(join(sd, 'segmentation.json'), JSON.stringify({ slide: sid, seg_level: 0, seg_downsample: [1, 1], level0_dim: [W, H], tissue: [box(0, 0, TISSUE_X, H)], holes: [[box(HOLE[0], HOLE[0], HOLE[1], HOLE[1])]], areas: [0], largest_area: 0 }));
      inputs[`segment:${sid}`] = input(`segment/${sid}`, sd);
      const n = coords.length / 2;
      const f = Float32Array.from({ length: n * DIM }, () => rand() * 2 - 1);
      await writeBag(join(ds, 'bags', `${sid}.h5`), f, n, DIM, { coords });
      lines.push(`c_${sid},${sid},tumor,1,${n},bags/${sid}.h5`);
    }
    writeFileSync(join(ds, 'slides.csv'), lines.join('\n') + '\n');
    const sp = join(tmp, 'splits');
    mkdirSync(sp);
    // Fold 0 tests slide_b and slide_a (slide_c trains); fold 1 has an empty test set.
    writeFileSync(join(sp, 'splits_0.csv'), ',train,val,test\n0,slide_c,,slide_b\n1,,,slide_a\n');
    writeFileSync(join(sp, 'splits_1.csv'), ',train,val,test\n0,slide_a,slide_b,\n');
    const md = join(tmp, 'model');
    mkdirSync(md);
    const cfg = makeConfig({ type: 'clam_sb', n_classes: 2, dim: DIM, dropout: 0 });
    await saveCheckpoint(join(md, 'model.safetensors'), { config: cfg, params: initParams(layout(cfg), 3), meta: {} });
    inputs.model = input('train', md);
    inputs.dataset = input('dataset', ds);
    inputs.splits = input('splits', sp);

    const ctx = (fold: number): StageContext => {
      const outDir = join(tmp, `out${fold}`);
      mkdirSync(outDir);
      return { id: `heatmap/clam_sb/frac=1/fold=${fold}`, key: 'k', outDir, inputs, externals, device: { kind: 'cpu', index: 0, threads: 1 }, signal: new AbortController().signal, log: () => {}, progress: () => {}, metric: () => {} };
    };
    const t0 = Date.now();
    const r = await heatmapStage.run({ fold: 0, n: 5 }, ctx(0));
    console.log(`heatmap stage: 2 slides in ${Date.now() - t0} ms`);
    assert.equal(r.metrics!.n_slides, 2);
    const model = await loadModel(join(md, 'model.safetensors'));
    for (const sid of ['slide_a', 'slide_b']) {
      const png = join(tmp, 'out0', 'heatmaps', `${sid}.png`);
      const meta = await sharp(png).metadata();
      assert.equal(meta.width, W);
      assert.equal(meta.height, H);
      const csv = readFileSync(join(tmp, 'out0', 'heatmaps', `${sid}.csv`), 'utf8').trim().split('\n');
      assert.equal(csv[0], 'x,y,score,percentile');
      const rows = csv.slice(1).map((l) => l.split(',').map(Number));
      const coords = layouts[sid];
      assert.equal(rows.length, coords.length / 2);
      // Independent prediction: same raw attention, and percentiles ordered like it.
      const ord = rows.map((_, i) => i).sort((i, j) => rows[i][2] - rows[j][2]);
      assert.equal(rows[ord[ord.length - 1]][3], 100);
      assert.ok(Math.abs(rows[ord[0]][3] - 100 / rows.length) < 1e-9);
      for (let k = 1; k < ord.length; k++) assert.ok(rows[ord[k]][3] >= rows[ord[k - 1]][3]);
      rows.forEach((row, i) => assert.deepEqual(row.slice(0, 2), [coords[2 * i], coords[2 * i + 1]]));
      const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      const px = (x: number, y: number) => [0, 1, 2].map((c) => data[(y * W + x) * 3 + c]);
      // Colour on tissue only: every pixel (away from the outline by a pixel) under a patch is
      // changed on tissue and is the slide's own pixel on glass and in the hole.
      const orig = await sharp(join(tmp, 'out0', 'heatmaps', `${sid}.original.png`)).raw().toBuffer();
      let tissuePx = 0, glassPx = 0;
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          if (onTissue(x - 1, y - 1) !== onTissue(x + 1, y + 1) || onTissue(x - 1, y + 1) !== onTissue(x + 1, y - 1)) continue;
          const o = (y * W + x) * 3;
          const same = data[o] === orig[o] && data[o + 1] === orig[o + 1] && data[o + 2] === orig[o + 2];
          if (onTissue(x, y)) { assert.ok(!same, `${sid}: tissue pixel (${x},${y}) under a patch is coloured`); tissuePx++; }
          else { assert.ok(same, `${sid}: background pixel (${x},${y}) keeps the slide's colour: ${px(x, y)} vs ${[0, 1, 2].map((c) => orig[o + c])}`); glassPx++; }
        }
      assert.ok(tissuePx > 0.6 * W * H && glassPx > 0.2 * W * H, `${tissuePx} tissue and ${glassPx} glass pixels checked`);
      if (sid === 'slide_b') {
        // Non-overlapping: the top patch on tissue is red-ish at its centre, the lowest blue-ish.
        const tissueOrd = ord.filter((i) => onTissue(rows[i][0] + 64, rows[i][1] + 64));
        const top = tissueOrd[tissueOrd.length - 1], low = tissueOrd[0];
        const [rt, , bt] = px(rows[top][0] + 64, rows[top][1] + 64);
        const [rl, , bl] = px(rows[low][0] + 64, rows[low][1] + 64);
        assert.ok(rt > bt + 30, `top patch not red-ish: ${px(rows[top][0] + 64, rows[top][1] + 64)}`);
        assert.ok(bl > rl + 30, `lowest patch not blue-ish: ${px(rows[low][0] + 64, rows[low][1] + 64)}`);
        const fresh = await readBag(join(ds, 'bags', 'slide_b.h5'));
        const out = model.predict(fresh.features, fresh.n, fresh.dim);
        rows.forEach((row, i) => assert.ok(Math.abs(row[2] - out.A_raw[i]) < 1e-5, `attention of patch ${i}`));
      } else {
        // 50 % overlap: the pixel at (96, 96) lies in the four patches at x, y ∈ {0, 64}; its colour
        // is the blend of the mean of their percentiles (within JPEG noise of the background).
        const at = (x: number, y: number) => rows.findIndex((row) => row[0] === x && row[1] === y);
        const mean = [at(0, 0), at(64, 0), at(0, 64), at(64, 64)].reduce((s, i) => s + rows[i][3], 0) / 4;
        const c = rdbuR(mean / 100);
        const want = [225, 215, 225].map((bg, k) => 0.5 * bg + 0.5 * c[k]);
        px(96, 96).forEach((v, k) => assert.ok(Math.abs(v - want[k]) <= 4, `pixel (96,96) ${px(96, 96)} vs ${want}`));
      }
    }
    // Sorted by slide_id, first n: n = 1 renders slide_a only.
    const one = await heatmapStage.run({ fold: 0, n: 1 }, { ...ctx(2), id: 'one' });
    assert.deepEqual((one.summary as any).slides.map((s: any) => s.slide_id), ['slide_a']);
    // No test slides: a note, no pictures.
    const none = await heatmapStage.run({ fold: 1, n: 5 }, ctx(1));
    assert.equal(none.metrics!.n_slides, 0);
    assert.match(readFileSync(join(tmp, 'out1', 'heatmaps', 'NOTE.txt'), 'utf8'), /fold 1 has no test slides/);
    assert.ok(!existsSync(join(tmp, 'out1', 'heatmaps', 'slide_a.png')));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
