// Pictures for people: the tissue mask (contours over a thumbnail, as CLAM's mask images) and the
// stitched preview (only the patched areas of the thumbnail). PNG via sharp.
import sharp from 'sharp';
import { argbToRgb } from './openslide.ts';
import type { SegImage, Segmentation, Polygon } from './segment.ts';
import { loadCv, using } from './cv.ts';

export interface Thumb {
  width: number;
  height: number;
  rgb: Uint8Array;
  /** Level-0 pixels per thumbnail pixel, per axis. */
  scale: [number, number];
}

/** Downscales the seg-level image so its longer side is at most maxSide. */
export async function thumbnail(image: SegImage, segDownsample: [number, number], maxSide = 1024): Promise<Thumb> {
  const f = Math.min(1, maxSide / Math.max(image.width, image.height));
  const tw = Math.max(1, Math.round(image.width * f)), th = Math.max(1, Math.round(image.height * f));
  const rgb = argbToRgb(image.argb, image.width, image.height);
  const out = f === 1 ? rgb.data : new Uint8Array(await sharp(rgb.data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(tw, th, { kernel: 'lanczos3', fit: 'fill' }).raw().toBuffer());
  return { width: tw, height: th, rgb: out, scale: [(segDownsample[0] * image.width) / tw, (segDownsample[1] * image.height) / th] };
}

function toMatVector(cv: any, polys: Polygon[], scale: [number, number]): any {
  const v = new cv.MatVector();
  for (const p of polys) {
    const q = new Array<number>(p.length);
    for (let i = 0; i < p.length; i += 2) {
      q[i] = Math.round(p[i] / scale[0]);
      q[i + 1] = Math.round(p[i + 1] / scale[1]);
    }
    const m = cv.matFromArray(q.length / 2, 1, cv.CV_32SC2, q);
    v.push_back(m);
    m.delete();
  }
  return v;
}

/** Tissue contours in green, kept holes in blue, line width given in level-0 pixels (CLAM's line_thickness). */
export async function maskPicture(thumb: Thumb, seg: Segmentation, lineThickness: number): Promise<Buffer> {
  const { cv } = await loadCv();
  const drawn = drawnCopy(cv, thumb, seg, lineThickness);
  return sharp(Buffer.from(drawn), { raw: { width: thumb.width, height: thumb.height, channels: 3 } }).png().toBuffer();
}

function drawnCopy(cv: any, thumb: Thumb, seg: Segmentation, lineThickness: number): Uint8Array {
  const img = new cv.Mat(thumb.height, thumb.width, cv.CV_8UC3);
  const tissue = toMatVector(cv, seg.tissue, thumb.scale);
  const holes = toMatVector(cv, seg.holes.flat(), thumb.scale);
  return using([img, tissue, holes], () => {
    img.data.set(thumb.rgb);
    const t = Math.max(1, Math.round(lineThickness / Math.sqrt(thumb.scale[0] * thumb.scale[1])));
    if (seg.tissue.length) cv.drawContours(img, tissue, -1, new cv.Scalar(0, 255, 0, 255), t, cv.LINE_8);
    if (seg.holes.flat().length) cv.drawContours(img, holes, -1, new cv.Scalar(0, 0, 255, 255), t, cv.LINE_8);
    return new Uint8Array(img.data);
  });
}

/** The thumbnail where patches are, black elsewhere (CLAM's stitched preview at thumbnail scale). */
export async function stitchedPreview(thumb: Thumb, coords: ArrayLike<number>, refSize: number): Promise<Buffer> {
  const out = new Uint8Array(thumb.rgb.length);
  const W = thumb.width, H = thumb.height;
  for (let i = 0; i < coords.length; i += 2) {
    const x0 = Math.max(0, Math.floor(coords[i] / thumb.scale[0])), y0 = Math.max(0, Math.floor(coords[i + 1] / thumb.scale[1]));
    const x1 = Math.min(W, Math.ceil((coords[i] + refSize) / thumb.scale[0])), y1 = Math.min(H, Math.ceil((coords[i + 1] + refSize) / thumb.scale[1]));
    for (let y = y0; y < y1; y++) {
      const a = (y * W + x0) * 3, b = (y * W + x1) * 3;
      out.set(thumb.rgb.subarray(a, b), a);
    }
  }
  return sharp(Buffer.from(out), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
}
