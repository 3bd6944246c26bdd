// The per-slide work behind the segment / patch / extract stages and `milflow patch`:
// each step writes its files plus status.json, and records a failure there (with the reason,
// naming the slide) instead of throwing, so one bad slide never stops the others.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Slide } from '../wsi/openslide.ts';
import { segmentTissue, type Segmentation } from '../wsi/segment.ts';
import { patchTissue, type PatchParams } from '../wsi/patch.ts';
import { writeCoordsH5, readCoordsH5 } from '../wsi/coords-h5.ts';
import { thumbnail, maskPicture, stitchedPreview } from '../wsi/render.ts';
import type { SegParams } from '../wsi/presets.ts';
import { writeBag } from '../io/h5.ts';
import { extractFeatures, type EncoderSpec, type Encoder } from '../features/extract.ts';

export interface Status {
  slide_id: string;
  step: 'segment' | 'patch' | 'extract';
  ok: boolean;
  /** Why the slide is excluded (ok = false). */
  reason?: string;
  /** Milliseconds per phase: returned to the caller (metrics), not written, so outputs are reproducible. */
  ms?: Record<string, number>;
  [k: string]: unknown;
}

export const STATUS = 'status.json';

export function writeStatus(dir: string, s: Status): Status {
  mkdirSync(dir, { recursive: true });
  const { ms: _timings, ...stable } = s;
  writeFileSync(join(dir, STATUS), JSON.stringify(stable, null, 2) + '\n');
  return s;
}

export function readStatus(dir: string): Status {
  const p = join(dir, STATUS);
  if (!existsSync(p)) throw new Error(`${dir}: no ${STATUS} (not a milflow WSI stage output)`);
  return JSON.parse(readFileSync(p, 'utf8')) as Status;
}

/** Phase timings as manifest metrics: { segment: 12 } → { ms_segment: 12 }. */
export function prefixed(ms: Record<string, number> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(ms ?? {}).map(([k, v]) => [`ms_${k}`, v]));
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));
const ms = (t0: number) => Math.round(performance.now() - t0);

export interface SegmentStepParams {
  slide_id: string;
  seg: SegParams;
  line_thickness: number;
}

/** Writes segmentation.json and mask.png (or a failure status). */
export async function segmentStep(slidePath: string, p: SegmentStepParams, outDir: string, maskPath = join(outDir, 'mask.png')): Promise<Status> {
  mkdirSync(outDir, { recursive: true });
  let slide: Slide | null = null;
  try {
    const t0 = performance.now();
    slide = Slide.open(slidePath);
    const { seg, image } = await segmentTissue(slide, p.seg);
    const segMs = ms(t0);
    writeFileSync(join(outDir, 'segmentation.json'), JSON.stringify(seg) + '\n');
    const t1 = performance.now();
    const thumb = await thumbnail(image, seg.seg_downsample);
    writeFileSync(maskPath, await maskPicture(thumb, seg, p.line_thickness));
    return writeStatus(outDir, {
      slide_id: p.slide_id,
      step: 'segment',
      ok: seg.tissue.length > 0,
      ...(seg.tissue.length ? {} : { reason: `${slide.name}: no tissue found (seg_level ${seg.seg_level}, sthresh ${p.seg.sthresh}; largest piece ${seg.largest_area.toFixed(2)} ≤ a_t ${p.seg.a_t}, in 512² level-0 patches)` }),
      n_contours: seg.tissue.length,
      n_holes: seg.holes.reduce((a, h) => a + h.length, 0),
      seg_level: seg.seg_level,
      level_dimensions: slide.levelDimensions,
      mpp: slide.mpp,
      objective_power: slide.objectivePower,
      vendor: slide.vendor,
      ms: { segment: segMs, mask: ms(t1) },
    });
  } catch (e) {
    return writeStatus(outDir, { slide_id: p.slide_id, step: 'segment', ok: false, reason: msg(e) });
  } finally {
    slide?.close();
  }
}

export interface PatchStepParams extends PatchParams {
  slide_id: string;
}

/** Writes <coordsName> (CLAM coords .h5) and stitch.png (or a failure status). */
export async function patchStep(slidePath: string, seg: Segmentation, p: PatchStepParams, outDir: string, coordsPath = join(outDir, `${p.slide_id}.h5`), stitchPath = join(outDir, 'stitch.png')): Promise<Status> {
  mkdirSync(outDir, { recursive: true });
  let slide: Slide | null = null;
  try {
    const t0 = performance.now();
    slide = Slide.open(slidePath);
    const r = await patchTissue(slide, seg, p);
    const patchMs = ms(t0);
    if (r.n === 0) {
      return writeStatus(outDir, { slide_id: p.slide_id, step: 'patch', ok: false, reason: `${slide.name}: no ${p.size}px patches inside the tissue contours (contour_fn ${p.contour_fn})` });
    }
    await writeCoordsH5(coordsPath, r.coords, r.attrs);
    const t1 = performance.now();
    // The preview needs the thumbnail; re-read the seg level (cheap at 64×, cached by OpenSlide).
    const level = seg.seg_level;
    const [w, h] = slide.levelDimensions[level];
    const argb = await slide.readRegionArgbAsync(0, 0, level, w, h);
    const thumb = await thumbnail({ level, width: w, height: h, argb }, seg.seg_downsample);
    writeFileSync(stitchPath, await stitchedPreview(thumb, r.coords, r.geometry.ref_size));
    return writeStatus(outDir, {
      slide_id: p.slide_id,
      step: 'patch',
      ok: true,
      n_patches: r.n,
      per_contour: r.per_contour,
      geometry: r.geometry,
      ms: { patch: patchMs, preview: ms(t1) },
    });
  } catch (e) {
    return writeStatus(outDir, { slide_id: p.slide_id, step: 'patch', ok: false, reason: msg(e) });
  } finally {
    slide?.close();
  }
}

/** Writes <slide_id>.h5 with features [N,E] float32 and coords (or a failure status). */
export async function extractStep(
  slidePath: string,
  coordsPath: string,
  slide_id: string,
  spec: EncoderSpec,
  outDir: string,
  opts: { threads?: number; signal?: AbortSignal; onProgress?: (d: number, t: number) => void; encoder?: Encoder } = {},
): Promise<Status> {
  mkdirSync(outDir, { recursive: true });
  try {
    const t0 = performance.now();
    const coords = await readCoordsH5(coordsPath);
    const feats = await extractFeatures(slidePath, coords, spec, opts);
    await writeBag(join(outDir, `${slide_id}.h5`), feats, coords.n, spec.dim, { coords: coords.coords });
    return writeStatus(outDir, { slide_id, step: 'extract', ok: true, n: coords.n, dim: spec.dim, ms: { extract: ms(t0) } });
  } catch (e) {
    return writeStatus(outDir, { slide_id, step: 'extract', ok: false, reason: msg(e) });
  }
}
