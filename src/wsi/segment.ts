// Tissue segmentation with CLAM's parameters and meaning, re-derived from the paper and the
// preset semantics: saturation of HSV, median blur, fixed or Otsu threshold, closing, contours
// with a two-level hole hierarchy, area filters in units of a 512×512 level-0 patch.
import type { Slide } from './openslide.ts';
import { medianThreshold, saturationFromArgb } from './saturation.ts';
import type { SegParams } from './presets.ts';
import { loadCv, using } from './cv.ts';
import { availableParallelism } from 'node:os';

/** A polygon as flat x,y pairs (int32), in level-0 pixels. */
export type Polygon = number[];

export interface Segmentation {
  slide: string;
  seg_level: number;
  /** Per-axis downsample of the seg level (level-0 size / level size), as CLAM computes it. */
  seg_downsample: [number, number];
  level0_dim: [number, number];
  /** Kept tissue contours (after keep_ids / exclude_ids), level-0 pixels. */
  tissue: Polygon[];
  /** Holes of each kept tissue contour, level-0 pixels. */
  holes: Polygon[][];
  /** Net areas of the kept contours (seg-level px², contour minus all its holes). */
  areas: number[];
  params: SegParams;
  /** Largest net area among all outer contours before the a_t filter, in 512² level-0 units (for messages). */
  largest_area: number;
}

/** CLAM's per-axis level downsamples: the ratio of dimensions, not OpenSlide's rounded scalar. */
export function levelDownsample(slide: Slide, level: number): [number, number] {
  const [w0, h0] = slide.levelDimensions[0];
  const [w, h] = slide.levelDimensions[level];
  const est: [number, number] = [w0 / w, h0 / h];
  const d = slide.levelDownsamples[level];
  return est[0] === d && est[1] === d ? [d, d] : est;
}

export function resolveLevel(slide: Slide, level: number): number {
  if (level < 0) return slide.bestLevelForDownsample(64);
  if (level >= slide.levelCount) throw new Error(`${slide.name}: level ${level} does not exist (slide has ${slide.levelCount})`);
  return level;
}

function flatPoints(mat: any): number[] {
  return Array.from(mat.data32S as Int32Array);
}

export interface SegImage {
  level: number;
  width: number;
  height: number;
  /** OpenSlide's premultiplied ARGB of the whole seg level (reused for the mask picture). */
  argb: Uint32Array;
}

/**
 * Segments the tissue of an open slide. Returns the contours at level 0 and the seg-level image.
 * `exactMedian` forces OpenCV's medianBlur + threshold instead of the equivalent box count
 * (tests compare the two; Otsu always needs the blurred image itself).
 */
export async function segmentTissue(slide: Slide, params: SegParams, opts: { exactMedian?: boolean } = {}): Promise<{ seg: Segmentation; image: SegImage }> {
  const { cv } = await loadCv();
  const level = resolveLevel(slide, params.seg_level);
  const [w, h] = slide.levelDimensions[level];
  if (!(params.mthresh >= 1 && params.mthresh % 2 === 1)) throw new Error(`${slide.name}: mthresh must be an odd positive integer (got ${params.mthresh})`);
  const argb = await slide.readRegionArgbAsync(0, 0, level, w, h, Math.max(1, availableParallelism()));
  const image: SegImage = { level, width: w, height: h, argb };
  const ds = levelDownsample(slide, level);
  const satPlane = saturationFromArgb(argb);

  const bin = new cv.Mat(h, w, cv.CV_8UC1);
  const contours = new cv.MatVector();
  const hierarchy = new cv.Mat();
  return using([bin, contours, hierarchy], () => {
    if (params.use_otsu || opts.exactMedian) {
      const sat = new cv.Mat(h, w, cv.CV_8UC1);
      const blurred = new cv.Mat();
      using([sat, blurred], () => {
        sat.data.set(satPlane);
        cv.medianBlur(sat, blurred, params.mthresh);
        if (params.use_otsu) cv.threshold(blurred, bin, 0, 255, cv.THRESH_OTSU + cv.THRESH_BINARY);
        else cv.threshold(blurred, bin, params.sthresh, 255, cv.THRESH_BINARY);
      });
    } else {
      bin.data.set(medianThreshold(satPlane, w, h, params.mthresh, params.sthresh));
    }
    if (params.close > 0) {
      const kernel = cv.Mat.ones(params.close, params.close, cv.CV_8U);
      using([kernel], () => cv.morphologyEx(bin, bin, cv.MORPH_CLOSE, kernel));
    }
    cv.findContours(bin, contours, hierarchy, cv.RETR_CCOMP, cv.CHAIN_APPROX_NONE);

    // Areas are given in 512×512 level-0 patches; convert to seg-level px² (truncated, as CLAM does).
    const refArea = Math.trunc((512 * 512) / (ds[0] * ds[1]));
    const aT = params.a_t * refArea;
    const aH = params.a_h * refArea;

    const n = contours.size();
    const hier: Int32Array = hierarchy.data32S; // per contour: next, prev, first_child, parent
    const pts: number[][] = [];
    const area: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = contours.get(i);
      try {
        pts.push(flatPoints(c));
        area.push(cv.contourArea(c));
      } finally {
        c.delete();
      }
    }
    const kept: { idx: number; net: number; holes: number[] }[] = [];
    let largest = 0;
    for (let i = 0; i < n; i++) {
      if (hier[i * 4 + 3] !== -1) continue; // a hole
      const holes: number[] = [];
      for (let k = 0; k < n; k++) if (hier[k * 4 + 3] === i) holes.push(k);
      const net = area[i] - holes.reduce((s, k) => s + area[k], 0);
      largest = Math.max(largest, net);
      if (net === 0) continue;
      if (net > aT) kept.push({ idx: i, net, holes });
    }
    const scale = (p: number[]): Polygon => {
      const out = new Array<number>(p.length);
      for (let k = 0; k < p.length; k += 2) {
        out[k] = Math.trunc(p[k] * ds[0]);
        out[k + 1] = Math.trunc(p[k + 1] * ds[1]);
      }
      return out;
    };
    let tissue = kept.map((k) => scale(pts[k.idx]));
    let holes = kept.map((k) =>
      // Stable sort by area, largest first; keep max_n_holes, then drop the small ones.
      k.holes
        .map((hIdx, order) => ({ hIdx, order }))
        .sort((a, b) => area[b.hIdx] - area[a.hIdx] || a.order - b.order)
        .slice(0, params.max_n_holes)
        .filter(({ hIdx }) => area[hIdx] > aH)
        .map(({ hIdx }) => scale(pts[hIdx])),
    );
    let areas = kept.map((k) => k.net);

    const exclude = new Set(params.exclude_ids);
    const ids = (params.keep_ids.length ? [...new Set(params.keep_ids)] : tissue.map((_, i) => i)).filter((i) => !exclude.has(i)).sort((a, b) => a - b);
    for (const i of ids) if (i < 0 || i >= tissue.length) throw new Error(`${slide.name}: keep_ids/exclude_ids refer to contour ${i}, but only ${tissue.length} were found`);
    tissue = ids.map((i) => tissue[i]);
    holes = ids.map((i) => holes[i]);
    areas = ids.map((i) => areas[i]);

    const seg: Segmentation = {
      slide: slide.name,
      seg_level: level,
      seg_downsample: ds,
      level0_dim: slide.levelDimensions[0],
      tissue,
      holes,
      areas,
      params,
      largest_area: (largest * ds[0] * ds[1]) / (512 * 512),
    };
    return { seg, image };
  });
}
