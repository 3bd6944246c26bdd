// Expands a loaded spec into the stage list of src/stages/CONTRACTS.md.
//
// Sweeps: every variant (one per sweep combination) is expanded on its own into "raw" stages
// whose ids carry no sweep coordinates. Then, walking the raw stages in dependency order, a
// coordinate is written into a stage's identity only if changing that coordinate alone changes
// the stage (its kind, params, externals or resolved upstream ids). So a sweep over
// models.clam_sb.B multiplies clam_sb's train/evaluate/... stages and the comparisons that read
// them, but not mil's, and a sweep over splits.seed multiplies splits and everything downstream.
import { canonicalJson } from '../spec/canonical.ts';
import { datasetSource, type LoadedSpec, type ResolvedDataset, type ResolvedExperiment, type ResolvedModel } from '../spec/resolved.ts';
import { CLUSTERING_FIELDS, modelTraits } from '../models/config.ts';
import { planHeatmaps } from './heatmaps.ts';
import type { Json, StageDecl } from '../types/stage.ts';
import { reportedKinds } from '../stages/registry.ts';
import type { Coords } from './types.ts';
import { listSplitFiles } from '../splits/files.ts';
import { findFoldCheckpoints } from '../models/fold-checkpoints.ts';
import { importDirFor } from '../spec/split-import.ts';
import { referencedFeatureFiles } from '../datasets/feature-file.ts';

interface Raw {
  /** Identity without sweep coordinates (unique within one variant). */
  base: string;
  /** Sweep coordinates are inserted between head and tail. */
  head: string;
  tail: string;
  kind: string;
  params: Json;
  /** input name → base id of the upstream stage (same variant). */
  inputs: Record<string, string>;
  externals?: Record<string, string>;
  externalFiles?: Record<string, string[]>;
  labels: Record<string, string | number>;
}

type ExpandWsi = typeof import('./wsi.ts').expandWsiDataset;

// Lazily: only WSI specs pay for the slide-reading modules.
const loadWsiExpander = async (): Promise<ExpandWsi> => (await import('./wsi.ts')).expandWsiDataset;

const fracLabel = (f: number) => `frac=${f}`;

/** A model's params minus the fields its family does not read (they must not change its key). */
function modelParams(m: ResolvedModel): Json {
  const out: Record<string, unknown> = { ...m };
  if (!modelTraits(m.type).clustering) for (const k of CLUSTERING_FIELDS) delete out[k];
  return out as Json;
}

/** Dataset stage(s) for one source. Returns the raw stages and the id of the dataset stage. */
async function datasetStages(
  ds: ResolvedDataset, spec: ResolvedExperiment, specDir: string, cohort: string | null, wsi: () => Promise<ExpandWsi>,
): Promise<{ stages: Raw[]; id: string }> {
  const id = cohort ? `dataset/cohort=${cohort}` : 'dataset';
  const task = { classes: spec.task.classes, label_map: (spec.task.label_map ?? null) as Json };
  const labels: Record<string, string> = cohort ? { cohort } : {};
  const source = datasetSource(ds);
  if (source === 'wsi') {
    const expand = await wsi();
    const r = await expand(ds.wsi!, specDir, cohort ? `cohort=${cohort}` : '', task);
    const stages: Raw[] = r.stages.map((d) => ({
      base: d.id, head: d.id, tail: '', kind: d.kind, params: d.params, inputs: { ...d.inputs },
      externals: d.externals, labels: { ...(d.labels ?? {}) },
    }));
    return { stages, id: r.datasetStageId };
  }
  let params: Record<string, unknown>;
  let externals: Record<string, string>;
  if (source === 'synthetic') {
    params = { source, synthetic: ds.synthetic!, ...task };
    externals = {};
  } else if (source === 'clam') {
    const c = ds.clam!;
    // slides.csv holds absolute paths into the features directory: its location is an output.
    params = { source, features_dir: c.features_dir, ...task };
    externals = { csv: c.csv, features_dir: c.features_dir };
    // The dataset is the feature files its CSV references, not the whole folder.
    const files = referencedFeatureFiles(c.csv, c.features_dir);
    if (files) return { stages: [{ base: id, head: id, tail: '', kind: 'dataset', params: params as Json, inputs: {}, externals, externalFiles: { features_dir: files }, labels }], id };
  } else {
    const c = ds.mil_csv!;
    params = { source, ...task };
    externals = { csv: c.csv };
  }
  return { stages: [{ base: id, head: id, tail: '', kind: 'dataset', params: params as Json, inputs: {}, externals, labels }], id };
}

