import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildReport } from '../../src/report/build.ts';
import type { StageEntry } from '../../src/report/inputs.ts';

test('heatmap stage outputs appear in the report as a downscaled, inlined gallery', async () => {
  const root = mkdtempSync(join(tmpdir(), 'milflow-report-hm-'));
  try {
    const entries: StageEntry[] = [];
    for (const fold of [1, 0]) {
      const dir = join(root, `hm${fold}`);
      mkdirSync(join(dir, 'heatmaps'), { recursive: true });
      // A 1200×900 red image: the gallery must shrink it to fit 480×480.
      await sharp({ create: { width: 1200, height: 900, channels: 3, background: { r: 200, g: 20, b: 20 } } }).png().toFile(join(dir, 'heatmaps', `slide_${fold}.png`));
      entries.push({
        id: `heatmap/clam_sb/frac=1/fold=${fold}`, kind: 'heatmap', dir,
        manifest: { labels: { model: 'clam_sb', frac: 1, fold } } as any,
      });
    }
    const out = join(root, 'report');
    const r = await buildReport({ entries, outDir: out, title: 't' });
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /<h2 id="heatmaps">Heatmaps<\/h2>/);
    assert.equal((html.match(/src="data:image\/png;base64,/g) ?? []).length, 2);
    // fold 0 comes first whatever the entry order
    assert.ok(html.indexOf('fold 0 · slide_0') < html.indexOf('fold 1 · slide_1'), 'gallery sorted by fold');
    const rel = 'heatmaps/clam_sb_frac1_fold0_slide_0.png';
    assert.ok(r.files.includes(rel), r.files.join(', '));
    const meta = await sharp(join(out, rel)).metadata();
    assert.equal(meta.width, 480);
    assert.equal(meta.height, 360);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    assert.ok(md.includes(`](${rel})`) && existsSync(join(out, rel)));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('no heatmap section without heatmap stages', async () => {
  const root = mkdtempSync(join(tmpdir(), 'milflow-report-hm-'));
  try {
    await buildReport({ entries: [], outDir: root, title: 't' });
    assert.doesNotMatch(readFileSync(join(root, 'report.html'), 'utf8'), /id="heatmaps"/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
