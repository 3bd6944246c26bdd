// models[].checkpoints: CLAM's fold checkpoints (DataParallel-wrapped, .pt, zip and legacy
// containers) enter the DAG where train stages would be; evaluate / aggregate / report run on
// them, and the test-set probabilities equal PyTorch's within 1e-5.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateSpec } from '../../src/spec/load.ts';
import { readPredictions } from '../../src/stats/index.ts';
import { milflow, printedPath, readJson, specYaml, tempDir, writeSpec } from '../helpers/cli.ts';

const D = fileURLToPath(new URL('../fixtures/pt/clam_pt', import.meta.url));
const expected = readJson(join(D, 'expected.json'));

const spec = (splits: object, ck = `${D}/checkpoints`) => specYaml({
  name: 'pretrained', dataset: { clam: { csv: `${D}/dataset.csv`, features_dir: `${D}/features` } }, splits,
  models: [{ name: 'clam_sb', type: 'clam_sb', checkpoints: ck }], resources: { devices: ['cpu'] },
});
const imported = { mode: 'import', import_dir: `${D}/splits` };

test('validate: pre-trained models need imported splits, one fraction and a checkpoint per fold', async (t) => {
  const dir = tempDir('pretrained-', t);
  const check = async (text: string) => {
    const r = await validateSpec(writeSpec(dir, text, 's.yaml'));
    return r.ok ? [] : r.messages.map((m) => `${m.path}: ${m.message}`);
  };
  assert.deepEqual(await check(spec(imported)), []);
  const nested = await check(spec({ folds: 2 }));
  assert.equal(nested.length, 1);
  assert.match(nested[0], /^models\[0\]\.checkpoints: pre-trained fold models must be tested on the splits they were trained on/);
  const three = await check(spec({ ...imported, folds: 3 }));
  assert.match(three.join('\n'), /asks for 3 folds, but .* holds 2 split files/);
  const missing = await check(spec(imported, `${D}/features`));
  assert.match(missing[0], /no fold checkpoints \(expected s_<fold>_checkpoint\.pt/);
});

test('milflow run with models[].checkpoints evaluates CLAM checkpoints on their test splits (PyTorch within 1e-5)', (t) => {
  const dir = tempDir('pretrained-', t);
  writeSpec(dir, spec(imported));
  const plan = JSON.parse(milflow(dir, 'plan', 'spec.yaml', '--json').out);
  const kinds = plan.stages.map((s: any) => `${s.id}:${s.kind}`);
  assert.ok(kinds.includes('train/clam_sb/frac=1/fold=0:checkpoint'), kinds.join('\n'));
  assert.equal(plan.stages.filter((s: any) => s.kind === 'train').length, 0);
  const run = milflow(dir, 'run', 'spec.yaml');
  assert.equal(run.code, 0, run.out + run.err);
  const runDir = printedPath(dir, run.out);
  assert.ok(existsSync(join(runDir, 'report', 'report.html')));
  const byId = new Map<string, string>();
  for (const line of readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n')) {
    const e = JSON.parse(line);
    if (e.type === 'stage-end' && e.key) byId.set(e.id, `${e.kind}/${e.key}`);
  }
  for (const fold of [0, 1]) {
    const ev = byId.get(`evaluate/clam_sb/frac=1/fold=${fold}/cohort=test`);
    assert.ok(ev, [...byId.keys()].join(', '));
    const p = readPredictions(join(dir, 'runs/cache', ev!, 'predictions.csv'));
    assert.deepEqual(p.slide_id, fold === 0 ? ['slide_08', 'slide_09'] : ['slide_06', 'slide_07']);
    p.slide_id.forEach((sid, i) => p.prob[i].forEach((v, c) => assert.ok(Math.abs(v - expected.folds[fold].probs[sid][c]) < 1e-5, `${sid} p_${c}`)));
  }
});
