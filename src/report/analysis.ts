// Derived numbers for the report's tables and figures, computed from the normalized inputs.
import { FPR_GRID, interpRoc, rocPoints, oneVsRest, column, rocCurve } from '../stats/metrics.ts';
import { loadEmbeddings, loadPredictions, type ReportInputs, type EvalRecord } from './inputs.ts';
import { mean, sd, pairedTest, pca2, type PairedTest } from './numbers.ts';

export interface FoldGroup {
  model: string;
  frac: number;
  cohort: string;
  folds: EvalRecord[];
  auc: { mean: number; sd: number; min: number; max: number };
  accuracy: { mean: number; sd: number };
  balancedAccuracy: { mean: number; sd: number };
}
export interface Comparison {
  a: string;
  b: string;
  frac: number;
  cohort: string;
  perFold: { fold: number; aucA: number; aucB: number; diff: number; delongP?: number }[];
  test: PairedTest;
  ensemble?: { diff?: number; p?: number; ci?: [number, number] };
}
export interface Analysis {
  models: string[];
  fracs: number[];
  cohorts: string[];
  nClasses: number;
  groups: FoldGroup[];
  comparisons: Comparison[];
  roc: { model: string; frac: number; fpr: number; tpr: number; lo: number; hi: number; folds: number }[];
  confidence: { model: string; outcome: 'correct' | 'incorrect'; confidence: number }[];
  pca: { model: string; pc1: number; pc2: number; label: string }[];
  pcaExplained: Record<string, [number, number]>;
  pcaSource: Record<string, { fold: number; cohort: string; n: number }>;
  ovr: { model: string; cls: string; fpr: number; tpr: number }[];
  curves: { model: string; fold: number; epoch: number; series: string; value: number }[];
  /** Fraction and cohort the per-slide figures use (the largest fraction, the CV test sets). */
  focus: { frac: number; cohort: string };
  classNames: string[];
}

const finite = (x: (number | undefined)[]) => x.filter((v): v is number => v !== undefined && Number.isFinite(v));
const key = (...p: (string | number)[]) => p.join('\u0000');

