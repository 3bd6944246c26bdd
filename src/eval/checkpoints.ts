// Evaluating existing fold checkpoints — CLAM's eval.py job. A checkpoints directory holds
// s_<fold>_checkpoint.pt (CLAM) or s_<fold>_checkpoint.safetensors (milflow). Split semantics
// are CLAM's: `test` / `val` / `train` evaluate each fold model on that set of the fold's
// splits_<fold>.csv; `all` evaluates every fold model on every slide of the dataset, and then
// also the ensemble (mean softmax of the fold models), as the paper does for independent cohorts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBag } from '../io/h5.ts';
import { loadModel, type ModelConfig } from '../models/index.ts';
import { readSplitsCsv } from '../splits/index.ts';
import { argmax, jsonSafe, summarize, writePredictions, type Predictions, type Summary } from '../stats/index.ts';
import { toCsv } from '../io/csv.ts';

export type EvalSplit = 'all' | 'train' | 'val' | 'test';

export { findFoldCheckpoints, type FoldCheckpoint } from '../models/fold-checkpoints.ts';
import type { FoldCheckpoint } from '../models/fold-checkpoints.ts';

export interface EvalSlide {
  slide_id: string;
  case_id: string;
  label_index: number;
  /** Feature file (.h5 or .pt). */
  path: string;
}

export interface EvalOptions {
  checkpoints: FoldCheckpoint[];
  slides: EvalSlide[];
  classes: string[];
  split: EvalSplit;
  /** Directory of splits_<fold>.csv (needed unless split is `all`). */
  splitsDir?: string;
  outDir: string;
  /** Model settings the weights do not fix (type mil vs mmil, …). */
  overrides?: Partial<ModelConfig>;
  ci?: 'delong' | 'bootstrap';
  bootstrap?: { n?: number; seed?: number };
  log?: (line: string) => void;
}

export interface FoldResult {
  fold: number;
  checkpoint: string;
  n: number;
  summary: Summary;
  predictions: Predictions;
}

export interface EvalResult {
  folds: FoldResult[];
  ensemble?: { n_models: number; summary: Summary; predictions: Predictions };
}

/** Slide ids of one fold's set (CLAM's return_splits semantics). */
export function splitSlides(splitsDir: string, fold: number, split: Exclude<EvalSplit, 'all'>): string[] {
  const f = join(splitsDir, `splits_${fold}.csv`);
  return readSplitsCsv(f)[split];
}

function meanSoftmax(preds: Predictions[]): Predictions {
  const first = preds[0];
  const C = first.nClasses;
  const prob = first.slide_id.map((_, i) => {
    const row = new Array<number>(C).fill(0);
    for (const p of preds) for (let c = 0; c < C; c++) row[c] += p.prob[i][c];
    return row.map((v) => v / preds.length);
  });
  return { slide_id: first.slide_id, y: first.y, prob, y_hat: prob.map(argmax), nClasses: C, case_id: first.case_id };
}

export async function evalCheckpoints(o: EvalOptions): Promise<EvalResult> {
  const log = o.log ?? (() => {});
  if (o.split !== 'all' && !o.splitsDir) throw new Error(`--split ${o.split} needs the directory of splits_<fold>.csv (CLAM writes them next to its checkpoints)`);
  const bySlide = new Map(o.slides.map((s) => [s.slide_id, s]));
  mkdirSync(o.outDir, { recursive: true });
  const folds: FoldResult[] = [];
  for (const ck of o.checkpoints) {
    const model = await loadModel(ck.path, { ...o.overrides, dropout: 0 });
    const C = model.config.n_classes;
    if (C !== o.classes.length) throw new Error(`${ck.path}: the model predicts ${C} classes, the dataset has ${o.classes.length} (${o.classes.join(', ')})`);
    const ids = o.split === 'all' ? o.slides.map((s) => s.slide_id) : splitSlides(o.splitsDir!, ck.fold, o.split);
    if (ids.length === 0) throw new Error(`${join(o.splitsDir!, `splits_${ck.fold}.csv`)}: fold ${ck.fold} has an empty ${o.split} set`);
    const missing = ids.filter((id) => !bySlide.has(id));
    if (missing.length) {
      throw new Error(`fold ${ck.fold}: ${missing.length} slide(s) of the ${o.split} split are not in the dataset (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`);
    }
    const pred: Predictions = { slide_id: [], y: [], prob: [], y_hat: [], nClasses: C, case_id: [] };
    const t0 = Date.now();
    for (let i = 0; i < ids.length; i++) {
      const s = bySlide.get(ids[i])!;
      const bag = await readBag(s.path);
      const out = model.predict(bag.features, bag.n, bag.dim, `${s.slide_id} (${s.path})`);
      pred.slide_id.push(s.slide_id);
      pred.y.push(s.label_index);
      pred.prob.push(Array.from(out.Y_prob, Number));
      pred.y_hat.push(out.Y_hat);
      pred.case_id!.push(s.case_id);
      if ((i + 1) % 50 === 0 || i + 1 === ids.length) log(`fold ${ck.fold}: ${i + 1}/${ids.length} slides (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
    const summary = summarize(pred, { ci: o.ci, bootstrap: o.bootstrap });
    const dir = join(o.outDir, `fold_${ck.fold}`);
    mkdirSync(dir, { recursive: true });
    writePredictions(join(dir, 'predictions.csv'), pred);
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify(jsonSafe({ fold: ck.fold, split: o.split, checkpoint: ck.path, model: model.config, ...summary }), null, 2) + '\n');
    folds.push({ fold: ck.fold, checkpoint: ck.path, n: ids.length, summary, predictions: pred });
  }
  let ensemble: EvalResult['ensemble'];
  if (o.split === 'all' && folds.length > 1) {
    const preds = meanSoftmax(folds.map((f) => f.predictions));
    const summary = summarize(preds, { ci: o.ci, bootstrap: o.bootstrap });
    const dir = join(o.outDir, 'ensemble');
    mkdirSync(dir, { recursive: true });
    writePredictions(join(dir, 'predictions.csv'), preds);
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify(jsonSafe({ split: 'all', n_models: folds.length, ...summary }), null, 2) + '\n');
    ensemble = { n_models: folds.length, summary, predictions: preds };
  }
  const rows = [...folds.map((f) => [String(f.fold), f.summary]), ...(ensemble ? [['ensemble', ensemble.summary] as const] : [])] as [string, Summary][];
  const fmt = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '' : String(v));
  writeFileSync(join(o.outDir, 'summary.csv'), toCsv(
    ['fold', 'n', 'auc', 'auc_ci_low', 'auc_ci_high', 'ci_method', 'accuracy', 'balanced_accuracy', 'f1'],
    rows.map(([k, s]) => [k, s.n, fmt(s.auc), fmt(s.auc_ci?.[0]), fmt(s.auc_ci?.[1]), s.ci_method ?? '', fmt(s.accuracy), fmt(s.balanced_accuracy), fmt(s.f1)]),
  ));
  return { folds, ensemble };
}
