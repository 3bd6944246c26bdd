// Parity of the tfjs-core variant (the code tfjs-node-gpu runs), on tfjs's cpu backend, with the reference PyTorch CLAM/MIL fixtures
// (../shared/fixtures/parity): forward outputs within 1e-5 absolute, parameters after one
// Adam step (lr 2e-4, L2 1e-5, dropout 0) within 1e-4 relative per tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TfjsModel, loadTfjs } from "../../src/models/tfjs/model.ts";
import { defineParityTests } from '../helpers/parity.ts';

const tfjs = loadTfjs('@tensorflow/tfjs-backend-cpu');

defineParityTests('tfjs ', async (config, params) => {
  const t = await tfjs;
  return new TfjsModel(config, params, t.tf, t.engine);
});

test('tfjs and native engines agree in training mode (same dropout masks, same gradients)', async () => {
  const { makeConfig } = await import('../../src/models/config.ts');
  const { initParams, layout } = await import('../../src/models/params.ts');
  const { NativeModel } = await import('../../src/models/native.ts');
  const { TrainingRng } = await import('../../src/engine/rng.ts');
  const t = await tfjs;
  for (const type of ['clam_mb', 'mil'] as const) {
    const cfg = makeConfig({ type, n_classes: 3, dim: 16, B: 4, subtyping: true, dropout: 0.25 });
    const p = initParams(layout(cfg), 3);
    const r = new TrainingRng(8);
    const X = Float32Array.from({ length: 40 * 16 }, () => r.normal());
    const a = new NativeModel(cfg, p.slice()), b = new TfjsModel(cfg, p.slice(), t.tf, t.engine);
    const fa = a.forward(X, 40, { label: 1, train: true, rng: new TrainingRng(21) });
    const fb = b.forward(X, 40, { label: 1, train: true, rng: new TrainingRng(21) });
    assert.ok(Math.abs(fa.loss! - fb.loss!) < 1e-5, `${type}: loss ${fa.loss} vs ${fb.loss}`);
    a.backward();
    b.backward();
    let d = 0, s = 0;
    for (let i = 0; i < a.grad.length; i++) { d = Math.max(d, Math.abs(a.grad[i] - b.grad[i])); s = Math.max(s, Math.abs(a.grad[i])); }
    assert.ok(d < 1e-4 * s + 1e-7, `${type}: gradient max diff ${d} (scale ${s})`);
  }
});
