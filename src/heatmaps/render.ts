// One slide's heatmap as CLAM's create_heatmaps.py draws it (behaviour learned from CLAM's
// visHeatmap; no code taken): scores of a reference grid (the training patches, no overlap), an
// optional overlapping grid scored by the same model with percentiles referred to the reference
// scores, ROI crop, binarize, blur, colormap + alpha over the slide's tissue (or a blank canvas) at
// a chosen pyramid level, top-k / bottom-k patches as PNG tiles. Writes, per slide:
//   <id>.png (heatmap), <id>.original.png (same region, no overlay), <id>.figure.png (original
//   beside the heatmap, colour bar, caption), <id>.csv (x, y, score, percentile of every drawn
//   patch), <id>.json (caption facts), topk/ and bottomk/ tiles with <id>.samples.csv.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { LoadedModel } from '../models/index.ts';
import { Slide } from '../wsi/openslide.ts';
import { attentionRow, averageScores, binarizeScores, blend, blurMap, colormap, percentiles, tissueMask, type TissueOutline } from './paint.ts';
import { slideImage } from './slide-image.ts';

export interface HeatmapOptions {
  /** Overlap of the heatmap grid (0 = the reference grid; CLAM's 0.5–0.95 for smooth maps). */
  overlap?: number;
  /** Level-0 region [x1, y1, x2, y2]. */
  roi?: [number, number, number, number];
  blur?: boolean;
  binarize?: boolean;
  /** Percentile / 100 a patch must reach to be painted when binarizing (CLAM's binary_thresh). */
  threshold?: number;
  /** Pyramid level to draw at; unset: the finest level whose region fits max_side. */
  vis_level?: number;
  max_side?: number;
  cmap?: string;
  alpha?: number;
  blank_canvas?: boolean;
  topk?: number;
  bottomk?: number;
}

export interface Grid {
  /** Level-0 top-left corners, interleaved x, y. */
  coords: ArrayLike<number>;
  features: Float32Array;
  n: number;
  dim: number;
}

export interface SlideHeatmapInput {
  slidePath: string;
  slideId: string;
  model: LoadedModel;
  /** The training grid's bag (reference scores, prediction). */
  reference: Grid;
  /** Side of a patch in level-0 pixels, and what to read for a tile (level + size at it). */
  patchSize: number;
  tile: { level: number; size: number };
  /**
   * The slide's tissue (the segment stage's contours and holes): colour is painted only there,
   * as CLAM does when it segments, so patch squares reaching into the background leave it bare.
   */
  tissue: TissueOutline;
  /** The overlapping grid's features (computed only when overlap > 0). */
  overlapGrid?: (step: number) => Promise<Grid>;
  classes: string[];
  trueLabel?: string;
  modelName: string;
  outDir: string;
}

export interface SlideHeatmapResult {
  slide_id: string;
  score: 'attention' | 'instance score';
  y_hat: number;
  predicted: string;
  probability: number;
  true_label: string | null;
  n_reference: number;
  n_scored: number;
  n_drawn: number;
  width: number;
  height: number;
  level: number;
  files: string[];
}

const isMil = (m: LoadedModel) => /^m?mil$/i.test(String((m.config as { type?: string }).type ?? ''));

/** Per-patch score of the predicted class: CLAM's raw attention, MIL's instance probability. */
export function patchScores(model: LoadedModel, g: Grid, yHat: number, where: string): Float32Array {
  const out = model.predict(g.features, g.n, g.dim, where);
  const C = out.Y_prob.length;
  if (isMil(model)) {
    const branches = out.A_raw.length / g.n;
    // Binary MIL keeps p(class 1) per instance: the predicted class 0 is its complement.
    if (branches === 1 && C === 2 && yHat === 0) return Float32Array.from(out.A_raw, (v) => 1 - v);
  }
  return attentionRow(out.A_raw, g.n, yHat);
}

