// Finite-difference checks of the hand-derived backward passes, per parameter block, for every
// model type, with dropout on (the same seeded masks in every evaluation) and both losses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrainingRng } from '../../src/engine/rng.ts';
import { makeConfig, type ModelConfig, type ModelType } from '../../src/models/config.ts';
import { initParams, layout } from '../../src/models/params.ts';
import { NativeModel } from '../../src/models/native.ts';

function bag(n: number, E: number, seed: number) {
  const r = new TrainingRng(seed);
  return Float32Array.from({ length: n * E }, () => r.normal());
}

function gradCheck(cfg: ModelConfig, label: number, n: number) {
  const lay = layout(cfg);
  const p0 = initParams(lay, 11);
  // non-zero biases so their gradients are exercised too
  const r = new TrainingRng(5);
  for (const v of lay.views) if (v.kind === 'bias') for (let i = 0; i < v.size; i++) p0[v.offset + i] = 0.1 * r.normal();
  const X = bag(n, cfg.dim, 9);
  const m = new NativeModel(cfg, p0.slice());
  const loss = (p: Float32Array) => {
    m.params.set(p);
    return m.forward(X, n, { label, train: true, rng: new TrainingRng(77) }).loss!;
  };
  loss(p0);
  m.forward(X, n, { label, train: true, rng: new TrainingRng(77) });
  m.backward();
  const g = m.grad.slice();
  const inactive = m.inactive;
  const dir = new TrainingRng(3);
  let checked = 0;
  lay.views.forEach((v, idx) => {
    const vdir = Float32Array.from({ length: v.size }, () => dir.normal());
    let gv = 0, gn = 0;
    for (let i = 0; i < v.size; i++) { gv += g[v.offset + i] * vdir[i]; gn += g[v.offset + i] ** 2; }
    if (inactive.has(idx)) {
      assert.equal(gn, 0, `${cfg.type}: unused ${v.name} must have no gradient`);
      return;
    }
    if (v.name === 'attention_net.3.attention_c.bias') {
      assert.ok(Math.abs(gv) < 1e-6, `${cfg.type}: softmax is shift invariant, d/d ${v.name} must be 0 (got ${gv})`);
      return;
    }
    // the first layer feeds every ReLU: a small step keeps the difference off the kinks
    const h = v.offset < lay.views[2].offset ? 3e-5 : 3e-4;
    const at = (step: number) => {
      const q = p0.slice();
      for (let i = 0; i < v.size; i++) q[v.offset + i] += step * vdir[i];
      return loss(q);
    };
    const f0 = loss(p0);
    const fdAt = (step: number) => (at(step) - at(-step)) / (2 * step);
    // float32 loss noise (~1e-7) over the small first-layer step gives ~2e-3 absolute slack
    const slack = h < 1e-4 ? 3e-3 : 0;
    const ok = (fd: number) => Math.abs(fd - gv) < 3e-2 * Math.max(Math.abs(fd), Math.abs(gv), 1e-3) + slack;
    // The smooth-SVM → hinge switch (gap ≥ ln 1000) and top-k re-selection are genuine jumps of
    // the loss; when a central step straddles one, one of the one-sided differences does not.
    const fds = [fdAt(h), (at(h) - f0) / h, (f0 - at(-h)) / h];
    assert.ok(fds.some(ok), `${cfg.type} ${v.name}: finite differences ${fds.join(', ')} vs backward ${gv}`);
    checked++;
  });
  assert.ok(checked >= 4);
}

const cases: [ModelType, number, Partial<ModelConfig>][] = [
  ['clam_sb', 2, {}],
  ['clam_sb', 3, { subtyping: true, inst_loss: 'ce' }],
  ['clam_mb', 3, { subtyping: true, size: 'big' }],
  ['clam_mb', 2, { bag_loss: 'svm' }],
  ['abmil', 2, {}],
  ['mil', 2, {}],
  ['mil', 3, {}],
  ['mmil', 2, {}],
];

for (const [type, C, extra] of cases) {
  test(`backward matches finite differences: ${type} C=${C} ${JSON.stringify(extra)}`, () => {
    const cfg = makeConfig({ type, n_classes: C, dim: 12, B: 3, dropout: 0.25, ...extra });
    gradCheck(cfg, C - 1, 17);
  });
}

test('chunked first-layer backward equals the one-chunk result', () => {
  const cfg = makeConfig({ type: 'clam_mb', n_classes: 3, dim: 10, B: 3, subtyping: true, dropout: 0.25 });
  const p = initParams(layout(cfg), 4);
  const X = bag(23, 10, 4);
  const grads = [1 << 20, 5].map((chunk) => {
    NativeModel.rowChunk = chunk;
    const m = new NativeModel(cfg, p.slice());
    m.forward(X, 23, { label: 2, train: true, rng: new TrainingRng(9) });
    m.backward();
    return m.grad.slice();
  });
  NativeModel.rowChunk = 8192;
  let d = 0, s = 0;
  for (let i = 0; i < grads[0].length; i++) { d = Math.max(d, Math.abs(grads[0][i] - grads[1][i])); s = Math.max(s, Math.abs(grads[0][i])); }
  assert.ok(s > 0 && d <= 1e-5 * s, `max diff ${d} (scale ${s})`);
});

test('bags smaller than B use all patches (clamp), not a crash', () => {
  const cfg = makeConfig({ type: 'clam_sb', n_classes: 2, dim: 4, B: 8, dropout: 0 });
  const m = new NativeModel(cfg, initParams(layout(cfg), 1));
  const f = m.forward(bag(3, 4, 1), 3, { label: 1, train: true });
  assert.equal(f.inst_labels!.length, 6); // top-3 and bottom-3
  m.backward();
  assert.ok(m.grad.some((x) => x !== 0));
});

test('eval mode is deterministic and dropout changes training outputs', () => {
  const cfg = makeConfig({ type: 'clam_sb', n_classes: 2, dim: 8, dropout: 0.5 });
  const m = new NativeModel(cfg, initParams(layout(cfg), 2));
  const X = bag(30, 8, 2);
  const a = m.forward(X, 30, {}).logits.slice(), b = m.forward(X, 30, {}).logits.slice();
  assert.deepEqual(a, b);
  const c = m.forward(X, 30, { train: true, rng: new TrainingRng(1), label: 0 }).logits;
  assert.notDeepEqual(Array.from(c), Array.from(a));
  assert.throws(() => m.forward(X, 30, { train: true, label: 0 }), /needs an rng/);
});
