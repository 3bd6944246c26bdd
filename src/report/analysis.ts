// What the report shows, gathered from the stage outputs. Every statistic is read from the
// stage that computed it (evaluate: fold AUC + DeLong CI; aggregate: mean ± SD over folds and the
// mean ROC; compare: paired tests; ensemble: ensemble AUC + CI); nothing is recomputed here.
// Only the embedding PCA is computed, from the evaluate stages' embeddings (src/stats/pca.ts).
import { loadEmbeddings, loadPredictions, type ReportInputs, type EvalRecord, type AggregateRecord, type CompareRecord, type DatasetRecord } from './inputs.ts';
import { pca2 } from '../stats/pca.ts';

export interface FoldRow {
  model: string;
  frac: number;
  cohort: string;
  fold: number;
  n?: number;
  auc?: number;
  aucCi?: [number, number];
  ciMethod?: string;
  accuracy?: number;
  balancedAccuracy?: number;
  valAuc?: number;
  valAccuracy?: number;
}
export interface Comparison {
  a: string;
  b: string;
  frac: number;
  cohort: string;
  perFold: { fold: number; aucA: number; aucB: number; diff: number; delongP?: number }[];
  across: NonNullable<CompareRecord['across']>;
  ensemble?: CompareRecord['ensemble'];
}
/** A model that predicted one class for every slide of a fold (balanced accuracy 1 / C). */
export interface SingleClassWarning {
  model: string;
  frac: number;
  cohort: string;
  folds: number[];
  of: number;
  predicted: string;
}
export interface Analysis {
  models: string[];
  fracs: number[];
  cohorts: string[];
  nClasses: number;
  groups: AggregateRecord[];
  foldRows: FoldRow[];
  comparisons: Comparison[];
  ensembles: ReportInputs['ensembles'];
  roc: { model: string; frac: number; cohort: string; fpr: number; tpr: number; lo: number; hi: number }[];
  confidence: { model: string; outcome: 'correct' | 'incorrect'; confidence: number }[];
  pca: { model: string; pc1: number; pc2: number; label: string }[];
  pcaExplained: Record<string, [number, number]>;
  pcaSource: Record<string, { fold: number; cohort: string; n: number }>;
  ovr: { model: string; cls: string; fpr: number; tpr: number }[];
  curves: { model: string; frac: number; fold: number; epoch: number; series: string; value: number }[];
  singleClass: SingleClassWarning[];
  datasets: DatasetRecord[];
  /** Fraction and cohort the per-slide figures use (the largest fraction, the CV test sets). */
  focus: { frac: number; cohort: string };
  classNames: string[];
}

const key = (...p: (string | number)[]) => p.join('\u0000');
export const cohortOrder = (a: string, b: string) => (a === b ? 0 : a === 'test' ? -1 : b === 'test' ? 1 : a < b ? -1 : 1);

