// Model configuration: everything that fixes a network's shape and losses. Stored as JSON in
// the checkpoint's safetensors `__metadata__.config`, so a checkpoint is self-describing.
import type { Model } from '../spec/types.gen.ts';

export type ModelType = Model['type'];

export interface ModelConfig {
  type: ModelType;
  n_classes: number;
  /** Embedding (feature) dimension E. */
  dim: number;
  size: 'small' | 'big';
  /** Top/bottom patches per class for instance clustering (clamped to N for small bags). */
  B: number;
  subtyping: boolean;
  /** Dropout after the first layer; > 0 also enables the fixed 0.25 dropout inside attention. */
  dropout: number;
  /** Dropout inside the gated attention when dropout > 0 (the reference hard-codes 0.25). */
  attn_dropout: number;
  c1: number;
  c2: number;
  inst_loss: 'svm' | 'ce';
  bag_loss: 'ce' | 'svm';
}

export const HIDDEN = 512;

export function attnDim(size: 'small' | 'big'): number {
  return size === 'big' ? 384 : 256;
}

/**
 * What each model family is, in one place: adding a model type = its forward/backward (native
 * engine, tfjs), one row here, and its parity test. Everything else asks this table.
 */
export interface ModelTraits {
  /** Gated attention over the patches (CLAM-SB/MB, ABMIL): attention scores, heatmaps. */
  attention: boolean;
  /** CLAM's instance clustering: reads B, c1, c2, inst_loss; compared against the others by default. */
  clustering: boolean;
  /** Attention branches or rows of instance scores for n classes. */
  branches(nClasses: number): number;
  /** Max-pooling MIL with the binary rule (the positive-class score picks the instance). */
  binaryRule(nClasses: number): boolean;
}

export const MODEL_FAMILIES: Readonly<Record<ModelType, ModelTraits>> = {
  clam_sb: { attention: true, clustering: true, branches: () => 1, binaryRule: () => false },
  clam_mb: { attention: true, clustering: true, branches: (c) => c, binaryRule: () => false },
  mil: { attention: false, clustering: false, branches: (c) => (c === 2 ? 1 : c), binaryRule: (c) => c === 2 },
  mmil: { attention: false, clustering: false, branches: (c) => c, binaryRule: () => false },
  abmil: { attention: true, clustering: false, branches: () => 1, binaryRule: () => false },
};

export const MODEL_TYPES = Object.keys(MODEL_FAMILIES) as ModelType[];

/** Model fields only instance clustering reads: left out of other families' params (and keys). */
export const CLUSTERING_FIELDS = ['B', 'c1', 'c2', 'inst_loss'] as const;

export function modelTraits(t: ModelType): ModelTraits {
  const m = MODEL_FAMILIES[t];
  if (!m) throw new Error(`unknown model type '${t}' (known: ${MODEL_TYPES.join(', ')})`);
  return m;
}

/** True for the gated-attention models (CLAM-SB/MB, ABMIL). */
export const isAttention = (t: ModelType): boolean => modelTraits(t).attention;

export const isClam = (t: ModelType): boolean => modelTraits(t).clustering;

/** MIL variant with the binary rule (positive-class score picks the instance) vs multi-class. */
export function milBinary(c: Pick<ModelConfig, 'type' | 'n_classes'>): boolean {
  return modelTraits(c.type).binaryRule(c.n_classes);
}

/** Attention branches: C for CLAM-MB, 1 otherwise (MIL: 1 row of instance scores, mMIL: C). */
export function branches(c: Pick<ModelConfig, 'type' | 'n_classes'>): number {
  return modelTraits(c.type).branches(c.n_classes);
}

export function makeConfig(p: Partial<ModelConfig> & { type: ModelType; n_classes: number; dim: number }): ModelConfig {
  const cfg: ModelConfig = {
    type: p.type,
    n_classes: p.n_classes,
    dim: p.dim,
    size: p.size ?? 'small',
    B: p.B ?? 8,
    subtyping: p.subtyping ?? false,
    dropout: p.dropout ?? 0.25,
    attn_dropout: p.attn_dropout ?? 0.25,
    c1: p.c1 ?? 0.7,
    c2: p.c2 ?? 0.3,
    inst_loss: p.inst_loss ?? 'svm',
    bag_loss: p.bag_loss ?? 'ce',
  };
  validateConfig(cfg);
  return cfg;
}

export function validateConfig(c: ModelConfig): void {
  modelTraits(c.type);
  if (!Number.isInteger(c.n_classes) || c.n_classes < 2) throw new Error(`n_classes must be an integer ≥ 2, got ${c.n_classes}`);
  if (!Number.isInteger(c.dim) || c.dim < 1) throw new Error(`feature dimension must be a positive integer, got ${c.dim}`);
  if (!Number.isInteger(c.B) || c.B < 1) throw new Error(`B must be a positive integer, got ${c.B}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`dropout must be in [0, 1), got ${c.dropout}`);
  if (!(c.attn_dropout >= 0 && c.attn_dropout < 1)) throw new Error(`attn_dropout must be in [0, 1), got ${c.attn_dropout}`);
}