export async function renderSlideHeatmap(inp: SlideHeatmapInput, o: HeatmapOptions = {}): Promise<SlideHeatmapResult> {
  const overlap = o.overlap ?? 0;
  if (!(overlap >= 0 && overlap < 1)) throw new Error(`heatmap overlap must be in [0, 1), got ${overlap}`);
  const alpha = o.alpha ?? 0.4;
  const cmap = colormap(o.cmap ?? 'coolwarm');
  mkdirSync(inp.outDir, { recursive: true });
  const sid = inp.slideId;
  const ref = inp.reference;
  const pred = inp.model.predict(ref.features, ref.n, ref.dim, sid);
  const yHat = pred.Y_hat;
  const refScores = patchScores(inp.model, ref, yHat, sid);
  // CLAM: overlapping patches are scored by the same model; their percentiles are referred to the
  // non-overlapping scores, so a smooth map keeps the meaning of "top 5 % of this slide's patches".
  let grid = ref, scores = refScores;
  if (overlap > 0) {
    if (!inp.overlapGrid) throw new Error(`${sid}: overlap ${overlap} needs the slide's encoder to score an overlapping grid`);
    const step = Math.max(1, Math.round(inp.patchSize * (1 - overlap)));
    grid = await inp.overlapGrid(step);
    scores = patchScores(inp.model, grid, yHat, sid);
  }
  const pct = percentiles(scores, refScores);

  // ROI: patches overlapping the region, coordinates relative to its corner.
  const slide = Slide.open(inp.slidePath);
  let region: [number, number, number, number];
  try {
    const [W0, H0] = slide.levelDimensions[0];
    region = o.roi ? [Math.max(0, o.roi[0]), Math.max(0, o.roi[1]), Math.min(W0, o.roi[2]), Math.min(H0, o.roi[3])] : [0, 0, W0, H0];
    if (!(region[2] > region[0] && region[3] > region[1])) throw new Error(`${sid}: ROI ${JSON.stringify(o.roi)} lies outside the slide (${W0}×${H0})`);
  } finally {
    slide.close();
  }
  const keep: number[] = [];
  for (let i = 0; i < grid.n; i++) {
    const x = grid.coords[2 * i], y = grid.coords[2 * i + 1];
    if (x < region[2] && x + inp.patchSize > region[0] && y < region[3] && y + inp.patchSize > region[1]) keep.push(i);
  }
  const rel = new Float64Array(keep.length * 2);
  keep.forEach((i, k) => { rel[2 * k] = grid.coords[2 * i] - region[0]; rel[2 * k + 1] = grid.coords[2 * i + 1] - region[1]; });
  const shown = Float64Array.from(keep, (i) => pct[i]);

  const img = o.roi ? await regionImage(inp.slidePath, region, o.vis_level, o.max_side ?? 2048) : await slideImage(inp.slidePath, { maxSide: o.max_side ?? 2048, level: o.vis_level });
  const threshold = o.binarize ? o.threshold ?? 0.5 : 0;
  const values = o.binarize ? binarizeScores(shown, threshold) : shown;
  let map = averageScores(rel, values, inp.patchSize, img);
  if (o.binarize) for (let p = 0; p < map.mean.length; p++) if (map.count[p]) map.mean[p] = Math.round(map.mean[p] / 100) * 100;
  // Painted: tissue pixels under at least one patch at or above the threshold.
  const hot = averageScores(rel, Float64Array.from(shown, (v) => (v / 100 >= threshold ? 1 : 0)), inp.patchSize, img);
  const onTissue = tissueMask(inp.tissue, img, [region[0], region[1]]);
  const paint = Uint8Array.from(hot.mean, (v, p) => (hot.count[p] && v > 0 && onTissue[p] ? 1 : 0));
  if (o.blur) map = blurMap(map, img.width, img.height, 2 * Math.round((inp.patchSize / img.scale[0]) * (1 - overlap)) + 1);
  const base = o.blank_canvas ? new Uint8Array(img.width * img.height * 3).fill(255) : img.rgb;
  const painted = blend(base, map, paint, alpha, cmap);

  const raw = (b: Uint8Array) => sharp(Buffer.from(b), { raw: { width: img.width, height: img.height, channels: 3 } });
  const files: string[] = [];
  const out = (name: string) => { files.push(name); return join(inp.outDir, name); };
  await raw(painted).png().toFile(out(`${sid}.png`));
  await raw(img.rgb).png().toFile(out(`${sid}.original.png`));
  const lines = ['x,y,score,percentile'];
  for (const i of keep) lines.push(`${grid.coords[2 * i]},${grid.coords[2 * i + 1]},${scores[i]},${pct[i]}`);
  writeFileSync(out(`${sid}.csv`), lines.join('\n') + '\n');
  if (grid !== ref) {
    // The reference the percentiles are referred to: the training grid's scores.
    const refLines = ['x,y,score'];
    for (let i = 0; i < ref.n; i++) refLines.push(`${ref.coords[2 * i]},${ref.coords[2 * i + 1]},${refScores[i]}`);
    writeFileSync(out(`${sid}.reference.csv`), refLines.join('\n') + '\n');
  }

  const kind: SlideHeatmapResult['score'] = isMil(inp.model) ? 'instance score' : 'attention';
  const result: SlideHeatmapResult = {
    slide_id: sid, score: kind, y_hat: yHat, predicted: inp.classes[yHat] ?? `class ${yHat}`, probability: Number(pred.Y_prob[yHat]),
    true_label: inp.trueLabel ?? null, n_reference: ref.n, n_scored: grid.n, n_drawn: keep.length, width: img.width, height: img.height, level: img.level, files,
  };
  await composeFigure(inp, o, result, painted, img.rgb, img.width, img.height, cmap, out(`${sid}.figure.png`));

  // Top-k / bottom-k of the reference scores (CLAM samples from the non-overlapping block map).
  const order = Array.from({ length: ref.n }, (_, i) => i).sort((a, b) => refScores[b] - refScores[a] || a - b);
  const refPct = percentiles(refScores);
  const sampleRows = ['set,rank,x,y,score,percentile,file'];
  for (const [set, k, ids] of [['topk', o.topk ?? 0, order], ['bottomk', o.bottomk ?? 0, [...order].reverse()]] as const) {
    if (!k) continue;
    mkdirSync(join(inp.outDir, set), { recursive: true });
    const s = Slide.open(inp.slidePath);
    try {
      for (let r = 0; r < Math.min(k, ref.n); r++) {
        const i = ids[r];
        const x = ref.coords[2 * i], y = ref.coords[2 * i + 1];
        const tile = s.readRegion(x, y, inp.tile.level, inp.tile.size, inp.tile.size);
        const name = `${set}/${r}_${sid}_x_${x}_y_${y}_s_${refScores[i].toFixed(4)}.png`;
        await sharp(Buffer.from(tile.data), { raw: { width: tile.width, height: tile.height, channels: 3 } }).png().toFile(out(name));
        sampleRows.push([set, r, x, y, refScores[i], refPct[i], name].join(','));
      }
    } finally {
      s.close();
    }
  }
  if (sampleRows.length > 1) writeFileSync(out(`${sid}.samples.csv`), sampleRows.join('\n') + '\n');
  const facts = { ...result, files: undefined, model: inp.modelName, options: { ...o, overlap, alpha, cmap: o.cmap ?? 'coolwarm' }, region };
  writeFileSync(out(`${sid}.json`), JSON.stringify(facts, null, 2) + '\n');
  return result;
}

