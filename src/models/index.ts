// Public model API: load a checkpoint, predict one bag. Used by the evaluate stage and
// `milflow infer`. The compute engine is chosen once per process (see ./engine.ts).
import { loadCheckpoint, type Standardize } from './checkpoint.ts';
import type { ModelConfig } from './config.ts';
import { createModel, type BagModel } from './engine.ts';

export type { ModelConfig, ModelType } from './config.ts';
export type { Standardize } from './checkpoint.ts';

export interface Prediction {
  logits: Float32Array;
  Y_prob: Float32Array;
  Y_hat: number;
  /** [branches, N] row-major: raw attention per branch (CLAM-SB/ABMIL 1, CLAM-MB C); for MIL the
   * per-instance positive-class probability [1, N] (binary) or class probabilities [C, N] (mMIL). */
  A_raw: Float32Array;
  /** Slide embedding: attention-pooled M ([branches·512]); MIL: the deciding instance's h [512]. */
  embedding: Float32Array;
}

export interface LoadedModel {
  config: ModelConfig;
  standardize?: Standardize;
  /** Engine name, e.g. "native-openblas". */
  engine: string;
  /** `slide` only names the bag in error messages. */
  predict(features: Float32Array, n: number, dim: number, slide?: string): Prediction;
}

/** Rejects empty bags, wrong dimensions and non-finite values, naming the slide. */
export function checkBag(features: Float32Array, n: number, dim: number, expectedDim: number, slide = 'bag'): void {
  if (!(n > 0)) throw new Error(`${slide}: empty bag (0 patches)`);
  if (dim !== expectedDim) throw new Error(`${slide}: features have dimension ${dim}, the model expects ${expectedDim}`);
  if (features.length < n * dim) throw new Error(`${slide}: feature buffer holds ${features.length} values, expected ${n}×${dim}`);
  for (let i = 0; i < n * dim; i++) {
    const v = features[i];
    if (!Number.isFinite(v)) {
      throw new Error(`${slide}: non-finite feature value (${v}) at patch ${Math.floor(i / dim)}, column ${i % dim}`);
    }
  }
}

/** (x − mean) / std per column into a new buffer (std 0 → 1). */
export function applyStandardize(features: Float32Array, n: number, dim: number, s: Standardize): Float32Array {
  const out = new Float32Array(n * dim);
  const inv = new Float32Array(dim);
  for (let j = 0; j < dim; j++) inv[j] = s.std[j] > 0 ? 1 / s.std[j] : 1;
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let j = 0; j < dim; j++) out[o + j] = (features[o + j] - s.mean[j]) * inv[j];
  }
  return out;
}

export function wrapModel(model: BagModel, standardize?: Standardize): LoadedModel {
  const config = model.cfg;
  return {
    config,
    standardize,
    engine: model.engine,
    predict(features, n, dim, slide = 'bag') {
      checkBag(features, n, dim, config.dim, slide);
      const x = standardize ? applyStandardize(features, n, dim, standardize) : features;
      const f = model.forward(x, n, {});
      return { logits: f.logits, Y_prob: f.Y_prob, Y_hat: f.Y_hat, A_raw: f.A_raw, embedding: f.embedding };
    },
  };
}

/** Loads a milflow or reference (PyTorch key names) safetensors checkpoint. */
export async function loadModel(checkpointPath: string, overrides: Partial<ModelConfig> = {}): Promise<LoadedModel> {
  const ck = await loadCheckpoint(checkpointPath, overrides);
  const model = await createModel(ck.config, ck.params);
  return wrapModel(model, ck.standardize);
}
