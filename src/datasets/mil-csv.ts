// Classic MIL benchmark CSVs (Musk1, Musk2, Elephant, Fox, Tiger): one row per instance,
// columns bag_label, bag_id, f1..fE, with or without a header row. Labels 0/1 or -1/1 (or any
// label task.label_map maps). Each bag becomes one slide of its own case.
import { readFileSync } from 'node:fs';
import { parseCsvRows } from '../io/csv.ts';
import { mapLabel } from './labels.ts';
import { DatasetError, type Excluded } from './types.ts';

export interface MilBag {
  case_id: string;
  slide_id: string;
  label: string;
  label_index: number;
  n: number;
  dim: number;
  features: Float32Array;
}

export interface MilCsvSource {
  csv: string;
  classes: string[];
  label_map?: Record<string, string | null>;
}

function labelIndex(raw: string, classes: string[], labelMap: Record<string, string | null> | undefined): { index: number; cls: string } | null | string {
  const key = raw.trim();
  if (labelMap && Object.prototype.hasOwnProperty.call(labelMap, key)) {
    const r = mapLabel(key, classes, labelMap);
    return r.ok ? { index: r.index, cls: r.cls } : r.dropped ? null : r.message;
  }
  const v = Number(key);
  if (key !== '' && Number.isInteger(v)) {
    if (v === -1 && classes.length === 2) return { index: 0, cls: classes[0] };
    if (v >= 0 && v < classes.length) return { index: v, cls: classes[v] };
    return `label ${key} is not ${classes.length === 2 ? '0/1 or -1/1' : `an index 0..${classes.length - 1}`}`;
  }
  const r = mapLabel(key, classes, labelMap);
  return r.ok ? { index: r.index, cls: r.cls } : r.dropped ? null : r.message;
}

export function readMilCsv(src: MilCsvSource): { bags: MilBag[]; excluded: Excluded[]; dim: number } {
  let text: string;
  try {
    text = readFileSync(src.csv, 'utf8');
  } catch (e) {
    throw new DatasetError([`${src.csv}: cannot read (${(e as Error).message})`]);
  }
  let rows = parseCsvRows(text, src.csv);
  if (rows.length === 0) throw new DatasetError([`${src.csv}: empty file`]);
  // A header row has a non-numeric feature column (bag_label itself may be a word).
  const hasHeader = rows[0].fields.length > 2 && rows[0].fields.slice(2).some((f) => f.trim() !== '' && !Number.isFinite(Number(f)));
  if (hasHeader) rows = rows.slice(1);
  if (rows.length === 0) throw new DatasetError([`${src.csv}: no instance rows`]);
  const width = rows[0].fields.length;
  const dim = width - 2;
  if (dim < 1) throw new DatasetError([`${src.csv}:${rows[0].line}: expected bag_label, bag_id, f1..fE; got ${width} columns`]);

  const problems: string[] = [];
  const order: string[] = [];
  const groups = new Map<string, { firstLine: number; labelRaw: string; rows: Float32Array[] }>();
  for (const { line, fields } of rows) {
    const at = `${src.csv}:${line}`;
    if (fields.length !== width) {
      problems.push(`${at}: expected ${width} columns (as on line ${rows[0].line}), got ${fields.length}`);
      continue;
    }
    const bagId = fields[1].trim();
    if (!bagId) {
      problems.push(`${at}: empty bag_id`);
      continue;
    }
    const feat = new Float32Array(dim);
    let bad = -1;
    for (let j = 0; j < dim; j++) {
      const s = fields[j + 2].trim();
      const v = Number(s);
      if (s === '' || !Number.isFinite(v)) {
        bad = j;
        break;
      }
      feat[j] = v;
    }
    if (bad >= 0) {
      problems.push(`${at}: feature f${bad + 1} is not a number ('${fields[bad + 2]}')`);
      continue;
    }
    let g = groups.get(bagId);
    if (!g) {
      g = { firstLine: line, labelRaw: fields[0].trim(), rows: [] };
      groups.set(bagId, g);
      order.push(bagId);
    } else if (fields[0].trim() !== g.labelRaw) {
      problems.push(`${at}: bag '${bagId}' has label ${fields[0].trim()} here but ${g.labelRaw} on line ${g.firstLine}`);
      continue;
    }
    g.rows.push(feat);
  }
  const bags: MilBag[] = [];
  const excluded: Excluded[] = [];
  const ids = new Map<string, string>();
  for (const bagId of order) {
    const g = groups.get(bagId)!;
    const slide_id = `bag_${bagId.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
    if (ids.has(slide_id)) {
      problems.push(`${src.csv}:${g.firstLine}: bag ids '${ids.get(slide_id)}' and '${bagId}' both become slide id '${slide_id}'`);
      continue;
    }
    ids.set(slide_id, bagId);
    const lab = labelIndex(g.labelRaw, src.classes, src.label_map);
    if (lab === null) {
      excluded.push({ slide_id, reason: `label '${g.labelRaw}' mapped to null` });
      continue;
    }
    if (typeof lab === 'string') {
      problems.push(`${src.csv}:${g.firstLine}: bag '${bagId}': ${lab}`);
      continue;
    }
    const features = new Float32Array(g.rows.length * dim);
    g.rows.forEach((r, i) => features.set(r, i * dim));
    bags.push({ case_id: slide_id, slide_id, label: lab.cls, label_index: lab.index, n: g.rows.length, dim, features });
  }
  if (problems.length) throw new DatasetError(problems);
  return { bags, excluded, dim };
}
