// Stage `heatmap` (WSI datasets): CLAM's heatmaps for one checkpoint (train stage) —
//   heatmap/<model>[/<sweep>]/frac=<f>/fold=<k>                the first `n` test slides of the fold;
//   heatmap/<model>[/<sweep>]/frac=<f>/fold=<k>/slide=<id>     one named slide (cached per slide × checkpoint).
// Per slide (src/heatmaps/render.ts): the checkpoint scores the slide's bag (the training grid,
// the reference), colour goes on the segment stage's tissue only, and with `overlap` > 0 an overlapping grid patched inside the segment stage's
// tissue contours and encoded by the dataset's encoder; percentiles of the drawn grid are referred
// to the reference scores. Outputs under heatmaps/: <slide>.png, .original.png, .figure.png, .csv,
// .json, .samples.csv and topk/, bottomk/ tiles.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Json, StageKind } from '../types/stage.ts';
import { readBag } from '../io/h5.ts';
import { readJsonFile } from '../records/journal.ts';
import { loadModel } from '../models/index.ts';
import { readBagPaths, readDatasetDir, readSplitsCsv } from '../splits/index.ts';
import { readCoordsH5 } from '../wsi/coords-h5.ts';
import { Slide } from '../wsi/openslide.ts';
import { patchTissue, type PatchParams } from '../wsi/patch.ts';
import type { Segmentation } from '../wsi/segment.ts';
import { extractFeatures, type EncoderSpec } from '../features/extract.ts';
import { renderSlideHeatmap, type HeatmapOptions } from '../heatmaps/render.ts';

export interface HeatmapParams {
  fold: number;
  /** The first n test slides of the fold (by slide_id), or these slides. */
  n?: number;
  slides?: string[];
  classes?: string[];
  options?: HeatmapOptions;
  /** Needed for overlap > 0: how the dataset patched (size, level, contour_fn, …) and encoded. */
  patch?: Omit<PatchParams, 'step'>;
  encoder?: Omit<EncoderSpec, 'onnx'>;
  /** Legacy (evaluate.heatmaps): longest side and alpha. */
  max_side?: number;
  alpha?: number;
}

const stage: StageKind<HeatmapParams> = {
  kind: 'heatmap',
  async run(p, ctx) {
    const { model: mIn, dataset: dIn, splits: sIn } = ctx.inputs;
    if (!mIn || !dIn) throw new Error(`${ctx.id}: needs inputs 'model' and 'dataset'`);
    const outDir = join(ctx.outDir, 'heatmaps');
    mkdirSync(outDir, { recursive: true });
    const bags = readBagPaths(dIn.dir);
    const { slides } = readDatasetDir(dIn.dir);
    const bySlide = new Map(slides.map((s) => [s.slide_id, s]));
    let ids: string[];
    let test: string[] = [];
    if (p.slides?.length) {
      const missing = p.slides.filter((s) => !bags.has(s));
      if (missing.length) throw new Error(`${ctx.id}: slide(s) ${missing.join(', ')} have no bag in ${join(dIn.dir, 'slides.csv')} (excluded or not in the dataset)`);
      ids = p.slides;
    } else {
      if (!sIn) throw new Error(`${ctx.id}: the first n test slides need the 'splits' input`);
      const splitFile = join(sIn.dir, `splits_${p.fold}.csv`);
      // Test slides the dataset kept (excluded slides have no bag), sorted by slide_id.
      test = readSplitsCsv(splitFile).test.filter((s) => bags.has(s)).sort();
      ids = test.slice(0, Math.max(0, p.n ?? 0));
      if (ids.length === 0) {
        const note = `fold ${p.fold} has no test slides (${splitFile}): no heatmaps`;
        writeFileSync(join(outDir, 'NOTE.txt'), note + '\n');
        ctx.log(note);
        return { metrics: { n_slides: 0 }, summary: { note } as Json };
      }
    }
    const model = await loadModel(join(mIn.dir, 'model.safetensors'));
    const classes = p.classes ?? [];
    const options: HeatmapOptions = { alpha: p.alpha ?? 0.5, max_side: p.max_side ?? 2048, cmap: 'rdbu_r', ...(p.options ?? {}) };
    const rendered: Json[] = [];
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
      if (!bag.coords || bag.coords.length !== 2 * bag.n) throw new Error(`${bags.get(sid)}: bag of slide '${sid}' has no coords for its ${bag.n} patches`);
      // The segment stage's contours: where colour may go, and where an overlapping grid is patched.
      const segIn = ctx.inputs[`segment:${sid}`];
      if (!segIn) throw new Error(`${ctx.id}: slide '${sid}' has no input segment:${sid} (its tissue contours)`);
      const seg = readJsonFile<Segmentation>(join(segIn.dir, 'segmentation.json'), 'segmentation');
      const overlapGrid = async (step: number) => {
        const onnx = ctx.externals.encoder;
        if (!onnx || !p.patch || !p.encoder) throw new Error(`${ctx.id}: overlap needs the encoder external and the patch / encoder params`);
        const s = Slide.open(slidePath);
        let r;
        try {
          // patchTissue's step is at the patch level; the renderer asks in level-0 pixels.
          r = await patchTissue(s, seg, { ...p.patch, step: Math.max(1, Math.round(step / attrs.downsample[0])) } as PatchParams);
        } finally {
          s.close();
        }
        ctx.log(`${sid}: ${r.n} patches at step ${step} px (${bag.n} in the training grid), encoding`);
        const features = await extractFeatures(slidePath, { coords: r.coords, n: r.n, attrs: r.attrs }, { ...p.encoder, onnx } as EncoderSpec, { threads: ctx.device.threads, signal: ctx.signal, onProgress: (d, t) => ctx.progress(k + d / t, ids.length, `${sid}: encoding ${d}/${t}`) });
        return { coords: r.coords, features, n: r.n, dim: p.encoder.dim };
      };
      const li = bySlide.get(sid)?.label_index;
      const label = li === undefined ? undefined : classes[li] ?? `class ${li}`;
      const r = await renderSlideHeatmap(
        {
          slidePath, slideId: sid, model, reference: { coords: bag.coords, features: bag.features, n: bag.n, dim: bag.dim }, patchSize: size, tissue: seg,
          tile: { level: attrs.patch_level, size: attrs.patch_size }, overlapGrid, classes, trueLabel: label, modelName: modelName(ctx.id), outDir,
        },
        options,
      );
      rendered.push({ slide_id: sid, y_hat: r.y_hat, predicted: r.predicted, probability: r.probability, n_reference: r.n_reference, n_scored: r.n_scored, width: r.width, height: r.height, level: r.level });
      ctx.progress(k + 1, ids.length, sid);
    }
    ctx.log(`fold ${p.fold}: heatmaps of ${ids.join(', ')}${test.length ? ` (${test.length} test slides)` : ''}`);
    return { metrics: { n_slides: rendered.length }, engine: model.engine, summary: { slides: rendered } as Json };
  },
};

/** "heatmap/clam_sb/B=16/frac=1/fold=0[/slide=x]" → "clam_sb B=16, 100 % training data, fold 0". */
function modelName(id: string): string {
  const parts = id.split('/').slice(1);
  const frac = parts.find((x) => x.startsWith('frac='))?.slice(5);
  const fold = parts.find((x) => x.startsWith('fold='))?.slice(5);
  const name = parts.filter((x) => !/^(frac|fold|slide)=/.test(x)).join(' ');
  return [name, frac !== undefined ? `${+(Number(frac) * 100).toFixed(1)} % training data` : '', fold !== undefined ? `fold ${fold}` : ''].filter(Boolean).join(', ');
}

export default stage;
