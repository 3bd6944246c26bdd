// The `inputs` and `outputs` of each row of src/stages/registry.ts, held against a small real run
// (synthetic data, two models, an independent cohort, ensembles, compare, report: every kind a
// synthetic spec has). What is checked, and why it holds by design:
// - inputs: every upstream input name a planned stage has matches a name its row declares (the
//   DAG builder wires only those), and every name a row declares is used by some stage of the
//   run (a row must not keep a name the builder no longer wires). Not "each stage has all its
//   row's inputs": some are alternatives (evaluate reads `splits` for the test set, `overlap`
//   for a cohort).
// - outputs: the files of every executed stage's cache entry are exactly its row's outputs (a
//   `dir/` output is one or more files under it), apart from metrics.jsonl, which the harness
//   (src/exec/harness.ts) writes for any stage that logs a metric. Each declared output must be
//   there (the report and tracking read them by name), and a file no row declares is one the
//   rest of the system cannot know about. (WSI kinds, not in this run, write only status.json
//   for a slide they exclude.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planFromSpec } from '../../src/dag/load.ts';
import { executePlan } from '../../src/exec/orchestrator.ts';
import { CacheStore } from '../../src/cache/store.ts';
import { STAGES } from '../../src/stages/registry.ts';

const SPEC = `name: rows
dataset:
  synthetic: { seed: 3, cases: 16, bag_size: [8, 16], dim: 8, signal: 3.0 }
task:
  classes: [normal, tumor]
splits:
  folds: 2
models:
  - { name: clam_sb, type: clam_sb }
  - { name: mil, type: mil }
train:
  max_epochs: 1
  min_epochs: 1
evaluate:
  ensembles: true
  cohorts:
    - name: ext
      allow_overlap: true
      dataset: { synthetic: { seed: 4, cases: 8, bag_size: [8, 16], dim: 8, signal: 3.0 } }
resources:
  devices: [cpu]
  slots_per_device: 2
`;

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A declared name as a regex: `<k>` a number, `<slide_id>` one path segment, `dir/` any file under dir. */
function pattern(decl: string): RegExp {
  const body = decl.split(/(<k>|<slide_id>)/).map((p) => (p === '<k>' ? '\\d+' : p === '<slide_id>' ? '[^/]+' : esc(p))).join('');
  return new RegExp(`^${body}${decl.endsWith('/') ? '.+' : ''}$`);
}

test('pattern: numbered, per-slide and directory names', () => {
  assert.ok(pattern('splits_<k>_bool.csv').test('splits_12_bool.csv'));
  assert.ok(!pattern('splits_<k>.csv').test('splits_1_bool.csv'));
  assert.ok(pattern('extract:<slide_id>').test('extract:TCGA-01'));
  assert.ok(pattern('bags/').test('bags/a/b.h5') && !pattern('bags/').test('bags'));
});

test('artifacts are outputs, and every row declares its outputs', () => {
  for (const [kind, row] of Object.entries(STAGES)) {
    assert.ok(row.outputs.length > 0, `${kind}: no outputs`);
    for (const a of row.artifacts) assert.ok(row.outputs.includes(a), `${kind}: artifact ${a} is not one of its outputs`);
  }
});

test('a small real run: planned inputs and cache entries match the registry rows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-rows-'));
  try {
    writeFileSync(join(dir, 'spec.yaml'), SPEC);
    const { loaded, plan } = await planFromSpec(join(dir, 'spec.yaml'), {});
    const r = await executePlan({ plan, spec: { path: loaded.path, hash: loaded.hash, text: loaded.text, spec: loaded.spec }, resources: (loaded.spec as any).resources, progress: 'none' });
    assert.equal(r.exitCode, 0, r.errors.map((e) => e.message).join('\n'));
    const store = new CacheStore(plan.cacheRoot);
    const byId = new Map(plan.stages.map((s) => [s.id, s]));
    const usedInputs = new Map<string, Set<string>>();
    const kinds = new Set<string>();
    for (const s of plan.stages) {
      const row = STAGES[s.kind];
      assert.ok(row, `${s.id}: kind ${s.kind} has no row`);
      kinds.add(s.kind);
      for (const [name, upId] of Object.entries(s.decl.inputs)) {
        // `<identity>`: the input is named by its upstream's identity (the report).
        const decl = row.inputs.find((d) => (d === '<identity>' ? name === upId && byId.has(upId) : pattern(d).test(name)));
        assert.ok(decl, `${s.id}: input '${name}' (from ${upId}) is not among the ${s.kind} row's inputs [${row.inputs.join(', ')}]`);
        if (!usedInputs.has(s.kind)) usedInputs.set(s.kind, new Set());
        usedInputs.get(s.kind)!.add(decl);
      }

      const rec = r.record.stages.find((x) => x.id === s.id)!;
      assert.equal(rec.status, 'executed', s.id);
      const files = Object.keys(store.readManifest(s.kind, s.key).files);
      for (const out of row.outputs) {
        assert.ok(files.some((f) => pattern(out).test(f)), `${s.id}: declared output ${out} is not in its cache entry (${files.slice(0, 8).join(', ')})`);
      }
      const undeclared = files.filter((f) => f !== 'metrics.jsonl' && !row.outputs.some((out) => pattern(out).test(f)));
      assert.deepEqual(undeclared, [], `${s.id}: files the ${s.kind} row does not declare`);
    }
    // Every kind a synthetic spec can have took part.
    assert.deepEqual([...kinds].sort(), ['aggregate', 'compare', 'dataset', 'ensemble', 'evaluate', 'overlap', 'report', 'splits', 'train']);
    for (const k of kinds) {
      assert.deepEqual([...(usedInputs.get(k) ?? [])].sort(), [...STAGES[k].inputs].sort(), `${k}: declared inputs no stage of the run has`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
