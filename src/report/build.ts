// Assembles the report: self-contained HTML (inline CSS and SVG, no scripts, no network),
// Markdown (figures linked as SVG files) and a CSV per table, into one directory.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { join } from 'node:path';
import type { RunEvent } from '../records/events.ts';
import { readEntries, type HeatmapRecord, type PreviewRecord, type StageEntry } from './inputs.ts';
import { analyze } from './analysis.ts';
import { buildFigures, prettyModel, type Figure } from './figures.ts';
import { buildTables, tableCsv, tableHtml, tableMd, esc, type Table } from './tables.ts';
import { summarizeRun, fmtSeconds, type RunSummary } from './run-summary.ts';
import { pct } from './format.ts';
import type { Analysis } from './analysis.ts';
import { modelColours } from './figures.ts';

export interface ReportOptions {
  entries: StageEntry[];
  events?: RunEvent[];
  outDir: string;
  title?: string;
  description?: string;
  classNames?: string[];
  /** More warnings for the banner at the top (plain sentences). */
  warnings?: string[];
}

export interface ReportResult {
  files: string[];
  figures: string[];
  tables: string[];
  summary: RunSummary;
}

/** Vega names clip paths etc. per view (clip1, …): make ids unique within the page. */
function scopeIds(svg: string, prefix: string): string {
  return svg
    .replace(/\sid="([^"]+)"/g, (_, id) => ` id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_, id) => `href="#${prefix}-${id}"`);
}

export async function buildReport(o: ReportOptions): Promise<ReportResult> {
  const inputs = readEntries(o.entries);
  const a = analyze(inputs, o.classNames);
  const figures = await buildFigures(a);
  const tables = buildTables(a, inputs);
  const summary = summarizeRun(o.events, o.entries);
  mkdirSync(join(o.outDir, 'tables'), { recursive: true });
  mkdirSync(join(o.outDir, 'figures'), { recursive: true });
  const files: string[] = [];
  const put = (rel: string, text: string) => {
    writeFileSync(join(o.outDir, rel), text);
    files.push(rel);
  };
  for (const t of tables) put(`tables/${t.id}.csv`, tableCsv(t));
  put('tables/run_summary.csv', summaryCsv(summary));
  for (const f of figures) put(`figures/${f.id}.svg`, f.svg);
  const gallery = await heatmapGallery(inputs.heatmaps, o.outDir);
  files.push(...gallery.map((g) => g.rel));
  const previews = await previewGallery(inputs.previews, o.outDir);
  files.push(...previews.map((g) => g.rel));
  const warnings = [...new Set([...reportWarnings(a), ...overlapWarnings(o.entries), ...runWarnings(o.events), ...(o.warnings ?? [])])];
  const colours = modelColours(a.models);
  const title = o.title ?? summary.experiment ?? 'milflow report';
  put('report.md', markdown(title, o.description, summary, tables, figures, a.models, warnings) + galleryMd(gallery) + previewsMd(previews));
  put('report.html', html(title, o.description, summary, tables, figures, a.models, a.fracs, galleryHtml(gallery, colours) + previewsHtml(previews), warnings));
  return { files, figures: figures.map((f) => f.id), tables: tables.map((t) => t.id), summary };
}

function summaryRows(s: RunSummary): [string, string][] {
  const rows: [string, string][] = [];
  if (s.runId) rows.push(['Run', `${s.runId}${s.status ? ` (${s.status})` : ''}`]);
  if (s.started) rows.push(['Started', s.started]);
  if (s.seconds !== undefined) rows.push(['Wall time', fmtSeconds(s.seconds)]);
  rows.push(['Stages', `${s.counts.executed} executed, ${s.counts.cached} from cache, ${s.counts.failed} failed${s.counts.skipped ? `, ${s.counts.skipped} skipped` : ''}`]);
  if (Object.keys(s.reasons).length) rows.push(['Why stages ran', Object.entries(s.reasons).map(([r, n]) => `${r}: ${n}`).join('; ')]);
  rows.push(['Compute engines', s.engines.join(', ') || '–']);
  rows.push(['Devices', s.devices.join(', ') || '–']);
  if (s.hosts.length) rows.push(['Hosts', s.hosts.join(', ')]);
  rows.push(['milflow version', s.milflowVersion ?? '–']);
  if (s.specPath) rows.push(['Spec', s.specPath]);
  if (s.specHash) rows.push(['Spec hash', s.specHash]);
  return rows;
}