/** A level-0 region of a slide at the finest level that fits maxSide (or at visLevel), downscaled to fit. */
export async function regionImage(path: string, region: [number, number, number, number], visLevel: number | undefined, maxSide: number) {
  const s = Slide.open(path);
  try {
    const [x1, y1, x2, y2] = region;
    const ds = s.levelDownsamples;
    let level = visLevel !== undefined && visLevel >= 0 ? Math.min(visLevel, ds.length - 1) : ds.findIndex((d) => Math.max(x2 - x1, y2 - y1) / d <= maxSide);
    if (level < 0) level = ds.length - 1;
    const lw = Math.max(1, Math.round((x2 - x1) / ds[level])), lh = Math.max(1, Math.round((y2 - y1) / ds[level]));
    const r = s.readRegion(x1, y1, level, lw, lh);
    let rgb = r.data, width = lw, height = lh;
    if (Math.max(lw, lh) > maxSide) {
      const f = maxSide / Math.max(lw, lh);
      width = Math.max(1, Math.round(lw * f));
      height = Math.max(1, Math.round(lh * f));
      rgb = new Uint8Array(await sharp(Buffer.from(r.data), { raw: { width: lw, height: lh, channels: 3 } }).resize(width, height, { fit: 'fill' }).raw().toBuffer());
    }
    return { rgb, width, height, level, scale: [(x2 - x1) / width, (y2 - y1) / height] as [number, number] };
  } finally {
    s.close();
  }
}

