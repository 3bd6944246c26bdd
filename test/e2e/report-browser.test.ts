// The report in a real browser: `milflow report --run DIR` on recorded runs (binary and
// 3-class), then headless Debian Chromium opens report.html from disk: no console errors, no
// network requests, every figure has drawn marks; screenshots go to test-artifacts/.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeSampleRun } from '../../src/report/sample-run.ts';
import { chromiumUnavailable, launchBrowser } from '../helpers/browser.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const tmp = mkdtempSync(join(tmpdir(), 'milflow-report-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const noBrowser = chromiumUnavailable();
if (noBrowser) console.log(`# skipping browser checks: ${noBrowser}`);

function milflowReport(runDir: string) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/milflow.mjs'), 'report', '--run', runDir], { encoding: 'utf8', env: { ...process.env, MLFLOW_TRACKING_URI: '' } });
  assert.equal(r.status, 0, `milflow report failed: ${r.stderr}`);
  return r.stdout;
}

function csv(p: string): Record<string, string>[] {
  const [head, ...rows] = readFileSync(p, 'utf8').trim().split('\n').map((l) => l.split(','));
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

async function checkInBrowser(html: string, shot: string, expectFigures: string[]) {
  const b = await launchBrowser();
  try {
    const page = await b.context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file://')) requests.push(r.url());
    });
    await page.goto(`file://${html}`, { waitUntil: 'load' });
    const figs = await page.$$eval('figure[data-figure]', (els) =>
      els.map((f) => {
        const svg = f.querySelector('svg');
        const marks = svg ? svg.querySelectorAll('.role-mark path, .role-mark line, .role-mark rect, .role-mark circle') : [];
        // Drawn = has geometry and a visible box.
        let drawn = 0;
        for (const m of Array.from(marks)) {
          const d = m.getAttribute('d');
          const r = (m as SVGGraphicsElement).getBBox?.();
          if ((d === null || d.length > 2) && r && (r.width > 0 || r.height > 0)) drawn++;
        }
        const box = svg?.getBoundingClientRect();
        return { id: f.getAttribute('data-figure'), drawn, width: box?.width ?? 0, height: box?.height ?? 0, text: svg?.textContent ?? '' };
      }),
    );
    assert.deepEqual(figs.map((f) => f.id), expectFigures);
    for (const f of figs) {
      assert.ok(f.drawn >= 3, `figure ${f.id} has rendered marks (found ${f.drawn})`);
      assert.ok(f.width > 200 && f.height > 150, `figure ${f.id} is visible (${f.width}×${f.height})`);
    }
    // Readable for a pathologist: axis titles with units, fractions as %.
    const roc = figs.find((f) => f.id === 'roc_mean')!;
    assert.match(roc.text, /False positive rate/);
    assert.match(roc.text, /100 %/);
    assert.match(figs.find((f) => f.id === 'fold_auc')!.text, /Test AUC/);
    const tables = await page.$$eval('section.table table tbody tr', (rows) => rows.length);
    assert.ok(tables > 0);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    assert.deepEqual(problems, [], 'no console errors');
    assert.deepEqual(requests, [], 'no network requests');
  } finally {
    await b.close();
  }
}

test('binary run: files, table numbers match the stage outputs, renders in Chromium', async () => {
  const run = writeSampleRun({ root: join(tmp, 'bin'), experiment: 'camelyon-like', folds: 4, fracs: [1, 0.5, 0.1], epochs: 12, failStage: 'evaluate/mil/frac=0.1/fold=3/cohort=external' });
  const out = milflowReport(run.runDir);
  const dir = join(run.runDir, 'report');
  assert.match(out, /report\.html/);
  for (const f of ['report.html', 'report.md', 'tables/auc_by_fraction.csv', 'tables/ensemble_auc.csv', 'tables/model_differences.csv', 'tables/accuracy.csv', 'tables/run_summary.csv'])
    assert.ok(existsSync(join(dir, f)), `${f} written`);
  const svgs = readdirSync(join(dir, 'figures')).sort();
  assert.deepEqual(svgs, ['auc_difference.svg', 'confidence.svg', 'embedding_pca.svg', 'fold_auc.svg', 'roc_mean.svg', 'training_curves.svg']);

  // Table 1 equals mean / SD of the evaluate stages' own metrics.json, recomputed here.
  const aucs: number[] = [];
  for (let k = 0; k < 4; k++) {
    const ev = run.events.find((e) => e.type === 'stage-end' && e.id === `evaluate/clam_sb/frac=0.5/fold=${k}/cohort=test`);
    assert.ok(ev && ev.type === 'stage-end');
    aucs.push(JSON.parse(readFileSync(join(ev.manifestPath!, '../metrics.json'), 'utf8')).auc);
  }
  const m = aucs.reduce((a, b) => a + b, 0) / aucs.length;
  const s = Math.sqrt(aucs.reduce((a, b) => a + (b - m) ** 2, 0) / (aucs.length - 1));
  const row = csv(join(dir, 'tables/auc_by_fraction.csv')).find((r) => r.model === 'clam_sb' && r.frac === '0.5' && r.cohort === 'test')!;
  assert.ok(Math.abs(Number(row.auc_mean) - m) < 1e-12 && Math.abs(Number(row.auc_sd) - s) < 1e-12);
  assert.equal(row.n_folds, '4');
  // The failed stage is reported with its reason; its fold is missing from its group.
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  assert.match(md, /evaluate\/mil\/frac=0\.1\/fold=3\/cohort=external`: worker exited with code 137/);
  assert.equal(csv(join(dir, 'tables/auc_by_fraction.csv')).find((r) => r.model === 'mil' && r.frac === '0.1' && r.cohort === 'external')!.n_folds, '3');
  const diff = csv(join(dir, 'tables/model_differences.csv'));
  assert.deepEqual(diff.map((r) => r.frac), ['1', '0.5', '0.1']);
  assert.ok(diff.every((r) => Number(r.p_wilcoxon) > 0 && Number(r.p_wilcoxon) <= 1));
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'self-contained: no scripts, no remote resources');

  if (noBrowser) return;
  await checkInBrowser(join(dir, 'report.html'), join(ARTIFACTS, 'report.png'), ['roc_mean', 'fold_auc', 'auc_difference', 'confidence', 'embedding_pca', 'training_curves']);
});

test('3-class run: per-class one-vs-rest ROC, macro AUC; renders in Chromium', async () => {
  const run = writeSampleRun({ root: join(tmp, 'mc'), experiment: 'subtyping', nClasses: 3, folds: 3, fracs: [1, 0.25], epochs: 8 });
  milflowReport(run.runDir);
  const dir = join(run.runDir, 'report');
  assert.ok(existsSync(join(dir, 'figures/roc_per_class.svg')));
  if (noBrowser) return;
  await checkInBrowser(join(dir, 'report.html'), join(ARTIFACTS, 'report-multiclass.png'), ['roc_mean', 'fold_auc', 'auc_difference', 'confidence', 'embedding_pca', 'roc_per_class', 'training_curves']);
});
