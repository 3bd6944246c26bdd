// The report renders whatever a run produced: nothing evaluated, training only, one fold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport } from '../../src/report/build.ts';
import { writeSampleRun } from '../../src/report/sample-run.ts';
import { entriesFromEvents } from '../../src/report/inputs.ts';

test('partial runs still give a readable report', async () => {
  const d = mkdtempSync(join(tmpdir(), 'milflow-rb-'));
  try {
    const empty = await buildReport({ entries: [], outDir: join(d, 'empty') });
    assert.deepEqual(empty.figures, []);
    assert.deepEqual(empty.tables, []);
    assert.match(readFileSync(join(d, 'empty/report.html'), 'utf8'), /No figures/);

    const run = writeSampleRun({ root: d, models: ['clam_sb'], fracs: [1], folds: 1, slides: 8, epochs: 4, failStage: 'evaluate/clam_sb/frac=1/fold=0/cohort=test' });
    const entries = entriesFromEvents(run.events);
    const trainOnly = await buildReport({ entries: entries.filter((e) => e.kind === 'train'), events: run.events, outDir: join(d, 'train') });
    assert.deepEqual(trainOnly.figures, ['training_curves']);
    assert.equal(trainOnly.summary.counts.failed, 1);
    assert.match(readFileSync(join(d, 'train/report.md'), 'utf8'), /Failed stages[\s\S]*evaluate\/clam_sb\/frac=1\/fold=0\/cohort=test/);

    const all = await buildReport({ entries, events: run.events, outDir: join(d, 'all') });
    assert.ok(all.figures.includes('data_efficiency') && all.figures.includes('embedding_pca'));
    assert.ok(!all.figures.includes('auc_difference'), 'no second model, no difference figure');
    assert.ok(existsSync(join(d, 'all/tables/auc_by_fraction.csv')));
    // One fold: SD undefined, shown as a dash rather than NaN.
    assert.doesNotMatch(readFileSync(join(d, 'all/report.html'), 'utf8'), /NaN/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
