// Reading the slide list: the dataset stage's slides.csv (+ dataset.json for class names),
// or a user's CLAM dataset CSV (case_id, slide_id, label) for the standalone CLI.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { column, parseCsv, toCsv } from '../io/csv.ts';
import type { SlideRow } from './types.ts';

export interface SlideList {
  slides: SlideRow[];
  classes: string[];
}

/** A dataset stage output directory (slides.csv, dataset.json). */
export function readDatasetDir(dir: string): SlideList {
  const file = join(dir, 'slides.csv');
  const t = parseCsv(readFileSync(file, 'utf8'), file);
  const ci = column(t, 'case_id', file);
  const si = column(t, 'slide_id', file);
  const li = column(t, 'label_index', file);
  const ni = t.header.indexOf('label');
  let classes: string[] | undefined;
  const meta = join(dir, 'dataset.json');
  if (existsSync(meta)) classes = JSON.parse(readFileSync(meta, 'utf8')).classes;
  const slides = t.rows.map((r, k) => {
    const l = Number(r[li]);
    if (!Number.isInteger(l) || l < 0) throw new Error(`${file}:${t.lines[k]}: label_index '${r[li]}' is not a class index`);
    return { case_id: r[ci], slide_id: r[si], label_index: l };
  });
  if (!classes) {
    // Without dataset.json, names come from the label column by index.
    const names: string[] = [];
    t.rows.forEach((r, k) => (names[slides[k].label_index] = ni >= 0 ? r[ni] : String(slides[k].label_index)));
    classes = Array.from(names, (n, i) => n ?? String(i));
  }
  checkUnique(slides, file);
  return { slides, classes };
}

/** One included slide as the dataset stage writes it. */
export interface DatasetRow {
  case_id: string;
  slide_id: string;
  label: string;
  label_index: number;
  n: number;
  /** Bag file, relative to the dataset directory or absolute. */
  path: string;
}

/**
 * Writes a dataset stage's directory layout (slides.csv, excluded.csv, dataset.json): the one
 * writer of what readDatasetDir reads. Returns dataset.json's content.
 */
export function writeDatasetDir(
  dir: string,
  d: { classes: string[]; dim: number; source: string; rows: DatasetRow[]; excluded: { slide_id: string; reason: string }[]; extra?: Record<string, unknown> },
) {
  const { classes, rows, excluded } = d;
  writeFileSync(join(dir, 'slides.csv'), toCsv(['case_id', 'slide_id', 'label', 'label_index', 'n', 'path'], rows.map((r) => [r.case_id, r.slide_id, r.label, r.label_index, r.n, r.path])));
  writeFileSync(join(dir, 'excluded.csv'), toCsv(['slide_id', 'reason'], excluded.map((e) => [e.slide_id, e.reason])));
  const counts = classes.map((_, c) => rows.filter((r) => r.label_index === c).length);
  const info = {
    classes,
    dim: d.dim,
    n_slides: rows.length,
    n_cases: new Set(rows.map((r) => r.case_id)).size,
    source: d.source,
    slides_per_class: Object.fromEntries(classes.map((c, i) => [c, counts[i]])),
    n_instances: rows.reduce((a, r) => a + r.n, 0),
    n_excluded: excluded.length,
    ...d.extra,
  };
  writeFileSync(join(dir, 'dataset.json'), JSON.stringify(info, null, 2) + '\n');
  return info;
}

/**
 * A CLAM dataset CSV. Classes: given order, else the CSV's label_index column, else the
 * sorted distinct labels (CLAM's task_1 label_dict is alphabetical too).
 */
export function readClamCsv(file: string, classes?: string[], labelMap?: Record<string, string>): SlideList {
  const t = parseCsv(readFileSync(file, 'utf8'), file);
  const ci = column(t, 'case_id', file);
  const si = column(t, 'slide_id', file);
  const li = column(t, 'label', file);
  const labels = t.rows.map((r) => labelMap?.[r[li]] ?? r[li]);
  const cls = classes ?? [...new Set(labels)].sort();
  const index = new Map(cls.map((c, i) => [c, i]));
  const slides = t.rows.map((r, k) => {
    const l = index.get(labels[k]);
    if (l === undefined) throw new Error(`${file}:${t.lines[k]}: label '${labels[k]}' is not one of ${cls.join(', ')}`);
    return { case_id: r[ci], slide_id: r[si], label_index: l };
  });
  checkUnique(slides, file);
  return { slides, classes: cls };
}

function checkUnique(slides: SlideRow[], file: string): void {
  const seen = new Set<string>();
  for (const s of slides) {
    if (seen.has(s.slide_id)) throw new Error(`${file}: slide_id '${s.slide_id}' appears twice`);
    seen.add(s.slide_id);
  }
}

/** slide_id → bag path of a dataset stage's output (relative paths resolve against its directory). */
export function readBagPaths(dir: string): Map<string, string> {
  const file = join(dir, 'slides.csv');
  const t = parseCsv(readFileSync(file, 'utf8'), file);
  const si = column(t, 'slide_id', file);
  const pi = column(t, 'path', file);
  return new Map(t.rows.map((r) => [r[si], isAbsolute(r[pi]) ? r[pi] : join(dir, r[pi])]));
}
