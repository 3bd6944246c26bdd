// The same networks written with @tensorflow/tfjs-core ops, for tfjs-node-gpu / tfjs-node
// when a user has them installed (never a dependency: they download libtensorflow at install).
// Gradients come from tf.grads; parameters stay in the flat layout of ../params.ts so the
// optimiser, checkpoints and the training loop are shared with the native engine. Dropout
// masks are drawn from the rng in the same order as the native engine, so both engines give
// the same training trajectory up to float rounding.
import { fillUint16, type TrainingRng } from '../../engine/rng.ts';
import { keepThreshold } from '../../engine/kernels.ts';
import { HIDDEN, isAttention, isClam, milBinary, type ModelConfig } from '../config.ts';
import { layout, type Layout } from '../params.ts';
import type { Forward, ForwardOptions } from '../native.ts';

type TF = any;

export async function loadTfjs(pkg: string): Promise<{ tf: TF; engine: string }> {
  if (pkg === '@tensorflow/tfjs-node-gpu' || pkg === '@tensorflow/tfjs-node') {
    const tf = await import(pkg);
    return { tf: tf.default ?? tf, engine: pkg.replace('@tensorflow/', '') };
  }
  // Functional ops only below (tf.add(a, b), not a.add(b)), so the bare tfjs-core bundle
  // would run the forward; training needs the gradient registry, which the node bundles of
  // tfjs-core do not register but @tensorflow/tfjs (and tfjs-node, which builds on it) do.
  let tf: TF;
  try {
    const u = await import('@tensorflow/tfjs');
    tf = (u as any).default ?? u;
  } catch {
    tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, engine: 'tfjs-cpu' };
}

const LN1000 = Math.log(1000);

export class TfjsModel {
  readonly cfg: ModelConfig;
  readonly lay: Layout;
  readonly params: Float32Array;
  readonly grad: Float32Array;
  readonly engine: string;
  inactive: Set<number> = new Set();
  private tf: TF;
  private pending: Float32Array[] | null = null;

  constructor(cfg: ModelConfig, params: Float32Array, tf: TF, engine: string) {
    this.cfg = cfg;
    this.lay = layout(cfg);
    this.params = params;
    this.grad = new Float32Array(this.lay.total);
    this.tf = tf;
    this.engine = engine;
  }

  paramsChanged() {}

