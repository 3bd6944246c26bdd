// DAG expansion: stage sets per CONTRACTS.md, identities, sweep coordinates only where they
// matter, params free of execution details.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpec } from '../../src/spec/load.ts';
import { canonicalJson } from '../../src/spec/canonical.ts';
import { buildDag } from '../../src/dag/build.ts';
import type { LoadedSpec } from '../../src/spec/resolved.ts';
import type { StageDecl } from '../../src/types/stage.ts';

const base = (extra = '', models = '  - { name: clam_sb, type: clam_sb }\n  - { name: mil, type: mil }\n') => `name: t
dataset:
  synthetic: { seed: 1, cases: 30 }
task:
  classes: [normal, tumor]
splits:
  folds: 3
  training_fractions: [1.0, 0.5]
models:
${models}evaluate:
  cohorts:
    - name: ext
      dataset:
        synthetic: { seed: 2, cases: 20 }
${extra}`;

const load = (text: string) => parseSpec(text, '/tmp/milflow-dag-test/spec.yaml', { checkFiles: false }) as unknown as LoadedSpec;
const byKind = (ds: StageDecl[]) => {
  const m: Record<string, number> = {};
  for (const d of ds) m[d.kind] = (m[d.kind] ?? 0) + 1;
  return m;
};
const get = (ds: StageDecl[], id: string) => {
  const d = ds.find((x) => x.id === id);
  assert.ok(d, `no stage ${id}; have e.g. ${ds.filter((x) => x.id.startsWith(id.split('/')[0])).slice(0, 4).map((x) => x.id).join(', ')}`);
  return d!;
};

test('expands dataset, splits, train, evaluate (test + cohort), aggregate, ensemble, compare, report', async () => {
  const ds = await buildDag(load(base()));
  assert.deepEqual(byKind(ds), { dataset: 2, splits: 2, train: 12, evaluate: 24, aggregate: 8, ensemble: 4, compare: 4, overlap: 1, report: 1 });
  // Dependency order: every input is declared before its reader.
  const seen = new Set<string>();
  for (const d of ds) {
    for (const up of Object.values(d.inputs)) assert.ok(seen.has(up), `${d.id} reads ${up} before it is declared`);
    seen.add(d.id);
  }
  const train = get(ds, 'train/clam_sb/frac=0.5/fold=2');
  assert.deepEqual(train.inputs, { dataset: 'dataset', splits: 'splits/frac=0.5' });
  const p = train.params as any;
  assert.equal(p.model.B, 8);
  assert.equal(p.fold, 2);
  assert.equal(p.frac, 0.5);
  assert.equal(p.n_classes, 2);
  assert.equal(p.train.lr, 0.0002);
  assert.equal((get(ds, 'train/mil/frac=1/fold=0').params as any).model.B, undefined, 'B does not change a MIL model');
  assert.deepEqual(get(ds, 'evaluate/mil/frac=1/fold=1/cohort=test').inputs, { model: 'train/mil/frac=1/fold=1', dataset: 'dataset', splits: 'splits/frac=1' });
  assert.deepEqual(get(ds, 'evaluate/mil/frac=1/fold=1/cohort=ext').inputs, { model: 'train/mil/frac=1/fold=1', dataset: 'dataset/cohort=ext', overlap: 'overlap/cohort=ext' });
  assert.deepEqual(get(ds, 'overlap/cohort=ext').inputs, { train: 'dataset', cohort: 'dataset/cohort=ext' });
  assert.deepEqual(Object.keys(get(ds, 'aggregate/clam_sb/frac=1/cohort=test').inputs), ['fold0', 'fold1', 'fold2']);
  assert.equal(ds.some((d) => d.id === 'ensemble/clam_sb/frac=1/cohort=test'), false, 'no ensemble on the internal test sets');
  const cmp = get(ds, 'compare/clam_sb-vs-mil/frac=0.5/cohort=ext');
  assert.equal(cmp.inputs.a_ensemble, 'ensemble/clam_sb/frac=0.5/cohort=ext');
  assert.equal(cmp.inputs.b_fold2, 'evaluate/mil/frac=0.5/fold=2/cohort=ext');
  assert.equal(get(ds, 'compare/clam_sb-vs-mil/frac=1/cohort=test').inputs.a_ensemble, undefined);
  const report = get(ds, 'report');
  assert.equal(Object.keys(report.inputs).length, 12 + 24 + 8 + 4 + 4 + 1 + 2); // + the cohort's overlap guard (its warning) + the two dataset stages (data table)
  assert.deepEqual(get(ds, 'train/mil/frac=1/fold=0').labels, { model: 'mil', model_type: 'mil', frac: 1, fold: 0 });
});

test('params carry what changes outputs, not devices, retries or the output root', async () => {
  const a = await buildDag(load(base()));
  const b = await buildDag(load(base('resources:\n  devices: [cpu]\n  slots_per_device: 3\n  retries: 2\noutput:\n  root: elsewhere\n')));
  assert.equal(canonicalJson(a), canonicalJson(b));
  const c = await buildDag(load(base('train:\n  lr: 0.001\n')));
  assert.notEqual(canonicalJson(get(a, 'train/mil/frac=1/fold=0').params), canonicalJson(get(c, 'train/mil/frac=1/fold=0').params));
  assert.equal(canonicalJson(get(a, 'splits/frac=1').params), canonicalJson(get(c, 'splits/frac=1').params));
});

