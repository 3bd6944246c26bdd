import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { delong, delongPaired } from '../../src/stats/delong.ts';
import { aucOf } from '../../src/stats/metrics.ts';

const FX = new URL('../../../shared/fixtures/stats/delong_public.json', import.meta.url).pathname;
const skip = !existsSync(FX) && 'needs ../shared/fixtures/stats/delong_public.json';
const fx = skip ? { binary: [], multiclass: [] } : JSON.parse(readFileSync(FX, 'utf8'));

function close(got: number, want: number, tol: number, what: string) {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, pROC ${want} (|Δ| = ${Math.abs(got - want)})`);
}

test('DeLong AUC, variance, CI and paired z/p equal pROC (12 binary cases, with ties)', { skip }, () => {
  assert.equal(fx.binary.length, 12);
  let withTies = 0;
  fx.binary.forEach((c: any, i: number) => {
    if (new Set(c.scores_a).size < c.scores_a.length) withTies++;
    for (const side of ['a', 'b'] as const) {
      const d = delong(c.labels, c[`scores_${side}`])!;
      close(d.auc, c[`auc_${side}`], 1e-9, `case ${i} auc_${side}`);
      close(d.variance, c[`var_${side}`], 1e-9, `case ${i} var_${side}`);
      close(d.ci[0], c[`ci_${side}`][0], 1e-9, `case ${i} ci_${side} lower`);
      close(d.ci[1], c[`ci_${side}`][1], 1e-9, `case ${i} ci_${side} upper`);
    }
    const p = delongPaired(c.labels, c.scores_a, c.scores_b)!;
    close(p.z, c.paired_z, 1e-9, `case ${i} paired z`);
    close(p.p, c.paired_p, 1e-6, `case ${i} paired p`);
  });
  assert.ok(withTies >= 3, 'fixture has tied cases');
});

test('multi-class one-vs-rest AUCs and macro mean equal pROC', { skip }, () => {
  assert.equal(fx.multiclass.length, 3);
  fx.multiclass.forEach((c: any, i: number) => {
    const n = c.labels.length;
    const prob = Array.from({ length: n }, (_, k) => c.probs[String(k + 1)] as number[]);
    const r = aucOf(c.labels, prob, 3);
    c.ovr_auc.forEach((v: number, k: number) => close(r.per_class[k], v, 1e-9, `case ${i} class ${k}`));
    close(r.auc!, c.macro_auc, 1e-9, `case ${i} macro`);
  });
});
