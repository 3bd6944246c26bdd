// GENERATED from schemas/experiment.schema.json by scripts/gen-types.ts. Do not edit.

/**
 * A milflow experiment: one YAML file that declares the data, the task, the splits, the models and how to train, evaluate, sweep, run and track them.
 */
export interface Experiment {
  /**
   * Experiment name; names the run directory runs/<name>/ and the MLflow experiment.
   */
  name: string;
  /**
   * Free text shown in the report.
   */
  description?: string;
  dataset: Dataset;
  task: Task;
  splits?: Splits;
  /**
   * Models to train; each gets its own train/evaluate stages. Names must be unique.
   *
   * @minItems 1
   */
  models: [Model, ...Model[]];
  train?: Train;
  evaluate?: Evaluate;
  heatmaps?: Heatmaps;
  sweep?: Sweep;
  resources?: Resources;
  tracking?: Tracking;
  output?: Output;
}
/**
 * Where the slides come from. Exactly one source: `clam` (CLAM-layout CSV + feature .h5 files), `synthetic` (generated, no download), `mil_csv` (classic MIL benchmark CSV) or `wsi` (whole-slide images, preprocessed by milflow).
 *
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "Dataset".
 */
export interface Dataset {
  clam?: ClamDataset;
  synthetic?: SyntheticDataset;
  mil_csv?: MilCsvDataset;
  wsi?: WsiDataset;
}
/**
 * CLAM layout: a CSV with columns case_id, slide_id, label and a features directory holding h5_files/<slide_id>.h5 (dataset `features` [N,E] float32, `coords` [N,2]) or pt_files/<slide_id>.pt (the features tensor, as torch.save writes it). Relative paths are relative to the spec file.
 *
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "ClamDataset".
 */
export interface ClamDataset {
  /**
   * Dataset CSV (case_id, slide_id, label).
   */
  csv: string;
  /**
   * Directory with h5_files/<slide_id>.h5 or pt_files/<slide_id>.pt (CLAM's feature extraction writes both; .h5 is read first), or those files directly.
   */
  features_dir: string;
}
/**
 * Deterministic synthetic slides: bags of background instances with a few class-specific 'tumour' instances hidden among them. Instance ground truth is kept for checking attention.
 *
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "SyntheticDataset".
 */
export interface SyntheticDataset {
  /**
   * Generator seed; same seed, same dataset.
   */
  seed?: number;
  /**
   * Number of cases (patients).
   */
  cases?: number;
  /**
   * [min, max] slides per case.
   *
   * @minItems 2
   * @maxItems 2
   */
  slides_per_case?: [number, number];
  /**
   * Number of classes; default and only allowed value: the number of task classes. Class 0 is 'normal' for binary tasks.
   */
  n_classes?: number;
  /**
   * Feature dimension E.
   */
  dim?: number;
  /**
   * [min, max] instances per slide.
   *
   * @minItems 2
   * @maxItems 2
   */
  bag_size?: [number, number];
  /**
   * When set, instances per slide are log-normal (σ 1) with this mean, clipped to bag_size: long-tailed like real slides (e.g. 8000 with bag_size [500, 40000]). Unset: uniform over bag_size.
   */
  bag_size_mean?: number;
  /**
   * [min, max] fraction of instances carrying the class signal in a non-normal slide.
   *
   * @minItems 2
   * @maxItems 2
   */
  tumour_fraction?: [number, number];
  /**
   * Distance of class-specific instance means from the background, in noise standard deviations (2.5: learnable, yet max-pooling MIL trails attention pooling).
   */
  signal?: number;
}
/**
 * Classic MIL benchmark CSV (Musk1, Elephant, ...): columns bag_label, bag_id, f1..fE, one row per instance. Each bag becomes one slide of its own case.
 *
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "MilCsvDataset".
 */
