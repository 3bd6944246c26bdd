// Stage `splits` (identity splits/frac=<f>): case-level stratified folds for one training
// fraction, CLAM file layout, plus leakage.json. See src/splits and CONTRACTS.md.
import type { StageKind } from '../types/stage.ts';
import { makeSplits, readDatasetDir, writeSplits, type PatientVoting, type SplitMode } from '../splits/index.ts';

export interface SplitsParams {
  mode?: SplitMode;
  folds?: number;
  val_frac?: number;
  test_frac?: number;
  seed?: number;
  /** Training fraction in (0, 1]. */
  frac?: number;
  /** Case label rule; default max for binary, maj for multi-class (CLAM's task_1 / task_2). */
  voting?: PatientVoting;
  /** mode import: CLAM split dir, or map frac → dir (an `import_dir` external wins). */
  import_dir?: string | Record<string, string>;
}

/** The imported split files the DAG declared (split_0, split_1, …), in fold order. */
function importFiles(ext: Record<string, string>): string[] | undefined {
  const ks = Object.keys(ext).map((k) => /^split_(\d+)$/.exec(k)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1])).sort((a, b) => a - b);
  return ks.length ? ks.map((k) => ext[`split_${k}`]) : undefined;
}

function importDir(p: SplitsParams, ext: Record<string, string>, frac: number): string | undefined {
  if (ext.import_dir) return ext.import_dir;
  const d = p.import_dir;
  if (typeof d === 'string' || d === undefined) return d;
  const hit = Object.entries(d).find(([k]) => Number(k) === frac);
  if (!hit) throw new Error(`splits: import_dir has no directory for training fraction ${frac} (has ${Object.keys(d).join(', ')})`);
  return hit[1];
}

const stage: StageKind<SplitsParams> = {
  kind: 'splits',
  async run(p, ctx) {
    const ds = ctx.inputs.dataset;
    if (!ds) throw new Error(`${ctx.id}: missing input 'dataset'`);
    const { slides, classes } = readDatasetDir(ds.dir);
    const mode = p.mode ?? 'nested';
    const frac = p.frac ?? 1;
    const folds = makeSplits({
      mode, slides, classes,
      // import: as many folds as the directory holds unless the spec says how many.
      folds: p.folds ?? (mode === 'import' ? 0 : 10),
      valFrac: p.val_frac ?? 0.1,
      testFrac: p.test_frac ?? 0.1,
      labelFrac: frac,
      seed: p.seed ?? 1,
      voting: p.voting,
      importFiles: mode === 'import' ? importFiles(ctx.externals) : undefined,
      importDir: mode === 'import' && !importFiles(ctx.externals) ? importDir(p, ctx.externals, frac) : undefined,
    });
    const { leakage } = writeSplits(ctx.outDir, folds, slides, classes, ctx.id);
    ctx.log(`${mode} splits: ${folds.length} folds, ${slides.length} slides; ` +
      `${leakage.test_overlap.cases_in_several_test_sets} cases in several test sets (Monte Carlo CV, informational)`);
    const pf = leakage.per_fold;
    const mean = (k: 'train_slides' | 'val_slides' | 'test_slides') => pf.reduce((s, r) => s + r[k], 0) / pf.length;
    return {
      metrics: { folds: folds.length, train_slides_mean: mean('train_slides'), val_slides_mean: mean('val_slides'), test_slides_mean: mean('test_slides') },
      summary: { mode, frac, classes, per_fold: pf as any },
    };
  },
};

export default stage;
