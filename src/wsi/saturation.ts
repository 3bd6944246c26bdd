// The two hot loops of segmentation, in plain JS (OpenCV's WebAssembly medianBlur costs
// ~0.6–1.2 s on a 6.6 Mpx image; these take ~50 ms):
// 1. HSV saturation exactly as OpenCV computes it for 8-bit RGB (fixed point, 12-bit shift,
//    rounded reciprocal table), straight from OpenSlide's premultiplied ARGB.
// 2. "median blur then binary threshold" without the median: for an odd k×k window the median
//    exceeds t iff at least (k²+1)/2 of the window's values exceed t, so the thresholded median
//    is a box count of the thresholded image (OpenCV's medianBlur replicates the border; so do we).

const HSV_SHIFT = 12;
const SDIV = new Int32Array(256);
for (let i = 1; i < 256; i++) SDIV[i] = Math.round((255 << HSV_SHIFT) / i);
const ROUND = 1 << (HSV_SHIFT - 1);

/** OpenCV's 8-bit HSV saturation of one RGB pixel. */
export function saturation(r: number, g: number, b: number): number {
  const v = r > g ? (r > b ? r : b) : g > b ? g : b;
  const m = r < g ? (r < b ? r : b) : g < b ? g : b;
  return ((v - m) * SDIV[v] + ROUND) >> HSV_SHIFT;
}

/** Saturation plane of a premultiplied ARGB image (transparent pixels → 0, as black RGB). */
export function saturationFromArgb(argb: Uint32Array): Uint8Array {
  const n = argb.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = argb[i];
    const a = p >>> 24;
    let r = (p >>> 16) & 255, g = (p >>> 8) & 255, b = p & 255;
    if (a !== 255) {
      if (a === 0) {
        out[i] = 0;
        continue;
      }
      r = Math.min(255, Math.round((r * 255) / a));
      g = Math.min(255, Math.round((g * 255) / a));
      b = Math.min(255, Math.round((b * 255) / a));
    }
    const v = r > g ? (r > b ? r : b) : g > b ? g : b;
    const m = r < g ? (r < b ? r : b) : g < b ? g : b;
    out[i] = ((v - m) * SDIV[v] + ROUND) >> HSV_SHIFT;
  }
  return out;
}

/**
 * threshold(medianBlur(src, k), t, 255, THRESH_BINARY) for 8-bit src, odd k ≥ 1: 255 where the
 * k×k median (replicated border) is > t, else 0.
 */
export function medianThreshold(src: Uint8Array, width: number, height: number, k: number, t: number): Uint8Array {
  if (!(k >= 1 && k % 2 === 1)) throw new Error(`median kernel must be odd and ≥ 1 (got ${k})`);
  const thr = Math.floor(t);
  const r = k >> 1;
  const need = (k * k + 1) >> 1;
  // Horizontal counts of (src > t) over [x-r, x+r] with replicated border.
  const hcount = new Uint16Array(width * height);
  const row = new Uint8Array(width + 2 * r);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    for (let x = 0; x < width; x++) row[x + r] = src[base + x] > thr ? 1 : 0;
    for (let x = 0; x < r; x++) {
      row[x] = row[r];
      row[width + r + x] = row[width + r - 1];
    }
    let s = 0;
    for (let x = 0; x < k; x++) s += row[x];
    hcount[base] = s;
    for (let x = 1; x < width; x++) {
      s += row[x + k - 1] - row[x - 1];
      hcount[base + x] = s;
    }
  }
  // Vertical running sums of the horizontal counts.
  const out = new Uint8Array(width * height);
  const col = new Int32Array(width);
  const clampRow = (y: number) => (y < 0 ? 0 : y >= height ? height - 1 : y) * width;
  for (let dy = -r; dy <= r; dy++) {
    const b = clampRow(dy);
    for (let x = 0; x < width; x++) col[x] += hcount[b + x];
  }
  for (let y = 0; y < height; y++) {
    const o = y * width;
    for (let x = 0; x < width; x++) out[o + x] = col[x] >= need ? 255 : 0;
    if (y + 1 < height) {
      const add = clampRow(y + 1 + r), sub = clampRow(y - r);
      for (let x = 0; x < width; x++) col[x] += hcount[add + x] - hcount[sub + x];
    }
  }
  return out;
}