export function analyze(inp: ReportInputs, classNames?: string[]): Analysis {
  const models = orderModels([...new Set([...inp.aggregates.map((e) => e.model), ...inp.evals.map((e) => e.model), ...inp.trains.map((t) => t.model), ...inp.ensembles.map((e) => e.model)])]);
  const fracs = [...new Set([...inp.aggregates.map((e) => e.frac), ...inp.evals.map((e) => e.frac), ...inp.trains.map((t) => t.frac)])].sort((a, b) => b - a);
  const cohorts = [...new Set([...inp.aggregates.map((e) => e.cohort), ...inp.evals.map((e) => e.cohort)])].sort(cohortOrder);
  const byGroup = new Map<string, EvalRecord[]>();
  for (const e of inp.evals) {
    const k = key(e.model, e.frac, e.cohort);
    if (!byGroup.has(k)) byGroup.set(k, []);
    byGroup.get(k)!.push(e);
  }
  const groups = [...inp.aggregates].sort((x, y) => models.indexOf(x.model) - models.indexOf(y.model) || y.frac - x.frac || cohortOrder(x.cohort, y.cohort));

  // CLAM's summary.csv per fold: test AUC (with the evaluate stage's CI), validation AUC and
  // accuracy of the kept checkpoint (train stage), test accuracy.
  const trainOf = new Map(inp.trains.map((t) => [key(t.model, t.frac, t.fold), t]));
  const foldRows: FoldRow[] = inp.evals
    .map((e) => {
      const t = trainOf.get(key(e.model, e.frac, e.fold));
      return {
        model: e.model, frac: e.frac, cohort: e.cohort, fold: e.fold, n: e.n, auc: e.auc, aucCi: e.aucCi, ciMethod: e.ciMethod,
        accuracy: e.accuracy, balancedAccuracy: e.balancedAccuracy, valAuc: t?.valAuc, valAccuracy: t?.valError === undefined ? undefined : 1 - t.valError,
      };
    })
    .sort((x, y) => models.indexOf(x.model) - models.indexOf(y.model) || y.frac - x.frac || cohortOrder(x.cohort, y.cohort) || x.fold - y.fold);

  const comparisons: Comparison[] = inp.compares
    .filter((c) => c.across)
    .map((c) => ({
      a: c.a, b: c.b, frac: c.frac, cohort: c.cohort, across: c.across!, ensemble: c.ensemble,
      perFold: c.perFold.filter((f) => f.aucA !== undefined && f.aucB !== undefined && f.diff !== undefined).map((f) => ({ fold: f.fold, aucA: f.aucA!, aucB: f.aucB!, diff: f.diff!, delongP: f.delongP })),
    }))
    .sort((x, y) => cohortOrder(x.cohort, y.cohort) || y.frac - x.frac || (x.a < y.a ? -1 : x.a > y.a ? 1 : 0));

  const roc = groups.flatMap((g) => g.roc.map((r) => ({ model: g.model, frac: g.frac, cohort: g.cohort, ...r })));

  const nClasses = inp.evals.find((e) => e.nClasses)?.nClasses ?? (classNames?.length || 2);
  const fromData = inp.datasets.find((d) => d.classes.length === nClasses)?.classes;
  const names = classNames ?? fromData ?? Array.from({ length: nClasses }, (_, c) => `class ${c}`);
  const singleClass: SingleClassWarning[] = [];
  for (const [, evs] of byGroup) {
    const one = evs.filter((e) => e.predicted && e.predicted.filter((v) => v > 0).length === 1 && (e.n ?? 0) > 1);
    if (!one.length) continue;
    const cls = one[0].predicted!.findIndex((v) => v > 0);
    singleClass.push({ model: evs[0].model, frac: evs[0].frac, cohort: evs[0].cohort, folds: one.map((e) => e.fold).sort((a, b) => a - b), of: evs.length, predicted: names[cls] ?? `class ${cls}` });
  }
  singleClass.sort((x, y) => models.indexOf(x.model) - models.indexOf(y.model) || y.frac - x.frac || cohortOrder(x.cohort, y.cohort));

  const focusCohort = cohorts.includes('test') ? 'test' : cohorts[0] ?? 'test';
  const focus = { frac: fracs[0] ?? 1, cohort: focusCohort };
  const confidence: Analysis['confidence'] = [];
  const ovr: Analysis['ovr'] = [];
  for (const m of models) {
    const folds = (byGroup.get(key(m, focus.frac, focusCohort)) ?? []).filter((e) => e.predictionsPath);
    for (const e of folds) {
      const p = loadPredictions(e.predictionsPath!);
      p.prob.forEach((row, i) => confidence.push({ model: m, outcome: p.y_hat[i] === p.y[i] ? 'correct' : 'incorrect', confidence: Math.max(...row) }));
    }
  }
  // One-vs-rest curves per class: the evaluate stages' exact ROC vertices (metrics.json roc_points),
  // averaged over folds on the aggregate's grid is a statistic; show fold 0's curves as computed.
  if (nClasses > 2)
    for (const m of models) {
      const e = (byGroup.get(key(m, focus.frac, focusCohort)) ?? []).filter((x) => x.rocPoints).sort((a, b) => a.fold - b.fold)[0];
      e?.rocPoints?.forEach((pts, c) => pts?.forEach(([fpr, tpr]) => ovr.push({ model: m, cls: names[c] ?? `class ${c}`, fpr, tpr })));
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
    scores.forEach(([a, b], i) => pca.push({ model: m, pc1: a, pc2: b, label: labelName(best!.emb.label[i], names) }));
  }

  // Training curves of every fraction: slide-level losses, validation AUC, CLAM's instance loss.
  const SERIES: [string, string][] = [['train_loss', 'Training loss'], ['val_loss', 'Validation loss'], ['val_auc', 'Validation AUC'], ['train_inst_loss', 'Instance loss (training)']];
  const curves: Analysis['curves'] = [];
  for (const t of inp.trains)
    for (const row of t.epochs)
      for (const [col, series] of SERIES) {
        const v = row[col];
        // MIL has no instance loss: its column is 0 throughout, not a curve.
        if (!Number.isFinite(v) || (col === 'train_inst_loss' && !t.epochs.some((r) => r[col] > 0))) continue;
        curves.push({ model: t.model, frac: t.frac, fold: t.fold, epoch: row.epoch, series, value: v });
      }
  return {
    models, fracs, cohorts, nClasses, groups, foldRows, comparisons, ensembles: inp.ensembles, roc, confidence, pca, pcaExplained, pcaSource, ovr, curves,
    singleClass, datasets: inp.datasets, focus, classNames: names,
  };
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
