// The native engine's networks: CLAM-SB, CLAM-MB, ABMIL, MIL and mMIL with hand-derived
// forward and backward passes. GEMMs go to cblas_sgemm (one call per matmul); every
// elementwise step is one fused loop; buffers are sized for the largest bag seen and reused,
// and the backward pass works in place over the forward activations, so a step allocates
// nothing and peak memory is about features + 3·N·512 floats.
//
// Notation: X [N,E] features, H = drop(relu(X W1ᵀ + b1)) [N,512], Z = H Wabᵀ + bab [N,2D]
// holding ta = drop(tanh(Za)) in columns [0,D) and sb = drop(sigm(Zb)) in [D,2D),
// A_raw [K,N] = Wc (ta⊙sb)ᵀ + bc, A = softmax_N(A_raw), M = A H [K,512].
import { blas, type Blas } from '../engine/blas.ts';
import { TrainingRng, fillUint16 } from '../engine/rng.ts';
import { biasReluDrop, colSum, gatedBackward, gatedForward, keepThreshold, reluBackward } from '../engine/kernels.ts';
import { HIDDEN, isAttention, isClam, milBinary, type ModelConfig } from './config.ts';
import { layout, type Layout } from './params.ts';

export interface Forward {
  logits: Float32Array;
  Y_prob: Float32Array;
  Y_hat: number;
  /** [branches, N]: raw attention (attention models) or instance class probabilities (MIL). */
  A_raw: Float32Array;
  /** [K, N] softmaxed attention (attention models only). */
  A?: Float32Array;
  /** Slide embedding: M flattened [K·512] (attention models), the top instance's h (MIL). */
  embedding: Float32Array;
  /** Only with a label: */
  bag_loss?: number;
  bag_loss_ce?: number;
  inst_loss?: number;
  inst_loss_svm?: number;
  inst_loss_ce?: number;
  inst_preds?: number[];
  inst_labels?: number[];
  loss?: number;
  /** MIL: index of the deciding instance. */
  top_instance?: number;
}

export interface ForwardOptions {
  label?: number;
  /** Training mode: dropout on (needs rng) and state kept for backward(). */
  train?: boolean;
  rng?: TrainingRng;
}

const LN1000 = Math.log(1000);


/** Smooth top-1 SVM (α = τ = 1) on one row; returns loss and writes d loss / d s into g. */
function svmRow(s: Float32Array | number[], y: number, g: Float64Array | null): number {
  const C = s.length;
  let t1 = -Infinity, t2 = -Infinity;
  for (let j = 0; j < C; j++) {
    const v = s[j];
    if (v > t1) { t2 = t1; t1 = v; } else if (v > t2) t2 = v;
  }
  const sy = s[y];
  if (t1 - t2 >= LN1000) {
    let best = -Infinity, arg = 0;
    for (let j = 0; j < C; j++) {
      const v = s[j] + (j === y ? 0 : 1);
      if (v > best) { best = v; arg = j; }
    }
    if (g) { g.fill(0); g[arg] += 1; g[y] -= 1; }
    return best - sy;
  }
  let mx = -Infinity;
  for (let j = 0; j < C; j++) mx = Math.max(mx, s[j] + (j === y ? 0 : 1) - sy);
  let sum = 0;
  for (let j = 0; j < C; j++) sum += Math.exp(s[j] + (j === y ? 0 : 1) - sy - mx);
  if (g) {
    for (let j = 0; j < C; j++) g[j] = Math.exp(s[j] + (j === y ? 0 : 1) - sy - mx) / sum;
    g[y] -= 1;
  }
  return mx + Math.log(sum);
}