export interface MilCsvDataset {
  csv: string;
  /**
   * Standardise each feature with mean/std of the training split of each fold.
   */
  standardize?: boolean;
}
/**
 * Whole-slide images preprocessed by milflow: segment → patch → extract, cached per slide.
 *
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "WsiDataset".
 */
export interface WsiDataset {
  /**
   * CSV with case_id, slide_id, label, path (slide file; relative to the CSV). slide_id may be empty: the file name without extension.
   */
  csv: string;
  /**
   * Segmentation preset: tcga, bwh_biopsy, bwh_resection, or a path to a CLAM preset CSV.
   */
  preset?: string;
  /**
   * Optional CLAM process-list CSV with per-slide segmentation overrides.
   */
  process_list?: string;
  /**
   * Overrides of the preset's segmentation parameters (CLAM names and meaning).
   */
  segmentation?: {
    /**
     * Level to segment at; -1 = best level for a 64× downsample.
     */
    seg_level?: number;
    /**
     * Saturation threshold after the median blur.
     */
    sthresh?: number;
    /**
     * Median blur kernel size (odd).
     */
    mthresh?: number;
    /**
     * Morphological closing kernel size (0 = none).
     */
    close?: number;
    /**
     * Otsu threshold instead of sthresh.
     */
    use_otsu?: boolean;
    /**
     * Minimum tissue area (contour minus holes), in 512×512 level-0 patches.
     */
    a_t?: number;
    /**
     * Minimum hole area, same units.
     */
    a_h?: number;
    /**
     * Largest holes kept per contour.
     */
    max_n_holes?: number;
    /**
     * Keep only these contours (indices after the area filter).
     */
    keep_ids?: number[];
    /**
     * Drop these contours.
     */
    exclude_ids?: number[];
    /**
     * Contour line width in the mask picture, level-0 pixels.
     */
    line_thickness?: number;
  };
  patch?: {
    size?: number;
    /**
     * Grid step at the patch level (overlap when < size). Default: the patch size.
     */
    step?: number;
    level?: number;
    /**
     * Target µm per pixel; resolved per slide from metadata (overrides level).
     */
    mpp?: number;
    /**
     * µm per pixel to assume when a slide has none in its metadata.
     */
    mpp_override?: number;
    /**
     * Which points of a patch must lie in the tissue contour. Default: the preset's (four_pt in all three CLAM presets).
     */
    contour_fn?: 'four_pt' | 'four_pt_hard' | 'center' | 'basic';
  };
  encoder?: {
    /**
     * Path to the encoder .onnx file (its digest is part of the cache key).
     */
    onnx: string;
    /**
     * Output feature dimension.
     */
    dim: number;
    input_size?: number;
    /**
     * @minItems 3
     * @maxItems 3
     */
    mean?: [number, number, number];
    /**
     * @minItems 3
     * @maxItems 3
     */
    std?: [number, number, number];
    batch_size?: number;
    /**
     * Interpolation from the patch size to input_size.
     */
    resize?: 'bilinear' | 'bicubic' | 'nearest' | 'lanczos3';
  };
}
/**
 * What is predicted.
 *
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "Task".
 */
export interface Task {
  /**
   * Class names in label-index order (index 0 first).
   *
   * @minItems 2
   */
  classes: [string, string, ...string[]];
  /**
   * Maps dataset label values to class names (e.g. tumor_tissue: tumor). Labels absent from the map must equal a class name. Labels mapped to null are dropped.
   */
  label_map?: {
    [k: string]: string | null;
  };
  /**
   * Classes are mutually exclusive subtypes: CLAM also trains out-of-class instance classifiers (top-B patches of other branches labelled 0).
   */
  subtyping?: boolean;
}
/**
 * Monte Carlo cross-validation splits, case-level and stratified by class.
 */
