// Heatmap requests checked before anything runs: a heatmap needs slide images, so a dataset
// without them (CLAM features, synthetic bags, MIL CSV) is an error naming the slides that have
// none; named models and slides must exist; ROI corners must be ordered.
import { existsSync, readFileSync } from 'node:fs';
import { parseCsvRows } from '../io/csv.ts';
import { didYouMean, type SpecPath } from './errors.ts';

type Add = (p: SpecPath, m: string) => void;

/** slide_id column of a dataset CSV (or the file name of `path` without extension, as wsi does). */
function slideIds(csv: string): string[] {
  if (!existsSync(csv)) return [];
  const rows = parseCsvRows(readFileSync(csv, 'utf8'), csv);
  if (!rows.length) return [];
  const header = rows[0].fields.map((h) => h.trim());
  const si = header.indexOf('slide_id');
  const pi = header.indexOf('path');
  return rows.slice(1).map(({ fields }) => (si >= 0 && fields[si]?.trim() ? fields[si].trim() : pi >= 0 ? (fields[pi] ?? '').trim().split(/[\\/]/).pop()!.replace(/\.[^.]*$/, '') : '')).filter(Boolean);
}

const listed = (ids: string[], max = 8) => `${ids.slice(0, max).join(', ')}${ids.length > max ? `, … (${ids.length} slides)` : ''}`;

export function heatmapIssues(spec: any, resolvePath: (p: string) => string, add: Add): void {
  const h = spec.heatmaps;
  const n = spec.evaluate?.heatmaps;
  const wanted = h !== undefined || (typeof n === 'number' && n > 0);
  if (!wanted || !spec.dataset || typeof spec.dataset !== 'object') return;
  const at: SpecPath = h !== undefined ? ['heatmaps'] : ['evaluate', 'heatmaps'];
  const named: string[] | undefined = Array.isArray(h?.slides) ? h.slides : undefined;
  const source = Object.keys(spec.dataset)[0];
  if (source !== 'wsi') {
    const csv = spec.dataset[source]?.csv;
    const all = typeof csv === 'string' ? slideIds(resolvePath(csv)) : [];
    const missing = named ?? all;
    const what = source === 'clam' ? 'CLAM features only' : source === 'synthetic' ? 'synthetic bags' : 'feature rows';
    add(at, `heatmaps need slide images, but dataset.${source} holds ${what}: no slide image for ${missing.length ? listed(missing) : 'any slide'}. ` +
      'Describe the same slides as a wsi dataset (dataset.wsi.csv with a path per slide), or draw single slides with `milflow heatmap --slide <file> --checkpoint <model.safetensors>`.');
    return;
  }
  if (!h) return;
  const models: string[] = Array.isArray(spec.models) ? spec.models.map((m: any) => m?.name).filter((x: unknown) => typeof x === 'string') : [];
  (Array.isArray(h.models) ? h.models : []).forEach((m: unknown, i: number) => {
    if (typeof m === 'string' && !models.includes(m)) {
      const g = didYouMean(m, models);
      add(['heatmaps', 'models', i], `no model named '${m}' (models: ${models.join(', ')})` + (g ? `; did you mean '${g}'?` : ''));
    }
  });
  const fracs: number[] = spec.splits?.training_fractions ?? [1];
  (Array.isArray(h.fractions) ? h.fractions : []).forEach((f: unknown, i: number) => {
    if (typeof f === 'number' && !fracs.includes(f)) add(['heatmaps', 'fractions', i], `${f} is not one of splits.training_fractions (${fracs.join(', ')})`);
  });
  const folds = spec.splits?.folds ?? 10;
  (Array.isArray(h.folds) ? h.folds : []).forEach((f: unknown, i: number) => {
    if (typeof f === 'number' && f >= folds) add(['heatmaps', 'folds', i], `fold ${f} does not exist (splits.folds is ${folds})`);
  });
  if (Array.isArray(h.roi) && h.roi.length === 4 && !(h.roi[2] > h.roi[0] && h.roi[3] > h.roi[1])) add(['heatmaps', 'roi'], `[x1, y1, x2, y2] needs x2 > x1 and y2 > y1, got [${h.roi.join(', ')}]`);
  if (named) {
    const csv = spec.dataset.wsi?.csv;
    const known = typeof csv === 'string' ? new Set(slideIds(resolvePath(csv))) : new Set<string>();
    const missing = named.filter((s) => known.size && !known.has(s));
    if (missing.length) add(['heatmaps', 'slides'], `no slide image for ${listed(missing)}: not in ${csv}`);
  }
}