function summaryCsv(s: RunSummary): string {
  const lines = ['kind,executed,cached,failed,skipped,seconds'];
  for (const r of s.byKind) lines.push([r.kind, r.executed, r.cached, r.failed, r.skipped, r.seconds.toFixed(3)].join(','));
  return lines.join('\n') + '\n';
}

/** The run's own warnings (degenerate data, damaged cache entries recomputed), from its events. */
function runWarnings(events: RunEvent[] | undefined): string[] {
  return (events ?? []).flatMap((e) => (e.type === 'warning' ? [e.message] : []));
}

/** Text from the spec or a stage into Markdown: HTML in it is shown, never rendered. */
const mdText = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function markdown(title: string, desc: string | undefined, s: RunSummary, tables: Table[], figures: Figure[], models: string[], warnings: string[] = []): string {
  const out: string[] = [`# ${mdText(title)}`, ''];
  if (desc) out.push(mdText(desc), '');
  for (const w of warnings) out.push(`> **Warning:** ${mdText(w)}`, '');
  out.push(`Models: ${models.map(prettyModel).join(', ')}`, '', '## Run summary', '', '| | |', '|---|---|', ...summaryRows(s).map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`), '');
  out.push('| Stage kind | Executed | From cache | Failed | Compute time |', '|---|---:|---:|---:|---:|', ...s.byKind.map((r) => `| ${r.kind} | ${r.executed} | ${r.cached} | ${r.failed} | ${fmtSeconds(r.seconds)} |`), '');
  if (s.failed.length) out.push('**Failed stages**', '', ...s.failed.map((f) => `- \`${f.id}\`: ${mdText(f.error ?? '')}`), '');
  tables.forEach((t, i) => out.push(`## Table ${i + 1}. ${t.title}`, '', t.caption, '', tableMd(t), '', `CSV: [tables/${t.id}.csv](tables/${t.id}.csv)`, ''));
  figures.forEach((f, i) => out.push(`## Figure ${i + 1}. ${f.title}`, '', `![${f.title}](figures/${f.id}.svg)`, '', f.caption, ''));
  return out.join('\n');
}

const CSS = `
body{font-family:Helvetica,Arial,sans-serif;color:#222;max-width:1180px;margin:2rem auto;padding:0 1.5rem;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.3rem;margin-top:2.4rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
h3{font-size:1.08rem;margin:1.6rem 0 .3rem}.sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 .3rem;font-size:.92rem}
th,td{border-bottom:1px solid #e2e2e2;padding:.3rem .7rem;text-align:left;vertical-align:top}
th{background:#f4f6f8;font-weight:600}td{white-space:nowrap}.num{text-align:right;font-variant-numeric:tabular-nums}
.caption{color:#444;font-size:.9rem;max-width:900px}.kv th{background:none;font-weight:600;width:11rem}
figure{margin:1.2rem 0 2rem}figure svg{max-width:100%;height:auto}figcaption{font-size:.9rem;color:#444;max-width:900px}
.fail{color:#a4161a}.warning{background:#fff4e5;border-left:4px solid #b35900;padding:.5rem .8rem;margin:.6rem 0}
.heatmap img{display:block;max-width:100%}.heatmap{margin:0;max-width:560px}.preview img{display:block;max-height:220px}.preview{margin:0}.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin:0 .3em 0 .8em;vertical-align:-.05em}
nav a{margin-right:1rem}a{color:#0b5394}code{font-size:.88em}
`;

