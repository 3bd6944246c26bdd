// Everything the report reads, in one place: stage entries (manifest + output dir) from a run's
// events or from the report stage's declared inputs, normalized into plain records. Field names
// of the statistics stages' files are read only here, tolerantly.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Manifest } from '../types/stage.ts';
import type { RunEvent } from '../records/events.ts';
import { readPredictions } from '../stats/predictions.ts';
import type { Predictions } from '../stats/metrics.ts';
import { parseCsv } from '../splits/csv.ts';

export type Labels = Record<string, string | number>;
export interface StageEntry {
  id: string;
  kind: string;
  dir: string;
  manifest: Manifest & { labels?: Labels };
}

export interface EvalRecord {
  id: string;
  model: string;
  frac: number;
  fold: number;
  cohort: string;
  auc?: number;
  accuracy?: number;
  balancedAccuracy?: number;
  nClasses?: number;
  predictionsPath?: string;
  embeddingsPath?: string;
}
export interface TrainRecord {
  id: string;
  model: string;
  frac: number;
  fold: number;
  epochs: Record<string, number>[];
}
export interface EnsembleRecord {
  id: string;
  model: string;
  frac: number;
  cohort: string;
  n?: number;
  auc?: number;
  ci?: [number, number];
  ciMethod?: string;
  accuracy?: number;
  balancedAccuracy?: number;
}
export interface CompareRecord {
  id: string;
  a: string;
  b: string;
  frac: number;
  cohort: string;
  /** Per fold: paired DeLong p of the two models' AUCs on that fold's test set. */
  foldDelongP: Record<number, number>;
  /** Paired DeLong of the two models' ensembles (independent cohorts), when computed. */
  ensemble?: { diff?: number; p?: number; ci?: [number, number] };
}
/** One rendered attention heatmap (heatmap stage output). */
export interface HeatmapRecord {
  id: string;
  model: string;
  frac: number;
  fold: number;
  slide: string;
  png: string;
}
export interface ReportInputs {
  heatmaps: HeatmapRecord[];
  evals: EvalRecord[];
  trains: TrainRecord[];
  ensembles: EnsembleRecord[];
  compares: CompareRecord[];
  entries: StageEntry[];
}

function readJson(p: string): any {
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch (err) {
    throw new Error(`${p}: ${(err as Error).message}`);
  }
}
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);

/** Coordinates from the manifest labels, falling back to the identity (…/frac=0.25/fold=3/…). */
function coords(e: StageEntry): Labels {
  const out: Labels = {};
  for (const part of e.id.split('/')) {
    const m = /^([a-z_]+)=(.*)$/.exec(part);
    if (m) out[m[1]] = m[2];
  }
  const parts = e.id.split('/');
  if (parts[1] && !parts[1].includes('=')) out.model = parts[1];
  return { ...out, ...(e.manifest.labels ?? {}) };
}

/** Sweep coordinates in an identity (…/<model>/B=16/frac=…): everything but frac/fold/cohort. */
function sweepOf(id: string): string {
  return id
    .split('/')
    .filter((p) => /^[^=]+=/.test(p) && !/^(frac|fold|cohort)=/.test(p))
    .join(' ');
}

