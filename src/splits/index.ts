// Splits: generate (clam | nested) or import CLAM split directories, write CLAM files and
// the leakage report. Shared by the `splits` stage and the `milflow splits` verb.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSplits } from './generate.ts';
import { listSplitFiles, readSplitsCsv, writeClamSplits } from './files.ts';
import { assertNoLeakage, leakageReport, type LeakageReport } from './leakage.ts';
import type { FoldSplit, SlideRow, SplitMode, SplitOptions } from './types.ts';

export * from './types.ts';
export { readBagPaths, readDatasetDir, readClamCsv } from './dataset.ts';
export { readSplitsCsv, listSplitFiles } from './files.ts';
export { RandomState, roundHalfEven } from './mt19937.ts';

export interface MakeSplitsArgs extends SplitOptions {
  mode: SplitMode;
  slides: SlideRow[];
  classes: string[];
  /** mode import: a CLAM split directory. */
  importDir?: string;
  /** mode import: the split files themselves (splits_0.csv, … in fold order); wins over importDir. */
  importFiles?: string[];
}

export function makeSplits(a: MakeSplitsArgs): FoldSplit[] {
  if (a.mode === 'import' && a.importFiles) return a.importFiles.map((f) => readSplitsCsv(f));
  if (a.mode === 'import') {
    if (!a.importDir) throw new Error('splits mode import needs import_dir');
    const files = listSplitFiles(a.importDir);
    const folds = files.map((f) => readSplitsCsv(f));
    // A directory may hold more folds than asked for (the first ones are used), never fewer:
    // downstream train/evaluate stages exist for every requested fold.
    if (a.folds && a.folds > folds.length) {
      throw new Error(`${a.importDir}: holds ${folds.length} split file(s), the experiment asks for ${a.folds} folds`);
    }
    return a.folds ? folds.slice(0, a.folds) : folds;
  }
  return generateSplits(a.slides, a.classes, a, a.mode);
}

/** Writes the three CLAM files per fold and leakage.json; throws on leakage. */
export function writeSplits(outDir: string, folds: FoldSplit[], slides: SlideRow[], classes: string[], where: string): { files: string[]; leakage: LeakageReport } {
  mkdirSync(outDir, { recursive: true });
  const leakage = leakageReport(folds, slides);
  writeFileSync(join(outDir, 'leakage.json'), JSON.stringify(leakage, null, 2) + '\n');
  assertNoLeakage(leakage, where);
  const files = writeClamSplits(outDir, folds, slides, classes);
  return { files: [...files, 'leakage.json'], leakage };
}
