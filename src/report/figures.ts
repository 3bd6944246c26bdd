// Figures as vega-lite specs, rendered headless to SVG strings (vega View with renderer 'none':
// no canvas, no network). One colour per model in every figure (Okabe–Ito, colour-blind safe);
// classes take colours no model uses; folds are told apart by dash pattern, never by colour.
// Model names only appear in vertical legends, facet headers and in-panel text: never on a
// crowded axis, so swept variants ("CLAM-SB B=16", "CLAM-SB B=8") cannot print over each other.
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { Analysis } from './analysis.ts';
import { fmt, pct } from './format.ts';

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies. */
export const OKABE_ITO = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
const EXTRA = ['#882255', '#44AA99', '#999933', '#AA4499', '#332288', '#DDCC77', '#117733', '#88CCEE'];

export function prettyModel(m: string): string {
  const known: Record<string, string> = { clam_sb: 'CLAM-SB', clam_mb: 'CLAM-MB', mil: 'MIL', mmil: 'mMIL' };
  const [base, ...sweep] = m.split(' ');
  return [known[base.toLowerCase()] ?? base, ...sweep].join(' ');
}

/** Model → colour, fixed for the whole report (and the heatmap gallery). */
export function modelColours(models: string[]): Map<string, string> {
  const pool = [...OKABE_ITO, ...EXTRA];
  return new Map(models.map((m, i) => [m, pool[i % pool.length]]));
}
/** Class colours: the palette colours no model uses, so orange never means both "MIL" and "tumour". */
export function classColours(models: string[], n: number): string[] {
  const used = new Set(modelColours(models).values());
  const free = [...OKABE_ITO, ...EXTRA].filter((c) => !used.has(c));
  return Array.from({ length: n }, (_, i) => free[i % free.length]);
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
  // Vertical legends on the right are part of the figure's bounds: never cut off, labels never overlap.
  legend: { labelFontSize: 12, titleFontSize: 13, orient: 'right' as const, direction: 'vertical' as const, labelLimit: 320 },
  header: { labelFontSize: 13, titleFontSize: 13, labelLimit: 0 },
  title: { fontSize: 14 },
  view: { stroke: '#bbb' },
};

/** A headless vega View of a figure spec (with the report's config); callers finalize it. */
export function figureView(spec: object): vega.View {
  const compiled = vl.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', background: 'white', config: CONFIG, ...spec } as vl.TopLevelSpec).spec;
  return new vega.View(vega.parse(compiled), { renderer: 'none' });
}

export async function render(spec: object): Promise<string> {
  const view = figureView(spec);
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export const cohortTitle = (c: string) => (c === 'test' ? 'Cross-validation test sets' : `Independent cohort: ${c}`);
const safeId = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '_');

