// Content keys (stability, propagation, external digests) and plan reasons, plus the planning
// speed targets on the paper grid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpec, loadSpec } from '../../src/spec/load.ts';
import { buildDag } from '../../src/dag/build.ts';
import { DigestMemo } from '../../src/cache/digest.ts';
import { computeKeys } from '../../src/dag/keys.ts';
import { globMatcher, paramsDiff, planDecls, type Plan } from '../../src/dag/plan.ts';
import { CacheStore } from '../../src/cache/store.ts';
import { updateIdentities } from '../../src/records/journal.ts';
import { executePlan } from '../../src/exec/orchestrator.ts';
import type { LoadedSpec } from '../../src/spec/resolved.ts';
import { recordFinishedRun } from '../helpers/finished-run.ts';
import { writePaperGrid } from '../../scripts/bench-plan.ts';

const spec = (b = 8, extra = '') => `name: k
dataset:
  synthetic: { seed: 1, cases: 30 }
task:
  classes: [normal, tumor]
splits:
  folds: 2
  training_fractions: [1.0, 0.5]
models:
  - { name: clam_sb, type: clam_sb, B: ${b} }
  - { name: mil, type: mil }
evaluate:
  cohorts:
    - { name: ext, dataset: { synthetic: { seed: 2, cases: 20 } } }
${extra}`;
const load = (text: string, path = '/tmp/milflow-keys/spec.yaml') => parseSpec(text, path, { checkFiles: false }) as unknown as LoadedSpec;
const keysOf = async (text: string, memo = new DigestMemo(null)) =>
  new Map((await computeKeys(await buildDag(load(text)), memo)).map((k) => [k.decl.id, k.key]));

test('keys are stable: same spec, reordered YAML, repeated computation', async () => {
  const a = await keysOf(spec());
  const b = await keysOf(spec());
  assert.deepEqual([...a], [...b]);
  const reordered = spec().replace('  synthetic: { seed: 1, cases: 30 }', '  synthetic: { cases: 30, seed: 1 }').replace('{ name: clam_sb, type: clam_sb, B: 8 }', '{ B: 8, type: clam_sb, name: clam_sb }');
  assert.deepEqual([...(await keysOf(reordered))], [...a]);
  for (const k of a.values()) assert.match(k, /^[0-9a-f]{64}$/);
  assert.equal(new Set(a.values()).size, a.size, 'distinct stages, distinct keys');
});

test('changing one model parameter changes exactly that model\'s stages and what reads them', async () => {
  const a = await keysOf(spec(8));
  const b = await keysOf(spec(16));
  const changed = [...a.keys()].filter((id) => a.get(id) !== b.get(id)).sort();
  const expected = [...a.keys()].filter((id) => /^(train|evaluate|aggregate|ensemble)\/clam_sb\//.test(id) || id.startsWith('compare/') || id === 'report').sort();
  assert.deepEqual(changed, expected);
  assert.ok(changed.length > 20);
});

test('external inputs enter by content: same bytes same key, new bytes new key; digests are memoised', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-keys-'));
  mkdirSync(join(dir, 'feat', 'h5_files'), { recursive: true });
  writeFileSync(join(dir, 'data.csv'), 'case_id,slide_id,label\nc1,s1,tumor\nc2,s2,normal\n');
  for (const s of ['s2', 's1']) writeFileSync(join(dir, 'feat', 'h5_files', `${s}.h5`), `bytes of ${s}`);
  const text = spec().replace('  synthetic: { seed: 1, cases: 30 }', '  clam: { csv: data.csv, features_dir: feat }');
  const keys = async (memo: DigestMemo) => new Map((await computeKeys(await buildDag(load(text, join(dir, 'spec.yaml'))), memo)).map((k) => [k.decl.id, k]));
  const memoFile = join(dir, 'cache', '.digests.json');
  const m1 = new DigestMemo(memoFile);
  const k1 = await keys(m1);
  m1.save();
  const memo = JSON.parse(readFileSync(memoFile, 'utf8'));
  assert.ok(memo[join(dir, 'feat', 'h5_files', 's1.h5')]?.digest, 'file digests are memoised');
  assert.equal(k1.get('dataset')!.inputs.features_dir.path, join(dir, 'feat'));

  // A touched file (new mtime, same bytes) keeps its key.
  utimesSync(join(dir, 'feat', 'h5_files', 's1.h5'), new Date(), new Date(Date.now() + 5000));
  const k2 = await keys(new DigestMemo(memoFile));
  assert.equal(k2.get('dataset')!.key, k1.get('dataset')!.key);
  // A memo entry is trusted only while (size, mtime, inode) match: poisoning it with a wrong
  // digest for a file whose stat changed has no effect.
  writeFileSync(join(dir, 'feat', 'h5_files', 's1.h5'), 'other bytes');
  const k3 = await keys(new DigestMemo(memoFile));
  assert.notEqual(k3.get('dataset')!.key, k1.get('dataset')!.key);
  assert.notEqual(k3.get('train/mil/frac=1/fold=0')!.key, k1.get('train/mil/frac=1/fold=0')!.key);
  assert.equal(k3.get('dataset/cohort=ext')!.key, k1.get('dataset/cohort=ext')!.key);
  rmSync(dir, { recursive: true, force: true });
});

