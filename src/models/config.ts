// Model configuration: everything that fixes a network's shape and losses. Stored as JSON in
// the checkpoint's safetensors `__metadata__.config`, so a checkpoint is self-describing.
export type ModelType = 'clam_sb' | 'clam_mb' | 'mil' | 'mmil' | 'abmil';

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

/** True for the gated-attention models (CLAM-SB/MB, ABMIL). */
export function isAttention(t: ModelType): boolean {
  return t === 'clam_sb' || t === 'clam_mb' || t === 'abmil';
}

export function isClam(t: ModelType): boolean {
  return t === 'clam_sb' || t === 'clam_mb';
}

/** MIL variant with the binary rule (positive-class score picks the instance) vs multi-class. */
export function milBinary(c: Pick<ModelConfig, 'type' | 'n_classes'>): boolean {
  return c.type === 'mil' && c.n_classes === 2;
}

/** Attention branches: C for CLAM-MB, 1 otherwise (MIL: 1 row of instance scores, mMIL: C). */
export function branches(c: Pick<ModelConfig, 'type' | 'n_classes'>): number {
  if (c.type === 'clam_mb') return c.n_classes;
  if (c.type === 'mil' || c.type === 'mmil') return milBinary(c) ? 1 : c.n_classes;
  return 1;
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
  const types: ModelType[] = ['clam_sb', 'clam_mb', 'mil', 'mmil', 'abmil'];
  if (!types.includes(c.type)) throw new Error(`unknown model type '${c.type}' (known: ${types.join(', ')})`);
  if (!Number.isInteger(c.n_classes) || c.n_classes < 2) throw new Error(`n_classes must be an integer ≥ 2, got ${c.n_classes}`);
  if (!Number.isInteger(c.dim) || c.dim < 1) throw new Error(`feature dimension must be a positive integer, got ${c.dim}`);
  if (!Number.isInteger(c.B) || c.B < 1) throw new Error(`B must be a positive integer, got ${c.B}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`dropout must be in [0, 1), got ${c.dropout}`);
  if (!(c.attn_dropout >= 0 && c.attn_dropout < 1)) throw new Error(`attn_dropout must be in [0, 1), got ${c.attn_dropout}`);
}
