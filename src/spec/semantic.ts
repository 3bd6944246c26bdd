// Checks the schema cannot express: relations between fields, names that must refer to
// each other, and files that must exist. Runs on the spec after ajv filled the defaults.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseCsvRows } from '../io/csv.ts';
import { describeFeaturesDir, findFeatureFile } from '../datasets/feature-file.ts';
import { mapLabel } from '../datasets/labels.ts';
import { isAbsolute, resolve } from 'node:path';
import { didYouMean, showValue, type SpecPath } from './errors.ts';
import type { Issue } from './schema.ts';
import { heatmapIssues } from './heatmaps.ts';

export interface SemanticOptions {
  /** Directory relative dataset paths are resolved against (the spec file's directory). */
  dir: string;
  /** Check that dataset files exist (default true). */
  checkFiles?: boolean;
  /** Filled by semanticIssues from the spec (for checking dataset CSV labels). */
  classes?: string[];
  labelMap?: Record<string, string | null>;
}

export function resolvePath(dir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dir, p);
}

export function semanticIssues(spec: any, opts: SemanticOptions): Issue[] {
  const issues: Issue[] = [];
  const add = (path: SpecPath, message: string) => issues.push({ path, message });
  const classes: string[] = Array.isArray(spec.task?.classes) ? spec.task.classes : [];
  const nClasses = classes.length;
  const lm = spec.task?.label_map;
  opts = { ...opts, classes, labelMap: lm && typeof lm === 'object' && !Array.isArray(lm) ? lm : undefined };

  // splits
  const s = spec.splits ?? {};
  if (typeof s.val_frac === 'number' && typeof s.test_frac === 'number' && s.val_frac + s.test_frac >= 1) {
    add(['splits', 'test_frac'], `val_frac + test_frac must be < 1 so that cases are left for training (got ${s.val_frac} + ${s.test_frac} = ${+(s.val_frac + s.test_frac).toFixed(6)})`);
  }
  if (s.mode === 'import' && s.import_dir === undefined) add(['splits', 'import_dir'], `is required when mode is 'import'`);
  if (s.mode !== 'import' && s.import_dir !== undefined) add(['splits', 'import_dir'], `is only used with mode: import (mode is '${s.mode}')`);
  if (s.mode === 'import' && s.import_dir !== undefined && opts.checkFiles !== false) {
    const dirs: [SpecPath, unknown][] = typeof s.import_dir === 'string'
      ? [[['splits', 'import_dir'], s.import_dir]]
      : Object.entries(s.import_dir).map(([k, v]) => [['splits', 'import_dir', k], v]);
    for (const [p, d] of dirs) {
      if (typeof d !== 'string') add(p, `must be a directory path, got ${showValue(d)}`);
      else checkExists(p, d, 'dir', opts, add);
    }
  }

  // The output root holds runs/<name>/ beside runs/cache/: a run directory must not be the cache.
  if (spec.name === 'cache') add(['name'], `'cache' is the output root's cache directory; choose another name`);

  // task
  const t = spec.task ?? {};
  if (t.label_map && typeof t.label_map === 'object') {
    for (const [from, to] of Object.entries(t.label_map)) {
      if (to === null || typeof to !== 'string' || classes.includes(to)) continue; // non-strings: the schema said so
      const guess = didYouMean(String(to), classes);
      add(['task', 'label_map', from], `maps '${from}' to '${to}', which is not a class (classes: ${classes.join(', ')})` + (guess ? `; did you mean '${guess}'?` : ''));
    }
  }

  // models
  const models: any[] = Array.isArray(spec.models) ? spec.models : [];
  const firstIndex = new Map<string, number>();
  models.forEach((m, i) => {
    if (!m || typeof m !== 'object') return;
    if (typeof m.name === 'string') {
      if (firstIndex.has(m.name)) add(['models', i, 'name'], `duplicate model name '${m.name}' (also models[${firstIndex.get(m.name)}]); names must be unique`);
      else firstIndex.set(m.name, i);
    }
    if (m.c1 === 0 && m.c2 === 0) add(['models', i, 'c2'], `c1 and c2 are both 0: the model would learn nothing (the paper uses c1 0.7, c2 0.3)`);
    if (m.type === 'mil' && nClasses > 2) {
      add(['models', i, 'type'], `'mil' is binary max-pooling MIL; this task has ${nClasses} classes (${classes.join(', ')}): use 'mmil'`);
    }
    if ((m.type === 'mmil' || m.type === 'clam_mb') && nClasses < 2) add(['models', i, 'type'], `'${m.type}' needs at least 2 classes`);
  });

  // train
  const tr = spec.train ?? {};
  if (typeof tr.min_epochs === 'number' && typeof tr.max_epochs === 'number' && tr.min_epochs > tr.max_epochs) {
    add(['train', 'min_epochs'], `min_epochs (${tr.min_epochs}) is larger than max_epochs (${tr.max_epochs}); early stopping could never act (min_epochs defaults to 50, max_epochs to 200)`);
  }

  // evaluate
  const ev = spec.evaluate ?? {};
  const names = [...firstIndex.keys()];
  if (Array.isArray(ev.compare)) {
    ev.compare.forEach((pair: unknown, i: number) => {
      if (!Array.isArray(pair)) return;
      pair.forEach((n, j) => {
        if (typeof n === 'string' && !firstIndex.has(n)) {
          const guess = didYouMean(n, names);
          add(['evaluate', 'compare', i, j], `no model named '${n}' (models: ${names.join(', ')})` + (guess ? `; did you mean '${guess}'?` : ''));
        }
      });
      if (pair.length === 2 && pair[0] === pair[1]) add(['evaluate', 'compare', i], `compares '${pair[0]}' with itself`);
    });
  }
  const cohorts: any[] = Array.isArray(ev.cohorts) ? ev.cohorts : [];
  const cohortIdx = new Map<string, number>();
  cohorts.forEach((c, i) => {
    if (!c || typeof c !== 'object') return;
    if (c.name === 'test') add(['evaluate', 'cohorts', i, 'name'], `'test' is reserved for each fold's own test set; choose another name`);
    else if (cohortIdx.has(c.name)) add(['evaluate', 'cohorts', i, 'name'], `duplicate cohort name '${c.name}' (also cohorts[${cohortIdx.get(c.name)}])`);
    else cohortIdx.set(c.name, i);
    if (c.dataset) datasetIssues(c.dataset, ['evaluate', 'cohorts', i, 'dataset'], nClasses, opts, add);
  });

  if (spec.dataset) datasetIssues(spec.dataset, ['dataset'], nClasses, opts, add);
  heatmapIssues(spec, (p) => resolvePath(opts.dir, p), add);
  return issues;
}

