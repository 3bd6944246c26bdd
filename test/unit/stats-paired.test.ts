import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairedT, qt, tTwoSidedP, wilcoxonSignedRank, meanStd } from '../../src/stats/paired.ts';

test('Student t tail probabilities and quantiles (table values)', () => {
  // Two-sided 5 % critical values: df 1 → 12.7062, 9 → 2.2622, 30 → 2.0423.
  assert.ok(Math.abs(qt(0.975, 1) - 12.7062047) < 1e-6);
  assert.ok(Math.abs(qt(0.975, 9) - 2.2621572) < 1e-6);
  assert.ok(Math.abs(qt(0.975, 30) - 2.0422725) < 1e-6);
  assert.ok(Math.abs(tTwoSidedP(1, 1) - 0.5) < 1e-12); // Cauchy: P(|T| > 1) = 1/2
  assert.ok(Math.abs(tTwoSidedP(2, 2) - (1 - 2 / Math.sqrt(6))) < 1e-12); // closed form for df 2
});

test('paired t-test on fold differences', () => {
  const d = [0.1, 0.2, 0.05, -0.02, 0.08];
  const r = pairedT(d)!;
  const { mean, std } = meanStd(d);
  assert.equal(r.t, mean / (std / Math.sqrt(5)));
  assert.equal(r.df, 4);
  assert.ok(r.p > 0.05 && r.p < 0.1);
  assert.ok(r.ci[0] < 0 && r.ci[1] > mean);
  assert.equal(pairedT([0.1]), undefined);
  assert.equal(pairedT([0, 0, 0])!.p, 1);
});

test('Wilcoxon signed-rank exact p', () => {
  // All 10 differences positive: p = 2 / 2^10.
  assert.equal(wilcoxonSignedRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])!.p, 2 / 1024);
  // n = 5, one negative with the smallest |d|: W+ = 14, P(|W - 7.5| ≥ 6.5) = 4/32.
  const w = wilcoxonSignedRank([0.1, 0.2, 0.05, -0.02, 0.08])!;
  assert.equal(w.w_plus, 14);
  assert.equal(w.p, 4 / 32);
  assert.equal(wilcoxonSignedRank([0, 0]), undefined);
});
