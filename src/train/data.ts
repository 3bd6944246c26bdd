// Loading one fold's bags for training (every bag read once per stage) with the input checks
// the issue asks for: empty bags, mixed/wrong feature dimensions, non-finite values and labels
// outside the label map are errors naming the slide.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBag } from '../io/h5.ts';
import { checkBag } from '../models/index.ts';
import type { Standardize } from '../models/checkpoint.ts';
import { readBagPaths as bagPaths, readDatasetDir, readSplitsCsv } from '../splits/index.ts';
import type { TrainBag } from './loop.ts';

export interface FoldData {
  classes: string[];
  dim: number;
  train: TrainBag[];
  val: TrainBag[];
}

export async function loadBagChecked(path: string, slide: string, label: number, nClasses: number, dim?: number): Promise<TrainBag & { dim: number }> {
  if (!(Number.isInteger(label) && label >= 0 && label < nClasses)) {
    throw new Error(`${slide}: label index ${label} is outside the label map (0..${nClasses - 1})`);
  }
  if (!existsSync(path)) throw new Error(`${slide}: feature file ${path} does not exist`);
  const bag = await readBag(path);
  checkBag(bag.features, bag.n, bag.dim, dim ?? bag.dim, `${slide} (${path})`);
  return { slide_id: slide, features: bag.features, n: bag.n, label, dim: bag.dim };
}

export async function loadFold(datasetDir: string, splitsDir: string, fold: number, nClasses: number, onLoad?: (done: number, total: number) => void): Promise<FoldData> {
  const { slides, classes } = readDatasetDir(datasetDir);
  if (classes.length !== nClasses) throw new Error(`${datasetDir}: dataset has ${classes.length} classes, the stage expects ${nClasses}`);
  const paths = bagPaths(datasetDir);
  const file = join(splitsDir, `splits_${fold}.csv`);
  if (!existsSync(file)) throw new Error(`${splitsDir}: no splits_${fold}.csv`);
  const split = readSplitsCsv(file);
  const byId = new Map(slides.map((s) => [s.slide_id, s]));
  let dim: number | undefined;
  const total = split.train.length + split.val.length;
  let done = 0;
  const load = async (ids: string[], set: string) => {
    const out: TrainBag[] = [];
    for (const id of ids) {
      const s = byId.get(id);
      if (!s) throw new Error(`${file}: ${set} slide '${id}' is not in the dataset`);
      const p = paths.get(id);
      if (!p) throw new Error(`${datasetDir}/slides.csv: no path for slide '${id}'`);
      const b = await loadBagChecked(p, id, s.label_index, nClasses, dim);
      dim ??= b.dim;
      out.push(b);
      onLoad?.(++done, total);
    }
    return out;
  };
  const train = await load(split.train, 'train');
  const val = await load(split.val, 'val');
  if (!train.length) throw new Error(`${file}: fold ${fold} has no training slides`);
  return { classes, dim: dim!, train, val };
}

/** Per-feature mean / std (population) over all instances of the given bags. */
export function computeStandardize(bags: { features: Float32Array; n: number }[], dim: number): Standardize {
  const sum = new Float64Array(dim), sq = new Float64Array(dim);
  let count = 0;
  for (const b of bags) {
    for (let i = 0; i < b.n; i++) {
      const o = i * dim;
      for (let j = 0; j < dim; j++) {
        const v = b.features[o + j];
        sum[j] += v;
        sq[j] += v * v;
      }
    }
    count += b.n;
  }
  const mean = new Float32Array(dim), std = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    const m = sum[j] / count;
    mean[j] = m;
    const v = Math.max(0, sq[j] / count - m * m);
    std[j] = v > 1e-12 ? Math.sqrt(v) : 1;
  }
  return { mean, std };
}
