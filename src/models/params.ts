// Parameter layout: every parameter of a model lives in ONE flat Float32Array (and its
// gradient in another of the same layout), so the optimiser is a single fused loop and the
// attention projections Wa/Wb sit next to each other as one [2D, 512] matrix for one GEMM.
// Names are the reference PyTorch state_dict keys, so checkpoints interoperate.
import { HIDDEN, attnDim, branches, isAttention, isClam, milBinary, type ModelConfig } from './config.ts';
import { TrainingRng } from '../engine/rng.ts';

export interface ParamView {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  /** Linear weights get Xavier-normal init (fan_in = shape[1], fan_out = shape[0]); biases 0. */
  kind: 'weight' | 'bias';
}

export interface Layout {
  views: ParamView[];
  total: number;
  /** Offsets of the blocks the engine addresses directly. */
  W1: number; b1: number;
  Wab: number; bab: number; // [2D, H] and [2D]: Wa rows then Wb rows
  Wc: number; bc: number; // [K, D], [K]
  Wcls: number; bcls: number; // [C, H], [C] (CLAM-MB: row c = classifiers.c)
  Winst: number; binst: number; // [C, 2, H], [C, 2]
  D: number;
  K: number;
}

export function layout(c: ModelConfig): Layout {
  const H = HIDDEN, E = c.dim, C = c.n_classes;
  const views: ParamView[] = [];
  let off = 0;
  const add = (name: string, shape: number[], kind: 'weight' | 'bias') => {
    const size = shape.reduce((a, b) => a * b, 1);
    views.push({ name, shape, offset: off, size, kind });
    const at = off;
    off += size;
    return at;
  };
  const L: Partial<Layout> = { D: 0, K: branches(c), Wab: -1, bab: -1, Wc: -1, bc: -1, Winst: -1, binst: -1 };
  if (isAttention(c.type)) {
    const D = attnDim(c.size);
    const K = c.type === 'clam_mb' ? C : 1;
    L.D = D;
    L.K = K;
    L.W1 = add('attention_net.0.weight', [H, E], 'weight');
    L.b1 = add('attention_net.0.bias', [H], 'bias');
    L.Wab = add('attention_net.3.attention_a.0.weight', [D, H], 'weight');
    add('attention_net.3.attention_b.0.weight', [D, H], 'weight');
    L.bab = add('attention_net.3.attention_a.0.bias', [D], 'bias');
    add('attention_net.3.attention_b.0.bias', [D], 'bias');
    L.Wc = add('attention_net.3.attention_c.weight', [K, D], 'weight');
    L.bc = add('attention_net.3.attention_c.bias', [K], 'bias');
    if (c.type === 'clam_mb') {
      for (let i = 0; i < C; i++) {
        const w = add(`classifiers.${i}.weight`, [1, H], 'weight');
        if (i === 0) L.Wcls = w;
      }
      for (let i = 0; i < C; i++) {
        const b = add(`classifiers.${i}.bias`, [1], 'bias');
        if (i === 0) L.bcls = b;
      }
    } else {
      L.Wcls = add('classifiers.weight', [C, H], 'weight');
      L.bcls = add('classifiers.bias', [C], 'bias');
    }
    if (isClam(c.type)) {
      for (let i = 0; i < C; i++) {
        const w = add(`instance_classifiers.${i}.weight`, [2, H], 'weight');
        if (i === 0) L.Winst = w;
      }
      for (let i = 0; i < C; i++) {
        const b = add(`instance_classifiers.${i}.bias`, [2], 'bias');
        if (i === 0) L.binst = b;
      }
    }
  } else {
    const cls = milBinary(c) ? 'classifier' : 'classifiers';
    L.W1 = add('fc.0.weight', [H, E], 'weight');
    L.b1 = add('fc.0.bias', [H], 'bias');
    L.Wcls = add(`${cls}.weight`, [C, H], 'weight');
    L.bcls = add(`${cls}.bias`, [C], 'bias');
  }
  return { ...(L as Layout), views, total: off };
}

/** Xavier-normal weights, zero biases (the reference's initialisation), seeded. */
export function initParams(lay: Layout, seed: number): Float32Array {
  const flat = new Float32Array(lay.total);
  const rng = new TrainingRng(seed);
  for (const v of lay.views) {
    if (v.kind !== 'weight') continue;
    const std = Math.sqrt(2 / (v.shape[0] + v.shape[1]));
    for (let i = 0; i < v.size; i++) flat[v.offset + i] = rng.normal() * std;
  }
  return flat;
}

/**
 * Accepts reference key spellings: nn.DataParallel's `module.` (a wrapped model) and `.module`
 * segments (CLAM wraps attention_net: `attention_net.module.0.weight`), dropped as CLAM's own
 * evaluation code drops them; MIL's classifier/classifiers is handled in importParams.
 */
export function canonicalKey(k: string): string {
  return k.replace(/^module\./, '').replace(/\.module(?=\.|$)/g, '');
}

/** Buffers of CLAM's instance loss (smooth-SVM labels): state, not parameters; CLAM skips them. */
export function isLossBuffer(k: string): boolean {
  return /(^|\.)instance_loss_fn\./.test(k);
}

export function importParams(lay: Layout, tensors: Map<string, { shape: number[]; data: Float32Array }>, source: string): Float32Array {
  const flat = new Float32Array(lay.total);
  const byName = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, t] of tensors) byName.set(canonicalKey(k), t);
  for (const v of lay.views) {
    let t = byName.get(v.name);
    if (!t && v.name.startsWith('classifier.')) t = byName.get(v.name.replace('classifier.', 'classifiers.'));
    if (!t && v.name.startsWith('classifiers.') && !/^classifiers\.\d/.test(v.name)) t = byName.get(v.name.replace('classifiers.', 'classifier.'));
    if (!t) throw new Error(`${source}: missing parameter '${v.name}'`);
    if (t.data.length !== v.size) {
      throw new Error(`${source}: parameter '${v.name}' has shape [${t.shape.join(', ')}], the model expects [${v.shape.join(', ')}]`);
    }
    flat.set(t.data, v.offset);
  }
  return flat;
}

export function exportParams(lay: Layout, flat: Float32Array): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const v of lay.views) out.set(v.name, { shape: v.shape, data: flat.slice(v.offset, v.offset + v.size) });
  return out;
}
