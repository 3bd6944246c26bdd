import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSynthetic } from '../../src/datasets/synthetic.ts';
import { SyntheticRng } from '../../src/datasets/prng.ts';
import { sanityCheck, aucBinary } from '../../src/datasets/sanity.ts';
import { syntheticDefaults } from '../../src/stages/dataset.ts';

test('PRNG: deterministic per seed and stream, uniform-ish, normal with mean 0 / sd 1', () => {
  const a = new SyntheticRng(42);
  const b = new SyntheticRng(42);
  const c = new SyntheticRng(42, 1);
  const xs = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextU32()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.nextU32()));
  assert.notDeepEqual(Array.from({ length: 3 }, () => new SyntheticRng(1).next()), Array.from({ length: 3 }, () => new SyntheticRng(2).next()).reverse());
  const r = new SyntheticRng(7);
  let s = 0, s2 = 0, lo = 0;
  const n = 50000;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
    if (r.next() < 0.25) lo++;
  }
  assert.ok(Math.abs(s / n) < 0.02, `mean ${s / n}`);
  assert.ok(Math.abs(Math.sqrt(s2 / n) - 1) < 0.02, `sd ${Math.sqrt(s2 / n)}`);
  assert.ok(Math.abs(lo / n - 0.25) < 0.01);
  for (let i = 0; i < 1000; i++) {
    const k = r.int(3, 5);
    assert.ok(k >= 3 && k <= 5 && Number.isInteger(k));
  }
});

test('synthetic structure follows the config; class 0 slides have no tumour instances', () => {
  const cfg = syntheticDefaults({ seed: 5, cases: 60, slides_per_case: [2, 3], bag_size: [30, 60], tumour_fraction: [0.05, 0.2], dim: 16 }, 3);
  const d = generateSynthetic(cfg);
  const cases = new Map<string, number[]>();
  for (const s of d.slides) {
    assert.ok(s.n >= 30 && s.n <= 60, `n ${s.n}`);
    assert.equal(s.features.length, s.n * 16);
    assert.ok(s.features.every(Number.isFinite));
    const tumour = Array.from(s.instance_labels).filter((v) => v > 0);
    if (s.label_index === 0) assert.equal(tumour.length, 0, `${s.slide_id} normal with tumour`);
    else {
      assert.ok(tumour.every((v) => v === s.label_index));
      const k = Math.max(1, Math.round(0.2 * s.n));
      assert.ok(tumour.length >= 1 && tumour.length <= k, `${tumour.length} tumour of ${s.n}`);
    }
    cases.set(s.case_id, [...(cases.get(s.case_id) ?? []), s.label_index]);
  }
  assert.equal(cases.size, 60);
  for (const [id, labels] of cases) {
    assert.ok(labels.length >= 2 && labels.length <= 3, id);
    assert.ok(labels.every((l) => l === labels[0]), `${id}: slides of one case share its label`);
  }
  const perClass = [0, 1, 2].map((c) => [...cases.values()].filter((l) => l[0] === c).length);
  assert.deepEqual(perClass, [20, 20, 20], 'cases are balanced over classes');
  // Class directions: unit length, distinct supports.
  assert.equal(d.directions.length, 3);
  for (const c of [1, 2]) assert.ok(Math.abs(Math.hypot(...d.directions[c]) - 1) < 1e-9);
  const dot = d.directions[1].reduce((a, v, i) => a + v * d.directions[2][i], 0);
  assert.equal(dot, 0);
});

test('same seed → identical data; another seed → different data', () => {
  const cfg = syntheticDefaults({ seed: 11, cases: 10, bag_size: [20, 40] }, 2);
  const a = generateSynthetic(cfg);
  const b = generateSynthetic(cfg);
  assert.deepEqual(a.slides.map((s) => s.features), b.slides.map((s) => s.features));
  const c = generateSynthetic({ ...cfg, seed: 12 });
  assert.notDeepEqual(a.slides[0].features, c.slides[0].features);
});

test('aucBinary matches hand-computed values (ties count half)', () => {
  assert.equal(aucBinary([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assert.equal(aucBinary([1, 1, 1, 1], [0, 1, 0, 1]), 0.5);
  assert.equal(aucBinary([3, 2, 1], [1, 0, 0]), 1);
});

test('learnable, and max pooling trails top-k pooling (logistic-regression sanity check)', () => {
  // Quickstart-like data; scorer trained on a quarter of the cases (a small training fraction).
  const cfg = syntheticDefaults({ seed: 7, cases: 150, slides_per_case: [1, 2], dim: 64, bag_size: [24, 96], tumour_fraction: [0.05, 0.15], signal: 3 }, 2);
  const r = sanityCheck(generateSynthetic(cfg).slides, 0.25);
  console.log(`instance AUC ${r.instanceAuc.toFixed(3)}, slide AUC max ${r.slideAucMax.toFixed(3)}, top-k ${r.slideAucTopK.toFixed(3)}`);
  assert.ok(r.instanceAuc > 0.9, 'instances carry a learnable signal');
  assert.ok(r.slideAucTopK > 0.9, 'aggregating several instances classifies slides well');
  assert.ok(r.slideAucTopK - r.slideAucMax > 0.03, 'mimics fool the max');
  // With no signal, nothing is learnable: the check itself can fail.
  const none = sanityCheck(generateSynthetic({ ...cfg, signal: 1e-6 }).slides, 0.25);
  assert.ok(none.slideAucTopK < 0.7, `no-signal AUC ${none.slideAucTopK}`);
});

test('the stage\'s synthetic defaults are the schema\'s (no drift)', async () => {
  const { parseSpec } = await import('../../src/spec/load.ts');
  const l = parseSpec('name: t\ndataset: { synthetic: {} }\ntask: { classes: [a, b, c] }\nmodels: [{ name: m, type: mmil }]\n', '/tmp/none.yaml');
  assert.deepEqual(syntheticDefaults({}, 3), l.spec.dataset.synthetic);
});