/** Stages of one variant, ids without sweep coordinates. */
async function expandVariant(spec: ResolvedExperiment, specDir: string, wsi: () => Promise<ExpandWsi>): Promise<Raw[]> {
  const out: Raw[] = [];
  const classes = spec.task.classes;
  const nClasses = classes.length;
  const sp = spec.splits;
  const folds = sp.folds;
  const fracs = sp.training_fractions;
  const ev = spec.evaluate;
  const cohorts = ev.cohorts;
  const models = spec.models;

  const main = await datasetStages(spec.dataset, spec, specDir, null, wsi);
  out.push(...main.stages);
  // Heatmaps (WSI only): each reads its slides' files and patch coordinates (patch size attrs).
  const heatmaps = planHeatmaps(spec, main.stages, spec.task.classes as string[]);
  const cohortDs = new Map<string, string>();
  const overlapIds = new Map<string, string>();
  for (const c of cohorts) {
    const r = await datasetStages(c.dataset, spec, specDir, c.name, wsi);
    out.push(...r.stages);
    cohortDs.set(c.name, r.id);
    // The leakage guard: the cohort's evaluations wait for it, so an overlap stops them.
    const id = `overlap/cohort=${c.name}`;
    out.push({ base: id, head: 'overlap', tail: `cohort=${c.name}`, kind: 'overlap', params: { cohort: c.name, allow_overlap: c.allow_overlap ?? false }, inputs: { train: main.id, cohort: r.id }, labels: { cohort: c.name } });
    overlapIds.set(c.name, id);
  }
  const cohortNames = ['test', ...cohorts.map((c) => c.name)];
  const standardize = spec.dataset.mil_csv ? spec.dataset.mil_csv.standardize : false;

  for (const frac of fracs) {
    const splitsId = `splits/${fracLabel(frac)}`;
    let splitParams: Record<string, unknown> = {
      mode: sp.mode, folds, val_frac: sp.val_frac, test_frac: sp.test_frac, seed: sp.seed, frac,
    };
    const externals: Record<string, string> = {};
    if (sp.mode === 'import') {
      // Keyed by the split files' contents, one external per fold used: the same splits under
      // another path (or next to other files) are the same stage. Seed and fractions of
      // generated splits play no part.
      const dir = sp.import_dir === undefined ? undefined : importDirFor(sp.import_dir as string | Record<string, string>, frac);
      if (!dir) throw new Error(`splits.import_dir has no directory for training fraction ${frac}`);
      const files = listSplitFiles(dir);
      if (files.length < folds) throw new Error(`${dir}: holds ${files.length} split file(s), the experiment asks for ${folds} folds`);
      files.slice(0, folds).forEach((f, k) => (externals[`split_${k}`] = f));
      splitParams = { mode: sp.mode, folds, frac };
    }
    out.push({ base: splitsId, head: 'splits', tail: fracLabel(frac), kind: 'splits', params: splitParams as Json, inputs: { dataset: main.id }, externals, labels: { frac } });
  }

  const evalIds = new Map<string, string[]>(); // `${model}|${frac}|${cohort}` → evaluate ids by fold
  const ensembleIds = new Map<string, string>();
  for (const m of models) {
    for (const frac of fracs) {
      const splitsId = `splits/${fracLabel(frac)}`;
      for (let fold = 0; fold < folds; fold++) {
        const tail = `${fracLabel(frac)}/fold=${fold}`;
        const trainId = `train/${m.name}/${tail}`;
        const common = { model: m.name, model_type: m.type, frac, fold };
        if (m.checkpoints) {
          // A pre-trained fold model stands where its train stage would: keyed by the file's bytes.
          const ck = findFoldCheckpoints(m.checkpoints).find((c) => c.fold === fold);
          if (!ck) throw new Error(`models.${m.name}.checkpoints: ${m.checkpoints} has no checkpoint for fold ${fold}`);
          const { checkpoints: _path, ...model } = modelParams(m) as Record<string, Json>;
          out.push({
            base: trainId, head: `train/${m.name}`, tail, kind: 'checkpoint',
            params: { model, n_classes: nClasses, fold }, inputs: {}, externals: { checkpoint: ck.path }, labels: { ...common, pretrained: 1 },
          });
        } else {
          out.push({
            base: trainId, head: `train/${m.name}`, tail, kind: 'train',
            params: { model: modelParams(m), n_classes: nClasses, subtyping: spec.task.subtyping, train: spec.train as Json, fold, frac, standardize },
            inputs: { dataset: main.id, splits: splitsId }, labels: common,
          });
        }
        for (const cohort of cohortNames) {
          const evalTail = `${tail}/cohort=${cohort}`;
          const id = `evaluate/${m.name}/${evalTail}`;
          const inputs: Record<string, string> = cohort === 'test'
            ? { model: trainId, dataset: main.id, splits: splitsId }
            : { model: trainId, dataset: cohortDs.get(cohort)!, overlap: overlapIds.get(cohort)! };
          out.push({ base: id, head: `evaluate/${m.name}`, tail: evalTail, kind: 'evaluate', params: { fold, cohort, n_classes: nClasses }, inputs, labels: { ...common, cohort } });
          const k = `${m.name}|${frac}|${cohort}`;
          if (!evalIds.has(k)) evalIds.set(k, []);
          evalIds.get(k)!.push(id);
        }
        if (heatmaps?.wants(m.name, frac, fold)) {
          for (const h of heatmaps.stages(fold)) {
            out.push({
              base: `heatmap/${m.name}/${tail}${h.suffix}`, head: `heatmap/${m.name}`, tail: `${tail}${h.suffix}`, kind: 'heatmap', params: h.params,
              inputs: { model: trainId, dataset: main.id, splits: splitsId, ...h.inputs }, externals: h.externals, labels: h.suffix ? { ...common, slide: h.suffix.slice(7) } : common,
            });
          }
        }
      }
      for (const cohort of cohortNames) {
        const tail = `${fracLabel(frac)}/cohort=${cohort}`;
        const evals = evalIds.get(`${m.name}|${frac}|${cohort}`)!;
        const inputs = Object.fromEntries(evals.map((id, k) => [`fold${k}`, id]));
        const labels = { model: m.name, model_type: m.type, frac, cohort };
        out.push({ base: `aggregate/${m.name}/${tail}`, head: `aggregate/${m.name}`, tail, kind: 'aggregate', params: { cohort, classes }, inputs, labels });
        if (cohort !== 'test' && ev.ensembles) {
          const id = `ensemble/${m.name}/${tail}`;
          const params: Record<string, unknown> = { cohort, classes, ci: ev.ci };
          if (ev.ci === 'bootstrap') params.bootstrap = ev.bootstrap;
          out.push({ base: id, head: `ensemble/${m.name}`, tail, kind: 'ensemble', params: params as Json, inputs, labels });
          ensembleIds.set(`${m.name}|${frac}|${cohort}`, id);
        }
      }
    }
  }

  const byName = new Map(models.map((m) => [m.name, m]));
  for (const [a, b] of ev.compare) {
    for (const n of [a, b]) if (!byName.has(n)) throw new Error(`evaluate.compare names model '${n}', which is not in models (${[...byName.keys()].join(', ')})`);
    for (const frac of fracs) {
      for (const cohort of cohortNames) {
        const tail = `${fracLabel(frac)}/cohort=${cohort}`;
        const inputs: Record<string, string> = {};
        for (const [side, name] of [['a', a], ['b', b]] as const) {
          evalIds.get(`${name}|${frac}|${cohort}`)!.forEach((id, k) => (inputs[`${side}_fold${k}`] = id));
          const ens = ensembleIds.get(`${name}|${frac}|${cohort}`);
          if (ens) inputs[`${side}_ensemble`] = ens;
        }
        const params: Record<string, unknown> = { a, b, cohort, classes, ci: ev.ci };
        if (ev.ci === 'bootstrap') params.bootstrap = ev.bootstrap;
        out.push({ base: `compare/${a}-vs-${b}/${tail}`, head: `compare/${a}-vs-${b}`, tail, kind: 'compare', params: params as Json, inputs, labels: { model_a: a, model_b: b, frac, cohort } });
      }
    }
  }

  return out;
}

