// CLAM split files: splits_<k>.csv (pandas concat of three Series: index, then one column
// per set, shorter columns padded with empty cells), splits_<k>_bool.csv (one row per
// slide, one-hot True/False) and splits_<k>_descriptor.csv (slide counts per class).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvField, parseCsv } from '../io/csv.ts';
import type { FoldSplit, SlideRow } from './types.ts';

const SETS = ['train', 'val', 'test'] as const;

export function splitsCsv(s: FoldSplit): string {
  const n = Math.max(s.train.length, s.val.length, s.test.length);
  let out = ',train,val,test\n';
  for (let i = 0; i < n; i++) {
    out += `${i},${SETS.map((k) => (i < s[k].length ? csvField(s[k][i]) : '')).join(',')}\n`;
  }
  return out;
}

export function boolCsv(s: FoldSplit): string {
  let out = ',train,val,test\n';
  SETS.forEach((k, j) => {
    const flags = SETS.map((_, m) => (m === j ? 'True' : 'False')).join(',');
    for (const id of s[k]) out += `${csvField(id)},${flags}\n`;
  });
  return out;
}

/**
 * Slide counts per class and set. CLAM fills row u with the u-th *present* label's count
 * (np.unique order), so a class absent from a set shifts the rows below it; kept as is
 * because the files must be CLAM's, and flagged by `descriptorShifted`.
 */
export function descriptorCsv(s: FoldSplit, labelOf: Map<string, number>, classes: string[]): string {
  const table = classes.map(() => [0, 0, 0]);
  SETS.forEach((k, j) => {
    const counts = new Map<number, number>();
    for (const id of s[k]) {
      const l = labelOf.get(id);
      if (l === undefined) throw new Error(`split refers to slide '${id}', which is not in the dataset`);
      counts.set(l, (counts.get(l) ?? 0) + 1);
    }
    [...counts.keys()].sort((a, b) => a - b).forEach((l, u) => (table[u][j] = counts.get(l)!));
  });
  return ',train,val,test\n' + classes.map((c, i) => `${csvField(c)},${table[i].join(',')}\n`).join('');
}

export function writeClamSplits(dir: string, folds: FoldSplit[], slides: SlideRow[], classes: string[]): string[] {
  const labelOf = new Map(slides.map((s) => [s.slide_id, s.label_index]));
  const files: string[] = [];
  folds.forEach((f, k) => {
    const w = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      files.push(name);
    };
    w(`splits_${k}.csv`, splitsCsv(f));
    w(`splits_${k}_bool.csv`, boolCsv(f));
    w(`splits_${k}_descriptor.csv`, descriptorCsv(f, labelOf, classes));
  });
  return files;
}

/** Reads splits_<k>.csv (CLAM layout) into slide-id lists. */
export function readSplitsCsv(file: string): FoldSplit {
  const t = parseCsv(readFileSync(file, 'utf8'), file);
  const cols = SETS.map((k) => {
    const j = t.header.indexOf(k);
    if (j < 0) throw new Error(`${file}: missing column '${k}' (found: ${t.header.join(', ')})`);
    return j;
  });
  const out: FoldSplit = { train: [], val: [], test: [] };
  SETS.forEach((k, m) => {
    for (const r of t.rows) if (r[cols[m]] !== '') out[k].push(r[cols[m]]);
  });
  return out;
}

/** Fold files splits_0.csv .. splits_{K-1}.csv of a CLAM split directory, in fold order. */
export function listSplitFiles(dir: string): string[] {
  const ks = readdirSync(dir)
    .map((f) => /^splits_(\d+)\.csv$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (ks.length === 0) throw new Error(`${dir}: no splits_<k>.csv files`);
  ks.forEach((k, i) => {
    if (k !== i) throw new Error(`${dir}: split files are not numbered 0..${ks.length - 1} (missing splits_${i}.csv)`);
  });
  return ks.map((k) => join(dir, `splits_${k}.csv`));
}