  /** Dropout masks drawn exactly as the native engine draws them (same stream, same order). */
  private masks(n: number, rng: TrainingRng | undefined, dropout: number, attnDrop: number) {
    const Hd = HIDDEN, D = this.lay.D, D2 = 2 * D;
    let mH: Float32Array | null = null, mA: Float32Array | null = null, mB: Float32Array | null = null;
    if (dropout > 0) {
      const r = new Uint16Array(n * Hd + 1);
      fillUint16(rng!, r, n * Hd);
      const thr = keepThreshold(dropout), s = 1 / (1 - dropout);
      mH = new Float32Array(n * Hd);
      for (let i = 0; i < n * Hd; i++) mH[i] = r[i] < thr ? s : 0;
    }
    if (attnDrop > 0) {
      const r = new Uint16Array(n * D2 + 1);
      fillUint16(rng!, r, n * D2);
      const thr = keepThreshold(attnDrop), s = 1 / (1 - attnDrop);
      mA = new Float32Array(n * D);
      mB = new Float32Array(n * D);
      for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) {
        mA[i * D + d] = r[i * D2 + d] < thr ? s : 0;
        mB[i * D + d] = r[i * D2 + D + d] < thr ? s : 0;
      }
    }
    return { mH, mA, mB };
  }

  /** Smooth top-1 SVM (α = τ = 1) of rows s [R, C] with targets y, batch mean. */
  private svm(s: any, y: number[]): any {
    const tf = this.tf;
    const C = s.shape[1], R = s.shape[0];
    const vals: Float32Array = s.dataSync();
    const hard = new Float32Array(R);
    for (let r = 0; r < R; r++) {
      const row = Array.from(vals.subarray(r * C, r * C + C)).sort((a, b) => b - a);
      hard[r] = row[0] - row[1] >= LN1000 ? 1 : 0;
    }
    const oh = tf.cast(tf.oneHot(tf.tensor1d(y, 'int32'), C), 'float32');
    const aug = tf.add(s, tf.sub(1, oh));
    const xy = tf.sum(tf.mul(s, oh), 1, true);
    const smooth = tf.logSumExp(tf.sub(aug, xy), 1);
    const hardL = tf.sub(tf.max(aug, 1), tf.reshape(xy, [R]));
    const h = tf.tensor1d(hard);
    return tf.div(tf.sum(tf.add(tf.mul(smooth, tf.sub(1, h)), tf.mul(hardL, h))), R);
  }

  private ce(s: any, y: number[]): any {
    const tf = this.tf;
    const C = s.shape[1];
    const oh = tf.cast(tf.oneHot(tf.tensor1d(y, 'int32'), C), 'float32');
    return tf.div(tf.neg(tf.sum(tf.mul(tf.logSoftmax(s), oh))), s.shape[0]);
  }

  forward(X: Float32Array, n: number, opts: ForwardOptions = {}): Forward {
    const tf = this.tf, cfg = this.cfg, L = this.lay, Hd = HIDDEN, C = cfg.n_classes, E = cfg.dim;
    if (n < 1) throw new Error('empty bag (0 instances)');
    const train = !!opts.train;
    const dropout = train ? cfg.dropout : 0;
    const attnDrop = train && cfg.dropout > 0 ? cfg.attn_dropout : 0;
    if ((dropout > 0 || attnDrop > 0) && !opts.rng) throw new Error('training forward with dropout needs an rng');
    const label = opts.label;
    if (label !== undefined && !(Number.isInteger(label) && label >= 0 && label < C)) throw new Error(`label ${label} outside 0..${C - 1}`);
    const { mH, mA, mB } = this.masks(n, opts.rng, dropout, attnDrop);
    const views = L.views;
    const out: Partial<Forward> = {};
    const usedInst = new Set<number>();
    const result = tf.tidy(() => {
      const x = tf.tensor2d(X.subarray(0, n * E), [n, E]);
      const mHt = mH ? tf.tensor2d(mH, [n, Hd]) : null;
      const mAt = mA ? tf.tensor2d(mA, [n, L.D]) : null;
      const mBt = mB ? tf.tensor2d(mB, [n, L.D]) : null;
      const ps = views.map((v) => tf.tensor(this.params.subarray(v.offset, v.offset + v.size), v.shape));
      const idx = new Map(views.map((v, i) => [v.name, i]));
      const loss = (...p: any[]) => {
        const P = (name: string) => p[idx.get(name)!];
        const first = isAttention(cfg.type) ? 'attention_net.0' : 'fc.0';
        let h = tf.relu(tf.add(tf.matMul(x, P(`${first}.weight`), false, true), P(`${first}.bias`)));
        if (mHt) h = tf.mul(h, mHt);
        if (isAttention(cfg.type)) return this.attention(h, n, P, mAt, mBt, label, out, usedInst, p);
        return this.mil(h, n, P, label, out);
      };
      if (label !== undefined && train) {
        const { value, grads } = tf.valueAndGrads(loss)(ps);
        this.pending = grads.map((g: any) => g.dataSync().slice());
        return value.dataSync()[0];
      }
      const v = loss(...ps);
      return v ? v.dataSync()[0] : undefined;
    });
    if (label !== undefined) out.loss = result;
    this.inactive = new Set();
    if (isClam(cfg.type)) views.forEach((v, i) => {
      const m = /^instance_classifiers\.(\d+)\./.exec(v.name);
      if (m && !usedInst.has(Number(m[1]))) this.inactive.add(i);
    });
    return out as Forward;
  }

  private attention(h: any, n: number, P: (k: string) => any, mA: any, mB: any, label: number | undefined, out: Partial<Forward>, usedInst: Set<number>, all: any[]) {
    const tf = this.tf, cfg = this.cfg, C = cfg.n_classes, K = this.lay.K;
    let a = tf.tanh(tf.add(tf.matMul(h, P('attention_net.3.attention_a.0.weight'), false, true), P('attention_net.3.attention_a.0.bias')));
    let b = tf.sigmoid(tf.add(tf.matMul(h, P('attention_net.3.attention_b.0.weight'), false, true), P('attention_net.3.attention_b.0.bias')));
    if (mA) { a = tf.mul(a, mA); b = tf.mul(b, mB); }
    const Araw = tf.transpose(tf.add(tf.matMul(tf.mul(a, b), P('attention_net.3.attention_c.weight'), false, true), P('attention_net.3.attention_c.bias'))); // [K, N]
    const A = tf.softmax(Araw, -1);
    const M = tf.matMul(A, h); // [K, 512]
    let logits: any;
    if (cfg.type === 'clam_mb') {
      const W = tf.concat(Array.from({ length: C }, (_, c) => P(`classifiers.${c}.weight`)), 0); // [C, 512]
      const bb = tf.concat(Array.from({ length: C }, (_, c) => P(`classifiers.${c}.bias`)), 0);
      logits = tf.reshape(tf.add(tf.sum(tf.mul(M, W), 1), bb), [1, C]);
    } else {
      logits = tf.add(tf.matMul(M, P('classifiers.weight'), false, true), P('classifiers.bias')); // [1, C]
    }
    const lg = logits.dataSync() as Float32Array;
    out.logits = Float32Array.from(lg);
    out.Y_prob = Float32Array.from(tf.softmax(logits).dataSync());
    let best = -Infinity;
    out.Y_hat = 0;
    lg.forEach((v, i) => { if (v > best) { best = v; out.Y_hat = i; } });
    out.A_raw = Float32Array.from(Araw.dataSync());
    out.A = Float32Array.from(A.dataSync());
    out.embedding = Float32Array.from(M.dataSync());
    if (label === undefined) return null;
    const bagCe = this.ce(logits, [label]);
    out.bag_loss_ce = bagCe.dataSync()[0];
    const bagLoss = cfg.bag_loss === 'svm' ? this.svm(logits, [label]) : bagCe;
    out.bag_loss = bagLoss.dataSync()[0];
    if (!isClam(cfg.type)) {
      out.inst_loss = 0;
      return bagLoss;
    }
    const k = Math.min(cfg.B, n);
    const Av = out.A!;
    let svmT = tf.scalar(0), ceT = tf.scalar(0);
    const preds: number[] = [], labs: number[] = [];
    for (let c = 0; c < C; c++) {
      const br = cfg.type === 'clam_mb' ? c : 0;
      const row = Av.subarray(br * n, br * n + n);
      const order = Array.from({ length: n }, (_, i) => i);
      const desc = [...order].sort((i, j) => row[j] - row[i] || i - j).slice(0, k);
      const asc = [...order].sort((i, j) => row[i] - row[j] || i - j).slice(0, k);
      let ids: number[], tg: number[];
      if (c === label) { ids = [...desc, ...asc]; tg = [...desc.map(() => 1), ...asc.map(() => 0)]; }
      else if (cfg.subtyping) { ids = desc; tg = desc.map(() => 0); }
      else continue;
      usedInst.add(c);
      const rows = tf.gather(h, tf.tensor1d(ids, 'int32'));
      const s = tf.add(tf.matMul(rows, P(`instance_classifiers.${c}.weight`), false, true), P(`instance_classifiers.${c}.bias`));
      const sv = s.dataSync() as Float32Array;
      for (let r = 0; r < ids.length; r++) { preds.push(sv[2 * r + 1] > sv[2 * r] ? 1 : 0); labs.push(tg[r]); }
      svmT = tf.add(svmT, this.svm(s, tg));
      ceT = tf.add(ceT, this.ce(s, tg));
    }
    if (cfg.subtyping) { svmT = tf.div(svmT, C); ceT = tf.div(ceT, C); }
    out.inst_loss_svm = svmT.dataSync()[0];
    out.inst_loss_ce = ceT.dataSync()[0];
    const inst = cfg.inst_loss === 'ce' ? ceT : svmT;
    out.inst_loss = inst.dataSync()[0];
    out.inst_preds = preds;
    out.inst_labels = labs;
    // unused instance classifiers stay connected with weight 0 (their gradient is 0; Adam skips them)
    let zero = tf.scalar(0);
    for (const t of all) zero = tf.add(zero, tf.mul(tf.sum(t), 0));
    return tf.add(tf.add(tf.mul(bagLoss, cfg.c1), tf.mul(inst, cfg.c2)), zero);
  }

  private mil(h: any, n: number, P: (k: string) => any, label: number | undefined, out: Partial<Forward>) {
    const tf = this.tf, cfg = this.cfg, C = cfg.n_classes;
    const cls = milBinary(cfg) ? 'classifier' : 'classifiers';
    const S = tf.add(tf.matMul(h, P(`${cls}.weight`), false, true), P(`${cls}.bias`)); // [N, C]
    const pr = tf.softmax(S, -1);
    const pv = pr.dataSync() as Float32Array;
    let top = 0, yhat = 0;
    if (milBinary(cfg)) {
      let best = -Infinity;
      for (let i = 0; i < n; i++) if (pv[i * 2 + 1] > best) { best = pv[i * 2 + 1]; top = i; }
    } else {
      let best = -Infinity, m = 0;
      for (let i = 0; i < n * C; i++) if (pv[i] > best) { best = pv[i]; m = i; }
      top = Math.floor(m / C);
      yhat = m % C;
    }
    const logits = tf.gather(S, tf.tensor1d([top], 'int32')); // [1, C]
    const lg = logits.dataSync() as Float32Array;
    if (milBinary(cfg)) yhat = lg[1] > lg[0] ? 1 : 0;
    out.logits = Float32Array.from(lg);
    out.Y_prob = Float32Array.from(tf.softmax(logits).dataSync());
    out.Y_hat = yhat;
    out.top_instance = top;
    out.embedding = Float32Array.from(tf.gather(h, tf.tensor1d([top], 'int32')).dataSync());
    if (milBinary(cfg)) {
      out.A_raw = new Float32Array(n);
      for (let i = 0; i < n; i++) out.A_raw[i] = pv[i * 2 + 1];
    } else {
      out.A_raw = new Float32Array(C * n);
      for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) out.A_raw[c * n + i] = pv[i * C + c];
    }
    if (label === undefined) return null;
    const ce = this.ce(logits, [label]);
    out.bag_loss_ce = ce.dataSync()[0];
    const bag = cfg.bag_loss === 'svm' ? this.svm(logits, [label]) : ce;
    out.bag_loss = bag.dataSync()[0];
    out.inst_loss = 0;
    return bag;
  }

  backward(): void {
    if (!this.pending) throw new Error('backward() needs a preceding forward(..., { train: true, label })');
    this.lay.views.forEach((v, i) => this.grad.set(this.pending![i], v.offset));
    this.pending = null;
  }

  release() {
    this.pending = null;
  }
}
