// Issue 11 finding 5 (degenerate data is loud; names belong to one spec) and finding 9 (names
// confined to the output root, Markdown escapes HTML, JSON errors name their file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dataset from '../../src/stages/dataset.ts';
import aggregate from '../../src/stages/aggregate.ts';
import type { StageContext, StageInput } from '../../src/types/stage.ts';
import { buildReport } from '../../src/report/build.ts';
import { claimName } from '../../src/cli/name-claim.ts';
import { readRecord } from '../../src/records/journal.ts';
import { parseSpec, SpecError } from '../../src/spec/load.ts';

const tmp = mkdtempSync(join(tmpdir(), 'milflow-degenerate-'));
let n = 0;
function ctx(inputs: Record<string, StageInput> = {}, externals: Record<string, string> = {}): StageContext & { logs: string[] } {
  const outDir = join(tmp, `out${n++}`);
  mkdirSync(outDir, { recursive: true });
  const logs: string[] = [];
  return { id: 'x', key: 'k', outDir, inputs, externals, device: { kind: 'cpu', index: 0, threads: 1 }, signal: new AbortController().signal, log: (m) => logs.push(m), progress: () => {}, metric: () => {}, logs };
}
const input = (id: string, dir: string): StageInput => ({ id, kind: 'evaluate', key: id, dir, manifest: {} as any });
function evalDir(rows: [string, number, number][]): string {
  const dir = join(tmp, `eval${n++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'predictions.csv'), 'slide_id,Y,Y_hat,p_0,p_1\n' + rows.map(([s, y, p]) => `${s},${y},${p > 0.5 ? 1 : 0},${1 - p},${p}`).join('\n') + '\n');
  return dir;
}

test('finding 5: a dataset of one class, with a dropped slide, returns warnings (not only a log line)', async () => {
  const csv = join(tmp, 'one-class.csv');
  writeFileSync(csv, ['1,a,0.1,0.2', '1,a,0.3,0.4', '1,b,0.5,0.6', '0,c,0.7,0.8'].join('\n') + '\n');
  const r = await dataset.run({ source: 'mil_csv', classes: ['negative', 'positive'], label_map: { '1': 'positive', '0': null } } as any, ctx({}, { csv }));
  const w = r.warnings ?? [];
  assert.ok(w.some((x) => /no slides of class negative.*no AUC/.test(x)), JSON.stringify(w));
  assert.ok(w.some((x) => /1 slide\(s\) dropped.*bag_c/.test(x)), JSON.stringify(w));
});

test('finding 5: folds without an AUC are warnings of the aggregate (some folds, and every fold)', async () => {
  const two = evalDir([['a', 0, 0.1], ['b', 1, 0.9]]);
  const one = evalDir([['c', 1, 0.9], ['d', 1, 0.2]]);
  const some = await aggregate.run({ cohort: 'test' }, ctx({ fold0: input('e0', two), fold1: input('e1', one) }));
  assert.deepEqual(some.warnings, ['fold(s) 1 have no AUC (one-class test set); the mean is over 1 of 2 folds']);
  const none = await aggregate.run({ cohort: 'test' }, ctx({ fold0: input('e0', one), fold1: input('e1', one) }));
  assert.match((none.warnings ?? [])[0] ?? '', /no fold has an AUC/);
});

test('finding 5 + 9: the report shows the run warnings as a banner; Markdown escapes HTML from the spec', async () => {
  const out = join(tmp, 'report');
  await buildReport({
    entries: [], outDir: out, title: 'exp<b>', description: 'see <script>alert(1)</script> & <img src=x onerror=alert(2)>',
    events: [{ type: 'warning', time: 't', id: 'dataset', code: 'degenerate', message: 'dataset: no slides of class <tumor>' }],
  });
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  assert.doesNotMatch(md, /<script>|<img|<b>/);
  assert.match(md, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &lt;img/);
  assert.match(md, /> \*\*Warning:\*\* dataset: no slides of class &lt;tumor&gt;/);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /role="alert"><strong>Warning:<\/strong> dataset: no slides of class &lt;tumor&gt;/);
  assert.doesNotMatch(html, /<script>/);
});

test('finding 5: a second spec reusing a name is refused unless given its own --name; editing a spec in place is fine', () => {
  const root = join(tmp, 'runs');
  claimName(root, 'exp', { path: '/a/spec.yaml', hash: 'h1' }, false);
  claimName(root, 'exp', { path: '/a/spec.yaml', hash: 'h2' }, false); // edited in place
  claimName(root, 'exp', { path: '/copy/spec.yaml', hash: 'h2' }, false); // identical copy elsewhere
  assert.throws(() => claimName(root, 'exp', { path: '/b/other.yaml', hash: 'h3' }, false), (e: any) => e.exitCode === 2 && /already used by another spec \(\/a\/spec\.yaml.*--name NEW_NAME/.test(e.message));
  claimName(root, 'exp-b', { path: '/b/other.yaml', hash: 'h3' }, true);
  assert.equal(JSON.parse(readFileSync(join(root, 'exp-b', 'experiment.json'), 'utf8')).specPath, '/b/other.yaml');
});

test('finding 9: names cannot leave the output root or be the cache; a corrupt record names its file', () => {
  const base = 'dataset:\n  synthetic: { seed: 1, cases: 10 }\ntask:\n  classes: [a, b]\nmodels:\n  - { name: m, type: mil }\n';
  for (const name of ['../../x', '/abs', 'cache', '.hidden']) {
    assert.throws(() => parseSpec(`name: ${JSON.stringify(name)}\n${base}`, join(tmp, 's.yaml')), (e: any) => e instanceof SpecError && e.messages.some((m: any) => m.path === 'name'), name);
  }
  const run = join(tmp, 'run1');
  mkdirSync(run);
  writeFileSync(join(run, 'record.json'), '{"runId": "x", ');
  assert.throws(() => readRecord(run), (e: any) => e.message.startsWith(join(run, 'record.json')) && /not valid JSON/.test(e.message));
  writeFileSync(join(run, 'record.json'), '');
  assert.throws(() => readRecord(run), (e: any) => e.message === `${join(run, 'record.json')}: run record is empty`);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