/** Cross-entropy on one row of logits; gradient (softmax − onehot) into g. */
function ceRow(s: Float32Array | number[], y: number, g: Float64Array | null): number {
  const C = s.length;
  let mx = -Infinity;
  for (let j = 0; j < C; j++) mx = Math.max(mx, s[j]);
  let sum = 0;
  for (let j = 0; j < C; j++) sum += Math.exp(s[j] - mx);
  if (g) {
    for (let j = 0; j < C; j++) g[j] = Math.exp(s[j] - mx) / sum;
    g[y] -= 1;
  }
  return mx + Math.log(sum) - s[y];
}

function softmaxInto(src: ArrayLike<number>, dst: Float32Array) {
  let mx = -Infinity;
  for (let j = 0; j < src.length; j++) mx = Math.max(mx, src[j]);
  let sum = 0;
  for (let j = 0; j < src.length; j++) sum += Math.exp(src[j] - mx);
  for (let j = 0; j < src.length; j++) dst[j] = Math.exp(src[j] - mx) / sum;
}

function argmax(a: ArrayLike<number>, off = 0, len = a.length): number {
  let best = -Infinity, arg = 0;
  for (let j = 0; j < len; j++) if (a[off + j] > best) { best = a[off + j]; arg = j; }
  return arg;
}

/** Indices of the k largest (desc) or smallest (asc) values of a[off, off+n). Ties: lower index first. */
function topk(a: Float32Array, off: number, n: number, k: number, largest: boolean): number[] {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  if (k * 8 < n) {
    // partial selection: keep a small sorted list
    const sel: number[] = [];
    const better = (i: number, j: number) => {
      const x = a[off + i], y = a[off + j];
      return largest ? x > y || (x === y && i < j) : x < y || (x === y && i < j);
    };
    for (let i = 0; i < n; i++) {
      if (sel.length < k) {
        sel.push(i);
        for (let p = sel.length - 1; p > 0 && better(sel[p], sel[p - 1]); p--) [sel[p], sel[p - 1]] = [sel[p - 1], sel[p]];
      } else if (better(i, sel[k - 1])) {
        sel[k - 1] = i;
        for (let p = k - 1; p > 0 && better(sel[p], sel[p - 1]); p--) [sel[p], sel[p - 1]] = [sel[p - 1], sel[p]];
      }
    }
    return sel;
  }
  const arr = Array.from(idx);
  arr.sort((i, j) => (largest ? a[off + j] - a[off + i] : a[off + i] - a[off + j]) || i - j);
  return arr.slice(0, k);
}

interface InstGroup {
  cls: number;
  rows: number[];
  targets: number[];
}

export class NativeModel {
  /** Rows per chunk of the first-layer backward (bounds the dH buffer); tests lower it. */
  static rowChunk = 8192;
  readonly cfg: ModelConfig;
  readonly lay: Layout;
  readonly params: Float32Array;
  readonly grad: Float32Array;
  readonly blas: Blas;
  /** Indices (into lay.views) of parameters the last training forward did not use. */
  inactive: Set<number> = new Set();
  private cap = 0;
  private H = new Float32Array(0);
  private Z = new Float32Array(0);
  private dH = new Float32Array(0);
  private maskA = new Uint8Array(0);
  private rnd = new Uint16Array(0);
  private Araw = new Float32Array(0);
  private A = new Float32Array(0);
  private dA = new Float32Array(0);
  // state of the last training forward
  private last: {
    X: Float32Array; n: number; label: number; train: boolean; dropout: number; attnDrop: number;
    M: Float32Array; logits: Float32Array; groups: InstGroup[]; instScale: number; top: number;
  } | null = null;

  constructor(cfg: ModelConfig, params?: Float32Array, engine?: Blas) {
    this.cfg = cfg;
    this.lay = layout(cfg);
    this.params = params ?? new Float32Array(this.lay.total);
    if (this.params.length !== this.lay.total) throw new Error(`parameter buffer has ${this.params.length} values, layout needs ${this.lay.total}`);
    this.grad = new Float32Array(this.lay.total);
    this.blas = engine ?? blas();
  }

  get engine(): string {
    return this.blas.engine;
  }