test('a sweep over one model parameter multiplies that model and what reads it, nothing else', async () => {
  const ds = await buildDag(load(base('sweep:\n  models.clam_sb.B: [8, 16]\n')));
  const k = byKind(ds);
  assert.equal(k.dataset, 2);
  assert.equal(k.splits, 2);
  assert.equal(k.train, 12 + 6, 'clam_sb trains twice per fold, mil once');
  assert.equal(ds.filter((d) => d.id.startsWith('train/mil/')).length, 6);
  assert.equal(k.compare, 8);
  assert.equal(k.report, 1);
  const t = get(ds, 'train/clam_sb/B=16/frac=0.5/fold=2');
  assert.equal((t.params as any).model.B, 16);
  assert.equal(t.labels!.B, 16);
  assert.equal((get(ds, 'train/clam_sb/B=8/frac=0.5/fold=2').params as any).model.B, 8);
  get(ds, 'evaluate/clam_sb/B=16/frac=1/fold=0/cohort=ext');
  get(ds, 'train/mil/frac=1/fold=0');
  get(ds, 'evaluate/mil/frac=1/fold=0/cohort=test');
  assert.equal(get(ds, 'compare/clam_sb-vs-mil/B=16/frac=1/cohort=test').inputs.a_fold0, 'evaluate/clam_sb/B=16/frac=1/fold=0/cohort=test');
  assert.equal(get(ds, 'compare/clam_sb-vs-mil/B=16/frac=1/cohort=test').inputs.b_fold0, 'evaluate/mil/frac=1/fold=0/cohort=test');
  assert.equal(new Set(ds.map((d) => d.id)).size, ds.length);
});

test('a sweep over splits.seed multiplies splits and everything downstream, not the datasets', async () => {
  const ds = await buildDag(load(base('sweep:\n  splits.seed: [1, 2]\n')));
  const k = byKind(ds);
  assert.equal(k.dataset, 2);
  assert.equal(k.splits, 4);
  assert.equal(k.train, 24);
  get(ds, 'splits/seed=2/frac=0.5');
  const t = get(ds, 'train/mil/seed=2/frac=0.5/fold=1');
  assert.equal(t.inputs.splits, 'splits/seed=2/frac=0.5');
  get(ds, 'ensemble/clam_sb/seed=1/frac=1/cohort=ext');
});

test('two sweep axes: each stage names only the coordinates it depends on', async () => {
  const ds = await buildDag(load(base('sweep:\n  models.clam_sb.B: [8, 16]\n  train.lr: [0.0001, 0.0002]\n')));
  get(ds, 'train/clam_sb/B=16/lr=0.0001/frac=1/fold=0');
  get(ds, 'train/mil/lr=0.0001/frac=1/fold=0');
  assert.equal(ds.filter((d) => d.kind === 'splits').length, 2);
  assert.equal(ds.filter((d) => d.id.startsWith('train/mil/')).length, 12);
  assert.equal(ds.filter((d) => d.id.startsWith('train/clam_sb/')).length, 24);
});

test('dataset.wsi is expanded by src/dag/wsi.ts, and the stages that read the dataset read its dataset stage', async () => {
  const text = `name: w
dataset:
  wsi: { csv: slides.csv, encoder: { onnx: enc.onnx, dim: 8 } }
task:
  classes: [normal, tumor]
splits: { folds: 2 }
models:
  - { name: clam_sb, type: clam_sb }
`;
  const loaded = load(text);
  const calls: unknown[] = [];
  const ds = await buildDag(loaded, {
    expandWsi: (wsi, dir, prefix, task) => {
      calls.push([wsi.csv, dir, prefix, task]);
      return {
        datasetStageId: 'dataset',
        stages: <StageDecl[]>[
          { id: 'segment/s1', kind: 'segment', params: { s: 1 }, inputs: {} },
          { id: 'extract/s1', kind: 'extract', params: { s: 1 }, inputs: { coords: 'segment/s1' } },
          { id: 'dataset', kind: 'dataset', params: { source: 'wsi' }, inputs: { 'extract:s1': 'extract/s1' } },
        ],
      };
    },
  });
  assert.deepEqual(calls, [['/tmp/milflow-dag-test/slides.csv', '/tmp/milflow-dag-test', '', { classes: ['normal', 'tumor'], label_map: null }]]);
  assert.deepEqual(ds.slice(0, 3).map((d) => d.id), ['segment/s1', 'extract/s1', 'dataset']);
  assert.equal(get(ds, 'splits/frac=1').inputs.dataset, 'dataset');
});

test('swept file paths are written in identities by base name, or whole when base names collide', async () => {
  const text = (a: string, b: string) => `name: m
dataset:
  mil_csv: { csv: ${a} }
task:
  classes: ['0', '1']
splits: { folds: 2 }
models:
  - { name: mil, type: mil }
sweep:
  dataset.mil_csv.csv: [${a}, ${b}]
`;
  const ds = await buildDag(load(text('data/musk1/musk1.csv', 'data/elephant/elephant.csv')));
  assert.deepEqual(ds.filter((d) => d.kind === 'dataset').map((d) => d.id), ['dataset/csv=musk1', 'dataset/csv=elephant']);
  get(ds, 'train/mil/csv=elephant/frac=1/fold=1');
  assert.equal(get(ds, 'dataset/csv=musk1').externals!.csv, '/tmp/milflow-dag-test/data/musk1/musk1.csv');
  assert.equal(get(ds, 'dataset/csv=musk1').labels!.csv, 'data/musk1/musk1.csv');
  const same = await buildDag(load(text('a/x.csv', 'b/x.csv')));
  assert.deepEqual(same.filter((d) => d.kind === 'dataset').map((d) => d.id), ['dataset/csv=a_x.csv', 'dataset/csv=b_x.csv']);
});
