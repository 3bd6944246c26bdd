// One row per stage kind: everything the planner, the executor, the report and tracking need to
// know about a kind, readable WITHOUT importing its module (`milflow plan` computes every cache
// key from this table in milliseconds, where importing the train stage would load the engine).
// A stage module exports only `{ kind, run }`; test/unit/stage-registry.test.ts fails when a
// module declares its own version or placement, so there is one place to bump.
//
// Adding a stage kind: its module (src/stages/<kind>.ts, default-exporting a StageKind), one row
// here, the stages that declare it in src/dag/build.ts, and its tests.
import { pathToFileURL } from 'node:url';
import type { StageKind } from '../types/stage.ts';

export interface StageRow {
  /** Implementation version, part of the cache key: bump it when the kind's outputs change. */
  version: string;
  /** Heavy stages run in a worker process (or batch job) on a device slot; light ones in-process. */
  heavy: boolean;
  /**
   * What the report reads: 'stage' — an input of the `report` stage (and of `milflow report`);
   * 'run' — only `milflow report`, from the run's events (the report stage does not wait for it);
   * false — never.
   */
  reported: 'stage' | 'run' | false;
  /**
   * Declared input names (`<k>` numbered, `<slide_id>` per slide, `<identity>` named by the
   * upstream's id), as src/dag/build.ts wires them; a stage may have a subset (alternatives).
   */
  inputs: string[];
  /**
   * The files of a successful entry (`dir/`: files under dir), all of them but the harness's
   * metrics.jsonl; src/stages/CONTRACTS.md has their columns. A WSI step that excludes its slide
   * writes status.json only. test/unit/stage-registry-rows.test.ts holds a real run to both lists.
   */
  outputs: string[];
  /** Outputs worth keeping as tracking artifacts (a subset of outputs). */
  artifacts: string[];
  load(): Promise<{ default: StageKind }>;
}

export const STAGES: Readonly<Record<string, StageRow>> = {
  dataset: {
    version: '1', heavy: false, reported: 'stage', inputs: [], outputs: ['slides.csv', 'bags/', 'dataset.json', 'excluded.csv'], artifacts: [],
    load: () => import('./dataset.ts'),
  },
  splits: {
    version: '1', heavy: false, reported: false, inputs: ['dataset'], outputs: ['splits_<k>.csv', 'splits_<k>_bool.csv', 'splits_<k>_descriptor.csv', 'leakage.json'], artifacts: [],
    load: () => import('./splits.ts'),
  },
  train: {
    version: '1', heavy: true, reported: 'stage', inputs: ['dataset', 'splits'], outputs: ['model.safetensors', 'epochs.csv', 'val_predictions.csv'],
    artifacts: ['model.safetensors', 'epochs.csv'],
    load: () => import('./train.ts'),
  },
  evaluate: {
    version: '1', heavy: true, reported: 'stage', inputs: ['model', 'dataset', 'splits', 'overlap'], outputs: ['predictions.csv', 'embeddings.csv', 'metrics.json'],
    artifacts: ['predictions.csv', 'metrics.json'],
    load: () => import('./evaluate.ts'),
  },
  aggregate: {
    version: '1', heavy: false, reported: 'stage', inputs: ['fold<k>'], outputs: ['summary.json', 'roc_mean.csv'], artifacts: ['summary.json', 'roc_mean.csv'],
    load: () => import('./aggregate.ts'),
  },
  ensemble: {
    version: '1', heavy: false, reported: 'stage', inputs: ['fold<k>'], outputs: ['predictions.csv', 'metrics.json'], artifacts: ['predictions.csv', 'metrics.json'],
    load: () => import('./ensemble.ts'),
  },
  compare: {
    version: '1', heavy: false, reported: 'stage', inputs: ['a_fold<k>', 'b_fold<k>', 'a_ensemble', 'b_ensemble'], outputs: ['compare.json'], artifacts: ['compare.json'],
    load: () => import('./compare.ts'),
  },
  report: {
    version: '2', heavy: false, reported: false, inputs: ['<identity>'], outputs: ['report.html', 'report.md', 'tables/', 'figures/'], artifacts: ['report.html', 'report.md'],
    load: () => import('./report.ts'),
  },
  segment: {
    version: '1', heavy: false, reported: 'run', inputs: [], outputs: ['status.json', 'segmentation.json', 'mask.png'], artifacts: [],
    load: () => import('./segment.ts'),
  },
  patch: {
    version: '1', heavy: false, reported: 'run', inputs: ['segment'], outputs: ['status.json', '<slide_id>.h5', 'stitch.png'], artifacts: [],
    load: () => import('./patch.ts'),
  },
  extract: {
    version: '1', heavy: true, reported: false, inputs: ['patch'], outputs: ['status.json', '<slide_id>.h5'], artifacts: [],
    load: () => import('./extract.ts'),
  },
  'wsi-dataset': {
    version: '1', heavy: false, reported: 'stage', inputs: ['extract:<slide_id>'], outputs: ['slides.csv', 'bags/', 'dataset.json', 'excluded.csv'], artifacts: [],
    load: () => import('./wsi-dataset.ts'),
  },
  checkpoint: {
    version: '1', heavy: false, reported: false, inputs: [], outputs: ['model.safetensors'], artifacts: ['model.safetensors'],
    load: () => import('./checkpoint.ts'),
  },
  overlap: {
    version: '1', heavy: false, reported: 'stage', inputs: ['train', 'cohort'], outputs: ['overlap.json'], artifacts: ['overlap.json'],
    load: () => import('./overlap.ts'),
  },
  heatmap: {
    // 3: colour clipped to the segment stage's tissue; segment:<slide_id> always an input.
    version: '3', heavy: true, reported: 'run', inputs: ['model', 'dataset', 'splits', 'patch:<slide_id>', 'segment:<slide_id>'], outputs: ['heatmaps/'], artifacts: [],
    load: () => import('./heatmap.ts'),
  },
};