  private ensure(n: number) {
    if (n <= this.cap) return;
    const cap = Math.max(n, Math.ceil(this.cap * 1.25));
    const K = this.lay.K, D2 = 2 * this.lay.D;
    this.H = new Float32Array(cap * HIDDEN);
    this.dH = new Float32Array(0); // allocated lazily by backward (inference does not need it)
    if (isAttention(this.cfg.type)) {
      this.Z = new Float32Array(cap * D2);
      this.Araw = new Float32Array(cap * K);
      this.A = new Float32Array(cap * K);
      this.dA = new Float32Array(cap * K);
    } else {
      this.Araw = new Float32Array(cap * this.cfg.n_classes);
      this.A = new Float32Array(cap * this.cfg.n_classes);
    }
    this.maskA = new Uint8Array(0);
    this.cap = cap;
  }

  /** count uniform 16-bit draws from rng, in a reused buffer. */
  private draws(count: number, rng: TrainingRng): Uint16Array {
    if (this.rnd.length < count) this.rnd = new Uint16Array(2 * Math.ceil(Math.max(count, this.cap * 2 * Math.max(this.lay.D, HIDDEN / 2)) / 2));
    fillUint16(rng, this.rnd, count);
    return this.rnd;
  }

  /** Frees the per-bag buffers (e.g. after a very large bag). */
  release() {
    this.cap = 0;
    this.H = this.Z = this.dH = this.Araw = this.A = this.dA = new Float32Array(0);
    this.maskA = new Uint8Array(0);
    this.rnd = new Uint16Array(0);
    this.last = null;
  }

  forward(X: Float32Array, n: number, opts: ForwardOptions = {}): Forward {
    const E = this.cfg.dim;
    if (n < 1) throw new Error('empty bag (0 instances)');
    if (X.length < n * E) throw new Error(`feature buffer has ${X.length} values, expected ${n}×${E}`);
    const train = !!opts.train;
    const dropout = train ? this.cfg.dropout : 0;
    const attnDrop = train && this.cfg.dropout > 0 ? this.cfg.attn_dropout : 0;
    if ((dropout > 0 || attnDrop > 0) && !opts.rng) throw new Error('training forward with dropout needs an rng');
    this.ensure(n);
    const P = this.params, L = this.lay, Hd = HIDDEN;
    const H = this.H;
    // H = drop(relu(X W1ᵀ + b1))
    this.blas.sgemm(false, true, n, Hd, E, 1, X, E, P.subarray(L.W1, L.W1 + Hd * E), E, 0, H, Hd);
    if (dropout > 0) {
      const rnd = this.draws(n * Hd, opts.rng!);
      biasReluDrop(H, n, Hd, P, L.b1, rnd, keepThreshold(dropout), 1 / (1 - dropout));
    } else {
      biasReluDrop(H, n, Hd, P, L.b1, null, 0, 1);
    }
    const out = isAttention(this.cfg.type)
      ? this.forwardAttention(X, n, H, opts, train, attnDrop)
      : this.forwardMil(n, H, opts);
    if (this.last) {
      this.last.X = X;
      this.last.dropout = dropout;
      this.last.attnDrop = attnDrop;
    }
    return out;
  }

