// Everything the report reads, in one place: stage entries (manifest + output dir) from a run's
// events or from the report stage's declared inputs, normalized into plain records. Field names
// of the statistics stages' files are read only here, tolerantly.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Manifest } from '../types/stage.ts';
import type { RunEvent } from '../records/events.ts';
import { readPredictions } from '../stats/predictions.ts';
import type { Predictions } from '../stats/metrics.ts';
import { parseCsv } from '../io/csv.ts';

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
  /** 95 % CI of the AUC as the evaluate stage computed it (DeLong for binary). */
  aucCi?: [number, number];
  ciMethod?: string;
  n?: number;
  /** Predicted-class counts (column sums of the confusion matrix). */
  predicted?: number[];
  /** Multi-class: exact one-vs-rest ROC vertices per class (metrics.json roc_points). */
  rocPoints?: (number[][] | null)[];
  predictionsPath?: string;
  embeddingsPath?: string;
}
/** An aggregate stage's summary.json + roc_mean.csv: the numbers over folds, as computed there. */
export interface AggregateRecord {
  id: string;
  model: string;
  frac: number;
  cohort: string;
  auc: { mean?: number; std?: number; n: number };
  accuracy: { mean?: number; std?: number; n: number };
  balancedAccuracy: { mean?: number; std?: number; n: number };
  folds: { fold: number; n?: number; auc?: number; accuracy?: number; balanced_accuracy?: number }[];
  foldsWithoutAuc: number[];
  roc: { fpr: number; tpr: number; lo: number; hi: number }[];
}
/** A dataset stage's slides.csv / excluded.csv / dataset.json. */
export interface DatasetRecord {
  id: string;
  cohort: string;
  classes: string[];
  slides: { case_id: string; slide_id: string; label: string; n: number }[];
  excluded: { slide_id: string; reason: string }[];
}
/** Segmentation mask / stitched patch preview of one slide (segment / patch stage outputs). */
export interface PreviewRecord {
  id: string;
  kind: 'segment' | 'patch';
  slide: string;
  cohort: string;
  png: string;
}
export interface TrainRecord {
  id: string;
  model: string;
  frac: number;
  fold: number;
  epochs: Record<string, number>[];
  /** Validation metrics of the kept checkpoint (train manifest). */
  valAuc?: number;
  valError?: number;
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
  /** compare.json across_folds, as the compare stage computed it. */
  across?: { n: number; meanDiff?: number; sdDiff?: number; ci?: [number, number]; tP?: number; wilcoxonP?: number; wilcoxonExact?: boolean; aBetter?: number };
  perFold: { fold: number; aucA?: number; aucB?: number; diff?: number; delongP?: number }[];
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
  /** Caption facts from the heatmap stage (true label, predicted class, probability, score kind). */
  caption?: Record<string, unknown>;
}
export interface ReportInputs {
  heatmaps: HeatmapRecord[];
  aggregates: AggregateRecord[];
  datasets: DatasetRecord[];
  previews: PreviewRecord[];
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
  const r: ReportInputs = { heatmaps: [], aggregates: [], datasets: [], previews: [], evals: [], trains: [], ensembles: [], compares: [], entries };
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
        aucCi: Array.isArray(m.auc_ci) && m.auc_ci.length === 2 ? [Number(m.auc_ci[0]), Number(m.auc_ci[1])] : undefined,
        ciMethod: typeof m.ci_method === 'string' ? m.ci_method : undefined,
        n: num(m.n),
        rocPoints: Number(m.n_classes) > 2 && Array.isArray(m.roc_points) ? m.roc_points : undefined,
        predicted: Array.isArray(m.confusion) ? (m.confusion as number[][])[0].map((_, c) => (m.confusion as number[][]).reduce((s, row) => s + Number(row[c] ?? 0), 0)) : undefined,
        predictionsPath: existsSync(join(e.dir, 'predictions.csv')) ? join(e.dir, 'predictions.csv') : undefined,
        embeddingsPath: existsSync(join(e.dir, 'embeddings.csv')) ? join(e.dir, 'embeddings.csv') : undefined,
      });
    } else if (e.kind === 'heatmap') {
      const d = join(e.dir, 'heatmaps');
      const pngs = existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.png')).sort() : [];
      for (const f of pngs.filter((x) => !/\.(original|figure)\.png$/.test(x))) {
        const slide = f.slice(0, -4);
        const cp = join(d, `${slide}.json`);
        r.heatmaps.push({ id: e.id, model, frac, fold, slide, png: join(d, f), caption: existsSync(cp) ? readJson(cp) : undefined });
      }
    } else if (e.kind === 'aggregate') {
      const sp = join(e.dir, 'summary.json');
      if (!existsSync(sp)) continue;
      const s = readJson(sp);
      const ms = (x: any) => ({ mean: num(x?.mean), std: num(x?.std), n: num(x?.n) ?? 0 });
      const rp = join(e.dir, 'roc_mean.csv');
      const roc = existsSync(rp) ? readNumericCsv(rp).map((q) => ({ fpr: q.fpr, tpr: q.tpr_mean, lo: q.tpr_lower, hi: q.tpr_upper })) : [];
      r.aggregates.push({
        id: e.id, model, frac, cohort,
        auc: ms(s.auc), accuracy: ms(s.accuracy), balancedAccuracy: ms(s.balanced_accuracy),
        folds: (Array.isArray(s.folds) ? s.folds : []).map((f: any) => ({ fold: num(f.fold) ?? 0, n: num(f.n), auc: num(f.auc), accuracy: num(f.accuracy), balanced_accuracy: num(f.balanced_accuracy) })),
        foldsWithoutAuc: Array.isArray(s.folds_without_auc) ? s.folds_without_auc.map(Number) : [],
        roc,
      });
    } else if (e.kind === 'dataset' || e.kind === 'wsi-dataset') {
      const sp = join(e.dir, 'slides.csv');
      if (!existsSync(sp)) continue;
      const t = parseCsv(readFileSync(sp, 'utf8'), sp);
      const col = (n: string) => t.header.indexOf(n);
      const slides = t.rows.map((row) => ({ case_id: row[col('case_id')], slide_id: row[col('slide_id')], label: row[col('label')], n: Number(row[col('n')]) }));
      const xp = join(e.dir, 'excluded.csv');
      const x = existsSync(xp) ? parseCsv(readFileSync(xp, 'utf8'), xp) : { header: ['slide_id', 'reason'], rows: [] as string[][] };
      const info = existsSync(join(e.dir, 'dataset.json')) ? readJson(join(e.dir, 'dataset.json')) : {};
      r.datasets.push({
        id: e.id, cohort: L.cohort === undefined ? 'training' : String(L.cohort),
        classes: Array.isArray(info.classes) ? info.classes.map(String) : [...new Set(slides.map((s) => s.label))].sort(),
        slides,
        excluded: x.rows.map((row) => ({ slide_id: row[x.header.indexOf('slide_id')], reason: row[x.header.indexOf('reason')] })),
      });
    } else if (e.kind === 'segment' || e.kind === 'patch') {
      const png = join(e.dir, e.kind === 'segment' ? 'mask.png' : 'stitch.png');
      const slide = String(L.slide ?? e.id.split('/').pop());
      if (existsSync(png)) r.previews.push({ id: e.id, kind: e.kind, slide, cohort: L.cohort === undefined ? 'training' : String(L.cohort), png });
    } else if (e.kind === 'train') {
      const p = join(e.dir, 'epochs.csv');
      const epochs = existsSync(p) ? readNumericCsv(p) : [];
      r.trains.push({ id: e.id, model, frac, fold, epochs, valAuc: num(e.manifest.metrics?.val_auc), valError: num(e.manifest.metrics?.val_error) });
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
      const af = c.across_folds;
      const across: CompareRecord['across'] = af
        ? {
            n: num(af.n_folds_with_auc) ?? num(af.diff?.n) ?? 0, meanDiff: num(af.diff?.mean), sdDiff: num(af.diff?.std),
            ci: Array.isArray(af.paired_t?.ci) ? [Number(af.paired_t.ci[0]), Number(af.paired_t.ci[1])] : undefined,
            tP: num(af.paired_t?.p), wilcoxonP: num(af.wilcoxon?.p), wilcoxonExact: af.wilcoxon?.exact, aBetter: num(af.a_better_in),
          }
        : undefined;
      const perFold = (Array.isArray(c.folds) ? c.folds : []).map((f: any) => ({ fold: num(f.fold) ?? 0, aucA: num(f.auc_a), aucB: num(f.auc_b), diff: num(f.diff), delongP: num(f.delong_p) }));
      const rec: CompareRecord = { id: e.id, a: String(c.a ?? L.model_a ?? L.a ?? idModels?.[1]), b: String(c.b ?? L.model_b ?? L.b ?? idModels?.[2]), frac, cohort: String(L.cohort ?? c.cohort ?? cohort), foldDelongP, ensemble, across, perFold };
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
