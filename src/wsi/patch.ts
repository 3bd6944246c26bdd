// Grid patching inside tissue contours, CLAM's semantics: per contour, a grid over its bounding
// box (x outer, y inner), a candidate kept when the contour check passes and its centre is not
// inside a hole. Patch size and step are given at the patch level, or in µm per pixel.
import type { Slide } from './openslide.ts';
import type { ContourFn } from './presets.ts';
import { levelDownsample, type Polygon, type Segmentation } from './segment.ts';
import type { CoordsAttrs } from './coords-h5.ts';
import { loadCv, using } from './cv.ts';

export interface PatchParams {
  size: number;
  step: number;
  level: number;
  /** Target µm per pixel; overrides level when set. */
  mpp?: number;
  /** µm/px assumed when the slide has none. */
  mpp_override?: number;
  contour_fn: ContourFn;
  use_padding: boolean;
}

export interface PatchGeometry {
  /** Level read from. */
  level: number;
  /** Patch side at that level (what CLAM calls patch_size). */
  read_size: number;
  /** Patch side in level-0 pixels (grid cell for the contour checks). */
  ref_size: number;
  /** Grid steps in level-0 pixels. */
  step_x: number;
  step_y: number;
  downsample: [number, number];
  /** Output side the extractor resizes to (= size). */
  target_size: number;
  target_mpp?: number;
  slide_mpp?: number;
}

/** Resolves level, read size and level-0 steps for one slide; throws naming the slide when mpp is missing. */
export function resolveGeometry(slide: Slide, p: PatchParams): PatchGeometry {
  if (p.mpp === undefined) {
    if (p.level < 0 || p.level >= slide.levelCount) throw new Error(`${slide.name}: patch level ${p.level} does not exist (slide has ${slide.levelCount} level${slide.levelCount > 1 ? 's' : ''})`);
    const ds = levelDownsample(slide, p.level);
    // CLAM truncates the downsample to an integer for the level-0 grid.
    const dx = Math.trunc(ds[0]), dy = Math.trunc(ds[1]);
    return { level: p.level, read_size: p.size, ref_size: p.size * dx, step_x: p.step * dx, step_y: p.step * dy, downsample: ds, target_size: p.size };
  }
  const mpp0 = slide.mpp?.[0] ?? p.mpp_override;
  if (!mpp0) {
    throw new Error(`${slide.name}: no µm-per-pixel in the slide metadata (openslide.mpp-x); patching at ${p.mpp} µm/px needs it — set patch.mpp_override (milflow patch: --mpp-override) or patch by level`);
  }
  const factor = p.mpp / mpp0; // level-0 pixels per target pixel
  // Read from the finest level that is not finer than needed (small tolerance for 4.0003-style downsamples).
  const level = slide.bestLevelForDownsample(factor * 1.01);
  const ds = levelDownsample(slide, level);
  const ref = Math.round(p.size * factor);
  const step0 = Math.max(1, Math.round(p.step * factor));
  return {
    level,
    read_size: Math.max(1, Math.round(ref / ds[0])),
    ref_size: ref,
    step_x: step0,
    step_y: step0,
    downsample: ds,
    target_size: p.size,
    target_mpp: p.mpp,
    slide_mpp: mpp0,
  };
}

export interface PatchResult {
  /** Flat level-0 x,y pairs in CLAM's order (contour by contour, x outer, y inner). */
  coords: Int32Array;
  n: number;
  /** Patches per contour. */
  per_contour: number[];
  geometry: PatchGeometry;
  attrs: CoordsAttrs;
}

function polyMat(cv: any, p: Polygon): any {
  return cv.matFromArray(p.length / 2, 1, cv.CV_32SC2, p);
}

export async function patchTissue(slide: Slide, seg: Segmentation, p: PatchParams): Promise<PatchResult> {
  const { cv } = await loadCv();
  const g = resolveGeometry(slide, p);
  const [imgW, imgH] = slide.levelDimensions[0];
  const out: number[] = [];
  const perContour: number[] = [];
  const ref = g.ref_size;
  const half = Math.trunc(ref / 2);
  const shift = Math.trunc(half * 0.5);
  for (let ci = 0; ci < seg.tissue.length; ci++) {
    const cont = polyMat(cv, seg.tissue[ci]);
    const holes = seg.holes[ci].map((h) => polyMat(cv, h));
    const before = out.length;
    using([cont, ...holes], () => {
      const r = cv.boundingRect(cont);
      const startX = r.x, startY = r.y;
      let stopX = startX + r.width, stopY = startY + r.height;
      if (!p.use_padding) {
        stopX = Math.min(stopX, imgW - ref + 1);
        stopY = Math.min(stopY, imgH - ref + 1);
      }
      const inside = (x: number, y: number) => cv.pointPolygonTest(cont, new cv.Point(x, y), false) >= 0;
      const check = (x: number, y: number): boolean => {
        const cx = x + half, cy = y + half;
        switch (p.contour_fn) {
          case 'basic':
            return inside(x, y);
          case 'center':
            return inside(cx, cy);
          case 'four_pt':
          case 'four_pt_hard': {
            const pts = shift > 0 ? [[cx - shift, cy - shift], [cx + shift, cy + shift], [cx + shift, cy - shift], [cx - shift, cy + shift]] : [[cx, cy]];
            if (p.contour_fn === 'four_pt') return pts.some(([a, b]) => inside(a, b));
            return pts.every(([a, b]) => inside(a, b));
          }
        }
      };
      // Hole test at the exact centre (ref/2, not truncated), strictly inside.
      const inHole = (x: number, y: number) => holes.some((h) => cv.pointPolygonTest(h, new cv.Point(x + ref / 2, y + ref / 2), false) > 0);
      for (let x = startX; x < stopX; x += g.step_x) {
        for (let y = startY; y < stopY; y += g.step_y) {
          if (check(x, y) && !inHole(x, y)) out.push(x, y);
        }
      }
    });
    perContour.push((out.length - before) / 2);
  }
  const lvlDim = slide.levelDimensions[g.level];
  const attrs: CoordsAttrs = {
    patch_size: g.read_size,
    patch_level: g.level,
    downsample: g.downsample,
    downsampled_level_dim: [lvlDim[0], lvlDim[1]],
    level_dim: [lvlDim[0], lvlDim[1]],
    name: slideId(slide.path),
  };
  if (g.target_mpp !== undefined) {
    attrs.target_mpp = g.target_mpp;
    attrs.target_patch_size = g.target_size;
  }
  return { coords: Int32Array.from(out), n: out.length / 2, per_contour: perContour, geometry: g, attrs };
}

/** Slide id = file name without its extension (CLAM's convention). */
export function slideId(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  const i = base.lastIndexOf('.');
  return i > 0 ? base.slice(0, i) : base;
}
