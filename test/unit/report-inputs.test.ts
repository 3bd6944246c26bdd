// Report inputs from stage entries: sweep variants stay apart, comparisons pair the right
// variants, and the statistics stages' field names are read (compare.json delong_p).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEntries, type StageEntry } from '../../src/report/inputs.ts';
import { analyze } from '../../src/report/analysis.ts';
import { prettyModel } from '../../src/report/figures.ts';

test('swept models are separate groups; compare pairs the swept variant with the baseline', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'milflow-rin-'));
  try {
    const entries: StageEntry[] = [];
    const add = (id: string, kind: string, labels: Record<string, string | number>, files: Record<string, unknown>) => {
      const dir = join(tmp, String(entries.length));
      mkdirSync(dir);
      for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), JSON.stringify(v));
      entries.push({ id, kind, dir, manifest: { kind, id, key: 'k', version: '1', params: {}, inputs: {}, files: {}, metrics: {}, timings: { started: '', finished: '', seconds: 1 }, host: 'h', device: { kind: 'cpu', index: 0, threads: 1 }, milflow_version: '0', labels } });
    };
    const auc = { 'clam_sb/B=8': [0.9, 0.8], 'clam_sb/B=16': [0.95, 0.85], mil: [0.7, 0.75] } as Record<string, number[]>;
    for (const [m, v] of Object.entries(auc))
      v.forEach((a, fold) => {
        const [model, sw] = m.split('/');
        add(`evaluate/${m}/frac=1/fold=${fold}/cohort=test`, 'evaluate', { model, frac: 1, fold, cohort: 'test', ...(sw ? { B: Number(sw.slice(2)) } : {}) }, { 'metrics.json': { auc: a, accuracy: 0.8, balanced_accuracy: 0.75, n_classes: 2 } });
      });
    // The aggregate stage's summary, not a mean taken by the report.
    add('aggregate/clam_sb/B=16/frac=1/cohort=test', 'aggregate', { model: 'clam_sb', frac: 1, cohort: 'test', B: 16 }, {
      'summary.json': { auc: { mean: 0.9, std: 0.0707, n: 2 }, accuracy: { mean: 0.8, std: 0, n: 2 }, balanced_accuracy: { mean: 0.75, std: 0, n: 2 }, folds: [{ fold: 0, auc: 0.95 }, { fold: 1, auc: 0.85 }] },
    });
    add('compare/clam_sb-vs-mil/B=16/frac=1/cohort=test', 'compare', { model_a: 'clam_sb', model_b: 'mil', frac: 1, cohort: 'test', B: 16 }, {
      'compare.json': {
        a: 'clam_sb', b: 'mil', cohort: 'test',
        across_folds: { n_folds: 2, n_folds_with_auc: 2, diff: { mean: 0.175, std: 0.106, n: 2 }, paired_t: { p: 0.3, ci: [-0.7, 1.1] }, wilcoxon: { p: 0.5, exact: true }, a_better_in: 2 },
        folds: [{ fold: 0, auc_a: 0.95, auc_b: 0.7, diff: 0.25, delong_p: 0.01 }, { fold: 1, auc_a: 0.85, auc_b: 0.75, diff: 0.1, delong_p: 0.2 }], ensemble_delong: null,
      },
    });
    const inp = readEntries(entries);
    const a = analyze(inp);
    assert.deepEqual(a.models, ['clam_sb B=16', 'clam_sb B=8', 'mil']);
    const g = a.groups.find((x) => x.model === 'clam_sb B=16')!;
    assert.equal(g.auc.mean, 0.9);
    assert.equal(a.groups.length, 1, 'groups are the aggregate stages');
    assert.equal(a.comparisons.length, 1);
    const c = a.comparisons[0];
    assert.equal(c.a, 'clam_sb B=16');
    assert.equal(c.b, 'mil');
    assert.deepEqual(c.perFold.map((f) => [f.fold, f.diff, f.delongP]), [[0, 0.25, 0.01], [1, 0.1, 0.2]]);
    // p-values are compare.json's, verbatim.
    assert.equal(c.across.tP, 0.3);
    assert.equal(c.across.wilcoxonP, 0.5);
    assert.equal(prettyModel('clam_sb B=16'), 'CLAM-SB B=16');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