/** Bounds on a synthetic dataset: far above the paper's scale, far below an out-of-memory abort. */
export const MAX_SYNTHETIC_SLIDES = 10_000_000;
export const MAX_SYNTHETIC_BYTES = 2 ** 41; // 2 TiB of float32 features
const fmtCount = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} billion` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} million` : String(Math.round(n)));

function datasetIssues(d: any, at: SpecPath, nClasses: number, opts: SemanticOptions, add: (p: SpecPath, m: string) => void) {
  if (d.synthetic) {
    const s = d.synthetic;
    const p = [...at, 'synthetic'];
    if (s.n_classes !== undefined && s.n_classes !== nClasses) add([...p, 'n_classes'], `must equal the number of task classes (${nClasses}) (got ${s.n_classes}); leave it out to use that`);
    for (const k of ['slides_per_case', 'bag_size', 'tumour_fraction']) {
      const r = s[k];
      if (Array.isArray(r) && r.length === 2 && r[0] > r[1]) add([...p, k], `is [min, max]: min must be ≤ max (got [${r[0]}, ${r[1]}])`);
    }
    // Absurd sizes fail here, in milliseconds, not as an out-of-memory abort minutes into a run.
    const mean = (r: unknown, dflt: number) => (Array.isArray(r) && r.length === 2 ? (Number(r[0]) + Number(r[1])) / 2 : dflt);
    const cases = Number.isFinite(s.cases) ? s.cases : 120;
    const slides = cases * mean(s.slides_per_case, 2);
    const bytes = slides * mean(s.bag_size, 225) * (Number.isFinite(s.dim) ? s.dim : 64) * 4;
    if (slides > MAX_SYNTHETIC_SLIDES) add([...p, 'cases'], `${cases} cases make about ${fmtCount(slides)} slides (more than ${fmtCount(MAX_SYNTHETIC_SLIDES)}); use fewer cases`);
    else if (bytes > MAX_SYNTHETIC_BYTES) add([...p, 'cases'], `this synthetic dataset would hold about ${(bytes / 2 ** 40).toFixed(1)} TiB of features (more than ${MAX_SYNTHETIC_BYTES / 2 ** 40} TiB); use fewer cases, smaller bags or a lower dim`);
  }
  if (d.clam) {
    const okCsv = checkExists([...at, 'clam', 'csv'], d.clam.csv, 'file', opts, add);
    const okDir = checkExists([...at, 'clam', 'features_dir'], d.clam.features_dir, 'dir', opts, add);
    if (okCsv && okDir) {
      const csvAbs = resolvePath(opts.dir, d.clam.csv);
      for (const m of clamCsvProblems(csvAbs, resolvePath(opts.dir, d.clam.features_dir), opts.classes ?? [], opts.labelMap)) add([...at, 'clam', 'csv'], m);
    }
  }
  if (d.mil_csv) checkExists([...at, 'mil_csv', 'csv'], d.mil_csv.csv, 'file', opts, add);
  if (d.wsi) {
    const w = d.wsi;
    if (!w.encoder) add([...at, 'wsi'], `needs an encoder section (onnx, dim): features are extracted with an ONNX model`);
    checkExists([...at, 'wsi', 'csv'], w.csv, 'file', opts, add);
    if (w.process_list !== undefined) checkExists([...at, 'wsi', 'process_list'], w.process_list, 'file', opts, add);
    if (w.encoder?.onnx !== undefined) checkExists([...at, 'wsi', 'encoder', 'onnx'], w.encoder.onnx, 'file', opts, add);
    if (typeof w.preset === 'string' && /\.csv$/i.test(w.preset)) checkExists([...at, 'wsi', 'preset'], w.preset, 'file', opts, add);
  }
}

