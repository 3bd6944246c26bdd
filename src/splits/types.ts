/** One slide as the splits see it (from the dataset stage's slides.csv). */
export interface SlideRow {
  case_id: string;
  slide_id: string;
  /** Class index in task.classes order. */
  label_index: number;
}

/** Slide ids per set, in file order. */
export interface FoldSplit {
  train: string[];
  val: string[];
  test: string[];
}

export type SplitMode = 'clam' | 'nested' | 'import';
export type PatientVoting = 'max' | 'maj';

export interface SplitOptions {
  folds: number;
  valFrac: number;
  testFrac: number;
  /** Training fraction in (0, 1]. */
  labelFrac: number;
  seed: number;
  /** Case label from its slides: max (binary, MIL convention) or majority (multi-class). */
  voting?: PatientVoting;
}
