// `milflow infer` and `milflow fit-bag` against the reference fixtures, through the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../../src/io/safetensors.ts';

const root = new URL('../../', import.meta.url).pathname;
const dir = join(root, '../shared/fixtures/parity');
const have = existsSync(join(dir, 'cases.json'));
if (!have) console.log(`# parity fixtures not found at ${dir}`);
const milflow = (...args: string[]) => execFileSync(process.execPath, [join(root, 'bin/milflow.mjs'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

for (const name of have ? ['clam_sb_subtyping3', 'mil_binary'] : []) {
  test(`milflow infer --json and fit-bag --steps 1 match the reference: ${name}`, async () => {
    const ex = JSON.parse(readFileSync(join(dir, `${name}.expected.json`), 'utf8'));
    const c = ex.case;
    const w = join(dir, `${name}.weights.safetensors`), bag = join(dir, `${name}.bag.h5`);
    const flags = ['--B', String(c.B), ...(c.subtyping ? ['--subtyping'] : []), '--model', c.model, '--n-classes', String(c.C), '--size', c.size];
    const out = JSON.parse(milflow('infer', '--weights', w, '--bag', bag, ...flags, '--label', String(c.label), '--json'));
    for (const k of ['logits', 'Y_prob'] as const) ex[k].forEach((v: number, i: number) => assert.ok(Math.abs(out[k][i] - v) < 1e-5, `${k}[${i}]`));
    assert.equal(out.Y_hat, ex.Y_hat);
    assert.ok(Math.abs(out.bag_loss_ce - ex.bag_loss_ce) < 1e-5);
    if (ex.A_raw) {
      ex.A_raw.forEach((v: number, i: number) => assert.ok(Math.abs(out.A_raw[i] - v) < 1e-5, `A_raw[${i}]`));
      assert.ok(Math.abs(out.instance_loss_svm - ex.instance_loss_svm) < 1e-5);
      assert.ok(Math.abs(out.instance_loss_ce - ex.instance_loss_ce) < 1e-5);
      ex.slide_embedding.forEach((v: number, i: number) => assert.ok(Math.abs(out.embedding[i] - v) < 1e-5));
    }
    const after = join(mkdtempSync(join(tmpdir(), 'milflow-fitbag-')), 'after.safetensors');
    milflow('fit-bag', '--weights', w, '--bag', bag, ...flags, '--label', String(c.label), '--steps', '1', '--lr', '2e-4', '--weight-decay', '1e-5', '--out', after, '--json');
    const mine = await readSafetensors(after), ref = await readSafetensors(join(dir, `${name}.after_step.safetensors`));
    for (const [k, t] of ref.tensors) {
      const m = mine.tensors.get(k);
      assert.ok(m, `fit-bag output has ${k}`);
      let dn = 0, bn = 0, dmax = 0;
      t.data.forEach((v, i) => { const d = m.data[i] - v; dn += d * d; bn += v * v; dmax = Math.max(dmax, Math.abs(d)); });
      if (k.endsWith('attention_c.bias')) assert.ok(dmax <= 2e-4); // zero-gradient parameter, see README
      else assert.ok(Math.sqrt(dn) <= 1e-4 * Math.sqrt(bn), `${k}: relative error ${Math.sqrt(dn / bn)}`);
    }
  });
}

test('milflow infer: bad input is a clear error naming the bag', { skip: !have }, () => {
  const w = join(dir, 'clam_sb_binary.weights.safetensors');
  assert.throws(() => milflow('infer', '--weights', w, '--bag', join(dir, 'clam_sb_binary.bag.h5'), '--label', '7'), /clam_sb_binary\.bag\.h5: label '7' is outside the label map/);
  assert.throws(() => milflow('infer', '--weights', w, '--bag', join(dir, 'clam_sb_binary.bag.h5'), '--n-classes', '3'), /the weights have 2 classes, not 3/);
});

test('without OpenBLAS (MILFLOW_BLAS=js) the pure-TS engine gives the same numbers', { skip: !have }, () => {
  const ex = JSON.parse(readFileSync(join(dir, 'clam_sb_binary.expected.json'), 'utf8'));
  const out = JSON.parse(execFileSync(process.execPath, [join(root, 'bin/milflow.mjs'), 'infer', '--weights', join(dir, 'clam_sb_binary.weights.safetensors'),
    '--bag', join(dir, 'clam_sb_binary.bag.h5'), '--label', '1', '--json'], { encoding: 'utf8', env: { ...process.env, MILFLOW_BLAS: 'js', MILFLOW_ENGINE: 'native' } }));
  assert.equal(out.engine, 'native-js');
  ex.logits.forEach((v: number, i: number) => assert.ok(Math.abs(out.logits[i] - v) < 1e-5));
  ex.A_raw.forEach((v: number, i: number) => assert.ok(Math.abs(out.A_raw[i] - v) < 1e-5));
  assert.ok(Math.abs(out.instance_loss_svm - ex.instance_loss_svm) < 1e-5);
});
