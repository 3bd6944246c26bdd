// The contract every stage kind implements. A stage is a pure function of
// (params, declared inputs) → files in outDir + metrics. It never reads another
// stage's files except through ctx.inputs, and never writes outside ctx.outDir:
// the cache publishes outDir atomically and records digests of everything in it.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A stage as the DAG builder declares it (before execution). */
export interface StageDecl {
  /** Logical coordinates, e.g. "train/clam_sb/B=16/frac=0.25/fold=3". Unique in a plan. */
  id: string;
  /** Stage kind: a key of the registry in ./registry.ts. */
  kind: string;
  /** Canonical params: everything that changes the output, nothing that does not. */
  params: Json;
  /** Upstream stages: input name → upstream stage id. */
  inputs: Record<string, string>;
  /** External files or directories: input name → absolute path (digested into the key). */
  externals?: Record<string, string>;
  /** For an external directory: only these files (relative paths) make its identity. */
  externalFiles?: Record<string, string[]>;
  /** Labels for display, tracking tags and grouping (model, frac, fold, cohort, ...). */
  labels?: Record<string, string | number>;
}

export interface DeviceSlot {
  kind: 'cpu' | 'gpu';
  /** GPU index (CUDA_VISIBLE_DEVICES is pinned to it) or CPU slot number. */
  index: number;
  /** Threads this worker may use. */
  threads: number;
}

/** An upstream output as a stage sees it: read-only directory + its manifest. */
export interface StageInput {
  id: string;
  kind: string;
  key: string;
  dir: string;
  manifest: Manifest;
}

export interface StageContext {
  id: string;
  key: string;
  /** Write outputs here (a temp dir; published atomically after run() resolves). */
  outDir: string;
  inputs: Record<string, StageInput>;
  /** Resolved external paths, by input name. */
  externals: Record<string, string>;
  device: DeviceSlot;
  signal: AbortSignal;
  log(message: string): void;
  /** Progress within the stage (e.g. epochs), shown on the terminal. */
  progress(done: number, total: number, note?: string): void;
  /** Metric history (e.g. per epoch: step = epoch). Stored in metrics.jsonl; logged to MLflow. */
  metric(name: string, value: number, step?: number): void;
}

export interface StageResult {
  /** Final scalar metrics (e.g. test_auc); stored in the manifest. */
  metrics?: Record<string, number>;
  /** Compute engine that ran the stage (e.g. "native-openblas", "tfjs-cpu"). */
  engine?: string;
  /** Anything else worth keeping in the manifest (small JSON). */
  summary?: Json;
  /**
   * Degenerate inputs or results the user must see (one class, no AUC, empty bags, dropped
   * slides): printed on the terminal, kept in the manifest (repeated when the entry is reused)
   * and shown as a banner in the report.
   */
  warnings?: string[];
}

/**
 * What a stage module exports. Its version, placement and outputs are its row in
 * src/stages/registry.ts; only a kind registered by module path (registerStageKind: the
 * executor's tests, plugins) carries `version` and `heavy` itself, being its own row.
 */
export interface StageKind<P = any> {
  kind: string;
  run(params: P, ctx: StageContext): Promise<StageResult>;
  version?: string;
  heavy?: boolean;
}

/** An input of a stage as the key saw it: upstream stage (id + key) or external (path + digest). */
export interface InputRef {
  id?: string;
  key?: string;
  path?: string;
  digest: string;
  /** External directory digested by its listed files only: relative path → sha256. */
  files?: Record<string, string>;
}

export interface Manifest {
  kind: string;
  id: string;
  key: string;
  version: string;
  params: Json;
  inputs: Record<string, InputRef>;
  /** Relative path → sha256 of every output file. */
  files: Record<string, string>;
  metrics: Record<string, number>;
  summary?: Json;
  engine?: string;
  timings: { started: string; finished: string; seconds: number };
  host: string;
  device: DeviceSlot;
  milflow_version: string;
}
