// Single-precision GEMM for the engine: the system OpenBLAS through koffi when it is
// installed (Debian libopenblas0-pthread), else a blocked pure-TS fallback with a one-time
// warning. Row-major only: C[M,N] = alpha · op(A) · op(B) + beta · C.
// Float32Array views are passed to C directly (koffi honours byteOffset), so callers can
// hand over subarrays without copying.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

export type Sgemm = (
  transA: boolean, transB: boolean,
  M: number, N: number, K: number,
  alpha: number, A: Float32Array, lda: number,
  B: Float32Array, ldb: number,
  beta: number, C: Float32Array, ldc: number,
) => void;

export interface Blas {
  /** e.g. "native-openblas" or "native-js". */
  engine: string;
  /** Library path when native. */
  path?: string;
  sgemm: Sgemm;
  setThreads(n: number): void;
  threads(): number;
}

const CblasRowMajor = 101;
/** M·N·K below which a GEMM runs on one thread. */
const SMALL_GEMM = Number(process.env.MILFLOW_SMALL_GEMM ?? 2 ** 26);
const CblasNoTrans = 111;
const CblasTrans = 112;

const KNOWN_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libopenblas.so.0',
  '/lib/x86_64-linux-gnu/libopenblas.so.0',
  '/usr/lib/aarch64-linux-gnu/libopenblas.so.0',
  '/usr/lib64/libopenblas.so.0',
  '/usr/lib/libopenblas.so.0',
  '/usr/local/lib/libopenblas.so.0',
  '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
  '/usr/local/opt/openblas/lib/libopenblas.dylib',
];

/** Candidate OpenBLAS paths: $MILFLOW_OPENBLAS, `ldconfig -p`, then well-known locations. */
export function findOpenBlas(): string[] {
  const out: string[] = [];
  if (process.env.MILFLOW_OPENBLAS) out.push(process.env.MILFLOW_OPENBLAS);
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    try {
      const text = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      for (const line of text.split('\n')) {
        const m = /libopenblas[^\s]*\.so[^\s]*\s.*=>\s*(\S+)/.exec(line);
        if (m) out.push(m[1]);
      }
      break;
    } catch {
      /* try the next */
    }
  }
  for (const p of KNOWN_PATHS) out.push(p);
  return [...new Set(out)].filter((p) => existsSync(p));
}

function loadOpenBlas(): Blas | null {
  if (process.env.MILFLOW_BLAS === 'js') return null;
  let koffi: any;
  try {
    koffi = createRequire(import.meta.url)('koffi');
  } catch {
    return null;
  }
  for (const path of findOpenBlas()) {
    try {
      const lib = koffi.load(path);
      const gemm = lib.func('void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int)');
      let setN: ((n: number) => void) | null = null;
      let getN: (() => number) | null = null;
      try { setN = lib.func('void openblas_set_num_threads(int)'); } catch { /* optional */ }
      try { getN = lib.func('int openblas_get_num_threads()'); } catch { /* optional */ }
      // Small products run single-threaded: waking OpenBLAS's pool costs more than it saves
      // for the per-bag GEMMs of small bags (measured 3x per epoch on 100-patch bags).
      let max = getN ? getN() : 1;
      let cur = max;
      const setThreads = (n: number) => {
        if (n !== cur && setN) { setN(n); cur = n; }
      };
      const sgemm: Sgemm = (tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) => {
        if (M === 0 || N === 0) return;
        setThreads(M * N * K < SMALL_GEMM ? 1 : max);
        gemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      };
      return {
        engine: 'native-openblas',
        path,
        sgemm,
        setThreads: (n) => {
          max = Math.max(1, Math.floor(n));
          setThreads(max);
        },
        threads: () => max,
      };
    } catch {
      /* next candidate */
    }
  }
  return null;
}

let scratchB = new Float32Array(0);

