// Deterministic synthetic slides for quickstarts and tests (no download, same seed → same bytes).
//
// Model of a slide (all in noise standard deviations; features are E-dimensional):
//  - background instances ~ N(0, I), plus a per-slide "stain" offset ~ N(0, 0.25² I) shared by
//    all instances of the slide (a batch effect, so no fixed threshold works everywhere);
//  - class 0 is always NORMAL: its slides have no tumour instances. Each class c ≥ 1 has its own
//    unit direction u_c spread over ⌈E/8⌉ (≥ 4) dimensions with random signs (disjoint supports
//    between classes while dimensions last), so no single feature separates the classes;
//  - a slide of class c ≥ 1 holds k = max(1, round(f·n)) tumour instances, f ~ U(tumour_fraction),
//    each background + a·signal·u_c with a ~ U(0.7, 1.3) (instance-level noise in strength),
//    placed as one spatial blob on the slide's patch grid;
//  - every slide (normal ones too) holds 0–2 "mimic" instances: background + a·signal·u_c' with
//    a ~ U(0.7, 1.3) for a random tumour class c'. A mimic is individually indistinguishable from
//    a tumour instance, so max pooling (the top instance decides) is fooled by normal slides with
//    a mimic, while attention pooling, which weighs how many instances look tumorous, is not.
//    Measured with src/datasets/sanity.ts (instance logistic regression trained on 25 % of the
//    cases, seed 0, defaults otherwise): signal 1.5 → instance AUC 0.82, slide AUC by max 0.72 vs
//    top-5 % mean 0.71 (too hard to separate the two); 2.5 (the default) → 0.94, 0.89 vs 0.93;
//    3 → 0.97, 0.92 vs 0.97.
// Why class 0 is normal also for multi-class tasks: `instance_labels` then keep one meaning
// (0 background, c > 0 tumour of class c) for every task, and a "normal vs subtypes" task is the
// common multi-class setting (e.g. normal / LUAD / LUSC). Mimics are labelled 0 (background).
import { SyntheticRng } from './prng.ts';
import type { ResolvedSynthetic } from '../spec/resolved.ts';

export const PATCH = 256;

export interface SyntheticSlide {
  case_id: string;
  slide_id: string;
  label_index: number;
  n: number;
  dim: number;
  /** Row-major [n, dim]. */
  features: Float32Array;
  /** Row-major [n, 2], level-0 pixels on a 256-px grid. */
  coords: Int32Array;
  /** [n]: 0 background (incl. mimics), c > 0 tumour of class c. */
  instance_labels: Int32Array;
  /** Number of mimic instances (for analysis; not written). */
  mimics: number;
}

export interface SyntheticDataset {
  slides: SyntheticSlide[];
  /** Class directions u_c (index 0 is all zeros: normal has none). */
  directions: Float64Array[];
}

export function classDirections(dim: number, nClasses: number, rng: SyntheticRng): Float64Array[] {
  const support = Math.min(dim, Math.max(4, Math.ceil(dim / 8)));
  const order = rng.shuffle(Array.from({ length: dim }, (_, i) => i));
  const dirs: Float64Array[] = [new Float64Array(dim)];
  for (let c = 1; c < nClasses; c++) {
    const u = new Float64Array(dim);
    let idx: number[];
    const start = (c - 1) * support;
    if (start + support <= dim) idx = order.slice(start, start + support);
    else idx = rng.shuffle([...order]).slice(0, support); // out of fresh dimensions: overlap
    for (const i of idx) u[i] = (rng.next() < 0.5 ? -1 : 1) / Math.sqrt(support);
    dirs.push(u);
  }
  return dirs;
}

function pad(i: number, width: number): string {
  return String(i).padStart(width, '0');
}

export function generateSynthetic(cfg: ResolvedSynthetic): SyntheticDataset {
  const { directions, slides } = syntheticSlides(cfg);
  return { slides: [...slides], directions };
}

/**
 * The same slides one at a time (paper-scale datasets are written as they are generated, never
 * held whole): `count` slides in `slides`, each independent of the others.
 */
export function syntheticSlides(cfg: ResolvedSynthetic): { directions: Float64Array[]; count: number; slides: Iterable<SyntheticSlide> } {
  const C = cfg.n_classes;
  const dim = cfg.dim;
  const root = new SyntheticRng(cfg.seed, 0);
  const directions = classDirections(dim, C, root);
  // Balanced classes, in random order over cases.
  const labels = root.shuffle(Array.from({ length: cfg.cases }, (_, i) => i % C));
  const width = String(cfg.cases - 1).length;
  const plan: { case_id: string; slide_id: string; label: number; stream: number }[] = [];
  let stream = 1;
  for (let ci = 0; ci < cfg.cases; ci++) {
    const nSlides = root.int(cfg.slides_per_case[0], cfg.slides_per_case[1]);
    const case_id = `case_${pad(ci, width)}`;
    // One independent stream per slide: a slide's content does not depend on the others'.
    for (let s = 0; s < nSlides; s++) plan.push({ case_id, slide_id: `${case_id}_s${s}`, label: labels[ci], stream: stream++ });
  }
  function* slides(): Generator<SyntheticSlide> {
    for (const p of plan) yield makeSlide(new SyntheticRng(cfg.seed, p.stream), cfg, directions, p.label, p.case_id, p.slide_id);
  }
  return { directions, count: plan.length, slides: slides() };
}

