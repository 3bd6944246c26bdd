// CLAM's heatmap options on the shipped WSI example (OpenSlide's CMU-1-Small-Region, a test
// fixture), through `milflow heatmap`: real segmentation, patching, ONNX encoding and a CLAM-SB
// checkpoint. Checks: a 50 % overlap grid scores more patches than the training grid and its
// percentiles are referred to the training grid's scores; ROI crops the picture and the patches;
// top-k / bottom-k tiles are written with their scores; colour stays on the segmented tissue; the
// composed figure exists; a rerun is served from the per slide × checkpoint cache. Pictures go to test-artifacts/ (Chromium
// screenshots when Chromium is installed; run under flock /tmp/milflow-services.lock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { openslideUnavailable } from '../../src/wsi/openslide.ts';
import { tinyEncoder } from '../../src/features/onnx-writer.ts';
import { chromiumUnavailable, launchBrowser } from '../helpers/browser.ts';
import { makeConfig, saveCheckpoint } from '../../src/models/checkpoint.ts';
import { initParams, layout } from '../../src/models/params.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = join(ROOT, 'test-artifacts');
// The copy the project ships (CC0, experiments/data/wsi/SOURCE.md), so a fresh clone runs this.
const CMU = join(ROOT, 'experiments/data/wsi/CMU-1-Small-Region.svs');
const noLib = openslideUnavailable();
const have = existsSync(CMU) && !noLib;
if (!have) console.log(`skipping: ${noLib ?? `${CMU} not present`}`);

const csv = (p: string) => {
  const [head, ...rows] = readFileSync(p, 'utf8').trim().split('\n').map((l) => l.split(','));
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
};

