// PCA of slide embeddings (the report's only computed figure) and the report's number formatting.
// The report has no statistics of its own: tests of those live with the stats stages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pca2 } from '../../src/stats/pca.ts';
import { fmtP, pct } from '../../src/report/format.ts';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) < tol, `${a} ≈ ${b}`);

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