export function readEntries(entries: StageEntry[]): ReportInputs {
  const r: ReportInputs = { heatmaps: [], evals: [], trains: [], ensembles: [], compares: [], entries };
  const pendingCompares: { rec: CompareRecord; sweep: string }[] = [];
  for (const e of entries) {
    const L = coords(e);
    const sweep = sweepOf(e.id);
    // A swept model is its own line in every table and figure: "clam_sb B=16".
    const model = [String(L.model ?? '?'), sweep].filter(Boolean).join(' ');
    const frac = num(L.frac) ?? 1;
    const fold = num(L.fold) ?? 0;
    const cohort = String(L.cohort ?? 'test');
    if (e.kind === 'evaluate') {
      const mp = join(e.dir, 'metrics.json');
      const m = existsSync(mp) ? readJson(mp) : e.manifest.metrics ?? {};
      r.evals.push({
        id: e.id, model, frac, fold, cohort,
        auc: num(m.auc) ?? num(e.manifest.metrics?.auc) ?? num(e.manifest.metrics?.test_auc),
        accuracy: num(m.accuracy ?? m.acc),
        balancedAccuracy: num(m.balanced_accuracy ?? m.balanced_acc),
        nClasses: num(m.n_classes),
        predictionsPath: existsSync(join(e.dir, 'predictions.csv')) ? join(e.dir, 'predictions.csv') : undefined,
        embeddingsPath: existsSync(join(e.dir, 'embeddings.csv')) ? join(e.dir, 'embeddings.csv') : undefined,
      });
    } else if (e.kind === 'heatmap') {
      const d = join(e.dir, 'heatmaps');
      const pngs = existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.png')).sort() : [];
      for (const f of pngs) r.heatmaps.push({ id: e.id, model, frac, fold, slide: f.slice(0, -4), png: join(d, f) });
    } else if (e.kind === 'train') {
      const p = join(e.dir, 'epochs.csv');
      const epochs = existsSync(p) ? readNumericCsv(p) : [];
      r.trains.push({ id: e.id, model, frac, fold, epochs });
    } else if (e.kind === 'ensemble') {
      const mp = join(e.dir, 'metrics.json');
      const m = existsSync(mp) ? readJson(mp) : {};
      const ci = m.auc_ci ?? m.ci ?? (m.delong ? m.delong.ci : undefined);
      r.ensembles.push({
        id: e.id, model, frac, cohort,
        n: num(m.n),
        auc: num(m.auc) ?? num(e.manifest.metrics?.auc),
        ci: Array.isArray(ci) && ci.length === 2 ? [Number(ci[0]), Number(ci[1])] : undefined,
        ciMethod: typeof m.ci_method === 'string' ? m.ci_method : undefined,
        accuracy: num(m.accuracy),
        balancedAccuracy: num(m.balanced_accuracy),
      });
    } else if (e.kind === 'compare') {
      const p = join(e.dir, 'compare.json');
      const c = existsSync(p) ? readJson(p) : {};
      const idModels = /^compare\/(.+)-vs-(.+?)(\/|$)/.exec(e.id);
      const foldDelongP: Record<number, number> = {};
      for (const f of Array.isArray(c.folds) ? c.folds : []) {
        const pv = num(f?.delong_p ?? f?.delong?.p ?? f?.delong?.p_value ?? f?.p);
        if (pv !== undefined && num(f.fold) !== undefined) foldDelongP[num(f.fold)!] = pv;
      }
      const ed = c.ensemble_delong?.delong ?? undefined;
      const ensemble = ed ? { diff: num(ed.diff), p: num(ed.p), ci: Array.isArray(ed.ci_diff) ? ([Number(ed.ci_diff[0]), Number(ed.ci_diff[1])] as [number, number]) : undefined } : undefined;
      const rec: CompareRecord = { id: e.id, a: String(c.a ?? L.model_a ?? L.a ?? idModels?.[1]), b: String(c.b ?? L.model_b ?? L.b ?? idModels?.[2]), frac, cohort: String(L.cohort ?? c.cohort ?? cohort), foldDelongP, ensemble };
      pendingCompares.push({ rec, sweep });
    }
  }
  // A sweep coordinate may belong to either model of a comparison (models.clam_sb.B) or both
  // (train.lr): pair with whichever swept variant was evaluated.
  const evaluated = new Set(r.evals.map((e) => e.model));
  for (const { rec, sweep } of pendingCompares) {
    if (sweep) {
      if (evaluated.has(`${rec.a} ${sweep}`)) rec.a = `${rec.a} ${sweep}`;
      if (evaluated.has(`${rec.b} ${sweep}`)) rec.b = `${rec.b} ${sweep}`;
    }
    r.compares.push(rec);
  }
  return r;
}

function readNumericCsv(p: string): Record<string, number>[] {
  const t = parseCsv(readFileSync(p, 'utf8'), p);
  return t.rows.map((row) => Object.fromEntries(t.header.map((h, j) => [h, Number(row[j])])));
}

export function loadPredictions(p: string): Predictions {
  return readPredictions(p);
}

export function loadEmbeddings(p: string): { slide: string[]; label: string[]; x: number[][] } {
  const t = parseCsv(readFileSync(p, 'utf8'), p);
  const li = t.header.indexOf('label');
  const si = t.header.indexOf('slide_id');
  const cols = t.header.map((h, j) => (/^e_\d+$/.test(h) ? j : -1)).filter((j) => j >= 0);
  return { slide: t.rows.map((r) => r[si]), label: t.rows.map((r) => r[li]), x: t.rows.map((r) => cols.map((j) => Number(r[j]))) };
}

/** Stage entries of a run: the manifests its stage-end events point to (executed or cached). */
export function entriesFromEvents(events: RunEvent[]): StageEntry[] {
  const out = new Map<string, StageEntry>();
  for (const e of events) {
    if (e.type !== 'stage-end' || !e.manifestPath || (e.status !== 'executed' && e.status !== 'cached')) continue;
    if (!existsSync(e.manifestPath)) continue;
    out.set(e.id, { id: e.id, kind: e.kind, dir: dirname(e.manifestPath), manifest: readJson(e.manifestPath) });
  }
  return [...out.values()];
}