export function analyze(inp: ReportInputs, classNames?: string[]): Analysis {
  const models = orderModels([...new Set([...inp.evals.map((e) => e.model), ...inp.trains.map((t) => t.model), ...inp.ensembles.map((e) => e.model)])]);
  const fracs = [...new Set([...inp.evals.map((e) => e.frac), ...inp.trains.map((t) => t.frac)])].sort((a, b) => b - a);
  const cohorts = [...new Set(inp.evals.map((e) => e.cohort))].sort((a, b) => (a === 'test' ? -1 : b === 'test' ? 1 : a < b ? -1 : 1));
  const byGroup = new Map<string, EvalRecord[]>();
  for (const e of inp.evals) {
    const k = key(e.model, e.frac, e.cohort);
    if (!byGroup.has(k)) byGroup.set(k, []);
    byGroup.get(k)!.push(e);
  }
  const groups: FoldGroup[] = [];
  for (const m of models)
    for (const f of fracs)
      for (const c of cohorts) {
        const folds = (byGroup.get(key(m, f, c)) ?? []).sort((a, b) => a.fold - b.fold);
        if (!folds.length) continue;
        const aucs = finite(folds.map((x) => x.auc));
        groups.push({
          model: m, frac: f, cohort: c, folds,
          auc: { mean: mean(aucs), sd: sd(aucs), min: Math.min(...aucs), max: Math.max(...aucs) },
          accuracy: { mean: mean(finite(folds.map((x) => x.accuracy))), sd: sd(finite(folds.map((x) => x.accuracy))) },
          balancedAccuracy: { mean: mean(finite(folds.map((x) => x.balancedAccuracy))), sd: sd(finite(folds.map((x) => x.balancedAccuracy))) },
        });
      }

  // Pairs: as the compare stages declare them, else CLAM-like vs MIL-like by name.
  const pairs = new Map<string, { a: string; b: string; cohort: string; frac: number; delong: Record<number, number>; ensemble?: Comparison['ensemble'] }>();
  for (const c of inp.compares) pairs.set(key(c.a, c.b, c.frac, c.cohort), { a: c.a, b: c.b, cohort: c.cohort, frac: c.frac, delong: c.foldDelongP, ensemble: c.ensemble });
  if (pairs.size === 0) {
    const clam = models.filter((m) => /clam/i.test(m));
    const mil = models.filter((m) => /mil/i.test(m) && !/clam/i.test(m));
    for (const a of clam) for (const b of mil) for (const f of fracs) for (const c of cohorts) pairs.set(key(a, b, f, c), { a, b, cohort: c, frac: f, delong: {} });
  }
  const comparisons: Comparison[] = [];
  for (const p of pairs.values()) {
    const A = byGroup.get(key(p.a, p.frac, p.cohort)) ?? [];
    const B = new Map((byGroup.get(key(p.b, p.frac, p.cohort)) ?? []).map((e) => [e.fold, e]));
    const perFold = A.filter((e) => B.has(e.fold) && e.auc !== undefined && B.get(e.fold)!.auc !== undefined)
      .sort((x, y) => x.fold - y.fold)
      .map((e) => ({ fold: e.fold, aucA: e.auc!, aucB: B.get(e.fold)!.auc!, diff: e.auc! - B.get(e.fold)!.auc!, delongP: p.delong[e.fold] }));
    if (!perFold.length) continue;
    comparisons.push({ a: p.a, b: p.b, frac: p.frac, cohort: p.cohort, perFold, test: pairedTest(perFold.map((x) => x.aucA), perFold.map((x) => x.aucB)), ensemble: p.ensemble });
  }
  comparisons.sort((x, y) => (x.cohort === y.cohort ? y.frac - x.frac : x.cohort === 'test' ? -1 : 1));

  const focusCohort = cohorts.includes('test') ? 'test' : cohorts[0] ?? 'test';
  const focus = { frac: fracs[0] ?? 1, cohort: focusCohort };
  let nClasses = 2;
  const roc: Analysis['roc'] = [];
  const confidence: Analysis['confidence'] = [];
  const ovr: Analysis['ovr'] = [];
  for (const m of models)
    for (const f of fracs) {
      const folds = (byGroup.get(key(m, f, focusCohort)) ?? []).filter((e) => e.predictionsPath);
      if (!folds.length) continue;
      const preds = folds.map((e) => loadPredictions(e.predictionsPath!));
      nClasses = preds[0].nClasses;
      const curves = preds.map((p) => rocCurve(p.y, p.prob, p.nClasses)).filter((c) => c !== undefined);
      if (curves.length) {
        FPR_GRID.forEach((fpr, i) => {
          const t = curves.map((c) => c.tpr[i]);
          const mu = mean(t);
          const s = curves.length > 1 ? sd(t) : 0;
          roc.push({ model: m, frac: f, fpr, tpr: mu, lo: Math.max(0, mu - s), hi: Math.min(1, mu + s), folds: curves.length });
        });
      }
      if (f !== focus.frac) continue;
      for (const p of preds)
        p.prob.forEach((row, i) => confidence.push({ model: m, outcome: p.y_hat[i] === p.y[i] ? 'correct' : 'incorrect', confidence: Math.max(...row) }));
      if (nClasses > 2) {
        for (let c = 0; c < nClasses; c++) {
          const cs = preds
            .map((p) => {
              const pts = rocPoints(oneVsRest(p.y, c), column(p.prob, c));
              return pts ? interpRoc(pts, FPR_GRID) : undefined;
            })
            .filter((x) => x !== undefined);
          if (!cs.length) continue;
          FPR_GRID.forEach((fpr, i) => ovr.push({ model: m, cls: classNames?.[c] ?? `class ${c}`, fpr, tpr: mean(cs.map((t) => t[i])) }));
        }
      }
    }

  // PCA of attention-pooled slide embeddings. Each fold model has its own embedding space, so
  // one evaluation is shown per model: the largest slide set at the focus fraction (an
  // independent cohort when there is one, else the lowest fold's test set).
  const pca: Analysis['pca'] = [];
  const pcaExplained: Record<string, [number, number]> = {};
  const pcaSource: Analysis['pcaSource'] = {};
  for (const m of models) {
    let best: { e: EvalRecord; emb: ReturnType<typeof loadEmbeddings> } | undefined;
    for (const c of cohorts)
      for (const e of (byGroup.get(key(m, focus.frac, c)) ?? []).filter((x) => x.embeddingsPath).sort((a, b) => a.fold - b.fold)) {
        const emb = loadEmbeddings(e.embeddingsPath!);
        if (!best || emb.x.length > best.emb.x.length) best = { e, emb };
      }
    if (!best || best.emb.x.length < 3) continue;
    const { scores, explained } = pca2(best.emb.x);
    pcaExplained[m] = explained;
    pcaSource[m] = { fold: best.e.fold, cohort: best.e.cohort, n: best.emb.x.length };
    scores.forEach(([a, b], i) => pca.push({ model: m, pc1: a, pc2: b, label: labelName(best!.emb.label[i], classNames) }));
  }

  const curves: Analysis['curves'] = [];
  for (const t of inp.trains) {
    if (t.frac !== focus.frac) continue;
    for (const row of t.epochs) {
      const epoch = row.epoch;
      if (Number.isFinite(row.train_loss)) curves.push({ model: t.model, fold: t.fold, epoch, series: 'training loss', value: row.train_loss });
      if (Number.isFinite(row.val_loss)) curves.push({ model: t.model, fold: t.fold, epoch, series: 'validation loss', value: row.val_loss });
    }
  }
  return { models, fracs, cohorts, nClasses, groups, comparisons, roc, confidence, pca, pcaExplained, pcaSource, ovr, curves, focus, classNames: classNames ?? Array.from({ length: nClasses }, (_, c) => `class ${c}`) };
}

function labelName(v: string, names?: string[]): string {
  const i = Number(v);
  if (names && Number.isInteger(i) && names[i] !== undefined) return names[i];
  return Number.isInteger(i) && v.trim() !== '' ? `class ${i}` : v;
}

/** CLAM variants first, then MIL baselines, then the rest: the paper's order. */
export function orderModels(ms: string[]): string[] {
  const rank = (m: string) => (/clam_sb/i.test(m) ? 0 : /clam/i.test(m) ? 1 : /mmil|mil/i.test(m) ? 2 : 3);
  return ms.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
}
