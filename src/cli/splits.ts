// `milflow splits`: CLAM-format split files for a CLAM dataset CSV, without an experiment.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { UsageError } from '../errors.ts';

export function register(program: Command): void {
  program
    .command('splits')
    .description('Write case-level, class-stratified splits (splits_<k>.csv, _bool.csv, _descriptor.csv, leakage.json)')
    .requiredOption('--csv <file>', 'dataset CSV with case_id, slide_id, label')
    .option('--mode <mode>', 'clam (identical to CLAM create_splits_seq.py) | nested | import', 'nested')
    .option('--folds <k>', 'number of folds (default 10; with --mode import: all folds in the directory)')
    .option('--seed <n>', 'random seed', '1')
    .option('--label-frac <f>', 'training fraction in (0, 1]', '1')
    .option('--val-frac <f>', 'validation fraction per class', '0.1')
    .option('--test-frac <f>', 'test fraction per class', '0.1')
    .option('--classes <list>', 'class names in label-index order, comma-separated (default: sorted labels)')
    .option('--voting <rule>', 'case label from its slides: max | maj (default: max for 2 classes, else maj)')
    .option('--import-dir <dir>', 'with --mode import: an existing CLAM split directory to check and rewrite')
    .requiredOption('--out <dir>', 'output directory')
    .action(async (o) => {
      const { makeSplits, readClamCsv, writeSplits } = await import('../splits/index.ts');
      const num = (v: string, name: string) => {
        const x = Number(v);
        if (!Number.isFinite(x)) throw new UsageError(`--${name}: '${v}' is not a number`);
        return x;
      };
      if (!['clam', 'nested', 'import'].includes(o.mode)) throw new UsageError(`--mode must be clam, nested or import (got '${o.mode}')`);
      if (o.voting && !['max', 'maj'].includes(o.voting)) throw new UsageError(`--voting must be max or maj`);
      const { slides, classes } = readClamCsv(resolve(o.csv), o.classes ? String(o.classes).split(',') : undefined);
      const folds = makeSplits({
        mode: o.mode, slides, classes,
        folds: o.folds !== undefined ? num(o.folds, 'folds') : o.mode === 'import' ? 0 : 10, seed: num(o.seed, 'seed'), labelFrac: num(o.labelFrac, 'label-frac'),
        valFrac: num(o.valFrac, 'val-frac'), testFrac: num(o.testFrac, 'test-frac'),
        voting: o.voting, importDir: o.importDir ? resolve(o.importDir) : undefined,
      });
      const out = resolve(o.out);
      const { leakage } = writeSplits(out, folds, slides, classes, o.csv);
      const pf = leakage.per_fold[0];
      console.log(`${o.mode} splits: ${folds.length} folds × 3 files in ${out} (classes: ${classes.join(', ')})`);
      console.log(`fold 0: ${pf.train_cases}/${pf.val_cases}/${pf.test_cases} cases, ${pf.train_slides}/${pf.val_slides}/${pf.test_slides} slides (train/val/test)`);
      console.log(`leakage: none within folds; ${leakage.test_overlap.cases_in_several_test_sets} cases are in more than one fold's test set (Monte Carlo CV, expected) — see leakage.json`);
    });
}
