import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blas, jsSgemm, type Sgemm } from '../../src/engine/blas.ts';
import { TrainingRng } from '../../src/engine/rng.ts';

function naive(tA: boolean, tB: boolean, M: number, N: number, K: number, A: Float32Array, lda: number, B: Float32Array, ldb: number): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += (tA ? A[k * lda + i] : A[i * lda + k]) * (tB ? B[j * ldb + k] : B[k * ldb + j]);
    C[i * N + j] = s;
  }
  return C;
}

function check(name: string, gemm: Sgemm) {
  const rng = new TrainingRng(3);
  for (const [M, N, K] of [[1, 1, 1], [7, 5, 3], [33, 17, 65], [2, 130, 9]]) {
    for (const tA of [false, true]) for (const tB of [false, true]) {
      // operands are views with a byte offset, as the engine passes them
      const a = new Float32Array(5 + M * K).map(() => rng.normal()), A = a.subarray(5);
      const B = new Float32Array(N * K).map(() => rng.normal());
      const C = new Float32Array(M * N).fill(1);
      const lda = tA ? M : K, ldb = tB ? K : N;
      gemm(tA, tB, M, N, K, 1, A, lda, B, ldb, 0.5, C, N);
      const want = naive(tA, tB, M, N, K, A, lda, B, ldb);
      for (let i = 0; i < M * N; i++) assert.ok(Math.abs(C[i] - (want[i] + 0.5)) < 1e-4 * (1 + Math.abs(want[i])), `${name} ${tA}/${tB} ${M}x${N}x${K} [${i}]`);
    }
  }
}

test('pure-TS sgemm matches a naive product (all transposes, beta)', () => check('js', jsSgemm));

test('process BLAS sgemm matches a naive product', () => {
  const b = blas();
  console.log(`# engine: ${b.engine}${b.path ? ` (${b.path})` : ''}`);
  assert.match(b.engine, /^native-(openblas|js)$/);
  check(b.engine, b.sgemm);
});

test('seeded rng is reproducible and roughly uniform / normal', () => {
  const a = new TrainingRng(42), b = new TrainingRng(42), c = new TrainingRng(43);
  const xs = Array.from({ length: 20000 }, () => a.next());
  assert.deepEqual(xs.slice(0, 10), Array.from({ length: 10 }, () => b.next()));
  assert.notEqual(xs[0], c.next());
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.01);
  const ns = Array.from({ length: 20000 }, () => a.normal());
  const m = ns.reduce((s, x) => s + x, 0) / ns.length;
  const v = ns.reduce((s, x) => s + (x - m) ** 2, 0) / ns.length;
  assert.ok(Math.abs(m) < 0.03 && Math.abs(v - 1) < 0.05);
});
