// The report's own statistics: paired t (against R's t.test values), exact Wilcoxon, PCA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairedTest, wilcoxonExact, tTwoSidedP, tQuantile, pca2, sd, fmtP, pct } from '../../src/report/numbers.ts';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) < tol, `${a} ≈ ${b}`);

test('Student t: textbook quantiles and p-values', () => {
  close(tQuantile(0.975, 9), 2.262157, 1e-5);
  close(tQuantile(0.975, 1), 12.7062, 1e-3);
  close(tTwoSidedP(2.262157, 9), 0.05, 1e-5);
  close(tTwoSidedP(1, 30), 0.3253, 1e-4);
});

test('paired t-test over folds equals the one-sample t of the differences', () => {
  // Differences .06 .01 .05 .06 0: mean .036, sd .028810, t = 2.7941 on 4 df (two-sided p ≈ 0.049).
  const r = pairedTest([0.91, 0.88, 0.93, 0.9, 0.86], [0.85, 0.87, 0.88, 0.84, 0.86]);
  close(r.meanDiff, 0.036);
  close(r.sdDiff, sd([0.06, 0.01, 0.05, 0.06, 0]));
  const t = r.meanDiff / (r.sdDiff / Math.sqrt(5));
  close(t, 2.7941, 1e-4);
  close(r.tP, tTwoSidedP(t, 4));
  assert.ok(r.tP > 0.045 && r.tP < 0.053, `p ${r.tP}`);
  assert.ok(r.ci[0] > 0 && r.ci[1] > r.meanDiff);
});

test('exact Wilcoxon signed-rank: all-positive and tied cases', () => {
  close(wilcoxonExact([1, 2, 3, 4, 5]), 2 / 32);
  close(wilcoxonExact([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]), 2 / 1024);
  assert.equal(wilcoxonExact([0, 0]), 1);
  const p = wilcoxonExact([1, -1, 2, -2]);
  assert.equal(p, 1);
});

test('PCA: first component follows the direction of largest spread', () => {
  const rows = Array.from({ length: 50 }, (_, i) => {
    const t = i / 10 - 2.5;
    return [t * 3, t * 3 + ((i * 7) % 5) * 0.01, ((i * 13) % 7) * 0.05];
  });
  const { scores, explained } = pca2(rows);
  assert.ok(explained[0] > 0.95);
  // PC1 scores are monotone in t (either sign is a valid component).
  const dir = Math.sign(scores[scores.length - 1][0] - scores[0][0]);
  for (let i = 1; i < scores.length; i++) assert.ok(dir * (scores[i][0] - scores[i - 1][0]) >= -0.05);
});

test('PCA: Gram path (fewer rows than dimensions) equals the covariance path', () => {
  const rows = Array.from({ length: 30 }, (_, i) => [Math.sin(i), Math.cos(i * 0.7) * 2, i * 0.1, (i % 3) * 0.5]);
  const a = pca2(rows);
  const b = pca2(rows.map((r) => [...r, ...new Array(40).fill(0)]));
  close(a.explained[0], b.explained[0], 1e-9);
  close(a.explained[1], b.explained[1], 1e-9);
  a.scores.forEach((s, i) => {
    close(s[0], b.scores[i][0], 1e-6);
    close(s[1], b.scores[i][1], 1e-6);
  });
});

test('formatting for readers', () => {
  assert.equal(pct(0.25), '25 %');
  assert.equal(pct(1), '100 %');
  assert.equal(fmtP(0.0004), '< 0.001');
  assert.equal(fmtP(NaN), '–');
});
