// Attention heatmap arithmetic (DESIGN.md: raw attention of the predicted class → percentiles →
// diverging colormap over the slide; overlapping patches averaged, scores referred to the
// non-overlapping set). Pure functions over typed arrays, so the unit tests can check them by hand.

/**
 * Percentile of each value against a reference set: 100 × #{r ∈ reference : r ≤ v} / |reference|
 * (the "weak" percentile-of-score). With reference = values it is rank / N × 100: the top patch
 * gets 100, the lowest 100/N. Overlapping (shifted) patches are scored against the
 * non-overlapping set by passing that set as the reference.
 */
export function percentiles(values: ArrayLike<number>, reference: ArrayLike<number> = values): Float64Array {
  const ref = Float64Array.from(reference).sort();
  const n = ref.length;
  if (n === 0) throw new Error('percentiles: empty reference set');
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) throw new Error(`percentiles: value ${i} is NaN`);
    // Upper bound: first index whose element is > v.
    let lo = 0, hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ref[mid] <= v) lo = mid + 1;
      else hi = mid;
    }
    out[i] = (100 * lo) / n;
  }
  return out;
}

export interface Canvas {
  width: number;
  height: number;
  /** Level-0 pixels per canvas pixel, per axis. */
  scale: [number, number];
}

export interface ScoreMap {
  /** Mean score of the patches covering each pixel (0 where none does). */
  mean: Float32Array;
  /** Number of patches covering each pixel. */
  count: Uint16Array;
}

/**
 * Averages patch scores per canvas pixel. A pixel belongs to a patch when its centre, in level-0
 * coordinates, lies in [x, x + size) × [y, y + size); overlapping patches are averaged.
 */
export function averageScores(coords: ArrayLike<number>, scores: ArrayLike<number>, size: number, canvas: Canvas): ScoreMap {
  const { width: W, height: H, scale: [sx, sy] } = canvas;
  const n = coords.length / 2;
  if (scores.length !== n) throw new Error(`averageScores: ${n} patches but ${scores.length} scores`);
  const sum = new Float64Array(W * H);
  const count = new Uint16Array(W * H);
  // Pixel p is covered iff x ≤ (p + 0.5)·s < x + size  ⇔  ceil(x/s − 0.5) ≤ p < ceil((x + size)/s − 0.5).
  const first = (v: number, s: number) => Math.ceil(v / s - 0.5);
  for (let i = 0; i < n; i++) {
    const x = coords[2 * i], y = coords[2 * i + 1];
    const x0 = Math.max(0, first(x, sx)), x1 = Math.min(W, first(x + size, sx));
    const y0 = Math.max(0, first(y, sy)), y1 = Math.min(H, first(y + size, sy));
    const s = scores[i];
    for (let py = y0; py < y1; py++) {
      for (let px = x0, o = py * W + x0; px < x1; px++, o++) {
        sum[o] += s;
        count[o]++;
      }
    }
  }
  const mean = new Float32Array(W * H);
  for (let o = 0; o < mean.length; o++) if (count[o]) mean[o] = sum[o] / count[o];
  return { mean, count };
}

/** Tissue as the segment stage outlines it: contours and each contour's holes, flat x,y in level-0 pixels. */
export interface TissueOutline {
  tissue: ArrayLike<number>[];
  holes: ArrayLike<number>[][];
}

/**
 * 1 where a canvas pixel's centre (level-0, the canvas starting at `origin`) lies inside a tissue
 * contour and outside that contour's holes, else 0: the region CLAM colours when it segments
 * (each contour filled, then its holes cleared, in contour order). Scanline fill per row.
 */
export function tissueMask(t: TissueOutline, canvas: Canvas, origin: [number, number] = [0, 0]): Uint8Array {
  const { width: W, height: H, scale: [sx, sy] } = canvas;
  const mask = new Uint8Array(W * H);
  const fill = (poly: ArrayLike<number>, value: 0 | 1) => {
    const n = poly.length / 2;
    if (n < 3) return;
    let yMin = Infinity, yMax = -Infinity;
    for (let i = 1; i < poly.length; i += 2) { yMin = Math.min(yMin, poly[i]); yMax = Math.max(yMax, poly[i]); }
    const first = (v: number, o: number, s: number) => Math.ceil((v - o) / s - 0.5);
    const r0 = Math.max(0, first(yMin, origin[1], sy)), r1 = Math.min(H, first(yMax, origin[1], sy) + 1);
    const xs: number[] = [];
    for (let py = r0; py < r1; py++) {
      const yc = origin[1] + (py + 0.5) * sy;
      xs.length = 0;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const yi = poly[2 * i + 1], yj = poly[2 * j + 1];
        // Half-open in y so a vertex on the scanline counts once.
        if ((yi <= yc && yc < yj) || (yj <= yc && yc < yi)) {
          const xi = poly[2 * i], xj = poly[2 * j];
          xs.push(xi + ((yc - yi) * (xj - xi)) / (yj - yi));
        }
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const x0 = Math.max(0, first(xs[k], origin[0], sx)), x1 = Math.min(W, first(xs[k + 1], origin[0], sx));
        if (x1 > x0) mask.fill(value, py * W + x0, py * W + x1);
      }
    }
  };
  t.tissue.forEach((c, i) => {
    fill(c, 1);
    for (const h of t.holes[i] ?? []) fill(h, 0);
  });
  return mask;
}

// ColorBrewer RdBu (11 classes) reversed: dark blue (low) → near-white (middle) → dark red (high).
const RDBU_R: [number, number, number][] = [
  [5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240], [247, 247, 247],
  [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31],
];