/** Pure-TS GEMM for machines without OpenBLAS: correct everywhere, ~2-3.5 GFLOP/s in V8
 * (the previous row-at-a-time loop did 0.6-1.5). */
export const jsSgemm: Sgemm = (tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) => {
  for (let i = 0; i < M; i++) {
    const ci = i * ldc;
    if (beta === 0) C.fill(0, ci, ci + N);
    else if (beta !== 1) for (let j = 0; j < N; j++) C[ci + j] *= beta;
  }
  if (K === 0 || alpha === 0 || M === 0 || N === 0) return;
  // Work on a row-major [K, N] copy of op(B): a strided transposed read in the inner loop costs
  // far more than copying B once. Large copies are not kept alive between calls.
  let Bm = B;
  let ldbm = ldb;
  if (tB) {
    let t = scratchB;
    if (t.length < K * N) {
      t = new Float32Array(K * N);
      if (K * N <= 1 << 24) scratchB = t;
    }
    for (let j = 0; j < N; j++) {
      const bj = j * ldb;
      for (let k = 0; k < K; k++) t[k * N + j] = B[bj + k];
    }
    Bm = t;
    ldbm = N;
  }
  const BK = 256;
  for (let k0 = 0; k0 < K; k0 += BK) {
    const k1 = Math.min(K, k0 + BK);
    for (let i = 0; i < M; i++) {
      const ci = i * ldc;
      let k = k0;
      // Four rows of op(B) per pass: one load/store of C's row per four multiply-adds.
      for (; k + 3 < k1; k += 4) {
        const a0 = alpha * (tA ? A[k * lda + i] : A[i * lda + k]);
        const a1 = alpha * (tA ? A[(k + 1) * lda + i] : A[i * lda + k + 1]);
        const a2 = alpha * (tA ? A[(k + 2) * lda + i] : A[i * lda + k + 2]);
        const a3 = alpha * (tA ? A[(k + 3) * lda + i] : A[i * lda + k + 3]);
        if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
        const b0 = k * ldbm;
        const b1 = b0 + ldbm;
        const b2 = b1 + ldbm;
        const b3 = b2 + ldbm;
        for (let j = 0; j < N; j++) C[ci + j] += a0 * Bm[b0 + j] + a1 * Bm[b1 + j] + a2 * Bm[b2 + j] + a3 * Bm[b3 + j];
      }
      for (; k < k1; k++) {
        const a = alpha * (tA ? A[k * lda + i] : A[i * lda + k]);
        if (a === 0) continue;
        const b0 = k * ldbm;
        for (let j = 0; j < N; j++) C[ci + j] += a * Bm[b0 + j];
      }
    }
  }
};

export const NO_OPENBLAS =
  'OpenBLAS not found (looked in $MILFLOW_OPENBLAS, ldconfig -p and the usual paths): training uses the ' +
  'pure-TypeScript GEMM, 10-30x slower. Install libopenblas0-pthread (Debian/Ubuntu) or set MILFLOW_OPENBLAS=/path/to/libopenblas.so.0.';

/** True when blas() will fall back to the TS GEMM: cheap (no library load), for warnings up front. */
export function openBlasMissing(): boolean {
  return process.env.MILFLOW_BLAS === 'js' || findOpenBlas().length === 0;
}

let cached: Blas | null = null;
let warned = false;

/** The process-wide BLAS (OpenBLAS when found, else the TS fallback with one warning). */
export function blas(): Blas {
  if (cached) return cached;
  const native = loadOpenBlas();
  if (native) {
    const t = Number(process.env.MILFLOW_THREADS);
    if (t > 0) native.setThreads(t);
    return (cached = native);
  }
  if (!warned && process.env.MILFLOW_BLAS !== 'js') {
    warned = true;
    process.emitWarning(NO_OPENBLAS, { code: 'MILFLOW_NO_OPENBLAS' });
  }
  return (cached = { engine: 'native-js', sgemm: jsSgemm, setThreads: () => {}, threads: () => 1 });
}