export interface Splits {
  /**
   * nested: val/test fixed across training fractions and training subsets nested (10% ⊂ 25% ⊂ ...); clam: identical to CLAM's create_splits_seq.py; import: read existing CLAM split directories.
   */
  mode?: 'nested' | 'clam' | 'import';
  folds?: number;
  val_frac?: number;
  test_frac?: number;
  seed?: number;
  /**
   * Fractions of the training set used (val and test stay fixed). Each in (0, 1].
   *
   * @minItems 1
   */
  training_fractions?: [number, ...number[]];
  /**
   * With mode import: a directory of CLAM splits_<k>.csv files, or a map from training fraction to such a directory.
   */
  import_dir?: string | {};
}
/**
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "Model".
 */
export interface Model {
  /**
   * Unique name; used in stage identities and sweep paths (models.<name>.B).
   */
  name: string;
  /**
   * clam_sb / clam_mb: CLAM single / multi branch; mil: binary max-pooling MIL; mmil: multi-class max-pooling MIL; abmil: gated attention without instance clustering.
   */
  type: 'clam_sb' | 'clam_mb' | 'mil' | 'mmil' | 'abmil';
  /**
   * small: 512/256 (D = 256); big: 512/384.
   */
  size?: 'small' | 'big';
  /**
   * Patches sampled per class for instance clustering (top-B and bottom-B). Bags smaller than B use all patches.
   */
  B?: number;
  /**
   * Weight of the slide (bag) loss.
   */
  c1?: number;
  /**
   * Weight of the instance clustering loss.
   */
  c2?: number;
  /**
   * Instance loss: smooth top-1 SVM (α = τ = 1) or cross-entropy.
   */
  inst_loss?: 'svm' | 'ce';
  bag_loss?: 'ce' | 'svm';
  /**
   * Dropout after the first layer and inside the attention network (0 disables).
   */
  dropout?: number;
  /**
   * Pre-trained fold models instead of training: a directory of s_<fold>_checkpoint.pt (CLAM's main.py) or s_<fold>_checkpoint.safetensors (relative to the spec file). Each takes the place of its fold's train stage, so evaluate, ensemble, compare, report and heatmaps work on it. Needs splits.mode: import with the splits the models were trained on, and one training fraction.
   */
  checkpoints?: string;
}
export interface Train {
  /**
   * adam adds weight decay to the gradient (L2, PyTorch Adam semantics); adamw decouples it.
   */
  optimizer?: 'adam' | 'adamw';
  lr?: number;
  weight_decay?: number;
  max_epochs?: number;
  /**
   * Early stopping never stops before this epoch.
   */
  min_epochs?: number;
  patience?: number;
  /**
   * Stop on validation slide loss; the best checkpoint is reloaded.
   */
  early_stopping?: boolean;
  /**
   * Sample slides with replacement, weighted by inverse class frequency.
   */
  class_balanced?: boolean;
  seed?: number;
}
export interface Evaluate {
  /**
   * Independent test cohorts: every fold model is evaluated on each.
   */
  cohorts?: {
    name: string;
    dataset: Dataset;
    /**
     * An independent cohort sharing a slide_id, a case_id or an identical feature file with the training dataset is an error (its results would be leaked, not independent). true downgrades it to a warning that the report shows.
     */
    allow_overlap?: boolean;
  }[];
  ci?: 'delong' | 'bootstrap';
  bootstrap?: {
    n?: number;
    seed?: number;
  };
  /**
   * Average the fold models' softmax per cohort (the paper's ensembles).
   */
  ensembles?: boolean;
  /**
   * Pairs of model names to compare (paired per-fold differences and paired DeLong). Default: every CLAM model (clam_sb, clam_mb) against every other model (mil, mmil, abmil).
   */
  compare?: [string, string][];
  /**
   * Number of test slides per fold to render attention heatmaps for (WSI datasets).
   */
  heatmaps?: number;
}
/**
 * CLAM's heatmaps (create_heatmaps.py) from trained checkpoints: per slide the original beside the heatmap, a colour bar and a caption (true label, predicted class, probability), the per-patch scores (CLAM: attention of the predicted class; MIL: instance score) as percentiles, and the top / bottom patches as PNG tiles. Needs slide images: a wsi dataset (or milflow heatmap for any slide).
 *
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "Heatmaps".
 */
