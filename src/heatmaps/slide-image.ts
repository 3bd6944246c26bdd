// A slide picture to paint on: the highest-resolution pyramid level whose longer side is at most
// maxSide (else the smallest level, downscaled), as RGB with its level-0 scale.
import sharp from 'sharp';
import { Slide } from '../wsi/openslide.ts';
import type { Canvas } from './paint.ts';

export interface SlideImage extends Canvas {
  rgb: Uint8Array;
  level: number;
}

export interface SlideImageOptions {
  maxSide?: number;
  /** Above this many pixels the level is read in stripes and box-averaged (bounded memory). */
  maxPixels?: number;
  /** Level pixels read per stripe on that path. */
  stripePixels?: number;
  /** Draw at this pyramid level (CLAM's vis_level), still downscaled to maxSide. */
  level?: number;
}

export async function slideImage(path: string, opts: SlideImageOptions = {}): Promise<SlideImage> {
  const maxSide = opts.maxSide ?? 2048;
  const s = Slide.open(path);
  try {
    const dims = s.levelDimensions;
    let level = opts.level !== undefined && opts.level >= 0 ? Math.min(opts.level, dims.length - 1) : dims.findIndex(([w, h]) => Math.max(w, h) <= maxSide);
    if (level < 0) level = dims.length - 1;
    const [lw, lh] = dims[level];
    const [W0, H0] = dims[0];
    let width = lw, height = lh, rgb: Uint8Array;
    let scale: [number, number] | null = null;
    if (Math.max(lw, lh) <= maxSide) {
      rgb = s.readRegion(0, 0, level, lw, lh).data;
    } else if (lw * lh <= (opts.maxPixels ?? 64e6)) {
      const f = maxSide / Math.max(lw, lh);
      width = Math.max(1, Math.round(lw * f));
      height = Math.max(1, Math.round(lh * f));
      const img = s.readRegion(0, 0, level, lw, lh);
      rgb = new Uint8Array(await sharp(img.data, { raw: { width: lw, height: lh, channels: 3 } }).resize(width, height, { kernel: 'lanczos3', fit: 'fill' }).raw().toBuffer());
    } else {
      // A slide without a small enough level (e.g. an unpyramided TIFF): reading it whole could
      // exhaust memory, so k×k blocks are averaged stripe by stripe.
      const k = Math.ceil(Math.max(lw, lh) / maxSide);
      width = Math.floor(lw / k);
      height = Math.floor(lh / k);
      rgb = boxDownsample(s, level, lw, k, width, height, opts.stripePixels ?? 4e6);
      // Each output pixel is exactly k level pixels wide (the floor drops a partial last block).
      scale = [(k * W0) / lw, (k * H0) / lh];
    }
    return { rgb, width, height, level, scale: scale ?? [W0 / width, H0 / height] };
  } finally {
    s.close();
  }
}

function boxDownsample(s: Slide, level: number, lw: number, k: number, width: number, height: number, stripePixels: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  const ds = s.levelDownsamples[level];
  const rowsPer = Math.max(1, Math.floor(stripePixels / (lw * k))); // output rows per stripe
  const acc = new Float64Array(width * 3);
  for (let oy0 = 0; oy0 < height; oy0 += rowsPer) {
    const rows = Math.min(rowsPer, height - oy0);
    const img = s.readRegion(0, Math.round(oy0 * k * ds), level, width * k, rows * k);
    for (let r = 0; r < rows; r++) {
      acc.fill(0);
      for (let dy = 0; dy < k; dy++) {
        const line = (r * k + dy) * width * k * 3;
        for (let x = 0; x < width * k; x++) {
          const o = Math.floor(x / k) * 3, i = line + x * 3;
          acc[o] += img.data[i];
          acc[o + 1] += img.data[i + 1];
          acc[o + 2] += img.data[i + 2];
        }
      }
      const base = (oy0 + r) * width * 3;
      for (let j = 0; j < width * 3; j++) out[base + j] = Math.round(acc[j] / (k * k));
    }
  }
  return out;
}
