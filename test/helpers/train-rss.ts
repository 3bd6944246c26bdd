// Child process of test/integration/bags-memory.test.ts: runs one train stage on a dataset cache
// entry and prints its RSS before the stage and its peak (VmHWM) after, as JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import trainStage from '../../src/stages/train.ts';
import { peakRssMb } from '../../src/train/pace.ts';
import type { StageContext } from '../../src/types/stage.ts';

const [datasetDir, key, splitsDir, model] = process.argv.slice(2);
const input = (dir: string, kind: string, k: string) => ({ id: kind, kind, key: k, dir, manifest: {} as any });
const notes: string[] = [];
const ctx: StageContext = {
  id: 'train/rss', key: 'rss', outDir: mkdtempSync(join(tmpdir(), 'milflow-rss-out-')),
  inputs: { dataset: input(datasetDir, 'dataset', key), splits: input(splitsDir, 'splits', 's') }, externals: {},
  device: { kind: 'cpu', index: 0, threads: 1 }, signal: new AbortController().signal,
  log: (m) => notes.push(m), progress() {}, metric() {},
};
const params = {
  model: { name: model, type: model, size: 'small' } as any, n_classes: 2, subtyping: false,
  train: { max_epochs: 1, min_epochs: 1, patience: 1, seed: 1 } as any, fold: 0, frac: 1, standardize: true,
};
// RSS once the modules are loaded: what the worker holds before any bag.
const before = Math.round(process.memoryUsage().rss / 2 ** 20);
const res = await trainStage.run(params, ctx);
console.log(JSON.stringify({ before, peak: peakRssMb(), summary: res.summary, log: notes }));
rmSync(ctx.outDir, { recursive: true, force: true });
