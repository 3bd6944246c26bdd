import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors } from '../../src/io/safetensors.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/models/checkpoint.ts';
import { makeConfig } from '../../src/models/config.ts';
import { initParams, layout } from '../../src/models/params.ts';
import { loadModel } from '../../src/models/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'milflow-st-'));

test('safetensors round trip keeps names, shapes, values and metadata', async () => {
  const t = { b: { shape: [3], data: Float32Array.from([1, -2.5, 3e-8]) }, a: { shape: [2, 2], data: Float32Array.from([0, 1, 2, 3]) } };
  const f = join(dir, 'x.safetensors');
  await writeSafetensors(f, t, { config: '{"x":1}' });
  const r = await readSafetensors(f);
  assert.deepEqual(r.metadata, { config: '{"x":1}' });
  assert.deepEqual([...r.tensors.keys()].sort(), ['a', 'b']);
  assert.deepEqual(r.tensors.get('a')!.shape, [2, 2]);
  assert.deepEqual(Array.from(r.tensors.get('b')!.data), Array.from(t.b.data));
  // header is 8-byte aligned and little-endian length-prefixed
  const buf = encodeSafetensors(t);
  assert.equal(Number(buf.readBigUInt64LE(0)) % 8, 0);
});

test('safetensors reader rejects truncated files with the file name', async () => {
  const f = join(dir, 'bad.safetensors');
  const buf = encodeSafetensors({ w: { shape: [4], data: new Float32Array(4) } });
  writeFileSync(f, buf.subarray(0, buf.length - 4));
  await assert.rejects(readSafetensors(f), /bad\.safetensors.*out of range/);
  assert.throws(() => parseSafetensors(new Uint8Array(4), 'tiny'), /tiny: too short/);
});

test('checkpoint keeps config and standardisation; loadModel applies it in predict', async () => {
  const cfg = makeConfig({ type: 'clam_mb', n_classes: 3, dim: 6, size: 'big', B: 4, subtyping: true });
  const params = initParams(layout(cfg), 5);
  const mean = Float32Array.from([1, 2, 3, 4, 5, 6]), std = Float32Array.from([1, 2, 1, 2, 1, 0.5]);
  const f = join(dir, 'ck.safetensors');
  await saveCheckpoint(f, { config: cfg, params, standardize: { mean, std }, meta: { best_epoch: '3' } });
  const ck = await loadCheckpoint(f);
  assert.deepEqual(ck.config, cfg);
  assert.deepEqual(Array.from(ck.params), Array.from(params));
  assert.equal(ck.meta.best_epoch, '3');
  const m = await loadModel(f);
  const n = 5, x = Float32Array.from({ length: n * 6 }, (_, i) => Math.sin(i));
  const p = m.predict(x, n, 6, 'slideA');
  // same as an unstandardised model fed the standardised features
  await saveCheckpoint(join(dir, 'raw.safetensors'), { config: cfg, params, meta: {} });
  const raw = await loadModel(join(dir, 'raw.safetensors'));
  const xs = x.map((v, i) => (v - mean[i % 6]) / std[i % 6]);
  const q = raw.predict(xs, n, 6);
  assert.ok(Math.abs(p.logits[0] - q.logits[0]) < 1e-5 && Math.abs(p.logits[2] - q.logits[2]) < 1e-5);
  assert.equal(p.A_raw.length, 3 * n);
  assert.equal(p.embedding.length, 3 * 512);
  assert.throws(() => m.predict(x, n, 5, 'slideA'), /slideA: features have dimension 5, the model expects 6/);
  const bad = x.slice(); bad[7] = NaN;
  assert.throws(() => m.predict(bad, n, 6, 'slideB'), /slideB: non-finite feature value \(NaN\) at patch 1/);
  assert.throws(() => m.predict(new Float32Array(0), 0, 6, 'slideC'), /slideC: empty bag/);
});

test('reference checkpoints: module. prefix accepted, architecture inferred, shape mismatch named', async () => {
  const cfg = makeConfig({ type: 'clam_sb', n_classes: 2, dim: 8 });
  const lay = layout(cfg);
  const params = initParams(lay, 1);
  const t: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const v of lay.views) t[`module.${v.name}`] = { shape: v.shape, data: params.slice(v.offset, v.offset + v.size) };
  const f = join(dir, 'ref.safetensors');
  await writeSafetensors(f, t);
  const ck = await loadCheckpoint(f, { B: 3 });
  assert.equal(ck.config.type, 'clam_sb');
  assert.equal(ck.config.dim, 8);
  assert.equal(ck.config.B, 3);
  assert.deepEqual(Array.from(ck.params), Array.from(params));
  delete t['module.attention_net.3.attention_c.bias'];
  await writeSafetensors(f, t);
  await assert.rejects(loadCheckpoint(f), /missing parameter 'attention_net\.3\.attention_c\.bias'/);
});
