// Adam over one flat parameter buffer, with PyTorch's semantics: `adam` adds weight_decay·p
// to the gradient (L2), `adamw` decays the weights directly (decoupled). Like torch.optim,
// a parameter that took no part in a step (grad None in PyTorch, e.g. CLAM's instance
// classifier of a class absent from a binary slide) is skipped entirely, and each parameter
// keeps its own step count for the bias correction.
import type { ParamView } from '../models/params.ts';
import { adamRange } from '../engine/kernels.ts';

export interface AdamOptions {
  lr: number;
  weightDecay: number;
  decoupled?: boolean;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export class Adam {
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly steps: Int32Array;
  constructor(readonly views: ParamView[], readonly size: number, readonly opts: AdamOptions) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
    this.steps = new Int32Array(views.length);
  }

  /** `skip`: indices into views of parameters without a gradient this step. */
  step(p: Float32Array, g: Float32Array, skip?: ReadonlySet<number>): void {
    const { lr, weightDecay: wd, decoupled = false, beta1: b1 = 0.9, beta2: b2 = 0.999, eps = 1e-8 } = this.opts;
    const m = this.m, v = this.v;
    const decay = decoupled ? 1 - lr * wd : 1;
    const l2 = decoupled ? 0 : wd;
    for (let k = 0; k < this.views.length; k++) {
      if (skip?.has(k)) continue;
      const t = ++this.steps[k];
      const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
      const stepSize = lr / bc1, sq = Math.sqrt(bc2);
      const { offset, size } = this.views[k];
      adamRange(p, g, m, v, offset, offset + size, l2, decay, b1, b2, stepSize, sq, eps);
    }
  }
}