export interface Heatmaps {
  slides?: number | [string, ...string[]];
  /**
   * Models whose checkpoints draw (default: every model).
   *
   * @minItems 1
   */
  models?: [string, ...string[]];
  /**
   * Training fractions whose checkpoints draw (default: the largest).
   *
   * @minItems 1
   */
  fractions?: [number, ...number[]];
  /**
   * Folds whose checkpoints draw (default: fold 0).
   *
   * @minItems 1
   */
  folds?: [number, ...number[]];
  /**
   * Overlap of the heatmap's patch grid (CLAM: 0.5-0.95): the overlapping patches are encoded and scored for the heatmap only; their percentiles are referred to the scores of the training grid.
   */
  overlap?: number;
  /**
   * Region of interest [x1, y1, x2, y2] in level-0 pixels.
   *
   * @minItems 4
   * @maxItems 4
   */
  roi?: [number, number, number, number];
  /**
   * Gaussian blur of the score map (kernel: the grid step).
   */
  blur?: boolean;
  /**
   * Paint only patches at or above threshold, in one colour.
   */
  binarize?: boolean;
  /**
   * Percentile / 100 a patch must reach when binarize is on.
   */
  threshold?: number;
  /**
   * Pyramid level to draw at; -1: the finest level whose picture fits max_side.
   */
  vis_level?: number;
  /**
   * Longest side of the picture in pixels.
   */
  max_side?: number;
  /**
   * Colormap of the percentiles.
   */
  cmap?: 'coolwarm' | 'jet' | 'viridis' | 'rdbu_r';
  /**
   * Weight of the colour over the slide.
   */
  alpha?: number;
  /**
   * Draw on white instead of the slide.
   */
  blank_canvas?: boolean;
  /**
   * Export the k highest-scoring patches as PNG tiles (file names carry coordinates and score).
   */
  topk?: number;
  /**
   * Export the k lowest-scoring patches as PNG tiles.
   */
  bottomk?: number;
}
/**
 * Grid over dotted paths into this spec, e.g. `models.clam_sb.B: [8, 16, 32]`. Every combination becomes its own set of stages; unchanged upstream stages are shared.
 *
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "Sweep".
 */
export interface Sweep {
  /**
   * @minItems 1
   */
  [k: string]: [unknown, ...unknown[]];
}
export interface Resources {
  executor?: 'local' | 'slurm';
  /**
   * 'auto' (GPUs from nvidia-smi, else CPU) or a list like [cpu] or [gpu:0, gpu:1].
   */
  devices?: 'auto' | [string, ...string[]];
  /**
   * Concurrent heavy stages per device (GPU memory growth is enabled when > 1).
   */
  slots_per_device?: number;
  /**
   * CPU threads per worker; default: cores / CPU slots.
   */
  threads_per_slot?: number;
  /**
   * Retries of a failed stage before it counts as failed.
   */
  retries?: number;
  slurm?: {
    partition?: string;
    /**
     * e.g. gpu:1
     */
    gres?: string;
    time?: string;
    mem?: string;
    cpus_per_task?: number;
    poll_seconds?: number;
  };
}
export interface Tracking {
  mlflow?: {
    /**
     * MLflow tracking server URI (MLFLOW_TRACKING_URI is used when this is absent).
     */
    uri: string;
    /**
     * MLflow experiment name; default: the spec name.
     */
    experiment?: string;
  };
}
export interface Output {
  /**
   * Output root (cache and run records); relative to the spec file's directory. `--out DIR` on any verb overrides it.
   */
  root?: string;
}
/**
 * Monte Carlo cross-validation splits, case-level and stratified by class.
 *
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "Splits".
 */
