// Case (patient) table as CLAM builds it: unique case ids sorted, one label per case.
import type { PatientVoting, SlideRow } from './types.ts';

export interface CaseTable {
  /** Sorted like numpy's np.unique on strings (code-point order). */
  ids: string[];
  labels: number[];
  /** Slide ids of each case, in dataset row order. */
  slides: string[][];
  /** Case indices of each class, ascending. */
  byClass: number[][];
}

function codePointCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function defaultVoting(nClasses: number): PatientVoting {
  return nClasses <= 2 ? 'max' : 'maj';
}

export function caseTable(slides: SlideRow[], nClasses: number, voting: PatientVoting = defaultVoting(nClasses)): CaseTable {
  const groups = new Map<string, SlideRow[]>();
  for (const s of slides) {
    let g = groups.get(s.case_id);
    if (!g) groups.set(s.case_id, (g = []));
    g.push(s);
  }
  const ids = [...groups.keys()].sort(codePointCompare);
  const labels = ids.map((id) => {
    const ls = groups.get(id)!.map((s) => s.label_index);
    if (voting === 'max') return Math.max(...ls);
    // Majority; ties go to the smallest label (scipy.stats.mode's rule).
    const counts = new Map<number, number>();
    for (const l of ls) counts.set(l, (counts.get(l) ?? 0) + 1);
    let best = -1;
    let bestN = -1;
    for (const [l, n] of [...counts].sort((a, b) => a[0] - b[0])) if (n > bestN) { best = l; bestN = n; }
    return best;
  });
  const byClass: number[][] = Array.from({ length: nClasses }, () => []);
  labels.forEach((l, i) => {
    if (!(l >= 0 && l < nClasses)) throw new Error(`case '${ids[i]}': label index ${l} outside 0..${nClasses - 1}`);
    byClass[l].push(i);
  });
  return { ids, labels, slides: ids.map((id) => groups.get(id)!.map((s) => s.slide_id)), byClass };
}
