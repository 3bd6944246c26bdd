// splits.mode: import, checked when the spec is loaded (so `validate` says what `run` will do):
// the number of folds and the training fractions are read from the split directories when the
// spec does not state them, and a spec that states them differently is an error naming the
// directory and what it holds. Runs after the schema filled its defaults; `raw` is the spec as
// written, to tell a stated value from a default.
import { existsSync, statSync } from 'node:fs';
import { listSplitFiles } from '../splits/files.ts';
import { resolvePath } from './semantic.ts';
import type { Issue } from './schema.ts';

/** The directory of one training fraction in a map written as { "1.0": dir, "0.5": dir }, matched by value. */
export function importDirFor(importDir: string | Record<string, string>, frac: number): string | undefined {
  if (typeof importDir === 'string') return importDir;
  return Object.entries(importDir).find(([k]) => Number(k) === frac)?.[1];
}

export function splitImportIssues(data: any, raw: any, specDir: string, checkFiles = true): Issue[] {
  const s = data?.splits;
  if (!s || s.mode !== 'import' || s.import_dir === undefined || !checkFiles) return [];
  const issues: Issue[] = [];
  const stated = raw?.splits ?? {};
  const dirs: { key: string | null; frac: number; dir: string }[] = [];
  if (typeof s.import_dir === 'string') dirs.push({ key: null, frac: 1, dir: s.import_dir });
  else if (s.import_dir && typeof s.import_dir === 'object') {
    for (const [k, v] of Object.entries(s.import_dir)) {
      const f = Number(k);
      if (!(f > 0 && f <= 1)) { issues.push({ path: ['splits', 'import_dir', k], message: `'${k}' is not a training fraction in (0, 1]`, atKey: true }); continue; }
      if (typeof v === 'string') dirs.push({ key: k, frac: f, dir: v });
    }
  }
  const counts: { key: string | null; frac: number; dir: string; folds: number }[] = [];
  for (const d of dirs) {
    const abs = resolvePath(specDir, d.dir);
    if (!existsSync(abs) || !statSync(abs).isDirectory()) continue; // semanticIssues says so
    try {
      counts.push({ ...d, folds: listSplitFiles(abs).length });
    } catch (e) {
      issues.push({ path: d.key === null ? ['splits', 'import_dir'] : ['splits', 'import_dir', d.key], message: (e as Error).message });
    }
  }
  if (issues.length || counts.length === 0) return issues;

  // Training fractions: a map's keys; a single directory is one fraction (1.0 unless stated).
  if (typeof s.import_dir === 'string') {
    if (Array.isArray(stated.training_fractions) && stated.training_fractions.length > 1) {
      issues.push({ path: ['splits', 'training_fractions'], message: `lists ${stated.training_fractions.length} fractions, but import_dir is one directory (one set of splits): give a map from fraction to directory, e.g. import_dir: { 1.0: splits_100, 0.5: splits_50 }` });
    }
  } else if (Array.isArray(stated.training_fractions)) {
    const have = counts.map((c) => c.frac);
    const missing = (stated.training_fractions as number[]).filter((f) => !have.includes(f));
    const extra = counts.filter((c) => !(stated.training_fractions as number[]).includes(c.frac));
    if (missing.length) issues.push({ path: ['splits', 'training_fractions'], message: `lists ${missing.join(', ')}, for which import_dir has no directory (it has ${have.join(', ')})` });
    for (const c of extra) issues.push({ path: ['splits', 'import_dir', c.key!], message: `a directory for training fraction ${c.key}, which training_fractions (${stated.training_fractions.join(', ')}) does not list` });
  } else {
    s.training_fractions = counts.map((c) => c.frac);
  }

  // Folds: what the directories hold; a directory may hold more (the first ones are used).
  const where = (c: (typeof counts)[number]) => `${c.dir}${c.key === null ? '' : ` (fraction ${c.key})`} holds ${c.folds} split file${c.folds === 1 ? '' : 's'}`;
  if (typeof stated.folds === 'number') {
    for (const c of counts) {
      if (c.folds < stated.folds) issues.push({ path: ['splits', 'folds'], message: `asks for ${stated.folds} folds, but ${where(c)} (splits_0.csv … splits_${c.folds - 1}.csv)` });
    }
  } else {
    const n = new Set(counts.map((c) => c.folds));
    if (n.size > 1) {
      issues.push({ path: ['splits', 'import_dir'], message: `the split directories hold different numbers of folds: ${counts.map(where).join('; ')}; set splits.folds to use the first ${Math.min(...counts.map((c) => c.folds))} of each` });
    } else {
      s.folds = counts[0].folds;
    }
  }
  return issues;
}