export async function buildFigures(a: Analysis): Promise<Figure[]> {
  const colours = modelColours(a.models);
  const modelScale = { domain: a.models.map(prettyModel), range: a.models.map((m) => colours.get(m)!) };
  const modelColour = (title: string | null = 'Model') => ({ field: 'model', type: 'nominal', scale: modelScale, title, legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 } });
  const fracOrder = a.fracs.map(pct);
  const classCol = classColours(a.models, Math.max(a.nClasses, a.classNames.length));
  const figs: { id: string; title: string; caption: string; spec: object | undefined }[] = [];
  const W = 250, H = 220;
  const focusNote = `training fraction ${pct(a.focus.frac)}, ${a.focus.cohort === 'test' ? 'cross-validation test sets' : `cohort ${a.focus.cohort}`}`;

  // The paper's central figure: test AUC against the fraction of training data.
  const M = a.models.length;
  const dodge = (m: string) => (M > 1 ? (a.models.indexOf(m) - (M - 1) / 2) * 1.4 : 0);
  const effMeans = a.groups.filter((g) => g.auc.mean !== undefined).map((g) => ({
    model: prettyModel(g.model), cohort: cohortTitle(g.cohort), fraction: +(g.frac * 100).toFixed(1), x: g.frac * 100 + dodge(g.model),
    auc: g.auc.mean!, lo: g.auc.mean! - (g.auc.std ?? 0), hi: g.auc.mean! + (g.auc.std ?? 0), sd: g.auc.std ?? null, folds: g.auc.n,
  }));
  const effFolds = a.groups.flatMap((g) => g.folds.filter((f) => f.auc !== undefined).map((f) => ({ model: prettyModel(g.model), cohort: cohortTitle(g.cohort), x: g.frac * 100 + dodge(g.model), auc: f.auc!, fold: f.fold })));
  const cohortsShown = [...new Set(a.groups.map((g) => g.cohort))].map(cohortTitle);
  const yMin = Math.max(0, Math.floor(Math.min(0.5, ...effFolds.map((r) => r.auc), ...effMeans.map((r) => r.lo)) * 10) / 10);
  const fracTicks = [...new Set(a.fracs.map((f) => +(f * 100).toFixed(1)))].sort((x, y) => x - y);
  figs.push({
    id: 'data_efficiency',
    title: 'Test AUC against the fraction of training data',
    caption: `Mean test AUC over cross-validation folds (filled marks, line) with ±1 standard deviation (error bars) as the aggregate stages computed them; open circles: each fold's AUC. Models are nudged sideways at each fraction so their marks do not overlap. ${a.groups.some((g) => g.cohort !== 'test') ? 'Independent cohorts: every fold model evaluated on all of the cohort\'s slides.' : ''}`,
    spec: effMeans.length
      ? {
          data: { values: [] },
          facet: { column: { field: 'cohort', type: 'nominal', sort: cohortsShown, title: null } },
          spec: {
            width: Math.max(W, 60 * fracTicks.length), height: H,
            layer: [
              { data: { values: effFolds }, mark: { type: 'point', size: 22, opacity: 0.55, strokeWidth: 1 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'auc', type: 'quantitative', scale: { domain: [yMin, 1] } }, color: modelColour() } },
              { data: { values: effMeans }, mark: { type: 'rule', strokeWidth: 1.6 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'lo', type: 'quantitative', scale: { domain: [yMin, 1] } }, y2: { field: 'hi' }, color: modelColour() } },
              { data: { values: effMeans }, mark: { type: 'line', strokeWidth: 2 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'auc', type: 'quantitative', scale: { domain: [yMin, 1] } }, color: modelColour(), order: { field: 'x' } } },
              {
                data: { values: effMeans },
                mark: { type: 'point', filled: true, size: 70, opacity: 1, name: 'mean' },
                encoding: {
                  x: { field: 'x', type: 'quantitative', title: 'Training data (% of the training set)', scale: { domain: [0, 105], nice: false }, axis: { values: fracTicks, format: 'd' } },
                  y: { field: 'auc', type: 'quantitative', title: 'Test AUC', scale: { domain: [yMin, 1] } },
                  color: modelColour(),
                  shape: { field: 'model', type: 'nominal', scale: { domain: modelScale.domain }, title: 'Model' },
                  tooltip: [{ field: 'model' }, { field: 'fraction' }, { field: 'auc', format: '.3f' }, { field: 'sd', format: '.3f' }, { field: 'folds' }],
                },
              },
            ],
          },
        }
      : undefined,
  });
  if (effMeans.length) (figs[figs.length - 1].spec as any) = facetLayers(figs[figs.length - 1].spec as any);

  // ROC per cohort, with each model's AUC (and, on independent cohorts, its ensemble's AUC and CI) in the panel.
  for (const cohort of a.cohorts) {
    const rows = a.roc.filter((r) => r.cohort === cohort);
    if (!rows.length) continue;
    const labels: { model: string; fraction: string; text: string; ty: number }[] = [];
    const gs = a.groups.filter((g) => g.cohort === cohort);
    for (const f of a.fracs) {
      // Bottom-up in the lower right of the panel (the empty side of a ROC plot): last model lowest.
      const lines: { model: string; text: string }[] = [];
      for (const g of gs.filter((x) => x.frac === f).sort((x, y) => a.models.indexOf(x.model) - a.models.indexOf(y.model))) {
        lines.push({ model: g.model, text: `${prettyModel(g.model)}: ${fmt(g.auc.mean)} ± ${fmt(g.auc.std)}` });
        const ens = a.ensembles.find((e) => e.model === g.model && e.frac === g.frac && e.cohort === cohort);
        if (ens?.auc !== undefined) lines.push({ model: g.model, text: `ensemble ${fmt(ens.auc)}${ens.ci ? ` (${fmt(ens.ci[0], 2)}–${fmt(ens.ci[1], 2)})` : ''}` });
      }
      lines.reverse().forEach((l, i) => labels.push({ model: prettyModel(l.model), fraction: pct(f), text: l.text, ty: 0.03 + 0.068 * i }));
    }
    const ind = cohort !== 'test';
    figs.push({
      id: `roc_${safeId(cohort)}`,
      title: `ROC, ${cohortTitle(cohort).toLowerCase()}`,
      caption: `Mean receiver operating characteristic over the fold models with a ±1 SD band (aggregate stages), per training fraction. In each panel: AUC mean ± SD over folds${ind ? ', and the AUC of the ensemble of the fold models (mean probability) with its 95 % CI' : ''}. ${a.nClasses > 2 ? 'Multi-class: macro average of one-vs-rest curves.' : ''} Dashed: chance.`,
      spec: rocGrid(
        a.fracs.filter((f) => rows.some((r) => r.frac === f)).map((f) => ({
          title: `Training data ${pct(f)}`,
          rows: rows.filter((r) => r.frac === f).map((r) => ({ ...r, model: prettyModel(r.model) })),
          labels: labels.filter((l) => l.fraction === pct(f)),
        })),
        { width: W, height: H, colour: modelColour },
      ),
    });
  }

  const diffs = a.comparisons.filter((c) => c.cohort === a.focus.cohort).flatMap((c) =>
    c.perFold.map((p) => ({ pair: `${prettyModel(c.a)} − ${prettyModel(c.b)}`, fraction: pct(c.frac), fold: p.fold, diff: p.diff, model: prettyModel(p.diff >= 0 ? c.a : c.b) })),
  );
  const pairs = [...new Set(diffs.map((d) => d.pair))];
  figs.push({
    id: 'auc_difference',
    title: `${pairs.join(', ') || 'CLAM − MIL'}: test AUC difference per fold`,
    caption: 'Paired difference of test AUC on the same fold (same test slides), from the compare stages. Each bar takes the colour of the model that is better on that fold.',
    spec: diffs.length
      ? {
          data: { values: diffs },
          facet: {
            column: { field: 'fraction', type: 'ordinal', sort: fracOrder, title: 'Training fraction' },
            ...(pairs.length > 1 ? { row: { field: 'pair', type: 'nominal', title: null, header: { labelAngle: 0, labelOrient: 'top', labelAlign: 'left', labelAnchor: 'start' } } } : {}),
          },
          spec: {
            width: Math.max(120, 18 * Math.max(...a.comparisons.map((c) => c.perFold.length))), height: 150,
            layer: [
              { mark: 'bar', encoding: { x: { field: 'fold', type: 'ordinal', title: 'Fold', sort: null, axis: { labelAngle: 0 } }, y: { field: 'diff', type: 'quantitative', title: 'AUC difference' }, color: { ...modelColour('Better on the fold'), legend: { titleLimit: 400 } } } },
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
              { mark: { type: 'boxplot', extent: 1.5, opacity: 0.45, size: 30, outliers: false }, encoding: { x: { field: 'outcome', type: 'nominal', title: 'Prediction', sort: ['correct', 'incorrect'], axis: { labelAngle: 0 } }, y: { field: 'confidence', type: 'quantitative', title: ['Confidence', '(probability of predicted class)'], scale: { domain: [a.nClasses > 2 ? 1 / a.nClasses : 0.5, 1] } }, color: { ...modelColour(), legend: null } } },
              { mark: { type: 'point', filled: true, size: 12, opacity: 0.35 }, encoding: { x: { field: 'outcome', type: 'nominal', sort: ['correct', 'incorrect'] }, xOffset: { field: 'jit', type: 'quantitative', scale: { domain: [-0.6, 1.6] }, axis: null }, y: { field: 'confidence', type: 'quantitative' }, color: { ...modelColour(), legend: null } } },
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
              color: { field: 'label', type: 'nominal', title: 'Slide label', scale: { domain: classDomain, range: classCol } },
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
      caption: `Each class's one-vs-rest ROC of the lowest fold's model, exact vertices as the evaluate stage recorded them (${focusNote}). Dashed: chance.`,
      spec: a.ovr.length
        ? {
            data: { values: a.ovr.map((o) => ({ ...o, model: prettyModel(o.model) })) },
            facet: { column: { field: 'model', type: 'nominal', sort: modelScale.domain, title: 'Model' } },
            spec: {
              width: W, height: H,
              layer: [
                { mark: { type: 'rule', strokeDash: [4, 4], color: '#999' }, encoding: { x: { datum: 0 }, y: { datum: 0 }, x2: { datum: 1 }, y2: { datum: 1 } } },
                { mark: { type: 'line', strokeWidth: 2, interpolate: 'linear' }, encoding: { x: { field: 'fpr', type: 'quantitative', title: 'False positive rate', scale: { domain: [0, 1] } }, y: { field: 'tpr', type: 'quantitative', title: 'True positive rate', scale: { domain: [0, 1] } }, color: { field: 'cls', type: 'nominal', title: 'Class (vs rest)', scale: { domain: a.classNames, range: classCol } }, order: { field: 'fpr' } } },
              ],
            },
          }
        : undefined,
    });

  const seriesOrder = ['Training loss', 'Validation loss', 'Validation AUC', 'Instance loss (training)'].filter((s) => a.curves.some((c) => c.series === s));
  figs.push({
    id: 'training_curves',
    title: 'Training curves',
    caption: `Per epoch and training fraction: slide-level training and validation loss, validation AUC${seriesOrder.includes('Instance loss (training)') ? ' and CLAM\'s instance-clustering loss' : ''}. Colour: model; dash pattern: fold. Training stops early when the validation loss stops improving.`,
    spec: a.curves.length
      ? {
          data: { values: a.curves.map((c) => ({ ...c, model: prettyModel(c.model), fraction: pct(c.frac) })) },
          facet: {
            row: { field: 'fraction', type: 'ordinal', sort: fracOrder, title: 'Training fraction', header: { labelAngle: 0, labelAlign: 'left' } },
            column: { field: 'series', type: 'nominal', sort: seriesOrder, title: null, header: { labelFontWeight: 'bold' } },
          },
          spec: {
            width: 190, height: 120,
            mark: { type: 'line', strokeWidth: 1.4, opacity: 0.85 },
            encoding: {
              x: { field: 'epoch', type: 'quantitative', title: 'Epoch', axis: { tickMinStep: 1, format: 'd' } },
              y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
              color: modelColour(),
              strokeDash: { field: 'fold', type: 'nominal', title: 'Fold' },
              detail: { field: 'model', type: 'nominal' },
            },
          },
          resolve: { scale: { y: 'independent' } },
        }
      : undefined,
  });

  const out: Figure[] = [];
  for (const f of figs) {
    if (!f.spec) continue;
    // Rendering is CPU work that holds the event loop; between figures, I/O waiting on it (the
    // MLflow tracker's replies) gets its turn.
    await new Promise((r) => setImmediate(r));
    out.push({ id: f.id, title: f.title, caption: f.caption, spec: f.spec, svg: await render(f.spec) });
  }
  return out;
}

/**
 * Panels wrapped into a grid as concatenated charts rather than a wrapped facet: a wrapped facet
 * draws each column's x axis at the bottom of the grid, so a short last row left axes under
 * empty cells. Here each panel carries its own axes, the last row holds only real panels, and
 * the columns are chosen so rows are as full as they can be (4 panels: 2 × 2, not 3 + 1).
 */
function rocGrid(
  panels: { title: string; rows: object[]; labels: object[] }[],
  o: { width: number; height: number; colour: (title?: string | null) => object; maxColumns?: number },
): object {
  const n = panels.length;
  const nRows = Math.ceil(n / (o.maxColumns ?? 3));
  const columns = Math.ceil(n / nRows);
  return {
    columns,
    // Headless text widths are estimates (no canvas) that overstate the x-axis title, and 'full'
    // bounds would widen every column by that; 'flush' lays out on the plot areas, the spacing
    // leaving room for the next column's tick labels and the next row's x labels + panel title.
    bounds: 'flush',
    spacing: { column: 45, row: 60 },
    // Shared ROC axes ([0, 1] on both) only need their titles once per row / column.
    concat: panels.map((p, i) => {
      const firstColumn = i % columns === 0;
      const bottom = i + columns >= n;
      return {
        title: { text: p.title, fontSize: 13, fontWeight: 'normal' },
        width: o.width, height: o.height,
        data: { values: p.rows },
        layer: [
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#999' }, encoding: { x: { datum: 0 }, y: { datum: 0 }, x2: { datum: 1 }, y2: { datum: 1 } } },
          { mark: { type: 'area', opacity: 0.16 }, encoding: { x: { field: 'fpr', type: 'quantitative' }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color: o.colour() } },
          {
            mark: { type: 'line', strokeWidth: 2 },
            encoding: {
              x: { field: 'fpr', type: 'quantitative', title: bottom ? 'False positive rate (1 − specificity)' : null, scale: { domain: [0, 1] } },
              y: { field: 'tpr', type: 'quantitative', title: firstColumn ? ['True positive rate', '(sensitivity)'] : null, scale: { domain: [0, 1] } },
              color: o.colour(),
            },
          },
          {
            data: { values: p.labels },
            mark: { type: 'text', align: 'right', baseline: 'bottom', fontSize: 11, dx: -4 },
            encoding: { x: { datum: 1 }, y: { field: 'ty', type: 'quantitative' }, text: { field: 'text' }, color: o.colour() },
          },
        ],
      };
    }),
  };
}

/**
 * vega-lite facets one dataset: layers with their own data are moved into the top-level data
 * with a `layer` tag and filtered back per layer, so every layer is split by the facet field.
 */
function facetLayers(spec: any): any {
  const top: any[] = (spec.data?.values ?? []).map((r: any) => ({ ...r, __layer: 'main' }));
  const layers = spec.spec.layer.map((l: any, i: number) => {
    if (!l.data) return { ...l, transform: [{ filter: "datum.__layer === 'main'" }, ...(l.transform ?? [])] };
    const tag = `L${i}`;
    for (const r of l.data.values) top.push({ ...r, __layer: tag });
    const { data: _d, ...rest } = l;
    return { ...rest, transform: [{ filter: `datum.__layer === '${tag}'` }, ...(l.transform ?? [])] };
  });
  return { ...spec, data: { values: top }, spec: { ...spec.spec, layer: layers } };
}
