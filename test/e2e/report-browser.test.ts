// The report in a real browser: `milflow report --run DIR` on recorded runs (binary and
// 3-class), then headless Debian Chromium opens report.html from disk: no console errors, no
// network requests, every figure has drawn marks, legends inside their figure; screenshots go to
// test-artifacts/. Numbers in tables are checked against the stage outputs they come from.
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
    const roc = figs.find((f) => f.id === 'roc_test')!;
    assert.match(roc.text, /False positive rate/);
    assert.match(roc.text, /100 %/);
    assert.match(figs.find((f) => f.id === 'data_efficiency')!.text, /Test AUC/);
    // Legends are never clipped by the figure's own box.
    const clipped = await page.$$eval('figure[data-figure] svg', (svgs) =>
      svgs.flatMap((svg) => {
        const box = svg.getBoundingClientRect();
        return Array.from(svg.querySelectorAll('.role-legend text')).filter((t) => t.getBoundingClientRect().right > box.right + 1).map((t) => t.textContent);
      }),
    );
    assert.deepEqual(clipped, [], 'legend text inside its figure');
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

/** model → colour of every mark labelled with a model, per figure SVG. */
function colourOfModels(svg: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of svg.matchAll(/aria-label="([^"]*)"[^>]*?(?:fill|stroke)="(#[0-9A-Fa-f]{6})"/g)) {
    const model = /(?:^|; )(?:Model|Better on the fold): ([^;]+)/.exec(m[1])?.[1];
    if (!model) continue;
    if (!out.has(model)) out.set(model, new Set());
    out.get(model)!.add(m[2].toUpperCase());
  }
  return out;
}