/**
 * Instances of one slide: uniform over bag_size, or with bag_size_mean log-normal (σ = 1, so a
 * long tail like real slides: mean ~8k of 500–40k gives a median near 5k) clipped to bag_size.
 */
function bagSize(rng: SyntheticRng, cfg: ResolvedSynthetic): number {
  const [lo, hi] = cfg.bag_size;
  if (!cfg.bag_size_mean) return rng.int(lo, hi);
  const sigma = 1;
  const mu = Math.log(cfg.bag_size_mean) - (sigma * sigma) / 2;
  return Math.min(hi, Math.max(lo, Math.round(Math.exp(mu + sigma * rng.normal()))));
}

/** 65 536 quantiles of N(0, 1) at (k + 0.5) / 65 536: a discretised normal for paper-scale noise. */
let quantiles: Float32Array | null = null;
function normalTable(): Float32Array {
  if (quantiles) return quantiles;
  const q = new Float32Array(65536);
  for (let k = 0; k < 65536; k++) q[k] = probit((k + 0.5) / 65536);
  return (quantiles = q);
}

/** Acklam's rational approximation of the normal quantile (relative error < 1.2e-9). */
function probit(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -probit(1 - p);
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * Background noise of paper-scale slides (bag_size_mean set): two table normals per 32-bit draw
 * instead of Box–Muller, ~10× faster, so 10 GB of bags generate in minutes. Small datasets keep
 * the exact normals (and their bytes).
 */
function tableNoise(features: Float32Array, n: number, dim: number, stain: Float64Array, rng: SyntheticRng): void {
  const t = normalTable();
  // xorshift32 seeded from the slide's stream: int32 state stays in registers (the general SyntheticRng's
  // uint32 arithmetic allocates), ~20× the throughput.
  let x = rng.nextU32() | 1;
  for (let i = 0, k = 0; i < n; i++) {
    for (let j = 0; j < dim; j += 2, k += 2) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      features[k] = t[(x >>> 16) & 0xffff] + stain[j];
      if (j + 1 < dim) features[k + 1] = t[x & 0xffff] + stain[j + 1];
      else k--;
    }
  }
}

function makeSlide(rng: SyntheticRng, cfg: ResolvedSynthetic, dirs: Float64Array[], c: number, case_id: string, slide_id: string): SyntheticSlide {
  const dim = cfg.dim;
  const n = bagSize(rng, cfg);
  const features = new Float32Array(n * dim);
  const stain = new Float64Array(dim);
  for (let j = 0; j < dim; j++) stain[j] = 0.25 * rng.normal();
  if (cfg.bag_size_mean) tableNoise(features, n, dim, stain, rng);
  else for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) features[i * dim + j] = rng.normal() + stain[j];

  // Patch grid, raster order (as CLAM's patching writes coordinates).
  const W = Math.ceil(Math.sqrt(n));
  const coords = new Int32Array(n * 2);
  for (let i = 0; i < n; i++) {
    coords[2 * i] = (i % W) * PATCH;
    coords[2 * i + 1] = Math.floor(i / W) * PATCH;
  }
  const instance_labels = new Int32Array(n);
  const C = dirs.length;
  const add = (i: number, u: Float64Array, amp: number) => {
    for (let j = 0; j < dim; j++) features[i * dim + j] += amp * u[j];
  };

  if (c > 0) {
    const f = rng.uniform(cfg.tumour_fraction[0], cfg.tumour_fraction[1]);
    const k = Math.min(n, Math.max(1, Math.round(f * n)));
    // A blob: the k cells nearest a random centre (random tie-break).
    const centre = rng.int(0, n - 1);
    const cx = centre % W;
    const cy = Math.floor(centre / W);
    const byDist = Array.from({ length: n }, (_, i) => ({ i, d: (i % W - cx) ** 2 + (Math.floor(i / W) - cy) ** 2 + rng.next() * 0.5 }));
    byDist.sort((a, b) => a.d - b.d);
    for (let t = 0; t < k; t++) {
      const i = byDist[t].i;
      instance_labels[i] = c;
      add(i, dirs[c], rng.uniform(0.7, 1.3) * cfg.signal);
    }
  }
  let mimics = 0;
  if (C > 1) {
    const m = rng.int(0, 2);
    for (let t = 0; t < m; t++) {
      const i = rng.int(0, n - 1);
      if (instance_labels[i] !== 0) continue;
      add(i, dirs[rng.int(1, C - 1)], rng.uniform(0.7, 1.3) * cfg.signal);
      mimics++;
    }
  }
  return { case_id, slide_id, label_index: c, n, dim, features, coords, instance_labels, mimics };
}
