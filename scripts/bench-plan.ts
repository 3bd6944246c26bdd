// Plan speed on the paper grid: 3 tasks × 5 training fractions × 10 folds × {clam_sb, mil} plus
// evaluation stages (one task with an independent cohort, one on a CLAM-layout feature directory
// so external digests are exercised).
//   node --import tsx scripts/bench-plan.ts [--dir DIR] [--repeat N]
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadSpec } from '../src/spec/load.ts';
import { buildDag } from '../src/dag/build.ts';
import { planDecls } from '../src/dag/plan.ts';
import type { LoadedSpec } from '../src/spec/resolved.ts';

const common = (name: string, dataset: string, extra = '') => `name: ${name}
${dataset}
task:
  classes: [normal, tumor]
splits:
  folds: 10
  training_fractions: [1.0, 0.75, 0.5, 0.25, 0.1]
models:
  - { name: clam_sb, type: clam_sb }
  - { name: mil, type: mil }
${extra}`;

/** Writes the three task specs (and a small CLAM-layout dataset) under dir; returns their paths. */
export function writePaperGrid(dir: string, slides = 200): string[] {
  mkdirSync(join(dir, 'clam', 'h5_files'), { recursive: true });
  const rows = ['case_id,slide_id,label'];
  for (let i = 0; i < slides; i++) {
    rows.push(`case_${Math.floor(i / 2)},slide_${i},${i % 3 === 0 ? 'tumor' : 'normal'}`);
    writeFileSync(join(dir, 'clam', 'h5_files', `slide_${i}.h5`), `not really hdf5 ${i}\n`.repeat(64));
  }
  writeFileSync(join(dir, 'clam', 'dataset.csv'), rows.join('\n') + '\n');
  const specs: [string, string][] = [
    ['task1.yaml', common('task1', 'dataset:\n  synthetic: { seed: 1, cases: 100 }', 'evaluate:\n  cohorts:\n    - name: external\n      dataset:\n        synthetic: { seed: 99, cases: 40 }\n')],
    ['task2.yaml', common('task2', 'dataset:\n  clam: { csv: clam/dataset.csv, features_dir: clam }')],
    ['task3.yaml', common('task3', 'dataset:\n  synthetic: { seed: 3, cases: 120, signal: 1.0 }')],
  ];
  return specs.map(([f, text]) => {
    writeFileSync(join(dir, f), text);
    return join(dir, f);
  });
}

export interface BenchRow { spec: string; stages: number; loadMs: number; buildMs: number; planMs: number; run: number }

export async function benchPlans(paths: string[], root: string): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const p of paths) {
    let t = performance.now();
    const loaded = (await loadSpec(p)) as unknown as LoadedSpec;
    const loadMs = performance.now() - t;
    t = performance.now();
    const decls = await buildDag(loaded);
    const buildMs = performance.now() - t;
    t = performance.now();
    const plan = await planDecls(decls, { root, experiment: loaded.spec.name });
    rows.push({ spec: loaded.spec.name, stages: decls.length, loadMs, buildMs, planMs: performance.now() - t, run: plan.counts.run });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const dir = args.includes('--dir') ? args[args.indexOf('--dir') + 1] : mkdtempSync(join(tmpdir(), 'milflow-bench-plan-'));
  const repeat = args.includes('--repeat') ? Number(args[args.indexOf('--repeat') + 1]) : 3;
  const paths = writePaperGrid(dir);
  for (let r = 0; r < repeat; r++) {
    const rows = await benchPlans(paths, join(dir, 'runs'));
    const tot = (k: keyof BenchRow) => rows.reduce((a, x) => a + (x[k] as number), 0);
    console.log(`round ${r + 1}: ${rows.map((x) => `${x.spec} ${x.stages} stages load ${x.loadMs.toFixed(0)} ms build ${x.buildMs.toFixed(0)} ms plan ${x.planMs.toFixed(0)} ms`).join(' | ')}`);
    console.log(`  total ${tot('stages')} stages: build+plan ${(tot('buildMs') + tot('planMs')).toFixed(0)} ms (load ${tot('loadMs').toFixed(0)} ms)`);
  }
  console.log(`dir: ${dir}`);
}
