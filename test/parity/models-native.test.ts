// Parity of the native engine with the reference PyTorch CLAM/MIL fixtures
// (../shared/fixtures/parity): forward outputs within 1e-5 absolute, parameters after one
// Adam step (lr 2e-4, L2 1e-5, dropout 0) within 1e-4 relative per tensor.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModel } from '../../src/models/index.ts';
import { NativeModel } from '../../src/models/native.ts';
import { defineParityTests, maxAbs, parityDir as dir } from '../helpers/parity.ts';

defineParityTests('', (config, params) => new NativeModel(config, params), async (name, ex, bag) => {
  // the public API gives the same numbers
  const c = ex.case;
  const lm = await loadModel(join(dir, `${name}.weights.safetensors`), { B: c.B, subtyping: c.subtyping });
  const p = lm.predict(bag.features, bag.n, bag.dim, name);
  assert.ok(maxAbs(p.logits, ex.logits, 'predict logits') < 1e-5);
  assert.equal(p.Y_hat, ex.Y_hat);
});
