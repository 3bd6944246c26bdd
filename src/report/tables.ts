// The report's tables: one model each, written as HTML, Markdown and CSV (numbers unrounded).
import type { Analysis } from './analysis.ts';
import type { ReportInputs } from './inputs.ts';
import { prettyModel } from './figures.ts';
import { fmt, fmtP, pct } from './numbers.ts';

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
  t.push({
    id: 'auc_by_fraction',
    title: 'Test AUC by model and training fraction',
    caption: `Mean ± standard deviation over cross-validation folds${a.nClasses > 2 ? ' (macro-averaged one-vs-rest AUC)' : ''}; range in brackets. Fractions are of the training set; validation and test sets are fixed.`,
    head: ['Model', 'Training fraction', 'Cohort', 'Folds', 'AUC (mean ± SD)', 'Range'],
    rows: a.groups.map((g) => [prettyModel(g.model), pct(g.frac), cohortName(g.cohort), String(g.folds.length), `${fmt(g.auc.mean)} ± ${fmt(g.auc.sd)}`, `${fmt(g.auc.min)}–${fmt(g.auc.max)}`]),
    csvHead: ['model', 'frac', 'cohort', 'n_folds', 'auc_mean', 'auc_sd', 'auc_min', 'auc_max'],
    csvRows: a.groups.map((g) => [g.model, g.frac, g.cohort, g.folds.length, g.auc.mean, g.auc.sd, g.auc.min, g.auc.max]),
  });
  if (inp.ensembles.length) {
    const ens = [...inp.ensembles].sort((x, y) => (x.cohort < y.cohort ? -1 : x.cohort > y.cohort ? 1 : a.models.indexOf(x.model) - a.models.indexOf(y.model) || y.frac - x.frac));
    t.push({
      id: 'ensemble_auc',
      title: 'Ensemble AUC on independent cohorts',
      caption: 'Ensemble = mean predicted probability of the fold models. 95 % confidence interval by DeLong (binary) or as stated.',
      head: ['Cohort', 'Model', 'Training fraction', 'Slides', 'AUC', '95 % CI', 'Accuracy', 'Balanced accuracy'],
      rows: ens.map((e) => [e.cohort, prettyModel(e.model), pct(e.frac), e.n === undefined ? '–' : String(e.n), fmt(e.auc), e.ci ? `${fmt(e.ci[0])}–${fmt(e.ci[1])}` : '–', fmt(e.accuracy), fmt(e.balancedAccuracy)]),
      csvHead: ['cohort', 'model', 'frac', 'n', 'auc', 'ci_low', 'ci_high', 'ci_method', 'accuracy', 'balanced_accuracy'],
      csvRows: ens.map((e) => [e.cohort, e.model, e.frac, e.n, e.auc, e.ci?.[0], e.ci?.[1], e.ciMethod ?? 'delong', e.accuracy, e.balancedAccuracy]),
    });
  }
  if (a.comparisons.length)
    t.push({
      id: 'model_differences',
      title: 'Paired AUC differences between models',
      caption:
        'Per-fold test AUC difference (first − second model) on identical test slides. p (t): paired t-test over folds; p (Wilcoxon): exact signed-rank test over folds; DeLong: folds whose paired DeLong test is significant at 0.05; ensemble: paired DeLong test of the two fold-model ensembles on the same slides (independent cohorts). Monte Carlo folds share cases, so fold-level p-values are optimistic.',
      head: ['Comparison', 'Training fraction', 'Cohort', 'Folds', 'Mean difference ± SD', '95 % CI', 'p (t)', 'p (Wilcoxon)', 'Folds first better', 'DeLong p < 0.05', 'Ensemble ΔAUC (DeLong p)'],
      rows: a.comparisons.map((c) => {
        const dl = c.perFold.filter((f) => f.delongP !== undefined);
        return [
          `${prettyModel(c.a)} − ${prettyModel(c.b)}`,
          pct(c.frac),
          cohortName(c.cohort),
          String(c.test.n),
          `${fmt(c.test.meanDiff)} ± ${fmt(c.test.sdDiff)}`,
          `${fmt(c.test.ci[0])} to ${fmt(c.test.ci[1])}`,
          fmtP(c.test.tP),
          fmtP(c.test.wilcoxonP),
          `${c.perFold.filter((f) => f.diff > 0).length} / ${c.perFold.length}`,
          dl.length ? `${dl.filter((f) => f.delongP! < 0.05).length} / ${dl.length}` : '–',
          c.ensemble?.diff !== undefined ? `${fmt(c.ensemble.diff)} (p ${fmtP(c.ensemble.p)})` : '–',
        ];
      }),
      csvHead: ['a', 'b', 'frac', 'cohort', 'n_folds', 'mean_diff', 'sd_diff', 'ci_low', 'ci_high', 'p_paired_t', 'p_wilcoxon', 'folds_a_better', 'folds_delong_significant', 'ensemble_diff', 'ensemble_delong_p'],
      csvRows: a.comparisons.map((c) => [c.a, c.b, c.frac, c.cohort, c.test.n, c.test.meanDiff, c.test.sdDiff, c.test.ci[0], c.test.ci[1], c.test.tP, c.test.wilcoxonP, c.perFold.filter((f) => f.diff > 0).length, c.perFold.filter((f) => f.delongP !== undefined && f.delongP < 0.05).length, c.ensemble?.diff, c.ensemble?.p]),
    });
  t.push({
    id: 'accuracy',
    title: 'Accuracy and balanced accuracy',
    caption: 'Mean ± standard deviation over folds at the predicted class (argmax). Balanced accuracy = mean per-class recall, robust to class imbalance.',
    head: ['Model', 'Training fraction', 'Cohort', 'Accuracy', 'Balanced accuracy'],
    rows: a.groups.map((g) => [prettyModel(g.model), pct(g.frac), cohortName(g.cohort), `${fmt(g.accuracy.mean)} ± ${fmt(g.accuracy.sd)}`, `${fmt(g.balancedAccuracy.mean)} ± ${fmt(g.balancedAccuracy.sd)}`]),
    csvHead: ['model', 'frac', 'cohort', 'accuracy_mean', 'accuracy_sd', 'balanced_accuracy_mean', 'balanced_accuracy_sd'],
    csvRows: a.groups.map((g) => [g.model, g.frac, g.cohort, g.accuracy.mean, g.accuracy.sd, g.balancedAccuracy.mean, g.balancedAccuracy.sd]),
  });
  // An empty table (e.g. nothing evaluated yet) says nothing; the run summary explains why.
  return t.filter((x) => x.rows.length > 0);
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