test('milflow heatmap on CMU-1-Small-Region: overlap vs reference percentiles, ROI, top-k tiles, cache', { skip: !have, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-heatmap-wsi-'));
  try {
    const enc = tinyEncoder({ inputSize: 64, dim: 16, channels: 8, seed: 3 });
    writeFileSync(join(dir, 'enc.onnx'), enc.bytes);
    const cfg = makeConfig({ type: 'clam_sb', n_classes: 2, dim: 16, dropout: 0 });
    await saveCheckpoint(join(dir, 'model.safetensors'), { config: cfg, params: initParams(layout(cfg), 11), meta: {} });
    const run = (...extra: string[]) => {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/milflow.mjs'), 'heatmap', '--slide', CMU, '--checkpoint', join(dir, 'model.safetensors'), '--encoder', join(dir, 'enc.onnx'), '--dim', '16', '--input-size', '64',
        '--patch-size', '256', '--classes', 'normal,tumor', '--label', 'tumor', '--out', join(dir, 'out'), ...extra], { encoding: 'utf8', timeout: 240_000 });
      assert.equal(r.status, 0, r.stderr);
      return { figure: r.stdout.trim(), stderr: r.stderr };
    };
    const t0 = Date.now();
    const a = run('--overlap', '0.5', '--topk', '3', '--bottomk', '2', '--blur', '--max-side', '1200');
    console.log(`# overlap run ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const d = join(a.figure, '..');
    const facts = JSON.parse(readFileSync(join(d, 'CMU-1-Small-Region.json'), 'utf8'));
    assert.equal(facts.score, 'attention');
    assert.equal(facts.true_label, 'tumor');
    assert.ok(['normal', 'tumor'].includes(facts.predicted));
    // 50 % overlap: about four times the patches of the training grid.
    assert.ok(facts.n_scored > 2.5 * facts.n_reference, `${facts.n_scored} scored vs ${facts.n_reference} in the training grid`);
    const drawn = csv(join(d, 'CMU-1-Small-Region.csv'));
    const ref = csv(join(d, 'CMU-1-Small-Region.reference.csv')).map((r) => Number(r.score));
    assert.equal(drawn.length, facts.n_scored);
    assert.equal(ref.length, facts.n_reference);
    // Percentiles referred to the reference (training grid) scores, not to the overlap grid's own.
    let notSelf = 0;
    const own = drawn.map((r) => Number(r.score));
    for (const r of drawn) {
      const s = Number(r.score);
      const want = (100 * ref.filter((v) => v <= s).length) / ref.length;
      assert.ok(Math.abs(Number(r.percentile) - want) < 1e-9, `percentile of ${s}: ${r.percentile} vs ${want}`);
      if (Math.abs(want - (100 * own.filter((v) => v <= s).length) / own.length) > 1e-6) notSelf++;
    }
    assert.ok(notSelf > 0, 'reference percentiles differ from self-referred ones');
    // Top-k / bottom-k tiles of the training grid, named with coordinates and score.
    const top = readdirSync(join(d, 'topk')).sort();
    const bottom = readdirSync(join(d, 'bottomk')).sort();
    assert.equal(top.length, 3);
    assert.equal(bottom.length, 2);
    const best = Math.max(...ref);
    assert.match(top[0], new RegExp(`^0_CMU-1-Small-Region_x_\\d+_y_\\d+_s_${best.toFixed(4).replace('.', '\\.')}\\.png$`));
    const tile = await sharp(join(d, 'topk', top[0])).metadata();
    assert.deepEqual([tile.width, tile.height], [256, 256]);
    const samples = csv(join(d, 'CMU-1-Small-Region.samples.csv'));
    assert.deepEqual(samples.map((s) => s.set), ['topk', 'topk', 'topk', 'bottomk', 'bottomk']);
    assert.equal(Number(samples[3].score), Math.min(...ref));
    // Colour stays on tissue (CLAM's segment=True): glass under drawn patches keeps the slide's own
    // pixels, except glass the segmentation counts as tissue (lumina inside a contour); tissue
    // under patches is coloured. Glass: near-white; tissue: stained (saturated) pixels.
    {
      const { data: hm, info } = await sharp(join(d, 'CMU-1-Small-Region.png')).raw().toBuffer({ resolveWithObject: true });
      const orig = await sharp(join(d, 'CMU-1-Small-Region.original.png')).raw().toBuffer();
      const [x0, y0, x1, y1] = facts.region as number[];
      const sx = (x1 - x0) / info.width, sy = (y1 - y0) / info.height;
      const under = new Uint8Array(info.width * info.height);
      for (const r of drawn) {
        const x = Number(r.x) - x0, y = Number(r.y) - y0;
        for (let py = Math.max(0, Math.ceil(y / sy - 0.5)); py < Math.min(info.height, Math.ceil((y + 256) / sy - 0.5)); py++)
          under.fill(1, py * info.width + Math.max(0, Math.ceil(x / sx - 0.5)), py * info.width + Math.min(info.width, Math.ceil((x + 256) / sx - 0.5)));
      }
      let glass = 0, glassBare = 0, tissue = 0, tissueColoured = 0;
      for (let p = 0; p < under.length; p++) {
        if (!under[p]) continue;
        const o = 3 * p, hi = Math.max(orig[o], orig[o + 1], orig[o + 2]), lo = Math.min(orig[o], orig[o + 1], orig[o + 2]);
        const same = hm[o] === orig[o] && hm[o + 1] === orig[o + 1] && hm[o + 2] === orig[o + 2];
        if (lo >= 225 && hi - lo <= 20) { glass++; if (same) glassBare++; }
        else if (hi - lo >= 40) { tissue++; if (!same) tissueColoured++; }
      }
      console.log(`# under drawn patches: ${glass} glass px, ${((100 * glassBare) / glass).toFixed(1)} % bare; ${tissue} tissue px, ${((100 * tissueColoured) / tissue).toFixed(1)} % coloured`);
      assert.ok(glass > 10_000 && tissue > 10_000, `${glass} glass and ${tissue} tissue pixels under the patches`);
      assert.ok(glassBare > 0.6 * glass, `glass under patches keeps the slide's pixels (${glassBare} of ${glass})`);
      assert.ok(tissueColoured > 0.97 * tissue, `tissue under patches is coloured (${tissueColoured} of ${tissue})`);
    }
    const fig = await sharp(a.figure).metadata();
    assert.ok(fig.width! > fig.height! && fig.width! > 700, `original and heatmap side by side (${fig.width}×${fig.height})`);

    // ROI: the picture is the region; only patches overlapping it are drawn.
    const b = run('--roi', '512,512,1536,1536', '--cmap', 'jet', '--alpha', '0.5');
    const bd = join(b.figure, '..');
    const meta = await sharp(join(bd, 'CMU-1-Small-Region.png')).metadata();
    assert.deepEqual([meta.width, meta.height], [1024, 1024]);
    const roiRows = csv(join(bd, 'CMU-1-Small-Region.csv'));
    const rf = JSON.parse(readFileSync(join(bd, 'CMU-1-Small-Region.json'), 'utf8'));
    assert.ok(roiRows.length > 0 && roiRows.length < rf.n_reference, `${roiRows.length} of ${rf.n_reference} patches in the ROI`);
    for (const r of roiRows) {
      const x = Number(r.x), y = Number(r.y);
      assert.ok(x < 1536 && x + 256 > 512 && y < 1536 && y + 256 > 512, `patch ${x},${y} overlaps the ROI`);
    }
    // Same slide × checkpoint × options: served from the cache.
    const again = run('--roi', '512,512,1536,1536', '--cmap', 'jet', '--alpha', '0.5');
    assert.match(again.stderr, /cached/);
    assert.equal(again.figure, b.figure);

    mkdirSync(ARTIFACTS, { recursive: true });
    copyFileSync(a.figure, join(ARTIFACTS, 'heatmap-overlap.figure.png'));
    copyFileSync(b.figure, join(ARTIFACTS, 'heatmap-roi.figure.png'));
    // As a reader sees them: each figure opened in Chromium, screenshot for the eye.
    if (!chromiumUnavailable()) {
      const br = await launchBrowser();
      try {
        for (const [f, name] of [[a.figure, 'heatmap-overlap.png'], [b.figure, 'heatmap-roi.png']] as const) {
          const page = await br.context.newPage();
          await page.goto(`file://${f}`, { waitUntil: 'load' });
          const size = await page.evaluate(() => { const i = document.querySelector('img')!; return [i.naturalWidth, i.naturalHeight]; });
          assert.ok(size[0] > 700, `Chromium decodes ${f}`);
          await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
          await page.close();
        }
      } finally {
        await br.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
