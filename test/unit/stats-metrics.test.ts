import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auc, delong, delongPaired } from '../../src/stats/delong.ts';
import { aucOf, classMetrics, rocPoints, interpRoc } from '../../src/stats/metrics.ts';
import { bootstrapAuc } from '../../src/stats/bootstrap.ts';
import { summarize, comparePredictions, jsonSafe } from '../../src/stats/summary.ts';
import { RandomState } from '../../src/splits/mt19937.ts';

/** O(m·n) Mann–Whitney with ties ½: the definition, to check the fast path against. */
function bruteAuc(y: number[], s: number[]): number {
  let num = 0, m = 0, n = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) m++; else n++;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) for (let j = 0; j < y.length; j++) if (y[j] === 0) num += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
  return num / (m * n);
}

test('fast AUC equals the Mann–Whitney definition, ties counted ½', () => {
  const rs = new RandomState(5);
  for (let t = 0; t < 30; t++) {
    const n = 5 + rs.interval(60);
    const y = Array.from({ length: n }, (_, i) => (i < 2 ? i : rs.interval(1)));
    const s = Array.from({ length: n }, () => rs.interval(t % 2 ? 4 : 1000) / 7);
    assert.ok(Math.abs(auc(y, s)! - bruteAuc(y, s)) < 1e-12);
  }
  assert.equal(auc([0, 1], [0.5, 0.5]), 0.5);
  assert.equal(auc([0, 0, 1], [0.1, 0.2, 0.3]), 1);
});

test('single-class sets have no AUC (undefined, JSON null), never a number', () => {
  assert.equal(auc([1, 1, 1], [0.1, 0.2, 0.3]), undefined);
  assert.equal(delong([0, 0], [0.1, 0.2]), undefined);
  const r = aucOf([2, 2, 2], [[0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.2, 0.2, 0.6]], 3);
  assert.equal(r.auc, undefined);
  const s = summarize({ slide_id: ['a', 'b'], y: [1, 1], prob: [[0.2, 0.8], [0.6, 0.4]], y_hat: [1, 0], nClasses: 2 });
  assert.equal(s.auc, undefined);
  assert.equal(s.auc_defined, false);
  assert.equal((jsonSafe(s) as any).auc, null);
  assert.equal(s.accuracy, 0.5);
});

test('multi-class: an absent class is NaN and skipped in the macro mean', () => {
  const y = [0, 0, 1, 1, 0];
  const prob = [[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.2, 0.7, 0.1], [0.4, 0.5, 0.1], [0.3, 0.3, 0.4]];
  const r = aucOf(y, prob, 3);
  assert.ok(Number.isNaN(r.per_class[2]));
  assert.equal(r.auc, (r.per_class[0] + r.per_class[1]) / 2);
  assert.equal(r.per_class[0], bruteAuc(y.map((v) => (v === 0 ? 1 : 0)), prob.map((p) => p[0])));
});

test('accuracy, balanced accuracy, F1, confusion matrix', () => {
  const m = classMetrics([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0], 2);
  assert.deepEqual(m.confusion, [[3, 1], [1, 1]]);
  assert.equal(m.accuracy, 4 / 6);
  assert.equal(m.balanced_accuracy, (3 / 4 + 1 / 2) / 2);
  assert.equal(m.f1, 2 / (2 + 2)); // tp 1, support 2, predicted 2
});

test('ROC points and grid interpolation', () => {
  const pts = rocPoints([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.4])!;
  assert.deepEqual(pts.map((p) => [p.fpr, p.tpr]), [[0, 0], [0, 0.5], [0.5, 1], [1, 1]]);
  assert.deepEqual(interpRoc(pts, [0, 0.25, 0.5, 1]), [0.5, 0.75, 1, 1]);
});

test('paired DeLong: identical models give z = 0, p = 1; swapped models flip the sign', () => {
  const rs = new RandomState(9);
  const y = Array.from({ length: 200 }, (_, i) => i % 2);
  const a = y.map((v) => v + rs.random() * 2);
  const b = y.map((v) => v * 0.3 + rs.random());
  const same = delongPaired(y, a, a)!;
  assert.equal(same.z, 0);
  assert.equal(same.p, 1);
  const ab = delongPaired(y, a, b)!;
  const ba = delongPaired(y, b, a)!;
  assert.ok(Math.abs(ab.z + ba.z) < 1e-12);
  assert.ok(ab.p > 0 && ab.p < 1);
  const c = comparePredictions(
    { slide_id: y.map(String), y, prob: a.map((v) => [1 - v, v]), y_hat: y, nClasses: 2 },
    { slide_id: y.map(String), y, prob: b.map((v) => [1 - v, v]), y_hat: y, nClasses: 2 });
  assert.ok(Math.abs(c.delong!.z - ab.z) < 1e-12);
});

test('bootstrap CI: seeded, case-level, brackets the AUC and agrees roughly with DeLong', () => {
  const rs = new RandomState(3);
  const y = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const s = y.map((v) => v * 0.8 + rs.random());
  const prob = s.map((v) => [1 - v, v]);
  const b1 = bootstrapAuc(y, prob, 2, { n: 500, seed: 4 });
  const b2 = bootstrapAuc(y, prob, 2, { n: 500, seed: 4 });
  const b3 = bootstrapAuc(y, prob, 2, { n: 500, seed: 5 });
  assert.deepEqual(b1.ci, b2.ci);
  assert.notDeepEqual(b1.ci, b3.ci);
  const d = delong(y, s)!;
  assert.ok(b1.ci![0] < d.auc && d.auc < b1.ci![1]);
  assert.ok(Math.abs(b1.se! - d.se) / d.se < 0.25, `bootstrap se ${b1.se} vs DeLong ${d.se}`);
  // Case level: two slides per case with identical predictions widen nothing but must resample together.
  const caseOf = y.map((_, i) => `c${Math.floor(i / 3)}`);
  const bc = bootstrapAuc(y, prob, 2, { n: 200, seed: 4, caseOf });
  assert.ok(bc.ci![0] < bc.auc! && bc.auc! < bc.ci![1]);
});

test('radix score order equals a comparison sort (negatives, ±0, infinities, ties)', async () => {
  const { sortScores } = await import('../../src/stats/rank.ts');
  const rs = new RandomState(11);
  for (const n of [5, 300, 5000]) {
    const s = Array.from({ length: n }, (_, i) => {
      const r = rs.interval(9);
      return r === 0 ? -0 : r === 1 ? 0 : r === 2 ? -Infinity : r === 3 ? Infinity : r === 4 ? Math.round(rs.random() * 5) - 2 : (rs.random() - 0.5) * 10 ** (rs.interval(20) - 10);
    });
    const { order } = sortScores(s);
    for (let k = 1; k < n; k++) assert.ok(s[order[k - 1]] <= s[order[k]], `n=${n} position ${k}`);
    assert.equal(new Set(order).size, n);
  }
  // Scores that differ only in the low mantissa word (one long run of equal high words).
  const near = Array.from({ length: 2000 }, () => 1 + rs.interval(1000) * Number.EPSILON);
  const o2 = sortScores(near).order;
  for (let k = 1; k < near.length; k++) assert.ok(near[o2[k - 1]] <= near[o2[k]], `low-word run, position ${k}`);
  assert.equal(auc(near.map((v) => (v > 1 + 500 * Number.EPSILON ? 1 : 0)), near), 1);
  assert.throws(() => sortScores([0.1, NaN]), /NaN/);
});
