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
    add('compare/clam_sb-vs-mil/B=16/frac=1/cohort=test', 'compare', { model_a: 'clam_sb', model_b: 'mil', frac: 1, cohort: 'test', B: 16 }, {
      'compare.json': { a: 'clam_sb', b: 'mil', cohort: 'test', folds: [{ fold: 0, delong_p: 0.01 }, { fold: 1, delong_p: 0.2 }], ensemble_delong: null },
    });
    const inp = readEntries(entries);
    const a = analyze(inp);
    assert.deepEqual(a.models, ['clam_sb B=16', 'clam_sb B=8', 'mil']);
    const g = a.groups.find((x) => x.model === 'clam_sb B=16')!;
    assert.ok(Math.abs(g.auc.mean - 0.9) < 1e-12);
    assert.equal(a.comparisons.length, 1);
    const c = a.comparisons[0];
    assert.equal(c.a, 'clam_sb B=16');
    assert.equal(c.b, 'mil');
    assert.deepEqual(c.perFold.map((f) => [f.fold, +f.diff.toFixed(6), f.delongP]), [[0, 0.25, 0.01], [1, 0.1, 0.2]]);
    assert.equal(prettyModel('clam_sb B=16'), 'CLAM-SB B=16');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
