// The spec as milflow uses it after loading: every schema default filled in, dataset paths
// absolute, evaluate.compare expanded. Fields marked optional here are optional in the
// schema with no default (e.g. description, sweep, label_map, resources.threads_per_slot).
import type {
  ClamDataset, Dataset, Evaluate, Experiment, MilCsvDataset, Model, Output, Resources, Splits,
  SyntheticDataset, Task, Tracking, Train, WsiDataset,
} from './types.gen.ts';

type Req<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> };

/** `checkpoints` (optional, no default): absolute when set. */
export type ResolvedModel = Required<Omit<Model, 'checkpoints'>> & Pick<Model, 'checkpoints'>;
export type ResolvedTrain = Required<Train>;
export type ResolvedSplits = Req<Splits, 'mode' | 'folds' | 'val_frac' | 'test_frac' | 'seed' | 'training_fractions'>;
/** `n_classes` is the number of task classes. */
/** bag_size_mean stays optional: unset means uniform bag sizes. */
export type ResolvedSynthetic = Required<Omit<SyntheticDataset, 'bag_size_mean'>> & Pick<SyntheticDataset, 'bag_size_mean'>;
export type ResolvedMilCsv = Required<MilCsvDataset>;
/** Paths absolute. */
export type ResolvedClam = ClamDataset;
/** Paths absolute (csv, process_list, encoder.onnx, preset when it names a CSV file). */
export type ResolvedWsi = Req<WsiDataset, 'preset'>;
/** Exactly one member is present. */
export interface ResolvedDataset {
  clam?: ResolvedClam;
  synthetic?: ResolvedSynthetic;
  mil_csv?: ResolvedMilCsv;
  wsi?: ResolvedWsi;
}
export type ResolvedTask = Req<Task, 'subtyping'>;
export interface ResolvedEvaluate extends Req<Evaluate, 'ci' | 'ensembles' | 'heatmaps'> {
  cohorts: { name: string; dataset: ResolvedDataset; allow_overlap: boolean }[];
  bootstrap: { n: number; seed: number };
  /** The user's pairs, or by default every CLAM model (clam_sb, clam_mb) against every other model. */
  compare: [string, string][];
}
export type ResolvedResources = Req<Resources, 'executor' | 'devices' | 'slots_per_device' | 'retries'>;
export type ResolvedOutput = Required<Output>;

export interface ResolvedExperiment
  extends Omit<Experiment, 'dataset' | 'task' | 'splits' | 'models' | 'train' | 'evaluate' | 'resources' | 'tracking' | 'output'> {
  dataset: ResolvedDataset;
  task: ResolvedTask;
  splits: ResolvedSplits;
  models: [ResolvedModel, ...ResolvedModel[]];
  train: ResolvedTrain;
  evaluate: ResolvedEvaluate;
  resources: ResolvedResources;
  tracking: Tracking;
  output: ResolvedOutput;
}

/** The one dataset source of a (resolved) Dataset section. */
export type DatasetSource = keyof Dataset;

export function datasetSource(d: ResolvedDataset | Dataset): DatasetSource {
  const k = Object.keys(d)[0];
  if (k !== 'clam' && k !== 'synthetic' && k !== 'mil_csv' && k !== 'wsi') throw new Error(`unknown dataset source '${k}'`);
  return k;
}

/** The loader's answer (src/spec/load.ts): what every consumer of a spec takes. */
export interface Variant {
  /** Sweep key (as written in the spec) → value; {} when the spec has no sweep. */
  coords: Record<string, unknown>;
  /** The resolved spec with the coordinates applied and without its `sweep` section. */
  spec: ResolvedExperiment;
  /** sha256 of canonicalJson(spec). */
  hash: string;
}

export interface LoadedSpec {
  /** Absolute path of the spec file. */
  path: string;
  /** Its directory (relative dataset paths were resolved against it). */
  dir: string;
  text: string;
  /** sha256 of canonicalJson(spec). */
  hash: string;
  /** Every default filled, dataset paths absolute, sweep kept as written. */
  spec: ResolvedExperiment;
  /** Cartesian product of the sweep, in written order (first key slowest). */
  variants: Variant[];
}