  private forwardAttention(X: Float32Array, n: number, H: Float32Array, opts: ForwardOptions, train: boolean, attnDrop: number): Forward {
    const cfg = this.cfg, P = this.params, L = this.lay, Hd = HIDDEN;
    const D = L.D, D2 = 2 * D, K = L.K, C = cfg.n_classes;
    const Z = this.Z;
    this.blas.sgemm(false, true, n, D2, Hd, 1, H, Hd, P.subarray(L.Wab, L.Wab + D2 * Hd), Hd, 0, Z, D2);
    const Araw = this.Araw;
    if (attnDrop > 0) {
      if (this.maskA.length < n * D2) this.maskA = new Uint8Array(this.cap * D2);
      const rnd = this.draws(n * D2, opts.rng!);
      gatedForward(Z, n, D, P, L.bab, L.Wc, L.bc, K, Araw, this.maskA, rnd, keepThreshold(attnDrop), 1 / (1 - attnDrop));
    } else {
      gatedForward(Z, n, D, P, L.bab, L.Wc, L.bc, K, Araw, null, null, 0, 1);
    }
    const A = this.A;
    for (let k = 0; k < K; k++) softmaxInto(Araw.subarray(k * n, (k + 1) * n), A.subarray(k * n, (k + 1) * n));
    const M = new Float32Array(K * Hd);
    this.blas.sgemm(false, false, K, Hd, n, 1, A, n, H, Hd, 0, M, Hd);
    const logits = new Float32Array(C);
    if (cfg.type === 'clam_mb') {
      for (let c = 0; c < C; c++) {
        let s = P[L.bcls + c];
        const w = L.Wcls + c * Hd, m = c * Hd;
        for (let j = 0; j < Hd; j++) s += P[w + j] * M[m + j];
        logits[c] = s;
      }
    } else {
      for (let c = 0; c < C; c++) {
        let s = P[L.bcls + c];
        const w = L.Wcls + c * Hd;
        for (let j = 0; j < Hd; j++) s += P[w + j] * M[j];
        logits[c] = s;
      }
    }
    const Y_prob = new Float32Array(C);
    softmaxInto(logits, Y_prob);
    const res: Forward = {
      logits, Y_prob, Y_hat: argmax(logits), A_raw: Araw.slice(0, K * n), A: A.slice(0, K * n), embedding: M,
    };
    const label = opts.label;
    if (label === undefined) {
      this.last = null;
      return res;
    }
    if (!(Number.isInteger(label) && label >= 0 && label < C)) throw new Error(`label ${label} outside 0..${C - 1}`);
    const bagLossCe = ceRow(logits, label, null);
    res.bag_loss_ce = bagLossCe;
    res.bag_loss = cfg.bag_loss === 'svm' ? svmRow(logits, label, null) : bagLossCe;
    const groups: InstGroup[] = [];
    let instScale = 0;
    if (isClam(cfg.type)) {
      const k = Math.min(cfg.B, n); // bags smaller than B: use all N patches (documented clamp)
      let svm = 0, ce = 0;
      const preds: number[] = [], labs: number[] = [];
      const s = new Float32Array(2);
      for (let c = 0; c < C; c++) {
        const br = cfg.type === 'clam_mb' ? c : 0;
        let g: InstGroup | null = null;
        if (c === label) {
          const top = topk(A, br * n, n, k, true), bot = topk(A, br * n, n, k, false);
          g = { cls: c, rows: [...top, ...bot], targets: [...top.map(() => 1), ...bot.map(() => 0)] };
        } else if (cfg.subtyping) {
          const top = topk(A, br * n, n, k, true);
          g = { cls: c, rows: top, targets: top.map(() => 0) };
        }
        if (!g) continue;
        groups.push(g);
        let gs = 0, gc = 0;
        for (let r = 0; r < g.rows.length; r++) {
          this.instLogits(c, g.rows[r], H, s);
          gs += svmRow(s, g.targets[r], null);
          gc += ceRow(s, g.targets[r], null);
          preds.push(s[1] > s[0] ? 1 : 0);
          labs.push(g.targets[r]);
        }
        svm += gs / g.rows.length;
        ce += gc / g.rows.length;
      }
      if (cfg.subtyping) { svm /= C; ce /= C; }
      res.inst_loss_svm = svm;
      res.inst_loss_ce = ce;
      res.inst_loss = cfg.inst_loss === 'ce' ? ce : svm;
      res.inst_preds = preds;
      res.inst_labels = labs;
      res.loss = cfg.c1 * res.bag_loss + cfg.c2 * res.inst_loss;
      instScale = cfg.c2 / (cfg.subtyping ? C : 1);
      const used = new Set(groups.map((g) => g.cls));
      this.inactive = new Set();
      this.lay.views.forEach((v, i) => {
        const m = /^instance_classifiers\.(\d+)\./.exec(v.name);
        if (m && !used.has(Number(m[1]))) this.inactive.add(i);
      });
    } else {
      res.inst_loss = 0;
      res.loss = res.bag_loss;
      this.inactive = new Set();
    }
    this.last = train
      ? { X: null as unknown as Float32Array, n, label, train, dropout: 0, attnDrop: 0, M, logits, groups, instScale, top: -1 }
      : null;
    return res;
  }