function html(title: string, desc: string | undefined, s: RunSummary, tables: Table[], figures: Figure[], models: string[], fracs: number[], gallery = '', warnings: string[] = []): string {
  const p: string[] = [];
  p.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`);
  p.push(`<title>${esc(title)} — milflow report</title><style>${CSS}</style></head><body>`);
  p.push(`<h1>${esc(title)}</h1><p class="sub">milflow report · models: ${models.map((m) => esc(prettyModel(m))).join(', ')} · training fractions: ${fracs.map(pct).join(', ')}</p>`);
  if (desc) p.push(`<p>${esc(desc)}</p>`);
  for (const w of warnings) p.push(`<p class="warning" role="alert"><strong>Warning:</strong> ${esc(w)}</p>`);
  p.push(`<nav><a href="#summary">Run summary</a><a href="#tables">Tables</a><a href="#figures">Figures</a></nav>`);
  p.push(`<h2 id="summary">Run summary</h2><table class="kv"><tbody>${summaryRows(s).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`);
  p.push(`<h3>Time per stage kind</h3><table><thead><tr><th>Stage kind</th><th>Executed</th><th>From cache</th><th>Failed</th><th>Compute time</th></tr></thead><tbody>`);
  p.push(s.byKind.map((r) => `<tr><td>${esc(r.kind)}</td><td class="num">${r.executed}</td><td class="num">${r.cached}</td><td class="num${r.failed ? ' fail' : ''}">${r.failed}</td><td class="num">${fmtSeconds(r.seconds)}</td></tr>`).join(''));
  p.push(`</tbody></table>`);
  if (s.failed.length) p.push(`<h3 class="fail">Failed stages</h3><ul>${s.failed.map((f) => `<li><code>${esc(f.id)}</code>: ${esc(f.error)}</li>`).join('')}</ul>`);
  p.push(`<h2 id="tables">Tables</h2>`);
  tables.forEach((t, i) => p.push(`<section class="table" id="table-${t.id}"><h3>Table ${i + 1}. ${esc(t.title)}</h3><p class="caption">${esc(t.caption)}</p>${tableHtml(t)}</section>`));
  p.push(`<h2 id="figures">Figures</h2>`);
  if (!figures.length) p.push('<p>No figures: the run produced no evaluation outputs.</p>');
  figures.forEach((f, i) => p.push(`<figure id="fig-${f.id}" data-figure="${f.id}"><h3>Figure ${i + 1}. ${esc(f.title)}</h3>${scopeIds(f.svg, `f${i + 1}`)}<figcaption>${esc(f.caption)}</figcaption></figure>`));
  if (gallery) p.push(gallery);
  p.push(`</body></html>\n`);
  return p.join('\n');
}

/** At most this many heatmaps in the report (the stage outputs keep them all). */
const MAX_HEATMAPS = 8;
const MAX_PREVIEWS = 12;

interface GalleryItem {
  h: HeatmapRecord;
  rel: string;
  dataUri: string;
}

const fileSafe = (s: string) => s.replace(/[^A-Za-z0-9_.=-]+/g, '_');

/** Downscaled copies of the first heatmaps (largest training fraction, first folds), so the HTML
 * stays self-contained and light: images are inlined as data URIs. The heatmap stage's composed
 * figure (original beside the map, colour bar, caption) is used when it wrote one. */
async function heatmapGallery(all: HeatmapRecord[], outDir: string): Promise<GalleryItem[]> {
  if (!all.length) return [];
  const pick = [...all].sort((x, y) => x.model.localeCompare(y.model) || y.frac - x.frac || x.fold - y.fold || x.slide.localeCompare(y.slide)).slice(0, MAX_HEATMAPS);
  mkdirSync(join(outDir, 'heatmaps'), { recursive: true });
  const out: GalleryItem[] = [];
  for (const h of pick) {
    const composed = h.png.replace(/\.png$/, '.figure.png');
    const src = existsSync(composed) ? composed : h.png;
    const buf = await sharp(src).resize({ width: src === composed ? 1100 : 480, height: 480, fit: 'inside', withoutEnlargement: true }).png().toBuffer();
    const rel = `heatmaps/${fileSafe(h.model)}_frac${h.frac}_fold${h.fold}_${h.slide}.png`;
    writeFileSync(join(outDir, rel), buf);
    out.push({ h, rel, dataUri: `data:image/png;base64,${buf.toString('base64')}` });
  }
  return out;
}

const GALLERY_CAPTION =
  'Per slide: the original image beside the heatmap. CLAM: attention of the predicted class; MIL: each patch\'s instance score (probability of the predicted class), both as percentiles (colour bar); ' +
  'unpainted = no tissue patch. Test slides of the first folds; every rendered slide, its per-patch scores and its top / bottom patches are in the heatmap stage outputs.';

function heatmapCaption(x: GalleryItem): string {
  const c = (x.h.caption ?? {}) as Record<string, any>;
  const facts = [prettyModel(x.h.model), pct(x.h.frac), `fold ${x.h.fold}`, x.h.slide];
  if (c.true_label !== undefined) facts.push(`true label ${c.true_label}`);
  if (c.predicted !== undefined) facts.push(`predicted ${c.predicted}${typeof c.probability === 'number' ? ` (p = ${c.probability.toFixed(3)})` : ''}`);
  return facts.join(' · ');
}

function galleryHtml(g: GalleryItem[], colours: Map<string, string>): string {
  if (!g.length) return '';
  const items = g
    .map((x) => `<figure class="heatmap" data-model="${esc(x.h.model)}"><img src="${x.dataUri}" alt="heatmap of ${esc(x.h.slide)}"><figcaption><span class="swatch" style="background:${colours.get(x.h.model) ?? '#777'}"></span>${esc(heatmapCaption(x))}</figcaption></figure>`)
    .join('');
  return `<h2 id="heatmaps">Heatmaps</h2><p class="caption">${esc(GALLERY_CAPTION)}</p><div style="display:flex;flex-wrap:wrap;gap:1rem">${items}</div>`;
}

function galleryMd(g: GalleryItem[]): string {
  if (!g.length) return '';
  return ['', '## Heatmaps', '', GALLERY_CAPTION, '', ...g.map((x) => `![${heatmapCaption(x)}](${x.rel})`, ''), ''].join('\n');
}

interface PreviewItem {
  p: PreviewRecord;
  rel: string;
  dataUri: string;
}

/** Segmentation masks and stitched patch grids of the first slides (the WSI stages' pictures). */
async function previewGallery(all: PreviewRecord[], outDir: string): Promise<PreviewItem[]> {
  if (!all.length) return [];
  const slides = [...new Set(all.map((p) => `${p.cohort}\u0000${p.slide}`))].sort().slice(0, MAX_PREVIEWS / 2);
  const pick = all.filter((p) => slides.includes(`${p.cohort}\u0000${p.slide}`)).sort((x, y) => x.cohort.localeCompare(y.cohort) || x.slide.localeCompare(y.slide) || (x.kind === 'segment' ? -1 : 1));
  mkdirSync(join(outDir, 'previews'), { recursive: true });
  const out: PreviewItem[] = [];
  for (const p of pick) {
    const buf = await sharp(p.png).resize({ width: 320, height: 320, fit: 'inside', withoutEnlargement: true }).png().toBuffer();
    const rel = `previews/${fileSafe(p.cohort)}_${fileSafe(p.slide)}_${p.kind === 'segment' ? 'mask' : 'stitch'}.png`;
    writeFileSync(join(outDir, rel), buf);
    out.push({ p, rel, dataUri: `data:image/png;base64,${buf.toString('base64')}` });
  }
  return out;
}

const PREVIEW_CAPTION = 'Tissue segmentation (contours: tissue in green, holes in blue) and the stitched patch grid of each slide, as the segment and patch stages drew them; the first slides of each dataset.';
const previewLabel = (x: PreviewItem) => `${x.p.slide} · ${x.p.kind === 'segment' ? 'segmentation' : 'patches'}${x.p.cohort === 'training' ? '' : ` · ${x.p.cohort}`}`;

function previewsHtml(g: PreviewItem[]): string {
  if (!g.length) return '';
  const items = g.map((x) => `<figure class="preview"><img src="${x.dataUri}" alt="${esc(previewLabel(x))}"><figcaption>${esc(previewLabel(x))}</figcaption></figure>`).join('');
  return `<h2 id="previews">Segmentation and patching</h2><p class="caption">${esc(PREVIEW_CAPTION)}</p><div style="display:flex;flex-wrap:wrap;gap:.8rem">${items}</div>`;
}

function previewsMd(g: PreviewItem[]): string {
  if (!g.length) return '';
  return ['', '## Segmentation and patching', '', PREVIEW_CAPTION, '', ...g.map((x) => `![${previewLabel(x)}](${x.rel})`), ''].join('\n');
}

/** Degenerate results said loudly: a model that predicts one class for a whole test set. */
function reportWarnings(a: Analysis): string[] {
  return a.singleClass.map(
    (w) => `${prettyModel(w.model)} at ${pct(w.frac)} of the training data predicts a single class ("${w.predicted}") for every slide of ${w.cohort === 'test' ? 'the test set' : `cohort ${w.cohort}`} in ${w.folds.length} of ${w.of} fold${w.of === 1 ? '' : 's'} (fold ${w.folds.join(', ')}): its accuracy there is the class frequency and its balanced accuracy ${(1 / a.nClasses).toFixed(3)}.`,
  );
}

/** Independent cohorts evaluated despite sharing slides/cases/files with the training data (allow_overlap). */
function overlapWarnings(entries: StageEntry[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.kind !== 'overlap') continue;
    const r = JSON.parse(readFileSync(join(e.dir, 'overlap.json'), 'utf8')) as { cohort: string; problems?: string[] };
    if (r.problems?.length) out.push(`Cohort '${r.cohort}' is not independent of the training data (allow_overlap: true): ${r.problems.join('; ')}. Its results are inflated by leakage.`);
  }
  return out;
}
