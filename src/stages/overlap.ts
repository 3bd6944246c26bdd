// Stage `overlap` (overlap/cohort=<name>): the leakage guard between the training dataset and an
// independent cohort. A cohort sharing a slide_id, a case_id or an identical feature file with
// the training data is not independent: its results would be inflated (a cohort that was in
// fact the training CSV gave AUC 0.91 against 0.62 in cross-validation). That is an error naming
// the shared items, unless the spec says allow_overlap: true — then the stage records them in
// overlap.json and the report shows a warning. The cohort's evaluate stages wait for it.
import { createHash } from 'node:crypto';
import { createReadStream, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import { readBagPaths, readDatasetDir } from '../splits/index.ts';

export interface OverlapParams {
  cohort: string;
  allow_overlap: boolean;
}

export interface OverlapReport {
  cohort: string;
  allow_overlap: boolean;
  shared_slides: string[];
  shared_cases: string[];
  /** [training slide, cohort slide] pairs whose feature files have identical bytes. */
  identical_files: [string, string][];
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Pairs of (a, b) slides whose files are byte-identical; only same-size files are hashed. */
async function identicalFiles(a: Map<string, string>, b: Map<string, string>): Promise<[string, string][]> {
  const bySize = new Map<number, { side: 'a' | 'b'; id: string; path: string }[]>();
  for (const [side, m] of [['a', a], ['b', b]] as const) {
    for (const [id, path] of m) {
      const size = statSync(path).size;
      if (!bySize.has(size)) bySize.set(size, []);
      bySize.get(size)!.push({ side, id, path });
    }
  }
  const out: [string, string][] = [];
  const memo = new Map<string, Promise<string>>();
  const digest = (p: string) => (memo.has(p) ? memo.get(p)! : (memo.set(p, sha256(p)), memo.get(p)!));
  for (const group of bySize.values()) {
    const as = group.filter((g) => g.side === 'a');
    const bs = group.filter((g) => g.side === 'b');
    if (!as.length || !bs.length) continue;
    const da = new Map<string, string[]>();
    for (const x of as) {
      const d = await digest(x.path);
      if (!da.has(d)) da.set(d, []);
      da.get(d)!.push(x.id);
    }
    for (const y of bs) for (const x of da.get(await digest(y.path)) ?? []) out.push([x, y.id]);
  }
  return out.sort((p, q) => (p[1] < q[1] ? -1 : p[1] > q[1] ? 1 : 0));
}

export async function findOverlap(trainDir: string, cohortDir: string, p: OverlapParams): Promise<OverlapReport> {
  const t = readDatasetDir(trainDir).slides;
  const c = readDatasetDir(cohortDir).slides;
  const tSlides = new Set(t.map((s) => s.slide_id));
  const tCases = new Set(t.map((s) => s.case_id));
  return {
    cohort: p.cohort,
    allow_overlap: p.allow_overlap,
    shared_slides: c.map((s) => s.slide_id).filter((id) => tSlides.has(id)).sort(),
    shared_cases: [...new Set(c.map((s) => s.case_id).filter((id) => tCases.has(id)))].sort(),
    identical_files: await identicalFiles(readBagPaths(trainDir), readBagPaths(cohortDir)),
  };
}

const list = (xs: string[], n = 10) => `${xs.slice(0, n).join(', ')}${xs.length > n ? `, … (${xs.length} in all)` : ''}`;

/** One sentence per kind of overlap (empty when the cohort is independent). */
export function overlapProblems(r: OverlapReport): string[] {
  const out: string[] = [];
  if (r.shared_slides.length) out.push(`${r.shared_slides.length} slide_id(s) also in the training dataset: ${list(r.shared_slides)}`);
  if (r.shared_cases.length) out.push(`${r.shared_cases.length} case_id(s) also in the training dataset: ${list(r.shared_cases)}`);
  if (r.identical_files.length) out.push(`${r.identical_files.length} feature file(s) identical to training files: ${list(r.identical_files.map(([a, b]) => (a === b ? a : `${b} = training ${a}`)))}`);
  return out;
}

const stage: StageKind<OverlapParams> = {
  kind: 'overlap',
  async run(p, ctx) {
    const { train, cohort } = ctx.inputs;
    if (!train || !cohort) throw new Error(`${ctx.id}: needs inputs 'train' and 'cohort'`);
    const r = await findOverlap(train.dir, cohort.dir, p);
    const problems = overlapProblems(r);
    if (problems.length && !p.allow_overlap) {
      throw new Error(`cohort '${p.cohort}' is not independent of the training data: ${problems.join('; ')}. ` +
        `Its results would be leaked, not independent. Remove those slides/cases, or set evaluate.cohorts[].allow_overlap: true to evaluate anyway (the report then carries a warning).`);
    }
    writeFileSync(join(ctx.outDir, 'overlap.json'), JSON.stringify({ ...r, problems }, null, 2) + '\n');
    if (problems.length) ctx.log(`warning: cohort '${p.cohort}' overlaps the training data (allow_overlap: true): ${problems.join('; ')}`);
    else ctx.log(`cohort '${p.cohort}': no slide, case or feature file shared with the training data`);
    return {
      metrics: { shared_slides: r.shared_slides.length, shared_cases: r.shared_cases.length, identical_files: r.identical_files.length },
      summary: { cohort: p.cohort, allow_overlap: p.allow_overlap, problems },
    };
  },
};

export default stage;