export interface Splits1 {
  /**
   * nested: val/test fixed across training fractions and training subsets nested (10% ⊂ 25% ⊂ ...); clam: identical to CLAM's create_splits_seq.py; import: read existing CLAM split directories.
   */
  mode?: 'nested' | 'clam' | 'import';
  folds?: number;
  val_frac?: number;
  test_frac?: number;
  seed?: number;
  /**
   * Fractions of the training set used (val and test stay fixed). Each in (0, 1].
   *
   * @minItems 1
   */
  training_fractions?: [number, ...number[]];
  /**
   * With mode import: a directory of CLAM splits_<k>.csv files, or a map from training fraction to such a directory.
   */
  import_dir?: string | {};
}
/**
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "Train".
 */
export interface Train1 {
  /**
   * adam adds weight decay to the gradient (L2, PyTorch Adam semantics); adamw decouples it.
   */
  optimizer?: 'adam' | 'adamw';
  lr?: number;
  weight_decay?: number;
  max_epochs?: number;
  /**
   * Early stopping never stops before this epoch.
   */
  min_epochs?: number;
  patience?: number;
  /**
   * Stop on validation slide loss; the best checkpoint is reloaded.
   */
  early_stopping?: boolean;
  /**
   * Sample slides with replacement, weighted by inverse class frequency.
   */
  class_balanced?: boolean;
  seed?: number;
}
/**
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "Evaluate".
 */
export interface Evaluate1 {
  /**
   * Independent test cohorts: every fold model is evaluated on each.
   */
  cohorts?: {
    name: string;
    dataset: Dataset;
    /**
     * An independent cohort sharing a slide_id, a case_id or an identical feature file with the training dataset is an error (its results would be leaked, not independent). true downgrades it to a warning that the report shows.
     */
    allow_overlap?: boolean;
  }[];
  ci?: 'delong' | 'bootstrap';
  bootstrap?: {
    n?: number;
    seed?: number;
  };
  /**
   * Average the fold models' softmax per cohort (the paper's ensembles).
   */
  ensembles?: boolean;
  /**
   * Pairs of model names to compare (paired per-fold differences and paired DeLong). Default: every CLAM model (clam_sb, clam_mb) against every other model (mil, mmil, abmil).
   */
  compare?: [string, string][];
  /**
   * Number of test slides per fold to render attention heatmaps for (WSI datasets).
   */
  heatmaps?: number;
}
/**
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "Resources".
 */
export interface Resources1 {
  executor?: 'local' | 'slurm';
  /**
   * 'auto' (GPUs from nvidia-smi, else CPU) or a list like [cpu] or [gpu:0, gpu:1].
   */
  devices?: 'auto' | [string, ...string[]];
  /**
   * Concurrent heavy stages per device (GPU memory growth is enabled when > 1).
   */
  slots_per_device?: number;
  /**
   * CPU threads per worker; default: cores / CPU slots.
   */
  threads_per_slot?: number;
  /**
   * Retries of a failed stage before it counts as failed.
   */
  retries?: number;
  slurm?: {
    partition?: string;
    /**
     * e.g. gpu:1
     */
    gres?: string;
    time?: string;
    mem?: string;
    cpus_per_task?: number;
    poll_seconds?: number;
  };
}
/**
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "Tracking".
 */
export interface Tracking1 {
  mlflow?: {
    /**
     * MLflow tracking server URI (MLFLOW_TRACKING_URI is used when this is absent).
     */
    uri: string;
    /**
     * MLflow experiment name; default: the spec name.
     */
    experiment?: string;
  };
}
/**
 * This interface was referenced by `Experiment`'s JSON-Schema
 * via the `definition` "Output".
 */
export interface Output1 {
  /**
   * Output root (cache and run records); relative to the spec file's directory. `--out DIR` on any verb overrides it.
   */
  root?: string;
}
