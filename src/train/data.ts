// One fold's bags for training, as feeds (src/bags/feed.ts: in memory when small, streamed
// otherwise), with the input checks: empty bags, mixed/wrong feature dimensions, non-finite
// values and labels outside the label map are errors naming the slide.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Standardize } from '../models/checkpoint.ts';
import { readDatasetDir, readSplitsCsv } from '../splits/index.ts';
import { BagFeed, openDatasetBags } from '../bags/feed.ts';
import type { EnsureStoreOptions } from '../bags/cache.ts';

export interface FoldData {
  classes: string[];
  dim: number;
  train: BagFeed;
  val: BagFeed;
}

function checkLabel(slide: string, label: number, nClasses: number): void {
  if (!(Number.isInteger(label) && label >= 0 && label < nClasses)) {
    throw new Error(`${slide}: label index ${label} is outside the label map (0..${nClasses - 1})`);
  }
}

/**
 * One fold's train and val bags as feeds (streamed when large). Labels, slide membership and
 * every bag's shape are checked before the first step; feature values as each bag is read
 * (the dataset stage's packed store has checked them once already).
 */
export async function openFold(dataset: { dir: string; key: string }, splitsDir: string, fold: number, nClasses: number, opts: { onLoad?(done: number, total: number): void } & EnsureStoreOptions = {}): Promise<FoldData> {
  const datasetDir = dataset.dir;
  const { slides, classes } = readDatasetDir(datasetDir);
  if (classes.length !== nClasses) throw new Error(`${datasetDir}: dataset has ${classes.length} classes, the stage expects ${nClasses}`);
  const file = join(splitsDir, `splits_${fold}.csv`);
  if (!existsSync(file)) throw new Error(`${splitsDir}: no splits_${fold}.csv`);
  const split = readSplitsCsv(file);
  const byId = new Map(slides.map((s) => [s.slide_id, s]));
  const refs = (ids: string[], set: string) => ids.map((id) => {
    const s = byId.get(id);
    if (!s) throw new Error(`${file}: ${set} slide '${id}' is not in the dataset`);
    checkLabel(id, s.label_index, nClasses);
    return { slide_id: id, label: s.label_index };
  });
  const trainRefs = refs(split.train, 'train'), valRefs = refs(split.val, 'val');
  if (!trainRefs.length) throw new Error(`${file}: fold ${fold} has no training slides`);
  const total = trainRefs.length + valRefs.length;
  const onLoad = opts.onLoad;
  const reader = await openDatasetBags(dataset, opts);
  const train = await BagFeed.open(reader, trainRefs, { onLoad: (d) => onLoad?.(d, total) });
  const val = await BagFeed.open(reader, valRefs, { mode: train.mode, onLoad: (d) => onLoad?.(trainRefs.length + d, total) });
  for (const f of [train, val]) for (const b of f.bags) if (!(b.n > 0)) throw new Error(`${b.slide_id}: empty bag (0 patches)`);
  return { classes, dim: reader.dim, train, val };
}

/** Per-feature mean / std (population) over all instances of the bags of a feed, streamed. */
export async function feedStandardize(feed: BagFeed): Promise<Standardize> {
  const acc = new StandardizeSums(feed.dim);
  await feed.forEach((b) => acc.add(b.features, b.n));
  return acc.result();
}

/** Per-feature mean / std (population) over all instances of the given bags. */
export function computeStandardize(bags: { features: Float32Array; n: number }[], dim: number): Standardize {
  const acc = new StandardizeSums(dim);
  for (const b of bags) acc.add(b.features, b.n);
  return acc.result();
}

class StandardizeSums {
  private sum: Float64Array;
  private sq: Float64Array;
  private count = 0;
  constructor(private dim: number) {
    this.sum = new Float64Array(dim);
    this.sq = new Float64Array(dim);
  }
  add(features: Float32Array, n: number): void {
    const { dim, sum, sq } = this;
    for (let i = 0; i < n; i++) {
      const o = i * dim;
      for (let j = 0; j < dim; j++) {
        const v = features[o + j];
        sum[j] += v;
        sq[j] += v * v;
      }
    }
    this.count += n;
  }
  result(): Standardize {
    const { dim, sum, sq, count } = this;
    const mean = new Float32Array(dim), std = new Float32Array(dim);
    for (let j = 0; j < dim; j++) {
      const m = sum[j] / count;
      mean[j] = m;
      const v = Math.max(0, sq[j] / count - m * m);
      std[j] = v > 1e-12 ? Math.sqrt(v) : 1;
    }
    return { mean, std };
  }
}
