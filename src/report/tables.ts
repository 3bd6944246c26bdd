// The report's tables: one model each, written as HTML, Markdown and CSV (numbers unrounded).
import type { Analysis } from './analysis.ts';
import type { ReportInputs } from './inputs.ts';
import { prettyModel } from './figures.ts';
import { fmt, fmtCi, fmtP, pct } from './format.ts';

export interface Table {
  id: string;
  title: string;
  caption: string;
  /** Display columns (formatted strings). */
  head: string[];
  rows: string[][];
  /** Machine-readable CSV: raw numbers. */
  csvHead: string[];
  csvRows: (string | number | undefined)[][];
}

const cohortName = (c: string) => (c === 'test' ? 'CV test sets' : c);


export function buildTables(a: Analysis, inp: ReportInputs): Table[] {
  const t: Table[] = [];
  t.push(...dataTables(a));
  t.push({
    id: 'auc_by_fraction',
    title: 'Test AUC by model and training fraction',
    caption: `Mean ± standard deviation over cross-validation folds as the aggregate stages computed them${a.nClasses > 2 ? ' (macro-averaged one-vs-rest AUC)' : ''}; range of the fold AUCs in brackets. Fractions are of the training set; validation and test sets are fixed.`,
    head: ['Model', 'Training fraction', 'Cohort', 'Folds', 'AUC (mean ± SD)', 'Range'],
    rows: a.groups.map((g) => [prettyModel(g.model), pct(g.frac), cohortName(g.cohort), String(g.auc.n), `${fmt(g.auc.mean)} ± ${fmt(g.auc.std)}`, range(g.folds.map((f) => f.auc))]),
    csvHead: ['model', 'frac', 'cohort', 'n_folds', 'auc_mean', 'auc_sd', 'auc_min', 'auc_max'],
    csvRows: a.groups.map((g) => { const v = defined(g.folds.map((f) => f.auc)); return [g.model, g.frac, g.cohort, g.auc.n, g.auc.mean, g.auc.std, v.length ? Math.min(...v) : undefined, v.length ? Math.max(...v) : undefined]; }),
  });
  // CLAM's summary.csv, per fold: test AUC with the evaluate stage's 95 % CI, validation AUC and accuracy.
  t.push({
    id: 'folds',
    title: 'Per-fold results (CLAM summary.csv)',
    caption: 'Every fold model: test AUC with its 95 % confidence interval (DeLong for binary tasks, as the evaluate stage computed it), validation AUC and accuracy of the kept checkpoint (train stage), test accuracy and balanced accuracy. Independent cohorts: all of the cohort\'s slides.',
    head: ['Model', 'Training fraction', 'Cohort', 'Fold', 'Slides', 'Test AUC', '95 % CI', 'Val AUC', 'Test acc', 'Val acc', 'Balanced acc'],
    rows: a.foldRows.map((r) => [prettyModel(r.model), pct(r.frac), cohortName(r.cohort), String(r.fold), r.n === undefined ? '–' : String(r.n), fmt(r.auc), fmtCi(r.aucCi), fmt(r.valAuc), fmt(r.accuracy), fmt(r.valAccuracy), fmt(r.balancedAccuracy)]),
    csvHead: ['model', 'frac', 'cohort', 'fold', 'n', 'test_auc', 'test_auc_ci_low', 'test_auc_ci_high', 'ci_method', 'val_auc', 'test_acc', 'val_acc', 'test_balanced_acc'],
    csvRows: a.foldRows.map((r) => [r.model, r.frac, r.cohort, r.fold, r.n, r.auc, r.aucCi?.[0], r.aucCi?.[1], r.ciMethod, r.valAuc, r.accuracy, r.valAccuracy, r.balancedAccuracy]),
  });
  if (inp.ensembles.length) {
    const ens = [...inp.ensembles].sort((x, y) => (x.cohort < y.cohort ? -1 : x.cohort > y.cohort ? 1 : a.models.indexOf(x.model) - a.models.indexOf(y.model) || y.frac - x.frac));
    t.push({
      id: 'ensemble_auc',
      title: 'Ensemble AUC on independent cohorts',
      caption: 'Ensemble = mean predicted probability of the fold models. 95 % confidence interval by DeLong (binary) or as stated.',
      head: ['Cohort', 'Model', 'Training fraction', 'Slides', 'AUC', '95 % CI', 'Accuracy', 'Balanced accuracy'],
      rows: ens.map((e) => [e.cohort, prettyModel(e.model), pct(e.frac), e.n === undefined ? '–' : String(e.n), fmt(e.auc), fmtCi(e.ci), fmt(e.accuracy), fmt(e.balancedAccuracy)]),
      csvHead: ['cohort', 'model', 'frac', 'n', 'auc', 'ci_low', 'ci_high', 'ci_method', 'accuracy', 'balanced_accuracy'],
      csvRows: ens.map((e) => [e.cohort, e.model, e.frac, e.n, e.auc, e.ci?.[0], e.ci?.[1], e.ciMethod ?? 'delong', e.accuracy, e.balancedAccuracy]),
    });
  }
  if (a.comparisons.length)
    t.push({
      id: 'model_differences',
      title: 'Paired AUC differences between models',
      caption:
        'As the compare stages computed them (compare.json): per-fold test AUC difference (first − second model) on identical test slides; p (t): paired t-test over folds with its 95 % CI; p (Wilcoxon): signed-rank test over folds (exact up to 20 folds, normal approximation above); DeLong: folds whose paired DeLong test is significant at 0.05; ensemble: paired DeLong test of the two fold-model ensembles on the same slides (independent cohorts). Monte Carlo folds share cases, so fold-level p-values are optimistic.',
      head: ['Comparison', 'Training fraction', 'Cohort', 'Folds', 'Mean difference ± SD', '95 % CI', 'p (t)', 'p (Wilcoxon)', 'Folds first better', 'DeLong p < 0.05', 'Ensemble ΔAUC (DeLong p)'],
      rows: a.comparisons.map((c) => {
        const dl = c.perFold.filter((f) => f.delongP !== undefined);
        return [
          `${prettyModel(c.a)} − ${prettyModel(c.b)}`,
          pct(c.frac),
          cohortName(c.cohort),
          String(c.across.n),
          `${fmt(c.across.meanDiff)} ± ${fmt(c.across.sdDiff)}`,
          c.across.ci ? `${fmt(c.across.ci[0])} to ${fmt(c.across.ci[1])}` : '–',
          fmtP(c.across.tP),
          fmtP(c.across.wilcoxonP) + (c.across.wilcoxonExact === false ? ' (normal approx.)' : ''),
          `${c.across.aBetter ?? c.perFold.filter((f) => f.diff > 0).length} / ${c.perFold.length}`,
          dl.length ? `${dl.filter((f) => f.delongP! < 0.05).length} / ${dl.length}` : '–',
          c.ensemble?.diff !== undefined ? `${fmt(c.ensemble.diff)} (p ${fmtP(c.ensemble.p)})` : '–',
        ];
      }),
      csvHead: ['a', 'b', 'frac', 'cohort', 'n_folds', 'mean_diff', 'sd_diff', 'ci_low', 'ci_high', 'p_paired_t', 'p_wilcoxon', 'folds_a_better', 'folds_delong_significant', 'ensemble_diff', 'ensemble_delong_p'],
      csvRows: a.comparisons.map((c) => [c.a, c.b, c.frac, c.cohort, c.across.n, c.across.meanDiff, c.across.sdDiff, c.across.ci?.[0], c.across.ci?.[1], c.across.tP, c.across.wilcoxonP, c.across.aBetter, c.perFold.filter((f) => f.delongP !== undefined && f.delongP < 0.05).length, c.ensemble?.diff, c.ensemble?.p]),
    });
  t.push({
    id: 'accuracy',
    title: 'Accuracy and balanced accuracy',
    caption: 'Mean ± standard deviation over folds at the predicted class (argmax), from the aggregate stages. Balanced accuracy = mean per-class recall, robust to class imbalance; 1 / (number of classes) means the model predicts one class.',
    head: ['Model', 'Training fraction', 'Cohort', 'Accuracy', 'Balanced accuracy'],
    rows: a.groups.map((g) => [prettyModel(g.model), pct(g.frac), cohortName(g.cohort), `${fmt(g.accuracy.mean)} ± ${fmt(g.accuracy.std)}`, `${fmt(g.balancedAccuracy.mean)} ± ${fmt(g.balancedAccuracy.std)}`]),
    csvHead: ['model', 'frac', 'cohort', 'accuracy_mean', 'accuracy_sd', 'balanced_accuracy_mean', 'balanced_accuracy_sd'],
    csvRows: a.groups.map((g) => [g.model, g.frac, g.cohort, g.accuracy.mean, g.accuracy.std, g.balancedAccuracy.mean, g.balancedAccuracy.std]),
  });
  // An empty table (e.g. nothing evaluated yet) says nothing; the run summary explains why.
  return t.filter((x) => x.rows.length > 0);
}