/** True when the file checks ran and passed. */
function checkExists(path: SpecPath, p: unknown, kind: 'file' | 'dir', opts: SemanticOptions, add: (p: SpecPath, m: string) => void): boolean {
  if (opts.checkFiles === false || typeof p !== 'string') return false;
  const abs = resolvePath(opts.dir, p);
  const shown = abs === p ? p : `${p} (resolved to ${abs})`;
  if (!existsSync(abs)) {
    add(path, `${kind === 'dir' ? 'directory' : 'file'} not found: ${shown}`);
    return false;
  }
  const st = statSync(abs);
  if (kind === 'dir' && !st.isDirectory()) {
    add(path, `must be a directory, but is a file: ${shown}`);
    return false;
  }
  if (kind === 'file' && st.isDirectory()) {
    add(path, `must be a file, but is a directory: ${shown}`);
    return false;
  }
  // A FIFO or device would block the reader forever (and with it the run's signal handling).
  if (kind === 'file' && !st.isFile()) {
    add(path, `must be a regular file, but is a ${st.isFIFO() ? 'named pipe (FIFO)' : st.isSocket() ? 'socket' : 'device or special file'}: ${shown}`);
    return false;
  }
  return true;
}

/**
 * The CLAM CSV's own problems, found before anything runs: header, labels that are neither a
 * class nor mapped, slides without a feature file. Each names the CSV line; at most 5 of a kind.
 */
function clamCsvProblems(csv: string, featuresDir: string, classes: string[], labelMap: Record<string, string | null> | undefined): string[] {
  let rows;
  try {
    rows = parseCsvRows(readFileSync(csv, 'utf8'), csv);
  } catch (e) {
    return [`cannot read ${csv} (${(e as Error).message})`];
  }
  if (rows.length === 0) return [`${csv} is empty (expected a header case_id,slide_id,label)`];
  const header = rows[0].fields.map((h) => h.trim());
  const missing = ['case_id', 'slide_id', 'label'].filter((c) => !header.includes(c));
  if (missing.length) return [`${csv}:${rows[0].line}: header lacks ${missing.join(', ')} (found: ${header.join(', ')})`];
  const si = header.indexOf('slide_id');
  const li = header.indexOf('label');
  const badLabels: string[] = [];
  const noFile: string[] = [];
  let nBadLabels = 0;
  let nNoFile = 0;
  for (const { line, fields } of rows.slice(1)) {
    const label = (fields[li] ?? '').trim();
    const lab = mapLabel(label, classes, labelMap);
    if (!lab.ok) {
      if (!lab.dropped && nBadLabels++ < 5) badLabels.push(`${csv}:${line}: ${lab.message}`);
      continue;
    }
    const slide = (fields[si] ?? '').trim();
    if (slide && !findFeatureFile(featuresDir, slide) && nNoFile++ < 5) noFile.push(`${csv}:${line}: slide '${slide}' has no feature file in ${featuresDir} (h5_files/${slide}.h5, ${slide}.h5, pt_files/${slide}.pt or ${slide}.pt)`);
  }
  if (nBadLabels > 5) badLabels.push(`... and ${nBadLabels - 5} more rows with labels that are not classes`);
  if (nNoFile > 5) noFile.push(`... and ${nNoFile - 5} more slides without a feature file`);
  if (nNoFile) noFile.push(`${featuresDir}: ${describeFeaturesDir(featuresDir)}`);
  return [...badLabels, ...noFile];
}
