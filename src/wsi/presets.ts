// CLAM's segmentation presets (values of tcga.csv, bwh_biopsy.csv, bwh_resection.csv) and the
// CLAM preset / process-list CSV readers. Values are data, kept here so users need nothing else.
import { readFileSync } from 'node:fs';
import { parseCsvRows } from '../io/csv.ts';

export interface SegParams {
  /** Level to segment at; -1 = OpenSlide's best level for a 64× downsample. */
  seg_level: number;
  /** Saturation threshold (0..255) after the median blur. */
  sthresh: number;
  /** Median blur kernel size (odd). */
  mthresh: number;
  /** Closing kernel size in pixels of the seg level; 0 = no closing. */
  close: number;
  use_otsu: boolean;
  /** Minimum net tissue area, in units of a 512×512 level-0 patch. */
  a_t: number;
  /** Minimum hole area, same units. */
  a_h: number;
  /** Largest holes kept per contour. */
  max_n_holes: number;
  keep_ids: number[];
  exclude_ids: number[];
}

export interface VisParams {
  vis_level: number;
  line_thickness: number;
}

export interface PatchDefaults {
  white_thresh: number;
  black_thresh: number;
  use_padding: boolean;
  contour_fn: ContourFn;
}

export type ContourFn = 'four_pt' | 'four_pt_hard' | 'center' | 'basic';

export interface Preset {
  seg: SegParams;
  vis: VisParams;
  patch: PatchDefaults;
}

const row = (
  seg_level: number, sthresh: number, mthresh: number, close: number, use_otsu: boolean, a_t: number, a_h: number,
  max_n_holes: number, vis_level: number, line_thickness: number, white_thresh: number, black_thresh: number,
  use_padding: boolean, contour_fn: ContourFn,
): Preset => ({
  seg: { seg_level, sthresh, mthresh, close, use_otsu, a_t, a_h, max_n_holes, keep_ids: [], exclude_ids: [] },
  vis: { vis_level, line_thickness },
  patch: { white_thresh, black_thresh, use_padding, contour_fn },
});

/** CLAM presets/*.csv, column order seg_level,sthresh,mthresh,close,use_otsu,a_t,a_h,max_n_holes,vis_level,line_thickness,white_thresh,black_thresh,use_padding,contour_fn. */
export const PRESETS: Record<string, Preset> = {
  tcga: row(-1, 8, 7, 4, false, 16, 4, 8, -1, 100, 5, 50, true, 'four_pt'),
  bwh_biopsy: row(-1, 15, 11, 2, false, 1, 1, 2, -1, 50, 5, 50, true, 'four_pt'),
  bwh_resection: row(-1, 15, 11, 4, false, 100, 16, 8, -1, 150, 5, 50, true, 'four_pt'),
};

export function readCsv(path: string): { header: string[]; rows: { line: number; values: Record<string, string> }[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  const recs = parseCsvRows(text, path).map((r) => ({ line: r.line, cells: r.fields.map((c) => c.trim()) }));
  const header = recs[0]?.cells ?? [''];
  const rows: { line: number; values: Record<string, string> }[] = [];
  for (const r of recs.slice(1)) {
    if (r.cells.every((c) => c === '')) continue;
    const values: Record<string, string> = {};
    header.forEach((h, j) => (values[h] = r.cells[j] ?? ''));
    rows.push({ line: r.line, values });
  }
  return { header, rows };
}

function parseBool(v: string, where: string): boolean {
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(s)) return true;
  if (['false', '0', 'no'].includes(s)) return false;
  throw new Error(`${where}: expected a boolean, got '${v}'`);
}

function parseNum(v: string, where: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`${where}: expected a number, got '${v}'`);
  return n;
}

/** CLAM writes id lists as `none` or space/comma separated integers. */
function parseIds(v: string, where: string): number[] {
  const s = v.trim().replace(/^\[|\]$/g, '');
  if (!s || s.toLowerCase() === 'none' || s.toLowerCase() === 'nan') return [];
  return s.split(/[\s,]+/).filter(Boolean).map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n)) throw new Error(`${where}: expected integer ids, got '${v}'`);
    return n;
  });
}

/** Applies the CLAM-named columns present in `values` onto a copy of `base`. */
export function applyOverrides(base: Preset, values: Record<string, string>, where: string): Preset {
  const p: Preset = { seg: { ...base.seg }, vis: { ...base.vis }, patch: { ...base.patch } };
  for (const [k, raw] of Object.entries(values)) {
    if (raw === undefined || raw.trim() === '') continue;
    const w = `${where} column ${k}`;
    switch (k) {
      case 'seg_level': case 'sthresh': case 'mthresh': case 'close': case 'a_t': case 'a_h': case 'max_n_holes':
        (p.seg as any)[k] = parseNum(raw, w);
        break;
      case 'use_otsu':
        p.seg.use_otsu = parseBool(raw, w);
        break;
      case 'keep_ids': case 'exclude_ids':
        p.seg[k] = parseIds(raw, w);
        break;
      case 'vis_level': case 'line_thickness':
        p.vis[k] = parseNum(raw, w);
        break;
      case 'white_thresh': case 'black_thresh':
        p.patch[k] = parseNum(raw, w);
        break;
      case 'use_padding':
        p.patch.use_padding = parseBool(raw, w);
        break;
      case 'contour_fn':
        if (!['four_pt', 'four_pt_hard', 'center', 'basic'].includes(raw)) throw new Error(`${w}: unknown contour_fn '${raw}'`);
        p.patch.contour_fn = raw as ContourFn;
        break;
      default:
        break; // other process-list columns (slide_id, status, process, ...) are not parameters
    }
  }
  return p;
}

/** A preset by name (tcga, bwh_biopsy, bwh_resection; `biopsy` etc. accepted) or a CLAM preset CSV path. */
export function resolvePreset(nameOrPath: string): Preset {
  const key = nameOrPath.replace(/\.csv$/, '');
  if (PRESETS[key]) return PRESETS[key];
  if (PRESETS[`bwh_${key}`]) return PRESETS[`bwh_${key}`];
  if (/\.csv$/.test(nameOrPath)) {
    const { rows } = readCsv(nameOrPath);
    if (rows.length !== 1) throw new Error(`${nameOrPath}: a preset CSV has exactly one data row (found ${rows.length})`);
    return applyOverrides(PRESETS.bwh_biopsy, rows[0].values, `${nameOrPath}:${rows[0].line}`);
  }
  throw new Error(`unknown segmentation preset '${nameOrPath}' (known: ${Object.keys(PRESETS).join(', ')}, or a CLAM preset .csv path)`);
}

/** Per-slide overrides from a CLAM process-list CSV (column `slide_id`; a slide file name also matches). */
export function readProcessList(path: string): Map<string, { line: number; values: Record<string, string> }> {
  const { header, rows } = readCsv(path);
  if (!header.includes('slide_id')) throw new Error(`${path}: process list needs a slide_id column (found: ${header.join(', ')})`);
  const m = new Map<string, { line: number; values: Record<string, string> }>();
  for (const r of rows) {
    const id = r.values.slide_id.replace(/\.[A-Za-z0-9]+$/, '');
    m.set(id, r);
    m.set(r.values.slide_id, r);
  }
  return m;
}
