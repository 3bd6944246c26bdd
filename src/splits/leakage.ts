// Leakage report. A case in two sets of one fold is leakage (error). Test sets overlapping
// across folds is how Monte Carlo CV works, but users read it as leakage, so the report
// states it explicitly with numbers.
import type { FoldSplit, SlideRow } from './types.ts';

export interface LeakageReport {
  ok: boolean;
  folds: number;
  /** Errors: case (or slide) in two sets of one fold, unknown slides, duplicates. */
  errors: { fold: number; kind: string; case_id?: string; slide_id?: string; sets?: string[] }[];
  per_fold: { fold: number; train_cases: number; val_cases: number; test_cases: number; train_slides: number; val_slides: number; test_slides: number }[];
  test_overlap: {
    note: string;
    /** Cases that are in the test set of more than one fold. */
    cases_in_several_test_sets: number;
    /** Cases never in any test set. */
    cases_never_tested: number;
    max_times_tested: number;
    /** Jaccard overlap of test case sets, pairwise [i][j]. */
    pairwise_jaccard: number[][];
  };
}

export function leakageReport(folds: FoldSplit[], slides: SlideRow[]): LeakageReport {
  const caseOf = new Map(slides.map((s) => [s.slide_id, s.case_id]));
  const allCases = new Set(slides.map((s) => s.case_id));
  const errors: LeakageReport['errors'] = [];
  const perFold: LeakageReport['per_fold'] = [];
  const testSets: Set<string>[] = [];
  folds.forEach((f, k) => {
    const where = new Map<string, Set<string>>();
    const seenSlides = new Set<string>();
    const counts: Record<string, Set<string>> = { train: new Set(), val: new Set(), test: new Set() };
    for (const set of ['train', 'val', 'test'] as const) {
      for (const sid of f[set]) {
        const cid = caseOf.get(sid);
        if (cid === undefined) {
          errors.push({ fold: k, kind: 'unknown_slide', slide_id: sid, sets: [set] });
          continue;
        }
        if (seenSlides.has(sid)) errors.push({ fold: k, kind: 'duplicate_slide', slide_id: sid, case_id: cid, sets: [set] });
        seenSlides.add(sid);
        counts[set].add(cid);
        let w = where.get(cid);
        if (!w) where.set(cid, (w = new Set()));
        w.add(set);
      }
    }
    for (const [cid, sets] of where) if (sets.size > 1) errors.push({ fold: k, kind: 'case_in_two_sets', case_id: cid, sets: [...sets] });
    perFold.push({
      fold: k,
      train_cases: counts.train.size, val_cases: counts.val.size, test_cases: counts.test.size,
      train_slides: f.train.length, val_slides: f.val.length, test_slides: f.test.length,
    });
    testSets.push(counts.test);
  });
  const times = new Map<string, number>();
  for (const t of testSets) for (const c of t) times.set(c, (times.get(c) ?? 0) + 1);
  const jac = testSets.map((a) =>
    testSets.map((b) => {
      let inter = 0;
      for (const c of a) if (b.has(c)) inter++;
      const uni = a.size + b.size - inter;
      return uni === 0 ? 0 : Math.round((inter / uni) * 1e6) / 1e6;
    }),
  );
  return {
    ok: errors.length === 0,
    folds: folds.length,
    errors,
    per_fold: perFold,
    test_overlap: {
      note: 'Informational, not leakage: Monte Carlo cross-validation draws each fold\'s test set independently, so test sets of different folds overlap by design. Within a fold no case is in two sets.',
      cases_in_several_test_sets: [...times.values()].filter((n) => n > 1).length,
      cases_never_tested: [...allCases].filter((c) => !times.has(c)).length,
      max_times_tested: Math.max(0, ...times.values()),
      pairwise_jaccard: jac,
    },
  };
}

export function assertNoLeakage(r: LeakageReport, where: string): void {
  if (r.ok) return;
  const head = r.errors.slice(0, 5).map((e) =>
    e.kind === 'case_in_two_sets' ? `fold ${e.fold}: case '${e.case_id}' in ${e.sets!.join(' and ')}`
    : e.kind === 'unknown_slide' ? `fold ${e.fold}: slide '${e.slide_id}' not in the dataset`
    : `fold ${e.fold}: slide '${e.slide_id}' listed twice`);
  throw new Error(`${where}: split leakage (${r.errors.length} problem(s)): ${head.join('; ')}${r.errors.length > 5 ? '; ...' : ''}`);
}
