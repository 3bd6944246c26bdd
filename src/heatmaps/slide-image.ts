// A slide picture to paint on: the highest-resolution pyramid level whose longer side is at most
// maxSide (else the smallest level, downscaled with sharp), as RGB with its level-0 scale.
import sharp from 'sharp';
import { Slide } from '../wsi/openslide.ts';
import type { Canvas } from './paint.ts';

export interface SlideImage extends Canvas {
  rgb: Uint8Array;
  level: number;
}

export async function slideImage(path: string, maxSide = 2048): Promise<SlideImage> {
  const s = Slide.open(path);
  try {
    const dims = s.levelDimensions;
    let level = dims.findIndex(([w, h]) => Math.max(w, h) <= maxSide);
    if (level < 0) level = dims.length - 1;
    const [lw, lh] = dims[level];
    const img = s.readRegion(0, 0, level, lw, lh);
    const [W0, H0] = dims[0];
    const f = Math.min(1, maxSide / Math.max(lw, lh));
    let width = lw, height = lh, rgb = img.data;
    if (f < 1) {
      width = Math.max(1, Math.round(lw * f));
      height = Math.max(1, Math.round(lh * f));
      rgb = new Uint8Array(await sharp(img.data, { raw: { width: lw, height: lh, channels: 3 } }).resize(width, height, { kernel: 'lanczos3', fit: 'fill' }).raw().toBuffer());
    }
    return { rgb, width, height, level, scale: [W0 / width, H0 / height] };
  } finally {
    s.close();
  }
}
