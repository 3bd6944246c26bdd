// Leakage guard between the training data and independent cohorts: a cohort sharing a slide_id,
// a case_id or an identical feature file is an error naming them; allow_overlap: true runs it
// anyway and the report carries the warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { milflow, printedPath, specYaml, tempDir, writeSpec } from '../helpers/cli.ts';

const D = fileURLToPath(new URL('../fixtures/pt/clam_pt', import.meta.url));

const TRAINING = { clam: { csv: `${D}/dataset.csv`, features_dir: `${D}/features` } };
/** The training data plus one evaluation cohort `ext`. */
const spec = (ext: object, name = 'overlap') => specYaml({
  name, dataset: TRAINING, splits: { folds: 2, val_frac: 0.2, test_frac: 0.2 }, models: [{ name: 'clam_sb', type: 'clam_sb' }],
  evaluate: { cohorts: [{ name: 'ext', ...ext }] },
});

test('a cohort that is the training CSV, or shares a case or a feature file, is an error naming them', (t) => {
  const dir = tempDir('overlap-', t);
  // "External" cohort: new slide and case ids, but slide_03's features copied under a new name,
  // and one case id shared.
  mkdirSync(join(dir, 'ext/pt_files'), { recursive: true });
  copyFileSync(join(D, 'features/pt_files/slide_03.pt'), join(dir, 'ext/pt_files/ext_a.pt'));
  copyFileSync(join(D, 'features/pt_files/slide_08.pt'), join(dir, 'ext/pt_files/ext_b.pt'));
  // Another file of the same size as a training file but different bytes: not flagged.
  const other = readFileSync(join(D, 'features/pt_files/slide_04.pt'));
  other[other.length - 30] ^= 0xff;
  writeFileSync(join(dir, 'ext/pt_files/ext_c.pt'), other);
  writeFileSync(join(dir, 'ext.csv'), 'case_id,slide_id,label\nx1,ext_a,tumor\nx2,ext_b,normal\nx3,ext_c,normal\n');
  writeFileSync(join(dir, 'ext-case.csv'), 'case_id,slide_id,label\nx1,ext_a,tumor\ncase_01,ext_b,normal\nx3,ext_c,normal\n');
  writeSpec(dir, spec({ dataset: TRAINING }), 'same.yaml');
  writeSpec(dir, spec({ dataset: { clam: { csv: 'ext.csv', features_dir: 'ext' } } }), 'ext.yaml');
  writeSpec(dir, spec({ dataset: { clam: { csv: 'ext-case.csv', features_dir: 'ext' } } }), 'ext-case.yaml');

  // Shared ids are found by validate, before anything runs.
  const same = milflow(dir, 'validate', 'same.yaml');
  assert.equal(same.code, 2, same.out + same.err);
  assert.match(same.err, /evaluate\.cohorts\[0\]\.dataset\.clam\.csv: cohort 'ext' shares 10 slide_id\(s\) \(slide_00, slide_01, .*\) and 8 case_id\(s\)/);
  assert.match(same.err, /allow_overlap: true/);
  const byCase = milflow(dir, 'validate', 'ext-case.yaml');
  assert.equal(byCase.code, 2);
  assert.match(byCase.err, /cohort 'ext' shares 1 case_id\(s\) \(case_01\) with the training dataset/);

  // Identical feature files under new names are found when the guard runs.
  assert.equal(milflow(dir, 'validate', 'ext.yaml').code, 0);
  const ext = milflow(dir, 'run', 'ext.yaml', '--target', 'overlap/**', '--no-report');
  assert.equal(ext.code, 1, ext.out + ext.err);
  assert.match(ext.err, /cohort 'ext' is not independent of the training data: 2 feature file\(s\) identical to training files: ext_a = training slide_03, ext_b = training slide_08/);
  assert.doesNotMatch(ext.err, /slide_id\(s\) also|case_id\(s\) also/);
  assert.doesNotMatch(ext.err, /ext_c/);

  // The cohort's evaluations depend on the guard.
  const plan = JSON.parse(milflow(dir, 'plan', 'ext.yaml', '--json').out);
  const ev = plan.stages.find((s: any) => s.id === 'evaluate/clam_sb/frac=1/fold=0/cohort=ext');
  assert.equal(ev.inputs.overlap.id, 'overlap/cohort=ext');
  assert.equal(plan.stages.find((s: any) => s.id === 'evaluate/clam_sb/frac=1/fold=0/cohort=test').inputs.overlap, undefined);

  // allow_overlap: the stage succeeds, records the overlap, and the report warns.
  // (its own experiment name: one name, one spec)
  writeSpec(dir, spec({ allow_overlap: true, dataset: { clam: { csv: 'ext-case.csv', features_dir: 'ext' } } }, 'overlap-allowed'), 'allowed.yaml');
  const ok = milflow(dir, 'run', 'allowed.yaml', '--target', 'overlap/**');
  assert.equal(ok.code, 0, ok.out + ok.err);
  const report = printedPath(dir, ok.out, 'report');
  const html = readFileSync(report, 'utf8');
  assert.match(html, /<strong>Warning:<\/strong> Cohort &#39;ext&#39; is not independent|<strong>Warning:<\/strong> Cohort 'ext' is not independent/);
  assert.match(readFileSync(report.replace(/report\.html$/, 'report.md'), 'utf8'), /> \*\*Warning:\*\* Cohort 'ext' is not independent of the training data \(allow_overlap: true\): 1 case_id/);
});
