// Split generation. `clam` reproduces CLAM's create_splits_seq.py (generate_split with
// patient stratification); `nested` keeps CLAM's val/test draw (so val and test are the
// same for every training fraction) but takes each training subset as a prefix of a seeded
// random order of the remaining cases, so 10 % ⊂ 25 % ⊂ ... ⊂ 100 % and the small
// subsets are random rather than the lowest-sorted case ids.
import { RandomState, roundHalfEven } from './mt19937.ts';
import { caseTable, type CaseTable } from './cases.ts';
import type { FoldSplit, SlideRow, SplitOptions } from './types.ts';

export interface CaseFold {
  train: number[];
  val: number[];
  test: number[];
}

function checkOptions(o: SplitOptions): void {
  if (!(Number.isInteger(o.folds) && o.folds >= 1)) throw new Error(`folds must be a positive integer, got ${o.folds}`);
  if (!(o.labelFrac > 0 && o.labelFrac <= 1)) throw new Error(`training fraction must be in (0, 1], got ${o.labelFrac}`);
  if (!(o.valFrac >= 0 && o.testFrac >= 0 && o.valFrac + o.testFrac < 1)) {
    throw new Error(`val_frac + test_frac must be in [0, 1), got ${o.valFrac} + ${o.testFrac}`);
  }
}

function setdiff(sortedA: number[], drop: number[]): number[] {
  const d = new Set(drop);
  return sortedA.filter((x) => !d.has(x));
}

/** Per-class val/test sizes: round-half-even of n_c · frac, as numpy computes them. */
export function setSizes(cases: CaseTable, o: SplitOptions, classes: string[]): { val: number[]; test: number[] } {
  const val = cases.byClass.map((ids) => roundHalfEven(ids.length * o.valFrac));
  const test = cases.byClass.map((ids) => roundHalfEven(ids.length * o.testFrac));
  cases.byClass.forEach((ids, c) => {
    if (val[c] + test[c] > ids.length) {
      throw new Error(`class '${classes[c] ?? c}': ${ids.length} cases cannot fill val ${val[c]} + test ${test[c]}`);
    }
  });
  return { val, test };
}

/** Case-index folds. mode clam: training subset = first ceil(n·frac) of the sorted remainder. */
export function caseFolds(cases: CaseTable, o: SplitOptions, mode: 'clam' | 'nested', classes: string[] = []): CaseFold[] {
  checkOptions(o);
  const { val: valNum, test: testNum } = setSizes(cases, o, classes);
  const rs = new RandomState(o.seed);
  const folds: CaseFold[] = [];
  for (let k = 0; k < o.folds; k++) {
    const f: CaseFold = { train: [], val: [], test: [] };
    // The nested training order has its own stream so val/test stay CLAM's draw.
    const trainRs = mode === 'nested' ? new RandomState(nestedSeed(o.seed, k)) : null;
    for (let c = 0; c < cases.byClass.length; c++) {
      const possible = cases.byClass[c];
      const val = rs.choice(possible, valNum[c]);
      let remaining = setdiff(possible, val);
      f.val.push(...val);
      const test = rs.choice(remaining, testNum[c]);
      remaining = setdiff(remaining, test);
      f.test.push(...test);
      if (mode === 'clam') {
        f.train.push(...(o.labelFrac === 1 ? remaining : remaining.slice(0, Math.ceil(remaining.length * o.labelFrac))));
      } else {
        const order = trainRs!.permutation(remaining.length).map((i) => remaining[i]);
        const take = Math.ceil(remaining.length * o.labelFrac);
        f.train.push(...order.slice(0, take).sort((a, b) => a - b));
      }
    }
    folds.push(f);
  }
  return folds;
}

/** Seed of fold k's training-order stream in nested mode (any fixed injective-ish map will do). */
export function nestedSeed(seed: number, k: number): number {
  return ((seed >>> 0) * 1000003 + 7919 * (k + 1)) % 4294967296;
}

export function expandFold(cases: CaseTable, f: CaseFold): FoldSplit {
  const ex = (ids: number[]) => ids.flatMap((i) => cases.slides[i]);
  return { train: ex(f.train), val: ex(f.val), test: ex(f.test) };
}

export function generateSplits(
  slides: SlideRow[],
  classes: string[],
  o: SplitOptions,
  mode: 'clam' | 'nested',
): FoldSplit[] {
  const cases = caseTable(slides, classes.length, o.voting);
  return caseFolds(cases, o, mode, classes).map((f) => expandFold(cases, f));
}
