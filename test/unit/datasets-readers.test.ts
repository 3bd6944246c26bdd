import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCsvRows, toCsv } from '../../src/io/csv.ts';
import { readClamDataset } from '../../src/datasets/clam.ts';
import { readMilCsv } from '../../src/datasets/mil-csv.ts';
import { DatasetError } from '../../src/datasets/types.ts';
import { writeBag } from '../../src/io/h5.ts';

const tmp = mkdtempSync(join(tmpdir(), 'milflow-dsread-'));

test('CSV: quotes, escaped quotes, CRLF, blank lines, line numbers of row starts', () => {
  const rows = parseCsvRows('\ufeffa,b\r\n"x,1","say ""hi"""\r\n\r\n"multi\nline",2\n3,\n');
  assert.deepEqual(rows.map((r) => r.fields), [['a', 'b'], ['x,1', 'say "hi"'], ['multi\nline', '2'], ['3', '']]);
  assert.deepEqual(rows.map((r) => r.line), [1, 2, 4, 6]);
  assert.deepEqual(parseCsvRows(toCsv(['k', 'v'], [['a,b', 'q"'], [1, 2]])).map((r) => r.fields), [['k', 'v'], ['a,b', 'q"'], ['1', '2']]);
});

async function clamFixture(name: string, csv: string, slides: Record<string, [number, number]>) {
  const d = join(tmp, name);
  mkdirSync(join(d, 'feats/h5_files'), { recursive: true });
  for (const [id, [n, e]] of Object.entries(slides)) await writeBag(join(d, 'feats/h5_files', `${id}.h5`), new Float32Array(n * e), n, e);
  writeFileSync(join(d, 'set.csv'), csv);
  return { csv: join(d, 'set.csv'), features_dir: join(d, 'feats') };
}

function problems(fn: () => unknown): Promise<string[]> {
  return Promise.resolve()
    .then(fn)
    .then(
      () => assert.fail('no error'),
      (e) => {
        assert.ok(e instanceof DatasetError, String(e));
        return e.problems;
      },
    );
}

test('clam: every bad row is reported with its CSV line', async () => {
  const src = await clamFixture(
    'bad',
    'case_id,slide_id,label\np1,s1,tumor\np2,s2,lymph\np3,s3,normal\np4,s1,normal\np5,s5,normal\n',
    { s1: [4, 8], s2: [4, 8], s5: [4, 16] },
  );
  const ps = await problems(() => readClamDataset({ ...src, classes: ['normal', 'tumor'] }));
  const byLine = (l: number) => ps.filter((p) => p.startsWith(`${src.csv}:${l}:`));
  assert.match(byLine(3)[0], /slide 's2': label 'lymph' is not a class \(classes: normal, tumor\); map it with task\.label_map/);
  assert.match(byLine(4)[0], /slide 's3': no feature file/);
  assert.match(byLine(5)[0], /slide 's1' is listed twice \(also line 2\)/);
  assert.match(byLine(6)[0], /slide 's5': features have dimension 16, but slide 's1' has 8/);
  assert.equal(ps.length, 4);
});

test('clam: header may carry an index column and columns in any order; slide ids with .svs resolve', async () => {
  const src = await clamFixture('ok', ',label,slide_id,case_id\n0,normal,a.svs,p1\n1,tumor,b,p1\n', { a: [3, 2], b: [5, 2] });
  const r = await readClamDataset({ ...src, classes: ['normal', 'tumor'] });
  assert.deepEqual(r.slides.map((s) => [s.case_id, s.slide_id, s.label_index, s.n]), [['p1', 'a.svs', 0, 3], ['p1', 'b', 1, 5]]);
  assert.equal(r.dim, 2);
  const bad = await clamFixture('hdr', 'patient,slide,label\n', {});
  const ps = await problems(() => readClamDataset({ ...bad, classes: ['a', 'b'] }));
  assert.match(ps[0], /:1: header lacks case_id, slide_id/);
});

test('mil_csv: with or without header, -1/1 and 0/1 labels, bags grouped across non-adjacent rows', () => {
  const a = join(tmp, 'noheader.csv');
  writeFileSync(a, '1,7,0.5,1\n-1,8,2,3\n1,7,1.5,2\n');
  const r = readMilCsv({ csv: a, classes: ['neg', 'pos'] });
  assert.equal(r.dim, 2);
  assert.deepEqual(r.bags.map((b) => [b.slide_id, b.label_index, b.n]), [['bag_7', 1, 2], ['bag_8', 0, 1]]);
  assert.deepEqual(Array.from(r.bags[0].features), [0.5, 1, 1.5, 2]);
  const b = join(tmp, 'header.csv');
  writeFileSync(b, 'bag_label,bag_id,f1\n0,a,1\n1,b,2\n');
  assert.deepEqual(readMilCsv({ csv: b, classes: ['neg', 'pos'] }).bags.map((x) => [x.slide_id, x.label]), [['bag_a', 'neg'], ['bag_b', 'pos']]);
});

test('mil_csv: errors name the line (bad number, ragged row, inconsistent bag label, unknown label)', async () => {
  const f = join(tmp, 'bad.csv');
  writeFileSync(f, '1,1,0.5,1\n1,1,x,1\n1,2,3\n0,1,1,1\n2,3,1,1\n');
  const ps = await problems(() => readMilCsv({ csv: f, classes: ['neg', 'pos'] }));
  assert.deepEqual(ps.map((p) => p.slice(f.length)), [
    ":2: feature f1 is not a number ('x')",
    ':3: expected 4 columns (as on line 1), got 3',
    ':4: bag \'1\' has label 0 here but 1 on line 1',
    ":5: bag '3': label 2 is not 0/1 or -1/1",
  ]);
});