test('plan reasons: new, cached, params changed (field), input changed (upstream), forced, cache entry missing, version', async () => {
  const root = mkdtempSync(join(tmpdir(), 'milflow-plan-'));
  const plan = async (text: string, o: { force?: string[]; target?: string[] } = {}) => planDecls(await buildDag(load(text)), { root, experiment: 'k', ...o });
  const p0 = await plan(spec(8));
  assert.ok(p0.stages.every((s) => s.action === 'run' && s.reason === 'new'));
  await recordFinishedRun(p0);
  const p1 = await plan(spec(8));
  assert.deepEqual(p1.counts, { run: 0, cached: p0.stages.length, total: p0.stages.length });

  const p2 = await plan(spec(16));
  const r = new Map(p2.stages.map((s) => [s.id, s]));
  assert.equal(r.get('train/clam_sb/frac=1/fold=0')!.reason, 'params changed: model.B 8 → 16');
  assert.equal(r.get('evaluate/clam_sb/frac=1/fold=0/cohort=test')!.reason, 'input changed: train/clam_sb/frac=1/fold=0');
  assert.match(r.get('aggregate/clam_sb/frac=0.5/cohort=ext')!.reason, /^input changed: evaluate\/clam_sb\/frac=0\.5\/fold=0\/cohort=ext, evaluate\/clam_sb\/frac=0\.5\/fold=1\/cohort=ext$/);
  assert.equal(r.get('train/mil/frac=1/fold=0')!.action, 'cached');
  assert.equal(r.get('splits/frac=0.5')!.action, 'cached');

  const p3 = await plan(spec(8), { force: ['train/mil/*/fold=1'] });
  assert.deepEqual(p3.stages.filter((s) => s.action === 'run').map((s) => `${s.id}: ${s.reason}`), ['train/mil/frac=1/fold=1: forced', 'train/mil/frac=0.5/fold=1: forced']);

  const store = new CacheStore(p1.cacheRoot);
  const sp = p1.stages.find((s) => s.id === 'splits/frac=1')!;
  rmSync(store.entryDir(sp.kind, sp.key), { recursive: true });
  assert.equal((await plan(spec(8))).stages.find((s) => s.id === 'splits/frac=1')!.reason, 'cache entry missing');

  // A stage whose implementation version changed since the last run (recorded version 0).
  const t = p1.stages.find((s) => s.id === 'train/mil/frac=1/fold=0')!;
  rmSync(store.entryDir(t.kind, t.key), { recursive: true });
  await updateIdentities(root, 'k', { [t.id]: { key: 'old', version: '0', params: t.params, inputs: t.inputs, status: 'executed', runId: 'r0' } });
  assert.equal((await plan(spec(8))).stages.find((s) => s.id === t.id)!.reason, `stage version changed: 0 → ${t.version}`);

  const p4 = await plan(spec(8), { target: ['aggregate/mil/frac=1/cohort=test'] });
  assert.deepEqual(p4.stages.map((s) => s.kind).sort(), ['aggregate', 'dataset', 'evaluate', 'evaluate', 'splits', 'train', 'train']);
  await assert.rejects(plan(spec(8), { target: ['nothing/*'] }), /matches no stage/);
  rmSync(root, { recursive: true, force: true });
});

test('glob and params diff helpers', () => {
  const m = globMatcher(['train/*/frac=1/**', 'report']);
  assert.ok(m('train/clam_sb/frac=1/fold=0'));
  assert.ok(!m('train/clam_sb/frac=0.5/fold=0'));
  assert.ok(m('report'));
  assert.ok(globMatcher(['train/mil'])('train/mil/frac=1/fold=3'));
  assert.ok(!globMatcher(['train/mil'])('train/mil2/frac=1/fold=3'));
  assert.deepEqual(paramsDiff({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { b: 2, c: [1, 2] }, e: true }), ['a.b 1 → 2', 'd "x" → (unset)', 'e (unset) → true']);
});

test('paper grid (3 tasks × 5 fractions × 10 folds × {clam_sb, mil}): plan < 0.3 s; unchanged rerun executes nothing in < 1 s; one changed B replans one model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-grid-'));
  const root = join(dir, 'runs');
  const paths = writePaperGrid(dir);
  const loaded = await Promise.all(paths.map(async (p) => (await loadSpec(p)) as unknown as LoadedSpec));
  const planOne = async (l: LoadedSpec) => planDecls(await buildDag(l), { root, experiment: l.spec.name });
  await planOne(loaded[0]); // warm the module and digest caches
  let stages = 0;
  for (const l of loaded) {
    let best = Infinity;
    let plan!: Plan;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      plan = await planOne(l);
      best = Math.min(best, performance.now() - t);
    }
    stages += plan.stages.length;
    assert.ok(best < 300, `${l.spec.name}: planning ${plan.stages.length} stages took ${best.toFixed(0)} ms`);
    await recordFinishedRun(plan);
  }
  assert.ok(stages > 700, `only ${stages} stages`);

  const t = performance.now();
  const again = await planOne(loaded[0]);
  const r = await executePlan({ plan: again, progress: 'none', resources: { devices: ['cpu'] } });
  const secs = (performance.now() - t) / 1000;
  assert.equal(r.record.counts.executed, 0);
  assert.equal(r.record.counts.cached, again.stages.length);
  assert.ok(secs < 1, `no-op rerun took ${secs.toFixed(2)} s`);

  const changed = readFileSync(paths[0], 'utf8').replace('{ name: clam_sb, type: clam_sb }', '{ name: clam_sb, type: clam_sb, B: 16 }');
  writeFileSync(paths[0], changed);
  const p = await planOne((await loadSpec(paths[0])) as unknown as LoadedSpec);
  const run = p.stages.filter((s) => s.action === 'run');
  const kinds: Record<string, number> = {};
  for (const s of run) kinds[s.kind] = (kinds[s.kind] ?? 0) + 1;
  assert.deepEqual(kinds, { train: 50, evaluate: 100, aggregate: 10, ensemble: 5, compare: 10, report: 1 });
  assert.ok(run.every((s) => s.kind === 'compare' || s.kind === 'report' || s.labels.model === 'clam_sb'));
  rmSync(dir, { recursive: true, force: true });
});