  private instLogits(c: number, row: number, H: Float32Array, s: Float32Array) {
    const P = this.params, L = this.lay, Hd = HIDDEN;
    const w = L.Winst + c * 2 * Hd, h = row * Hd;
    let s0 = P[L.binst + 2 * c], s1 = P[L.binst + 2 * c + 1];
    for (let j = 0; j < Hd; j++) {
      const v = H[h + j];
      s0 += P[w + j] * v;
      s1 += P[w + Hd + j] * v;
    }
    s[0] = s0;
    s[1] = s1;
  }

  private forwardMil(n: number, H: Float32Array, opts: ForwardOptions): Forward {
    const cfg = this.cfg, P = this.params, L = this.lay, Hd = HIDDEN, C = cfg.n_classes;
    const S = this.Araw; // instance logits [N, C]
    const Pr = this.A; // instance probabilities [N, C]
    this.blas.sgemm(false, true, n, C, Hd, 1, H, Hd, P.subarray(L.Wcls, L.Wcls + C * Hd), Hd, 0, S, C);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < C; c++) S[i * C + c] += P[L.bcls + c];
      softmaxInto(S.subarray(i * C, i * C + C), Pr.subarray(i * C, i * C + C));
    }
    let top = 0, Y_hat = 0;
    if (milBinary(cfg)) {
      let best = -Infinity;
      for (let i = 0; i < n; i++) if (Pr[i * 2 + 1] > best) { best = Pr[i * 2 + 1]; top = i; }
    } else {
      const m = argmax(Pr, 0, n * C);
      top = Math.floor(m / C);
      Y_hat = m % C;
    }
    const logits = S.slice(top * C, top * C + C);
    if (milBinary(cfg)) Y_hat = argmax(logits);
    const Y_prob = new Float32Array(C);
    softmaxInto(logits, Y_prob);
    // A_raw for MIL: per-instance class probabilities, [1, N] (positive class) or [C, N]
    let A_raw: Float32Array;
    if (milBinary(cfg)) {
      A_raw = new Float32Array(n);
      for (let i = 0; i < n; i++) A_raw[i] = Pr[i * 2 + 1];
    } else {
      A_raw = new Float32Array(C * n);
      for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) A_raw[c * n + i] = Pr[i * C + c];
    }
    const res: Forward = { logits, Y_prob, Y_hat, A_raw, embedding: H.slice(top * Hd, top * Hd + Hd), top_instance: top };
    const label = opts.label;
    if (label === undefined) {
      this.last = null;
      return res;
    }
    if (!(Number.isInteger(label) && label >= 0 && label < C)) throw new Error(`label ${label} outside 0..${C - 1}`);
    res.bag_loss_ce = ceRow(logits, label, null);
    res.bag_loss = cfg.bag_loss === 'svm' ? svmRow(logits, label, null) : res.bag_loss_ce;
    res.inst_loss = 0;
    res.loss = res.bag_loss;
    this.last = opts.train
      ? { X: null as unknown as Float32Array, n, label, train: true, dropout: 0, attnDrop: 0, M: res.embedding, logits, groups: [], instScale: 0, top }
      : null;
    return res;
  }

  /** Gradients of the last training forward's loss into this.grad (overwritten). */
  backward(): void {
    const st = this.last;
    if (!st) throw new Error('backward() needs a preceding forward(..., { train: true, label })');
    this.grad.fill(0);
    if (isAttention(this.cfg.type)) this.backwardAttention(st);
    else this.backwardMil(st);
    this.last = null; // activations were overwritten in place
  }

  private bagGrad(logits: Float32Array, label: number, weight: number): Float64Array {
    const g = new Float64Array(logits.length);
    if (this.cfg.bag_loss === 'svm') svmRow(logits, label, g);
    else ceRow(logits, label, g);
    for (let j = 0; j < g.length; j++) g[j] *= weight;
    return g;
  }

  private backwardMil(st: NonNullable<NativeModel['last']>) {
    const P = this.params, G = this.grad, L = this.lay, Hd = HIDDEN, C = this.cfg.n_classes, E = this.cfg.dim;
    const dl = this.bagGrad(st.logits, st.label, 1);
    const h = this.H.subarray(st.top * Hd, st.top * Hd + Hd);
    const dh = new Float64Array(Hd);
    for (let c = 0; c < C; c++) {
      G[L.bcls + c] += dl[c];
      const w = L.Wcls + c * Hd;
      for (let j = 0; j < Hd; j++) {
        G[w + j] += dl[c] * h[j];
        dh[j] += dl[c] * P[w + j];
      }
    }
    const scale = st.dropout > 0 ? 1 / (1 - st.dropout) : 1;
    const x = st.X.subarray(st.top * E, st.top * E + E);
    for (let j = 0; j < Hd; j++) {
      const d = h[j] > 0 ? dh[j] * scale : 0;
      if (d === 0) continue;
      G[L.b1 + j] += d;
      const w = L.W1 + j * E;
      for (let e = 0; e < E; e++) G[w + e] += d * x[e];
    }
  }

  private backwardAttention(st: NonNullable<NativeModel['last']>) {
    const cfg = this.cfg, P = this.params, G = this.grad, L = this.lay, Hd = HIDDEN;
    const n = st.n, D = L.D, D2 = 2 * D, K = L.K, C = cfg.n_classes, E = cfg.dim;
    const H = this.H, Z = this.Z, A = this.A, dA = this.dA;
    const bagW = isClam(cfg.type) ? cfg.c1 : 1;
    const dl = this.bagGrad(st.logits, st.label, bagW);
    // classifier → dM [K, 512]
    const dM = new Float32Array(K * Hd);
    const M = st.M;
    if (cfg.type === 'clam_mb') {
      for (let c = 0; c < C; c++) {
        G[L.bcls + c] += dl[c];
        const w = L.Wcls + c * Hd, m = c * Hd;
        for (let j = 0; j < Hd; j++) {
          G[w + j] += dl[c] * M[m + j];
          dM[m + j] = dl[c] * P[w + j];
        }
      }
    } else {
      for (let c = 0; c < C; c++) {
        G[L.bcls + c] += dl[c];
        const w = L.Wcls + c * Hd;
        for (let j = 0; j < Hd; j++) {
          G[w + j] += dl[c] * M[j];
          dM[j] += dl[c] * P[w + j];
        }
      }
    }
    // M = A H: dA = dM Hᵀ [K, N] (dH = Aᵀ dM is added per row chunk below)
    this.blas.sgemm(false, true, K, n, Hd, 1, dM, Hd, H, Hd, 0, dA, n);
    // instance classifiers on the gathered rows: weight grads now, their dH rows kept aside
    const instRows = new Map<number, Float64Array>();
    const s = new Float32Array(2), g = new Float64Array(2);
    for (const grp of st.groups) {
      const c = grp.cls, w = L.Winst + c * 2 * Hd, b = L.binst + 2 * c;
      const f = st.instScale / grp.rows.length;
      for (let r = 0; r < grp.rows.length; r++) {
        const row = grp.rows[r];
        this.instLogits(c, row, H, s);
        if (cfg.inst_loss === 'ce') ceRow(s, grp.targets[r], g);
        else svmRow(s, grp.targets[r], g);
        const g0 = g[0] * f, g1 = g[1] * f;
        G[b] += g0;
        G[b + 1] += g1;
        const h = row * Hd;
        let acc = instRows.get(row);
        if (!acc) instRows.set(row, (acc = new Float64Array(Hd)));
        for (let j = 0; j < Hd; j++) {
          G[w + j] += g0 * H[h + j];
          G[w + Hd + j] += g1 * H[h + j];
          acc[j] += g0 * P[w + j] + g1 * P[w + Hd + j];
        }
      }
    }
    // softmax over N: dAraw = A ⊙ (dA − Σ A dA), in place in dA
    for (let k = 0; k < K; k++) {
      const o = k * n;
      let dot = 0;
      for (let i = 0; i < n; i++) dot += A[o + i] * dA[o + i];
      for (let i = 0; i < n; i++) dA[o + i] = A[o + i] * (dA[o + i] - dot);
    }
    // A_raw = Wc (ta⊙sb)ᵀ + bc → dWc, dbc; then gated attention backward in place over Z
    const Wc = L.Wc, bc = L.bc;
    const dWc = new Float64Array(K * D);
    const dbc = new Float64Array(K);
    const attnDrop = st.attnDrop;
    gatedBackward(Z, n, D, P, Wc, K, dA, attnDrop > 0 ? this.maskA : null, 1 - attnDrop, dWc, dbc);
    for (let k = 0; k < K; k++) {
      G[bc + k] += dbc[k];
      for (let d = 0; d < D; d++) G[Wc + k * D + d] += dWc[k * D + d];
    }
    // Z = H Wabᵀ + bab: dWab = dZᵀ H, dbab = Σ dZ, dH += dZ Wab
    this.blas.sgemm(true, false, D2, Hd, n, 1, Z, D2, H, Hd, 0, G.subarray(L.Wab, L.Wab + D2 * Hd), Hd);
    {
      const col = new Float64Array(D2);
      colSum(Z, n, D2, col);
      for (let d = 0; d < D2; d++) G[L.bab + d] += col[d];
    }
    // dH = Aᵀ dM + instance rows + dZ Wab, then through drop(relu) and into dW1 = dHᵀ X, in
    // chunks of rows so dH never needs N×512 floats (a 150k-patch bag saves 300 MB).
    const chunk = Math.min(n, NativeModel.rowChunk);
    if (this.dH.length < chunk * Hd) this.dH = new Float32Array(chunk * Hd);
    const dH = this.dH;
    const sc = st.dropout > 0 ? 1 / (1 - st.dropout) : 1;
    const col1 = new Float64Array(Hd);
    const Wab = P.subarray(L.Wab, L.Wab + D2 * Hd);
    const dW1 = G.subarray(L.W1, L.W1 + Hd * E);
    for (let r0 = 0; r0 < n; r0 += chunk) {
      const m = Math.min(chunk, n - r0);
      // Aᵀ dM for rows r0..r0+m: A[:, r0:] is a [K, m] block with leading dimension n
      this.blas.sgemm(true, false, m, Hd, K, 1, A.subarray(r0), n, dM, Hd, 0, dH, Hd);
      this.blas.sgemm(false, false, m, Hd, D2, 1, Z.subarray(r0 * D2), D2, Wab, Hd, 1, dH, Hd);
      // H > 0 exactly where the unit was active and kept
      reluBackward(dH, H, r0, m, Hd, sc, col1, instRows);
      this.blas.sgemm(true, false, Hd, E, m, 1, dH, Hd, st.X.subarray(r0 * E), E, r0 === 0 ? 0 : 1, dW1, E);
    }
    for (let j = 0; j < Hd; j++) G[L.b1 + j] += col1[j];
  }
}
