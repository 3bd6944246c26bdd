// The hand-written ONNX encoder: onnxruntime loads it and computes exactly Conv → Relu →
// GlobalAveragePool → Flatten → Gemm with the seeded weights (checked against a JS reference
// that reads the weights back out of the graph), and the same seed gives the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { tinyEncoder, encodeOnnxModel } from '../../src/features/onnx-writer.ts';
import { loadEncoder } from '../../src/features/extract.ts';

test('tiny encoder: deterministic bytes, onnxruntime output equals a JS reference', async () => {
  const a = tinyEncoder({ inputSize: 16, channels: 4, kernel: 4, dim: 5, seed: 3 });
  const b = tinyEncoder({ inputSize: 16, channels: 4, kernel: 4, dim: 5, seed: 3 });
  const c = tinyEncoder({ inputSize: 16, channels: 4, kernel: 4, dim: 5, seed: 4 });
  assert.deepEqual(a.bytes, b.bytes);
  assert.notDeepEqual(a.bytes, c.bytes);

  // A 1×1 conv with known weights makes the reference easy: y = W2 · mean(relu(W1 x + b1)) + b2.
  const W1 = Float32Array.from([1, -1, 0.5, -0.5, 2, 0.25]); // [2 out, 3 in, 1, 1]
  const B1 = Float32Array.from([0.1, -0.2]);
  const W2 = Float32Array.from([1, 2, -3, 0.5, 0, 1]); // [3 out, 2 in]
  const B2 = Float32Array.from([0.01, 0.02, 0.03]);
  const S = 4;
  const bytes = encodeOnnxModel({
    name: 't',
    nodes: [
      { op: 'Conv', inputs: ['input', 'w1', 'b1'], outputs: ['c'], attrs: [{ name: 'kernel_shape', ints: [1, 1] }, { name: 'strides', ints: [1, 1] }] },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['p'] },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'], attrs: [{ name: 'axis', i: 1 }] },
      { op: 'Gemm', inputs: ['f', 'w2', 'b2'], outputs: ['features'], attrs: [{ name: 'transB', i: 1 }] },
    ],
    initializers: [
      { name: 'w1', dims: [2, 3, 1, 1], data: W1 },
      { name: 'b1', dims: [2], data: B1 },
      { name: 'w2', dims: [3, 2], data: W2 },
      { name: 'b2', dims: [3], data: B2 },
    ],
    inputs: [{ name: 'input', shape: ['N', 3, S, S] }],
    outputs: [{ name: 'features', shape: ['N', 3] }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'milflow-onnx-'));
  try {
    const path = join(dir, 'm.onnx');
    writeFileSync(path, bytes);
    const enc = await loadEncoder({ onnx: path, dim: 3, input_size: S, mean: [0, 0, 0], std: [1, 1, 1], batch_size: 2 });
    const n = 2;
    const x = Float32Array.from({ length: n * 3 * S * S }, (_, i) => Math.sin(i * 0.37) * 2);
    const y = await enc.run(x, n);
    for (let s = 0; s < n; s++) {
      const pooled = [0, 0];
      for (let o = 0; o < 2; o++) {
        for (let p = 0; p < S * S; p++) {
          let v = B1[o];
          for (let ci = 0; ci < 3; ci++) v += W1[o * 3 + ci] * x[s * 3 * S * S + ci * S * S + p];
          pooled[o] += Math.max(0, v) / (S * S);
        }
      }
      for (let d = 0; d < 3; d++) {
        const ref = B2[d] + W2[d * 2] * pooled[0] + W2[d * 2 + 1] * pooled[1];
        assert.ok(Math.abs(y[s * 3 + d] - ref) < 1e-5, `sample ${s} dim ${d}: ${y[s * 3 + d]} vs ${ref}`);
      }
    }
    await enc.close();

    // The tiny encoder itself runs with its declared shapes, and a wrong dim is reported.
    const tiny = join(dir, 'tiny.onnx');
    writeFileSync(tiny, a.bytes);
    const e2 = await loadEncoder({ onnx: tiny, dim: 5, input_size: 16, mean: [0, 0, 0], std: [1, 1, 1], batch_size: 4 });
    const out = await e2.run(new Float32Array(3 * 3 * 16 * 16).fill(0.5), 3);
    assert.equal(out.length, 15);
    const e3 = await loadEncoder({ onnx: tiny, dim: 7, input_size: 16, mean: [0, 0, 0], std: [1, 1, 1], batch_size: 4 });
    await assert.rejects(e3.run(new Float32Array(3 * 16 * 16), 1), /expected \[1,7\]/);
    await assert.rejects(loadEncoder({ onnx: join(dir, 'missing.onnx'), dim: 5, input_size: 16, mean: [0, 0, 0], std: [1, 1, 1], batch_size: 1 }), /missing\.onnx: cannot load/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
