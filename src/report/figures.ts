// Figures as vega-lite specs, rendered headless to SVG strings (vega View with renderer 'none':
// no canvas, no network). Colours are fixed per model across all figures; fractions read as %.
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { Analysis } from './analysis.ts';
import { pct } from './numbers.ts';

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies. */
const MODEL_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];
const CLASS_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

export function prettyModel(m: string): string {
  const known: Record<string, string> = { clam_sb: 'CLAM-SB', clam_mb: 'CLAM-MB', mil: 'MIL', mmil: 'mMIL' };
  const [base, ...sweep] = m.split(' ');
  return [known[base.toLowerCase()] ?? base, ...sweep].join(' ');
}

export interface Figure {
  id: string;
  title: string;
  caption: string;
  svg: string;
  /** Kept for reproducibility (figures/<id>.vl.json). */
  spec: object;
}

const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal' as const, grid: true, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 12, titleFontSize: 13, orient: 'bottom' as const, direction: 'horizontal' as const },
  header: { labelFontSize: 13, titleFontSize: 13 },
  title: { fontSize: 14 },
  view: { stroke: '#bbb' },
};

export async function render(spec: object): Promise<string> {
  const compiled = vl.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', background: 'white', config: CONFIG, ...spec } as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export async function buildFigures(a: Analysis): Promise<Figure[]> {
  const modelScale = { domain: a.models.map(prettyModel), range: a.models.map((_, i) => MODEL_COLOURS[i % MODEL_COLOURS.length]) };
  const fracOrder = a.fracs.map(pct);
  const figs: { id: string; title: string; caption: string; spec: object | undefined }[] = [];
  const W = 230, H = 210;
  const focusNote = `training fraction ${pct(a.focus.frac)}, ${a.focus.cohort === 'test' ? 'cross-validation test sets' : `cohort ${a.focus.cohort}`}`;

  figs.push({
    id: 'roc_mean',
    title: 'Mean ROC curve per training fraction',
    caption: `Mean receiver operating characteristic over the cross-validation folds (test sets), with a ±1 standard deviation band, for each fraction of the training set. ${a.nClasses > 2 ? 'Multi-class: macro average of one-vs-rest curves.' : ''} Dashed: chance.`,
    spec: a.roc.length
      ? {
          data: { values: [...a.roc.map((r) => ({ ...r, model: prettyModel(r.model), fraction: pct(r.frac) })), ...a.fracs.flatMap((f) => [0, 1].map((x) => ({ fraction: pct(f), model: 'chance', fpr: x, tpr: x, lo: x, hi: x })))] },
          facet: { column: { field: 'fraction', type: 'ordinal', sort: fracOrder, title: 'Training fraction' } },
          spec: {
            width: W, height: H,
            layer: [
              { transform: [{ filter: "datum.model === 'chance'" }], mark: { type: 'line', strokeDash: [4, 4], color: '#999' }, encoding: { x: { field: 'fpr', type: 'quantitative' }, y: { field: 'tpr', type: 'quantitative' } } },
              { transform: [{ filter: "datum.model !== 'chance'" }], mark: { type: 'area', opacity: 0.18 }, encoding: { x: { field: 'fpr', type: 'quantitative' }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color: { field: 'model', type: 'nominal', scale: modelScale, title: 'Model', legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 } } } },
              {
                transform: [{ filter: "datum.model !== 'chance'" }],
                mark: { type: 'line', strokeWidth: 2 },
                encoding: {
                  x: { field: 'fpr', type: 'quantitative', title: 'False positive rate (1 − specificity)', scale: { domain: [0, 1] } },
                  y: { field: 'tpr', type: 'quantitative', title: ['True positive rate', '(sensitivity)'], scale: { domain: [0, 1] } },
                  color: { field: 'model', type: 'nominal', scale: modelScale, title: 'Model', legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 } },
                },
              },
            ],
          },
        }
      : undefined,
  });

  const foldAuc = a.groups.flatMap((g) => g.folds.filter((f) => f.auc !== undefined).map((f) => ({ model: prettyModel(g.model), fraction: pct(g.frac), cohort: g.cohort, fold: f.fold, auc: f.auc })));
  const cvAuc = foldAuc.filter((r) => r.cohort === a.focus.cohort);
  const aucMin = Math.max(0, Math.floor(Math.min(0.5, ...cvAuc.map((r) => r.auc!)) * 10) / 10);
  figs.push({
    id: 'fold_auc',
    title: 'Test AUC of every fold per training fraction',
    caption: `Each dot is one cross-validation fold's test AUC; boxes show median and quartiles, whiskers the range. ${a.focus.cohort === 'test' ? '' : `Cohort ${a.focus.cohort}.`}`,
    spec: cvAuc.length
      ? {
          data: { values: cvAuc },
          facet: { column: { field: 'fraction', type: 'ordinal', sort: fracOrder, title: 'Training fraction' } },
          spec: {
            width: Math.max(90, 60 * a.models.length), height: H,
            layer: [
              { mark: { type: 'boxplot', extent: 'min-max', opacity: 0.35, size: 26 }, encoding: { x: { field: 'model', type: 'nominal', sort: modelScale.domain, title: null, axis: { labelAngle: 0 } }, y: { field: 'auc', type: 'quantitative', title: 'Test AUC', scale: { domain: [aucMin, 1] } }, color: { field: 'model', type: 'nominal', scale: modelScale, title: 'Model' } } },
              { mark: { type: 'point', filled: true, size: 45, opacity: 0.9, stroke: 'white', strokeWidth: 0.5 }, encoding: { x: { field: 'model', type: 'nominal', sort: modelScale.domain }, y: { field: 'auc', type: 'quantitative' }, color: { field: 'model', type: 'nominal', scale: modelScale }, tooltip: [{ field: 'fold' }, { field: 'auc', format: '.3f' }] } },
            ],
          },
        }
      : undefined,
  });

  const diffs = a.comparisons.filter((c) => c.cohort === a.focus.cohort).flatMap((c) => c.perFold.map((p) => ({ pair: `${prettyModel(c.a)} − ${prettyModel(c.b)}`, fraction: pct(c.frac), fold: p.fold, diff: p.diff, sign: p.diff >= 0 ? `${prettyModel(c.a)} better` : `${prettyModel(c.b)} better` })));
  const pairs = [...new Set(diffs.map((d) => d.pair))];
  figs.push({
    id: 'auc_difference',
    title: `${pairs.join(', ') || 'CLAM − MIL'}: test AUC difference per fold`,
    caption: 'Paired difference of test AUC on the same fold (same test slides). Bars above zero: the first model is better on that fold.',
    spec: diffs.length
      ? {
          data: { values: diffs },
          facet: { column: { field: 'fraction', type: 'ordinal', sort: fracOrder, title: 'Training fraction' }, ...(pairs.length > 1 ? { row: { field: 'pair', type: 'nominal', title: null } } : {}) },
          spec: {
            width: Math.max(120, 18 * Math.max(...a.comparisons.map((c) => c.perFold.length))), height: 160,
            layer: [
              { mark: 'bar', encoding: { x: { field: 'fold', type: 'ordinal', title: 'Cross-validation fold', sort: null, axis: { labelAngle: 0 } }, y: { field: 'diff', type: 'quantitative', title: 'AUC difference' }, color: { field: 'sign', type: 'nominal', title: null, scale: { range: [MODEL_COLOURS[0], MODEL_COLOURS[1]] } } } },
              { mark: { type: 'rule', color: '#333' }, encoding: { y: { datum: 0 } } },
            ],
          },
        }
      : undefined,
  });

  figs.push({
    id: 'confidence',
    title: 'Confidence of correct and incorrect predictions',
    caption: `Predicted probability of the predicted class for every test slide of every fold (${focusNote}). Well-behaved models are confident when right and less so when wrong.`,
    spec: a.confidence.length
      ? {
          data: { values: a.confidence.map((c, i) => ({ ...c, model: prettyModel(c.model), jit: (i * 0.6180339887) % 1 })) },
          facet: { column: { field: 'model', type: 'nominal', sort: modelScale.domain, title: 'Model' } },
          spec: {
            width: 170, height: H,
            layer: [
              { mark: { type: 'boxplot', extent: 1.5, opacity: 0.5, size: 30, outliers: false }, encoding: { x: { field: 'outcome', type: 'nominal', title: 'Prediction', sort: ['correct', 'incorrect'], axis: { labelAngle: 0 } }, y: { field: 'confidence', type: 'quantitative', title: ['Confidence', '(probability of predicted class)'], scale: { domain: [a.nClasses > 2 ? 1 / a.nClasses : 0.5, 1] } }, color: { field: 'outcome', type: 'nominal', title: 'Prediction', scale: { domain: ['correct', 'incorrect'], range: ['#009E73', '#D55E00'] } } } },
              { mark: { type: 'point', filled: true, size: 12, opacity: 0.35 }, encoding: { x: { field: 'outcome', type: 'nominal', sort: ['correct', 'incorrect'] }, xOffset: { field: 'jit', type: 'quantitative', scale: { domain: [-0.6, 1.6] }, axis: null }, y: { field: 'confidence', type: 'quantitative' }, color: { field: 'outcome', type: 'nominal', scale: { domain: ['correct', 'incorrect'], range: ['#009E73', '#D55E00'] } } } },
            ],
          },
        }
      : undefined,
  });

  const classDomain = [...new Set(a.pca.map((p) => p.label))].sort();
  figs.push({
    id: 'embedding_pca',
    title: 'Slide embeddings (PCA), coloured by label',
    caption: `First two principal components of the attention-pooled slide representations computed by one fold model per panel (each fold model has its own representation space; training fraction ${pct(a.focus.frac)}). ${Object.entries(a.pcaExplained)
      .map(([m, e]) => {
        const src = a.pcaSource[m];
        return `${prettyModel(m)}: fold ${src.fold}, ${src.cohort === 'test' ? 'its test set' : `cohort ${src.cohort}`}, ${src.n} slides; PC1 ${(e[0] * 100).toFixed(0)} %, PC2 ${(e[1] * 100).toFixed(0)} % of variance`;
      })
      .join('; ')}.`,
    spec: a.pca.length
      ? {
          data: { values: a.pca.map((p) => ({ ...p, model: prettyModel(p.model) })) },
          facet: { column: { field: 'model', type: 'nominal', sort: modelScale.domain, title: 'Model' } },
          spec: {
            width: W, height: H,
            mark: { type: 'point', filled: true, size: 30, opacity: 0.75 },
            encoding: {
              x: { field: 'pc1', type: 'quantitative', title: 'PC 1 (a.u.)', scale: { zero: false } },
              y: { field: 'pc2', type: 'quantitative', title: 'PC 2 (a.u.)', scale: { zero: false } },
              color: { field: 'label', type: 'nominal', title: 'Slide label', scale: { domain: classDomain, range: CLASS_COLOURS } },
              shape: { field: 'label', type: 'nominal', title: 'Slide label', scale: { domain: classDomain } },
            },
          },
          resolve: { scale: { x: 'independent', y: 'independent' } },
        }
      : undefined,
  });

  if (a.nClasses > 2)
    figs.push({
      id: 'roc_per_class',
      title: 'One-vs-rest ROC per class',
      caption: `Mean over folds of each class's one-vs-rest ROC (${focusNote}). Dashed: chance.`,
      spec: a.ovr.length
        ? {
            data: { values: a.ovr.map((o) => ({ ...o, model: prettyModel(o.model) })) },
            facet: { column: { field: 'model', type: 'nominal', sort: modelScale.domain, title: 'Model' } },
            spec: {
              width: W, height: H,
              layer: [
                { mark: { type: 'rule', strokeDash: [4, 4], color: '#999' }, encoding: { x: { datum: 0 }, y: { datum: 0 }, x2: { datum: 1 }, y2: { datum: 1 } } },
                { mark: { type: 'line', strokeWidth: 2 }, encoding: { x: { field: 'fpr', type: 'quantitative', title: 'False positive rate', scale: { domain: [0, 1] } }, y: { field: 'tpr', type: 'quantitative', title: 'True positive rate', scale: { domain: [0, 1] } }, color: { field: 'cls', type: 'nominal', title: 'Class (vs rest)', scale: { range: CLASS_COLOURS } } } },
              ],
            },
          }
        : undefined,
    });

  figs.push({
    id: 'training_curves',
    title: 'Training curves',
    caption: `Slide-level loss per epoch on the training and validation sets, one line per fold (${pct(a.focus.frac)} of the training set). Training stops early when the validation loss stops improving.`,
    spec: a.curves.length
      ? {
          data: { values: a.curves.map((c) => ({ ...c, model: prettyModel(c.model) })) },
          facet: { column: { field: 'model', type: 'nominal', sort: modelScale.domain, title: 'Model' } },
          spec: {
            width: W, height: H,
            mark: { type: 'line', strokeWidth: 1.3, opacity: 0.8 },
            encoding: {
              x: { field: 'epoch', type: 'quantitative', title: 'Epoch', axis: { tickMinStep: 1, format: 'd' } },
              y: { field: 'value', type: 'quantitative', title: 'Loss (cross-entropy)' },
              color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['training loss', 'validation loss'], range: ['#56B4E9', '#D55E00'] }, legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 } },
              detail: { field: 'fold', type: 'nominal' },
            },
          },
        }
      : undefined,
  });

  const out: Figure[] = [];
  for (const f of figs) if (f.spec) out.push({ id: f.id, title: f.title, caption: f.caption, spec: f.spec, svg: await render(f.spec) });
  return out;
}