const REPORTED = reportedKinds('stage');

function fmtValue(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : canonicalJson(v);
}

/**
 * How each value of a sweep axis is written in identities. Identities are '/'-separated paths,
 * so a swept file path is written as its base name (musk1.csv → musk1) when that is unambiguous
 * on the axis, else as the whole path with separators replaced.
 */
function axisValueLabels(axes: string[], variants: { coords: Coords }[]): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  const clean = (x: string) => x.replace(/[^A-Za-z0-9_.+-]+/g, '_');
  for (const a of axes) {
    const values = new Map<string, unknown>();
    for (const v of variants) values.set(canonicalJson(v.coords[a] ?? null), v.coords[a]);
    const plain = [...values.values()].map(fmtValue);
    const needs = plain.some((x) => /[\/\s=]/.test(x));
    let labels = plain;
    if (needs) {
      const base = [...values.values()].map((v) => (typeof v === 'string' ? clean(v.split(/[\\/]/).pop()!.replace(/\.[^.]*$/, '')) : clean(fmtValue(v))));
      labels = new Set(base).size === base.length && base.every(Boolean) ? base : plain.map((x) => clean(x.replace(/^[./]+/, '')));
    }
    out.set(a, new Map([...values.keys()].map((k, i) => [k, labels[i]])));
  }
  return out;
}

