// Checkpoints: safetensors with the reference PyTorch key names, the model config as JSON in
// `__metadata__.config`, and the optional feature standardisation as two extra tensors
// (`standardize.mean`, `standardize.std`, [E]). Reference checkpoints without metadata load
// too: the architecture is inferred from the tensor shapes (B / subtyping from overrides).
import { closeSync, openSync, readSync } from 'node:fs';
import { readSafetensors, writeSafetensors, type Tensor } from '../io/safetensors.ts';
import { readPtStateDict } from '../io/torch.ts';
import { HIDDEN, makeConfig, validateConfig, type ModelConfig, type ModelType } from './config.ts';
import { canonicalKey, exportParams, importParams, isLossBuffer, layout } from './params.ts';

export interface Standardize {
  mean: Float32Array;
  std: Float32Array;
}

export interface Checkpoint {
  config: ModelConfig;
  params: Float32Array;
  standardize?: Standardize;
  /** Free-form extra metadata (strings) found in / written to the header. */
  meta: Record<string, string>;
}

export const STD_MEAN = 'standardize.mean';
export const STD_STD = 'standardize.std';

/** Infers the architecture of a reference (metadata-less) checkpoint from its shapes. */
export function inferConfig(tensors: Map<string, Tensor>, overrides: Partial<ModelConfig> = {}, source = 'checkpoint'): ModelConfig {
  const t = new Map<string, Tensor>();
  for (const [k, v] of tensors) t.set(canonicalKey(k), v);
  let type: ModelType;
  let dim: number, C: number, size: 'small' | 'big' = 'small';
  if (t.has('fc.0.weight')) {
    dim = t.get('fc.0.weight')!.shape[1];
    const cls = t.get('classifier.weight') ?? t.get('classifiers.weight');
    if (!cls) throw new Error(`${source}: MIL checkpoint without classifier.weight`);
    C = cls.shape[0];
    type = overrides.type ?? (t.has('classifier.weight') && C === 2 ? 'mil' : C === 2 ? 'mmil' : 'mil');
  } else if (t.has('attention_net.0.weight')) {
    dim = t.get('attention_net.0.weight')!.shape[1];
    const D = t.get('attention_net.3.attention_a.0.weight')?.shape[0];
    if (!D) throw new Error(`${source}: attention checkpoint without attention_net.3.attention_a.0.weight`);
    size = D === 384 ? 'big' : 'small';
    if (t.has('classifiers.0.weight')) {
      type = 'clam_mb';
      C = 0;
      while (t.has(`classifiers.${C}.weight`)) C++;
    } else {
      const cls = t.get('classifiers.weight');
      if (!cls) throw new Error(`${source}: no classifiers.weight`);
      C = cls.shape[0];
      type = t.has('instance_classifiers.0.weight') ? 'clam_sb' : 'abmil';
    }
    if (overrides.type && overrides.type !== type) throw new Error(`${source}: weights are a ${type} model, not ${overrides.type}`);
  } else {
    throw new Error(`${source}: not a milflow/CLAM checkpoint (no attention_net.0.weight or fc.0.weight)`);
  }
  if (t.get(t.has('fc.0.weight') ? 'fc.0.weight' : 'attention_net.0.weight')!.shape[0] !== HIDDEN) {
    throw new Error(`${source}: first layer width must be ${HIDDEN}`);
  }
  return makeConfig({ ...overrides, type, n_classes: C, dim, size });
}

/**
 * A torch.save file (CLAM's s_<fold>_checkpoint.pt): by name, else by its first bytes (ZIP
 * archive, or the legacy format's pickle of its magic number).
 */
export function isTorchFile(path: string): boolean {
  if (/\.(pt|pth|ckpt|bin)$/i.test(path)) return true;
  const b = Buffer.alloc(4);
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return false; }
  try { readSync(fd, b, 0, 4, 0); } finally { closeSync(fd); }
  return b.readUInt32LE(0) === 0x04034b50 || (b[0] === 0x80 && b[1] === 0x02 && b[2] === 0x8a && b[3] === 0x0a);
}

async function readTensors(path: string): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, string> }> {
  if (!isTorchFile(path)) return readSafetensors(path);
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of readPtStateDict(path)) if (!isLossBuffer(k)) tensors.set(k, t);
  return { tensors, metadata: {} };
}

/** Loads a milflow safetensors checkpoint, a reference-key safetensors file or a CLAM/PyTorch .pt state dict. */
export async function loadCheckpoint(path: string, overrides: Partial<ModelConfig> = {}): Promise<Checkpoint> {
  const st = await readTensors(path);
  let config: ModelConfig;
  if (st.metadata.config) {
    try {
      config = { ...JSON.parse(st.metadata.config), ...overrides };
    } catch (e) {
      throw new Error(`${path}: __metadata__.config is not JSON (${(e as Error).message})`);
    }
    validateConfig(config);
  } else {
    config = inferConfig(st.tensors, overrides, path);
  }
  const params = importParams(layout(config), st.tensors, path);
  let standardize: Standardize | undefined;
  const m = st.tensors.get(STD_MEAN), s = st.tensors.get(STD_STD);
  if (m && s) {
    if (m.data.length !== config.dim || s.data.length !== config.dim) throw new Error(`${path}: standardisation vectors must have ${config.dim} values`);
    standardize = { mean: m.data, std: s.data };
  }
  const meta = { ...st.metadata };
  delete meta.config;
  return { config, params, standardize, meta };
}

export async function saveCheckpoint(path: string, ck: Checkpoint): Promise<void> {
  const tensors = exportParams(layout(ck.config), ck.params);
  if (ck.standardize) {
    tensors.set(STD_MEAN, { shape: [ck.config.dim], data: ck.standardize.mean });
    tensors.set(STD_STD, { shape: [ck.config.dim], data: ck.standardize.std });
  }
  await writeSafetensors(path, tensors, { ...ck.meta, format: 'milflow', config: JSON.stringify(ck.config) });
}

/** A reference-key checkpoint of freshly initialised parameters is made via initParams. */
export { makeConfig };