const defined = (x: (number | undefined)[]) => x.filter((v): v is number => v !== undefined && Number.isFinite(v));
const range = (x: (number | undefined)[]) => { const v = defined(x); return v.length ? `${fmt(Math.min(...v))}–${fmt(Math.max(...v))}` : '–'; };

/** Cases, slides and patches per class of every dataset stage, and the slides it excluded with the reason. */
function dataTables(a: Analysis): Table[] {
  const rows: (string | number)[][] = [];
  for (const d of a.datasets) {
    const classes = [...d.classes, ...new Set(d.slides.map((s) => s.label).filter((l) => !d.classes.includes(l)))];
    for (const c of [...classes, 'all']) {
      const sl = c === 'all' ? d.slides : d.slides.filter((s) => s.label === c);
      rows.push([d.cohort, c, new Set(sl.map((s) => s.case_id)).size, sl.length, sl.reduce((s, x) => s + x.n, 0), c === 'all' ? d.excluded.length : '']);
    }
  }
  const excluded = a.datasets.flatMap((d) => d.excluded.map((e) => [d.cohort, e.slide_id, e.reason]));
  const out: Table[] = [{
    id: 'data',
    title: 'Data: cases, slides and patches per class',
    caption: 'As the dataset stages wrote them (slides.csv): "patches" are the instances in each slide\'s bag. Excluded slides are not counted; they are listed with the reason in the next table.',
    head: ['Dataset', 'Class', 'Cases', 'Slides', 'Patches', 'Excluded slides'],
    rows: rows.map((r) => r.map(String)),
    csvHead: ['dataset', 'class', 'cases', 'slides', 'patches', 'excluded'],
    csvRows: rows.map((r) => r.map((v) => (v === '' ? undefined : v))),
  }];
  if (excluded.length)
    out.push({ id: 'excluded', title: 'Excluded slides', caption: 'Slides a dataset stage left out (unreadable file, no tissue, no patches, empty bag, label mapped to nothing), with the reason it recorded.', head: ['Dataset', 'Slide', 'Reason'], rows: excluded, csvHead: ['dataset', 'slide_id', 'reason'], csvRows: excluded });
  return out;
}

const csvCell = (v: string | number | undefined) => {
  if (v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
export const tableCsv = (t: Table) => [t.csvHead, ...t.csvRows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
export const tableMd = (t: Table) =>
  [`| ${t.head.map(mdCell).join(' | ')} |`, `| ${t.head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`, ...t.rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`)].join('\n');

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const NUMERIC = /^[-–<\d.± %/to]+$/;
export function tableHtml(t: Table): string {
  // A column is right-aligned (header too) when every cell in it is a number-like value.
  const numeric = t.head.map((_, j) => j > 0 && t.rows.every((r) => NUMERIC.test(r[j])));
  const cls = (j: number) => (numeric[j] ? ' class="num"' : '');
  return `<table><thead><tr>${t.head.map((h, j) => `<th${cls(j)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${t.rows
    .map((r) => `<tr>${r.map((c, j) => `<td${cls(j)}>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}
