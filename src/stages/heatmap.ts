// Stage `heatmap` (heatmap/<model>/frac=<f>/fold=<k>, WSI datasets with evaluate.heatmaps > 0):
// the paper's interpretability figure for the first `n` test slides of the fold (by slide_id).
// Per slide: the fold's model predicts the bag; the predicted class's raw attention becomes
// percentiles, averaged per pixel over overlapping patches and painted with a diverging colormap
// (RdBu reversed, alpha 0.5) over a thumbnail of the slide. Writes heatmaps/<slide_id>.png and
// heatmaps/<slide_id>.csv (x, y, attention_raw, percentile; level-0 coordinates, bag order).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Json, StageKind } from '../types/stage.ts';
import { readBag } from '../io/h5.ts';
import { loadModel } from '../models/index.ts';
import { readBagPaths, readSplitsCsv } from '../splits/index.ts';
import { readCoordsH5 } from '../wsi/coords-h5.ts';
import { attentionRow, averageScores, overlay, percentiles } from '../heatmaps/paint.ts';
import { slideImage } from '../heatmaps/slide-image.ts';

export interface HeatmapParams {
  fold: number;
  /** Test slides to render (the first n by slide_id). */
  n: number;
  /** Longest side of the picture (a pyramid level at most this big). */
  max_side?: number;
  alpha?: number;
}

const stage: StageKind<HeatmapParams> = {
  kind: 'heatmap',
  async run(p, ctx) {
    const { model: mIn, dataset: dIn, splits: sIn } = ctx.inputs;
    if (!mIn || !dIn || !sIn) throw new Error(`${ctx.id}: needs inputs 'model', 'dataset' and 'splits'`);
    const outDir = join(ctx.outDir, 'heatmaps');
    mkdirSync(outDir, { recursive: true });
    const splitFile = join(sIn.dir, `splits_${p.fold}.csv`);
    const bags = readBagPaths(dIn.dir);
    // Test slides the dataset kept (excluded slides have no bag), sorted by slide_id.
    const test = readSplitsCsv(splitFile).test.filter((s) => bags.has(s)).sort();
    const ids = test.slice(0, Math.max(0, p.n));
    if (ids.length === 0) {
      const note = `fold ${p.fold} has no test slides (${splitFile}): no heatmaps`;
      writeFileSync(join(outDir, 'NOTE.txt'), note + '\n');
      ctx.log(note);
      return { metrics: { n_slides: 0 }, summary: { note } as Json };
    }
    const model = await loadModel(join(mIn.dir, 'model.safetensors'));
    const rendered: { slide_id: string; y_hat: number; n_patches: number; width: number; height: number; level: number }[] = [];
    for (let k = 0; k < ids.length; k++) {
      if (ctx.signal.aborted) throw new Error(`${ctx.id}: aborted`);
      const sid = ids[k];
      const slidePath = ctx.externals[`slide:${sid}`];
      const patchIn = ctx.inputs[`patch:${sid}`];
      if (!slidePath || !patchIn) throw new Error(`${ctx.id}: slide '${sid}' has no input slide:${sid} / patch:${sid}`);
      const bag = await readBag(bags.get(sid)!);
      const coordsFile = join(patchIn.dir, `${sid}.h5`);
      const { attrs } = await readCoordsH5(coordsFile);
      // Patch side at level 0: the read size at the patch level times that level's downsample.
      const size = attrs.patch_size * attrs.downsample[0];
      if (!(size > 0)) throw new Error(`${coordsFile}: patch_size/downsample attributes give no patch size`);
      const coords = bag.coords;
      if (!coords || coords.length !== 2 * bag.n) throw new Error(`${bags.get(sid)}: bag of slide '${sid}' has no coords for its ${bag.n} patches`);
      const out = model.predict(bag.features, bag.n, bag.dim, sid);
      const raw = attentionRow(out.A_raw, bag.n, out.Y_hat);
      const pct = percentiles(raw);
      const img = await slideImage(slidePath, { maxSide: p.max_side ?? 2048 });
      const map = averageScores(coords, pct, size, img);
      const painted = overlay(img.rgb, map, p.alpha ?? 0.5);
      await sharp(Buffer.from(painted), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toFile(join(outDir, `${sid}.png`));
      const lines = ['x,y,attention_raw,percentile'];
      for (let i = 0; i < bag.n; i++) lines.push(`${coords[2 * i]},${coords[2 * i + 1]},${raw[i]},${pct[i]}`);
      writeFileSync(join(outDir, `${sid}.csv`), lines.join('\n') + '\n');
      rendered.push({ slide_id: sid, y_hat: out.Y_hat, n_patches: bag.n, width: img.width, height: img.height, level: img.level });
      ctx.progress(k + 1, ids.length, sid);
    }
    ctx.log(`fold ${p.fold}: heatmaps of ${rendered.map((r) => r.slide_id).join(', ')} (${test.length} test slides)`);
    return { metrics: { n_slides: rendered.length }, engine: model.engine, summary: { slides: rendered } as unknown as Json };
  },
};

export default stage;