/** Kinds whose stages the report stage takes as inputs (what='stage'), or that `milflow report` reads. */
export function reportedKinds(what: 'stage' | 'run'): Set<string> {
  return new Set(Object.entries(STAGES).filter(([, r]) => r.reported === 'stage' || (what === 'run' && r.reported === 'run')).map(([k]) => k));
}

export function stageKinds(): string[] {
  return Object.keys(STAGES).sort();
}

// Kinds registered from a module path at run time (the executor's machinery tests; later, plugins).
// A path, not an object, so that worker processes and batch jobs can import it too. Such a module
// is its own row: its StageKind carries `version` and `heavy`.
const extra = new Map<string, { ref: string; kind: StageKind }>();

/** Registers a stage kind from a module export; `ref` is "path" or "path#exportName". */
export async function registerStageKind(ref: string): Promise<StageKind> {
  const [path, name = 'default'] = ref.split('#');
  const kind = (await import(pathToFileURL(path).href))[name] as StageKind;
  if (!kind?.kind || typeof kind.run !== 'function') throw new Error(`${ref} is not a StageKind`);
  if (kind.version === undefined || kind.heavy === undefined) throw new Error(`${ref}: a stage kind registered by module declares its version and heavy`);
  if (STAGES[kind.kind]) throw new Error(`${ref}: stage kind '${kind.kind}' is already a row of src/stages/registry.ts`);
  extra.set(kind.kind, { ref, kind });
  return kind;
}

/** Module refs of kinds registered by module (passed on to worker processes). */
export function extraKindModules(): Record<string, string> {
  return Object.fromEntries([...extra].map(([k, v]) => [k, v.ref]));
}

export function isRegistered(kind: string): boolean {
  return extra.has(kind) || kind in STAGES;
}

export async function loadKind(kind: string): Promise<StageKind> {
  const e = extra.get(kind);
  if (e) return e.kind;
  const row = STAGES[kind];
  if (!row) throw new Error(`unknown stage kind '${kind}' (known: ${stageKinds().join(', ')})`);
  return (await row.load()).default;
}

export interface KindInfo { version: string; heavy: boolean; registered: boolean }

/** Version and placement of a kind, from its row (no import). */
export function kindInfo(kind: string): KindInfo {
  const e = extra.get(kind);
  if (e) return { version: String(e.kind.version), heavy: !!e.kind.heavy, registered: true };
  const row = STAGES[kind];
  if (row) return { version: row.version, heavy: row.heavy, registered: true };
  // Not implemented in this build: plan still shows it; run reports it.
  return { version: 'unregistered', heavy: false, registered: false };
}
