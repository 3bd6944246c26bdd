// Shared checks of an engine against the reference PyTorch CLAM/MIL fixtures
// (../shared/fixtures/parity): forward outputs within 1e-5 absolute, parameters after one
// Adam step (lr 2e-4, L2 1e-5, dropout 0) within 1e-4 relative per tensor. The native and the
// tfjs engines run the same checks; only how a model is built differs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/models/checkpoint.ts';
import { Adam } from '../../src/train/optim.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { readBag, type Bag } from '../../src/io/h5.ts';

const dir = new URL('../../../shared/fixtures/parity/', import.meta.url).pathname;
const cases: string[] = existsSync(join(dir, 'cases.json')) ? JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')).cases : [];
if (!cases.length) console.log(`# parity fixtures not found at ${dir}: nothing to compare`);

export function maxAbs(a: ArrayLike<number>, b: number[], what: string): number {
  assert.equal(a.length, b.length, `${what}: length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

export { dir as parityDir, cases as parityCases };

/** Registers forward and one-step parity tests for every fixture case. */
export function defineParityTests(
  label: string,
  makeModel: (config: any, params: Float32Array) => any | Promise<any>,
  afterForward?: (name: string, ex: any, bag: Bag) => Promise<void>,
): void {
  for (const name of cases) {
    test(`${label}forward parity: ${name}`, async () => {
      const ex = JSON.parse(readFileSync(join(dir, `${name}.expected.json`), 'utf8'));
      const c = ex.case;
      const ck = await loadCheckpoint(join(dir, `${name}.weights.safetensors`), { B: c.B, subtyping: c.subtyping, dropout: 0 });
      assert.equal(ck.config.type === 'mmil' ? 'mil' : ck.config.type, c.model);
      assert.equal(ck.config.size, c.size);
      const bag = await readBag(join(dir, `${name}.bag.h5`));
      const m = await makeModel(ck.config, ck.params);
      const f = m.forward(bag.features, bag.n, { label: c.label });
      const tol = 1e-5;
      assert.ok(maxAbs(f.logits, ex.logits, 'logits') < tol, 'logits');
      assert.ok(maxAbs(f.Y_prob, ex.Y_prob, 'Y_prob') < tol, 'Y_prob');
      assert.equal(f.Y_hat, ex.Y_hat);
      assert.ok(Math.abs(f.bag_loss_ce! - ex.bag_loss_ce) < tol, 'bag CE');
      assert.ok(Math.abs(f.loss! - ex.train_step_total_loss) < tol, 'total loss');
      if (ex.A_raw) {
        assert.ok(maxAbs(f.A_raw, ex.A_raw, 'A_raw') < tol, 'A_raw');
        assert.ok(maxAbs(f.A!, ex.A_softmax, 'A') < tol, 'A softmax');
        assert.ok(maxAbs(f.embedding, ex.slide_embedding, 'embedding') < tol, 'slide embedding');
        assert.ok(Math.abs(f.inst_loss_svm! - ex.instance_loss_svm) < tol, 'instance loss (smooth SVM)');
        assert.ok(Math.abs(f.inst_loss_ce! - ex.instance_loss_ce) < tol, 'instance loss (CE)');
        assert.deepEqual(f.inst_labels, ex.inst_labels);
        assert.deepEqual(f.inst_preds, ex.inst_preds);
      } else {
        assert.ok(maxAbs(f.embedding, ex.top_instance_features, 'top instance h') < tol, 'top instance features');
        // instance_probs [N, C] vs A_raw ([1,N] positive class, or [C,N])
        const [N, C] = ex.instance_probs_shape;
        const probs: number[] = ex.instance_probs;
        const mine = f.A_raw;
        if (mine.length === N) for (let i = 0; i < N; i++) assert.ok(Math.abs(mine[i] - probs[i * C + 1]) < tol);
        else for (let i = 0; i < N; i++) for (let k = 0; k < C; k++) assert.ok(Math.abs(mine[k * N + i] - probs[i * C + k]) < tol);
      }
      await afterForward?.(name, ex, bag);
    });

    test(`${label}one Adam step parity: ${name}`, async () => {
      const ex = JSON.parse(readFileSync(join(dir, `${name}.expected.json`), 'utf8'));
      const c = ex.case;
      const ck = await loadCheckpoint(join(dir, `${name}.weights.safetensors`), { B: c.B, subtyping: c.subtyping, dropout: 0 });
      const after = await readSafetensors(join(dir, `${name}.after_step.safetensors`));
      const bag = await readBag(join(dir, `${name}.bag.h5`));
      const m = await makeModel(ck.config, ck.params);
      m.forward(bag.features, bag.n, { label: c.label, train: true });
      m.backward();
      // gradient norms as a diagnostic of the backward pass
      for (const v of m.lay.views) {
        const want = ex.grad_norms[v.name];
        if (want === undefined || v.name === 'attention_net.3.attention_c.bias') continue;
        let s = 0;
        for (let i = 0; i < v.size; i++) s += m.grad[v.offset + i] ** 2;
        assert.ok(Math.abs(Math.sqrt(s) - want) <= 1e-4 * want + 1e-9, `grad norm ${v.name}: ${Math.sqrt(s)} vs ${want}`);
      }
      const opt = new Adam(m.lay.views, m.params.length, { lr: 2e-4, weightDecay: 1e-5 });
      opt.step(m.params, m.grad, m.inactive);
      for (const v of m.lay.views) {
        const t = after.tensors.get(v.name);
        assert.ok(t, `after-step tensor ${v.name}`);
        let dn = 0, bn = 0, dmax = 0;
        for (let i = 0; i < v.size; i++) {
          const d = m.params[v.offset + i] - t.data[i];
          dn += d * d;
          bn += t.data[i] * t.data[i];
          dmax = Math.max(dmax, Math.abs(d));
        }
        if (v.name === 'attention_net.3.attention_c.bias') {
          // Its gradient is exactly 0 (softmax is shift-invariant); the reference's value is
          // rounding noise of order Adam's eps, so its step is arbitrary within ±lr.
          assert.ok(dmax <= 2e-4, `${v.name}: ${dmax}`);
          continue;
        }
        assert.ok(Math.sqrt(dn) <= 1e-4 * Math.sqrt(bn), `${v.name}: relative error ${Math.sqrt(dn / bn)}`);
      }
      const ae = JSON.parse(readFileSync(join(dir, `${name}.after_step.expected.json`), 'utf8'));
      const f = m.forward(bag.features, bag.n, {});
      assert.ok(maxAbs(f.logits, ae.logits, 'logits after step') < 1e-5, 'logits after step');
      if (ae.A_raw) {
        // A_raw after the step carries the attention_c.bias noise above as a constant shift
        // per branch; compare modulo that shift (softmax, and so everything else, ignores it).
        const K = ck.config.type === 'clam_mb' ? ck.config.n_classes : 1;
        const n = bag.n;
        for (let k = 0; k < K; k++) {
          let shift = 0;
          for (let i = 0; i < n; i++) shift += (f.A_raw[k * n + i] - ae.A_raw[k * n + i]) / n;
          assert.ok(Math.abs(shift) <= 2e-4, `A_raw shift ${shift}`);
          for (let i = 0; i < n; i++) assert.ok(Math.abs(f.A_raw[k * n + i] - shift - ae.A_raw[k * n + i]) < 1e-5, `A_raw after step [${k},${i}]`);
        }
      }
    });
  }
}