/** Short names for sweep coordinates: the last path segment unless two coordinates share it. */
function coordNames(paths: string[]): Map<string, string> {
  const last = (p: string) => p.split('.').pop()!;
  const count = new Map<string, number>();
  for (const p of paths) count.set(last(p), (count.get(last(p)) ?? 0) + 1);
  return new Map(paths.map((p) => [p, count.get(last(p))! > 1 ? p : last(p)]));
}

/** Orders raw base ids so that every stage follows its inputs. */
function topoOrder(bases: Map<string, Raw>): string[] {
  const order: string[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (id: string, from: string) => {
    const s = state.get(id);
    if (s === 2) return;
    if (s === 1) throw new Error(`stage graph has a cycle through ${id}`);
    const r = bases.get(id);
    if (!r) throw new Error(`stage ${from} reads '${id}', which no stage produces`);
    state.set(id, 1);
    for (const up of Object.values(r.inputs)) visit(up, id);
    state.set(id, 2);
    order.push(id);
  };
  for (const id of bases.keys()) visit(id, id);
  return order;
}

export interface BuildOptions {
  /** Replace the WSI expander (tests). */
  expandWsi?: ExpandWsi;
}

/** Expands a loaded spec (all sweep variants) into the stage list, in dependency order. */
export async function buildDag(loaded: LoadedSpec, opts: BuildOptions = {}): Promise<StageDecl[]> {
  const variants = loaded.variants;
  let wsiP: Promise<ExpandWsi> | null = null;
  const wsi = () => (opts.expandWsi ? Promise.resolve(opts.expandWsi) : (wsiP ??= loadWsiExpander()));

  const perVariant: Map<string, Raw>[] = [];
  for (const v of variants) {
    const raws = await expandVariant(v.spec, loaded.dir, wsi);
    const m = new Map<string, Raw>();
    for (const r of raws) {
      if (m.has(r.base)) throw new Error(`two stages share the identity '${r.base}' (duplicate model or cohort name?)`);
      m.set(r.base, r);
    }
    perVariant.push(m);
  }

  const axes = [...new Set(variants.flatMap((v) => Object.keys(v.coords)))].sort();
  const names = coordNames(axes);
  const valueLabels = axisValueLabels(axes, variants);
  const valueLabel = (a: string, v: unknown) => valueLabels.get(a)!.get(canonicalJson(v ?? null))!;
  const coordKey = (v: number, skip: string | null) => canonicalJson(axes.filter((a) => a !== skip).map((a) => variants[v].coords[a] ?? null));

  // Union of base ids in dependency order (variants may differ in their stage sets).
  const unionBases = new Map<string, Raw>();
  for (const m of perVariant) for (const [id, r] of m) if (!unionBases.has(id)) unionBases.set(id, r);
  const order = topoOrder(unionBases);

  const finalIds: Map<string, string>[] = variants.map(() => new Map());
  const out = new Map<string, StageDecl>();
  for (const base of order) {
    const present = variants.map((_, i) => i).filter((i) => perVariant[i].has(base));
    const resolvedInputs = (i: number) => {
      const r = perVariant[i].get(base)!;
      const inputs: Record<string, string> = {};
      for (const [name, up] of Object.entries(r.inputs)) {
        const f = finalIds[i].get(up);
        if (!f) throw new Error(`stage ${base} reads '${up}', which this sweep variant does not produce`);
        inputs[name] = f;
      }
      return inputs;
    };
    const sig = new Map<number, string>();
    for (const i of present) {
      const r = perVariant[i].get(base)!;
      sig.set(i, canonicalJson({ k: r.kind, p: r.params, e: r.externals ?? {}, i: resolvedInputs(i) }));
    }
    // A coordinate matters if two variants differing only in it give different stages.
    let relevant = axes.filter((a) => {
      const groups = new Map<string, string>();
      for (const i of present) {
        const g = coordKey(i, a);
        const s = groups.get(g);
        if (s === undefined) groups.set(g, sig.get(i)!);
        else if (s !== sig.get(i)) return true;
      }
      return false;
    });
    const idFor = (i: number, rel: string[]) => {
      const r = perVariant[i].get(base)!;
      const segs = rel.map((a) => `${names.get(a)}=${valueLabel(a, variants[i].coords[a])}`);
      return [r.head, ...segs, r.tail].filter(Boolean).join('/');
    };
    // Not a full grid (or an unusual dependency): fall back to every coordinate that varies.
    const consistent = (rel: string[]) => {
      const seen = new Map<string, string>();
      for (const i of present) {
        const id = idFor(i, rel);
        const s = seen.get(id);
        if (s !== undefined && s !== sig.get(i)) return false;
        seen.set(id, sig.get(i)!);
      }
      return true;
    };
    if (!consistent(relevant)) relevant = axes.filter((a) => new Set(present.map((i) => fmtValue(variants[i].coords[a]))).size > 1);
    for (const i of present) {
      const id = idFor(i, relevant);
      finalIds[i].set(base, id);
      if (out.has(id)) continue;
      const r = perVariant[i].get(base)!;
      const labels: Record<string, string | number> = { ...r.labels };
      for (const a of relevant) {
        const v = variants[i].coords[a];
        labels[names.get(a)!] = typeof v === 'number' || typeof v === 'string' ? v : fmtValue(v);
      }
      const decl: StageDecl = { id, kind: r.kind, params: r.params, inputs: resolvedInputs(i), labels };
      if (r.externals && Object.keys(r.externals).length) decl.externals = r.externals;
      if (r.externalFiles) decl.externalFiles = r.externalFiles;
      out.set(id, decl);
    }
  }
  // One report over every variant: it reads each model-level stage, input name = identity.
  const first = variants[0].spec;
  const reportInputs: Record<string, string> = {};
  for (const d of out.values()) if (REPORTED.has(d.kind)) reportInputs[d.id] = d.id;
  out.set('report', {
    id: 'report', kind: 'report', inputs: reportInputs, labels: {},
    params: { name: first.name, description: first.description ?? '', classes: first.task.classes } as Json,
  });
  return [...out.values()];
}