test('binary run: files, numbers equal the stage outputs, one colour per model, renders in Chromium', async () => {
  const models = ['clam_sb', 'mil', 'clam_sb/B=16'];
  const fracs = [1, 0.5, 0.25, 0.1];
  const run = writeSampleRun({ root: join(tmp, 'bin'), experiment: 'camelyon-like', models, folds: 4, fracs, epochs: 12, failStage: 'evaluate/mil/frac=0.1/fold=3/cohort=external', degenerate: { model: 'mil', frac: 0.1 } });
  const out = milflowReport(run.runDir);
  const dir = join(run.runDir, 'report');
  assert.match(out, /report\.html/);
  for (const f of ['report.html', 'report.md', 'tables/data.csv', 'tables/excluded.csv', 'tables/folds.csv', 'tables/auc_by_fraction.csv', 'tables/ensemble_auc.csv', 'tables/model_differences.csv', 'tables/accuracy.csv', 'tables/run_summary.csv'])
    assert.ok(existsSync(join(dir, f)), `${f} written`);
  const svgs = readdirSync(join(dir, 'figures')).sort();
  assert.deepEqual(svgs, ['auc_difference.svg', 'confidence.svg', 'data_efficiency.svg', 'embedding_pca.svg', 'roc_external.svg', 'roc_test.svg', 'training_curves.svg']);
  const stageDir = (id: string) => {
    const ev = run.events.find((e) => e.type === 'stage-end' && e.id === id);
    assert.ok(ev && ev.type === 'stage-end' && ev.manifestPath, id);
    return join(ev.manifestPath!, '..');
  };
  const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

  // Data-efficiency figure: one mean mark per model × fraction × cohort (CV test sets, external).
  const eff = readFileSync(join(dir, 'figures/data_efficiency.svg'), 'utf8');
  const means = [...eff.matchAll(/aria-label="([^"]*; folds: \d+)"/g)].map((m) => m[1]);
  assert.equal(means.length, models.length * fracs.length * 2, 'one mark per model × fraction × cohort');
  for (const m of ['CLAM-SB', 'MIL', 'CLAM-SB B=16']) for (const f of [100, 50, 25, 10]) assert.ok(means.some((x) => x.includes(`model: ${m};`) && x.includes(`fraction: ${f};`)), `${m} at ${f} %`);

  // Per-fold CI table = the evaluate stages' metrics.json, number for number.
  const folds = csv(join(dir, 'tables/folds.csv'));
  assert.equal(folds.length, models.length * fracs.length * 4 * 2 - 1, 'every evaluated fold (one failed)');
  for (const r of folds) {
    const id = `evaluate/${r.model.replace(' ', '/')}/frac=${r.frac}/fold=${r.fold}/cohort=${r.cohort}`;
    const m = json(join(stageDir(id), 'metrics.json'));
    assert.equal(Number(r.test_auc), m.auc, id);
    assert.deepEqual([Number(r.test_auc_ci_low), Number(r.test_auc_ci_high)], m.auc_ci, id);
    assert.equal(r.ci_method, 'delong');
    assert.equal(Number(r.test_acc), m.accuracy);
  }
  // Table 1 (AUC by fraction) is the aggregate stage's summary.json.
  const agg = json(join(stageDir('aggregate/clam_sb/frac=0.5/cohort=test'), 'summary.json'));
  const row = csv(join(dir, 'tables/auc_by_fraction.csv')).find((r) => r.model === 'clam_sb' && r.frac === '0.5' && r.cohort === 'test')!;
  assert.equal(Number(row.auc_mean), agg.auc.mean);
  assert.equal(Number(row.auc_sd), agg.auc.std);
  // p-values = compare.json.
  for (const r of csv(join(dir, 'tables/model_differences.csv'))) {
    const c = json(join(stageDir(`compare/clam_sb-vs-mil/frac=${r.frac}/cohort=${r.cohort}`), 'compare.json'));
    assert.equal(Number(r.p_paired_t), c.across_folds.paired_t.p);
    assert.equal(Number(r.p_wilcoxon), c.across_folds.wilcoxon.p);
  }
  // Data table = the dataset stage's slides.csv / excluded.csv.
  const slides = csv(join(stageDir('dataset'), 'slides.csv'));
  const data = csv(join(dir, 'tables/data.csv'));
  for (const cls of ['class_0', 'class_1']) {
    const mine = slides.filter((s) => s.label === cls);
    const r = data.find((d) => d.dataset === 'training' && d.class === cls)!;
    assert.equal(Number(r.slides), mine.length);
    assert.equal(Number(r.cases), new Set(mine.map((s) => s.case_id)).size);
    assert.equal(Number(r.patches), mine.reduce((a, s) => a + Number(s.n), 0));
  }
  assert.equal(Number(data.find((d) => d.dataset === 'training' && d.class === 'all')!.excluded), 2);
  assert.deepEqual(csv(join(dir, 'tables/excluded.csv')).map((r) => r.slide_id), ['slide_broken', 'slide_empty']);

  // One colour per model in every figure that shows models.
  const colour = new Map<string, string>();
  for (const f of svgs) {
    for (const [m, cs] of colourOfModels(readFileSync(join(dir, 'figures', f), 'utf8'))) {
      assert.equal(cs.size, 1, `${f}: ${m} drawn in ${[...cs]}`);
      const c = [...cs][0];
      assert.equal(colour.get(m) ?? c, c, `${f}: ${m} is ${c}, elsewhere ${colour.get(m)}`);
      colour.set(m, c);
    }
  }
  assert.deepEqual([...colour.keys()].sort(), ['CLAM-SB', 'CLAM-SB B=16', 'MIL']);
  assert.equal(new Set(colour.values()).size, 3);

  // The failed stage is reported with its reason; the degenerate model is flagged.
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  assert.match(md, /evaluate\/mil\/frac=0\.1\/fold=3\/cohort=external`: worker exited with code 137/);
  assert.match(md, /Warning:\*\* MIL at 10 % of the training data predicts a single class \("class_0"\) for every slide of the test set in 4 of 4 folds/);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'self-contained: no scripts, no remote resources');

  if (noBrowser) return;
  await checkInBrowser(join(dir, 'report.html'), join(ARTIFACTS, 'report.png'), ['data_efficiency', 'roc_test', 'roc_external', 'auc_difference', 'confidence', 'embedding_pca', 'training_curves']);
});

test('3-class run: per-class one-vs-rest ROC, macro AUC; renders in Chromium', async () => {
  const run = writeSampleRun({ root: join(tmp, 'mc'), experiment: 'subtyping', nClasses: 3, folds: 3, fracs: [1, 0.25], epochs: 8 });
  milflowReport(run.runDir);
  const dir = join(run.runDir, 'report');
  assert.ok(existsSync(join(dir, 'figures/roc_per_class.svg')));
  if (noBrowser) return;
  await checkInBrowser(join(dir, 'report.html'), join(ARTIFACTS, 'report-multiclass.png'), ['data_efficiency', 'roc_test', 'roc_external', 'auc_difference', 'confidence', 'embedding_pca', 'roc_per_class', 'training_curves']);
});