/** Diverging colormap at t ∈ [0, 1] (clamped): linear between the 11 RdBu_r anchors. */
export function rdbuR(t: number): [number, number, number] {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0.5)) * (RDBU_R.length - 1);
  const k = Math.min(RDBU_R.length - 2, Math.floor(u));
  const f = u - k;
  const a = RDBU_R[k], b = RDBU_R[k + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f)) as [number, number, number];
}

/**
 * Paints percentile means (0..100) over an RGB image: colour = rdbuR(mean / 100), blended with
 * weight alpha where at least one patch lies; untouched elsewhere. Returns a new RGB buffer.
 */
export function overlay(rgb: Uint8Array, map: ScoreMap, alpha = 0.5): Uint8Array {
  const out = Uint8Array.from(rgb);
  if (rgb.length !== map.mean.length * 3) throw new Error(`overlay: image has ${rgb.length / 3} pixels, score map ${map.mean.length}`);
  for (let o = 0; o < map.mean.length; o++) {
    if (!map.count[o]) continue;
    const c = rdbuR(map.mean[o] / 100);
    for (let ch = 0; ch < 3; ch++) out[3 * o + ch] = Math.round((1 - alpha) * rgb[3 * o + ch] + alpha * c[ch]);
  }
  return out;
}

/**
 * The attention row to show: the predicted class's branch when A_raw has one branch per class
 * (CLAM-MB, multi-class MIL), else the single branch.
 */
export function attentionRow(A_raw: Float32Array, n: number, yHat: number): Float32Array {
  const branches = A_raw.length / n;
  if (!Number.isInteger(branches) || branches < 1) throw new Error(`attention has ${A_raw.length} values, not a multiple of ${n} patches`);
  const b = branches === 1 ? 0 : yHat;
  if (b >= branches) throw new Error(`predicted class ${yHat} has no attention branch (${branches} branches)`);
  return A_raw.slice(b * n, (b + 1) * n);
}

// Colormaps by name (CLAM passes a matplotlib name): anchors sampled from matplotlib's maps,
// linear in between. coolwarm is CLAM's visHeatmap default; jet its config template's.
const CMAPS: Record<string, [number, number, number][]> = {
  coolwarm: [[59, 76, 192], [98, 130, 234], [141, 176, 254], [184, 208, 249], [221, 221, 221], [245, 196, 173], [244, 154, 123], [222, 96, 77], [180, 4, 38]],
  jet: [[0, 0, 128], [0, 0, 255], [0, 128, 255], [0, 255, 255], [128, 255, 128], [255, 255, 0], [255, 128, 0], [255, 0, 0], [128, 0, 0]],
  viridis: [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142], [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]],
  rdbu_r: RDBU_R,
};
export const COLORMAPS = Object.keys(CMAPS);

export function colormap(name: string): (t: number) => [number, number, number] {
  const a = CMAPS[name.toLowerCase()];
  if (!a) throw new Error(`unknown colormap '${name}' (one of ${COLORMAPS.join(', ')})`);
  return (t) => {
    const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0.5)) * (a.length - 1);
    const k = Math.min(a.length - 2, Math.floor(u));
    const f = u - k;
    return [0, 1, 2].map((c) => Math.round(a[k][c] + (a[k + 1][c] - a[k][c]) * f)) as [number, number, number];
  };
}

/**
 * CLAM's binarize: a patch counts as 1 when its percentile / 100 ≥ threshold, else 0; a pixel's
 * value is the rounded mean over its patches. Without binarize the scores pass unchanged.
 */
export function binarizeScores(pct: ArrayLike<number>, threshold: number): Float64Array {
  return Float64Array.from(pct, (v) => (v / 100 >= threshold ? 100 : 0));
}

/** Gaussian blur of a score map in place of CLAM's cv2.GaussianBlur (kernel k×k, OpenCV's sigma for k). */
export function blurMap(map: ScoreMap, width: number, height: number, kernel: number): ScoreMap {
  const k = Math.max(1, Math.round(kernel) | 1);
  if (k < 3) return map;
  const sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8;
  const r = (k - 1) / 2;
  const w = Array.from({ length: k }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  // Blur sum and coverage separately and divide: untouched pixels do not drag scores to zero.
  const val = Float64Array.from(map.mean, (v, o) => (map.count[o] ? v : 0));
  const cov = Float64Array.from(map.count, (c) => (c ? 1 : 0));
  const pass = (src: Float64Array, horizontal: boolean) => {
    const out = new Float64Array(src.length);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        let s = 0;
        for (let i = 0; i < k; i++) {
          const xx = horizontal ? Math.min(width - 1, Math.max(0, x + i - r)) : x;
          const yy = horizontal ? y : Math.min(height - 1, Math.max(0, y + i - r));
          s += w[i] * src[yy * width + xx];
        }
        out[y * width + x] = s;
      }
    return out;
  };
  const v = pass(pass(val, true), false);
  const c = pass(pass(cov, true), false);
  const mean = new Float32Array(map.mean.length);
  for (let o = 0; o < mean.length; o++) if (map.count[o] && c[o] > 0) mean[o] = v[o] / c[o];
  return { mean, count: map.count };
}

/**
 * Blends the colour of each painted pixel's score (0..100) over the base image with weight alpha
 * (CLAM's block_blending). `paint` says which pixels get colour (covered by a patch at or above
 * the threshold); others keep the base (slide or blank canvas).
 */
export function blend(base: Uint8Array, map: ScoreMap, paint: Uint8Array, alpha: number, cmap: (t: number) => [number, number, number]): Uint8Array {
  const out = Uint8Array.from(base);
  for (let o = 0; o < map.mean.length; o++) {
    if (!paint[o]) continue;
    const c = cmap(map.mean[o] / 100);
    for (let ch = 0; ch < 3; ch++) out[3 * o + ch] = Math.round((1 - alpha) * base[3 * o + ch] + alpha * c[ch]);
  }
  return out;
}
