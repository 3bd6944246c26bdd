// The leakage guard's early half: when the training dataset and an independent cohort are both
// CLAM CSVs, shared slide_ids and case_ids are found at load time, so `validate` reports a cohort
// that is the training CSV before anything runs. (Identical feature files, and sources whose ids
// exist only after preprocessing, are found by the overlap stage at run time.)
import { readFileSync } from 'node:fs';
import { parseCsvRows } from '../io/csv.ts';
import { resolvePath } from './semantic.ts';
import type { Issue } from './schema.ts';

function ids(csv: string): { slides: Set<string>; cases: Set<string> } | undefined {
  try {
    const rows = parseCsvRows(readFileSync(csv, 'utf8'), csv);
    const h = rows[0]?.fields.map((x) => x.trim()) ?? [];
    const si = h.indexOf('slide_id'), ci = h.indexOf('case_id');
    if (si < 0 || ci < 0) return undefined;
    const body = rows.slice(1);
    return { slides: new Set(body.map((r) => (r.fields[si] ?? '').trim()).filter(Boolean)), cases: new Set(body.map((r) => (r.fields[ci] ?? '').trim()).filter(Boolean)) };
  } catch {
    return undefined; // unreadable CSVs are reported by the semantic checks
  }
}

const list = (xs: string[]) => `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? `, … (${xs.length} in all)` : ''}`;

export function cohortOverlapIssues(data: any, specDir: string, checkFiles = true): Issue[] {
  const main = data?.dataset?.clam?.csv;
  const cohorts: any[] = Array.isArray(data?.evaluate?.cohorts) ? data.evaluate.cohorts : [];
  if (!checkFiles || typeof main !== 'string' || cohorts.length === 0) return [];
  const train = ids(resolvePath(specDir, main));
  if (!train) return [];
  const issues: Issue[] = [];
  cohorts.forEach((c, i) => {
    const csv = c?.dataset?.clam?.csv;
    if (typeof csv !== 'string' || c.allow_overlap === true) return;
    const co = ids(resolvePath(specDir, csv));
    if (!co) return;
    const slides = [...co.slides].filter((s) => train.slides.has(s)).sort();
    const cases = [...co.cases].filter((s) => train.cases.has(s)).sort();
    if (!slides.length && !cases.length) return;
    const what = [slides.length ? `${slides.length} slide_id(s) (${list(slides)})` : '', cases.length ? `${cases.length} case_id(s) (${list(cases)})` : ''].filter(Boolean).join(' and ');
    issues.push({
      path: ['evaluate', 'cohorts', i, 'dataset', 'clam', 'csv'],
      message: `cohort '${c.name}' shares ${what} with the training dataset ${main}: it is not independent, its results would be leaked. Remove them, or set allow_overlap: true on the cohort to evaluate it anyway (the report then warns)`,
    });
  });
  return issues;
}