const xmlEsc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Original | heatmap side by side, a colour bar (percentile of the slide's patches), a caption. */
async function composeFigure(inp: SlideHeatmapInput, o: HeatmapOptions, r: SlideHeatmapResult, painted: Uint8Array, orig: Uint8Array, w: number, h: number, cmap: (t: number) => [number, number, number], path: string) {
  const panel = 520;
  const f = Math.min(1, panel / Math.max(w, h));
  const pw = Math.max(1, Math.round(w * f)), ph = Math.max(1, Math.round(h * f));
  const resize = (b: Uint8Array) => sharp(Buffer.from(b), { raw: { width: w, height: h, channels: 3 } }).resize(pw, ph, { fit: 'fill' }).png().toBuffer();
  const gap = 16, barW = 18, barH = Math.max(120, ph - 40), capH = 64;
  const W = pw * 2 + gap * 4 + barW + 70, H = ph + capH + 40;
  // Offsets ascend (SVG clamps descending ones): the top of the bar is the 100th percentile.
  const stops = Array.from({ length: 11 }, (_, i) => { const [R, G, B] = cmap(1 - i / 10); return `<stop offset="${i * 10}%" stop-color="rgb(${R},${G},${B})"/>`; }).join('');
  const bx = gap * 3 + pw * 2, by = 30;
  const ticks = [0, 25, 50, 75, 100].map((t) => `<text x="${bx + barW + 5}" y="${by + barH - (t / 100) * barH + 4}" font-size="12">${t}</text>`).join('');
  const what = r.score === 'attention' ? 'attention' : 'instance score';
  const opts = [o.overlap ? `${Math.round(o.overlap * 100)} % overlap` : 'no overlap', o.roi ? `ROI ${o.roi.join(',')}` : '', o.blur ? 'blur' : '', o.binarize ? `binarized at ${o.threshold ?? 0.5}` : '', o.blank_canvas ? 'blank canvas' : ''].filter(Boolean).join(', ');
  const line1 = `${inp.modelName} · ${r.slide_id} · true label: ${r.true_label ?? 'unknown'} · predicted: ${r.predicted} (p = ${r.probability.toFixed(3)})`;
  const line2 = `Colour: percentile of the patch's ${what} for the predicted class among the slide's ${r.n_reference} patches (${opts}; ${r.n_drawn} patches drawn).`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${gap}" y="20" font-size="14">Original</text><text x="${gap * 2 + pw}" y="20" font-size="14">Heatmap (${xmlEsc(what)})</text>
<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1">${stops}</linearGradient></defs>
<rect x="${bx}" y="${by}" width="${barW}" height="${barH}" fill="url(#g)" stroke="#444" stroke-width="0.5"/>${ticks}
<text x="${bx - 4}" y="${by + barH + 18}" font-size="11">percentile</text>
<text x="${gap}" y="${ph + 52}" font-size="13" font-weight="bold">${xmlEsc(line1)}</text>
<text x="${gap}" y="${ph + 72}" font-size="12">${xmlEsc(line2)}</text>
</svg>`;
  await sharp(Buffer.from(svg))
    .composite([{ input: await resize(orig), left: gap, top: 28 }, { input: await resize(painted), left: gap * 2 + pw, top: 28 }])
    .png()
    .toFile(path);
}
