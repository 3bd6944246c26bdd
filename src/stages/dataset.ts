// Stage `dataset` (identity `dataset` or `dataset/cohort=<name>`): turns one dataset source
// into the layout every downstream stage reads (CONTRACTS.md): slides.csv, bags/<slide_id>.h5,
// dataset.json, excluded.csv. clam features are not copied; slides.csv points at them.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Json, StageKind } from '../types/stage.ts';
import { writeBag } from '../io/h5.ts';
import { writeDatasetDir, type DatasetRow } from '../splits/dataset.ts';
import { syntheticSlides } from '../datasets/synthetic.ts';
import { readClamDataset } from '../datasets/clam.ts';
import { readMilCsv } from '../datasets/mil-csv.ts';
import { DatasetError, type Excluded } from '../datasets/types.ts';
import type { ResolvedSynthetic } from '../spec/resolved.ts';
import type { SyntheticDataset } from '../spec/types.gen.ts';

export interface DatasetParams {
  source: 'synthetic' | 'clam' | 'mil_csv';
  classes: string[];
  label_map?: Record<string, string | null> | null;
  /** source synthetic: the section (missing fields take the schema defaults). */
  synthetic?: SyntheticDataset;
  /** source clam: absolute features directory (also the `features_dir` external). */
  features_dir?: string;
  /** source clam / mil_csv: absolute CSV path (the `csv` external wins). */
  csv?: string;
}

/** Schema defaults of dataset.synthetic (n_classes: the number of task classes). */
export function syntheticDefaults(s: SyntheticDataset | undefined, nClasses: number): ResolvedSynthetic {
  return {
    seed: s?.seed ?? 0,
    cases: s?.cases ?? 120,
    slides_per_case: s?.slides_per_case ?? [1, 3],
    n_classes: s?.n_classes ?? nClasses,
    dim: s?.dim ?? 64,
    bag_size: s?.bag_size ?? [50, 400],
    tumour_fraction: s?.tumour_fraction ?? [0.02, 0.1],
    signal: s?.signal ?? 2.5,
    ...(s?.bag_size_mean ? { bag_size_mean: s.bag_size_mean } : {}),
  };
}


const stage: StageKind<DatasetParams> = {
  kind: 'dataset',
  async run(p, ctx) {
    const classes = p.classes;
    const labelMap = p.label_map ?? undefined;
    if (!Array.isArray(classes) || classes.length < 2) throw new Error(`${ctx.id}: params.classes must list at least 2 classes`);
    const rows: DatasetRow[] = [];
    let excluded: Excluded[] = [];
    let dim: number;
    let extra: Record<string, Json> = {};
    const bagsDir = join(ctx.outDir, 'bags');

    if (p.source === 'synthetic') {
      const cfg = syntheticDefaults(p.synthetic, classes.length);
      if (cfg.n_classes !== classes.length) throw new Error(`${ctx.id}: synthetic n_classes ${cfg.n_classes} ≠ ${classes.length} task classes`);
      const t0 = Date.now();
      const data = syntheticSlides(cfg);
      mkdirSync(bagsDir, { recursive: true });
      let i = 0, tumour = 0, bytes = 0;
      // One slide in memory at a time (paper-scale datasets do not fit).
      for (const s of data.slides) {
        await writeBag(join(bagsDir, `${s.slide_id}.h5`), s.features, s.n, s.dim, {
          coords: s.coords,
          coordsAttrs: { patch_size: 256, patch_level: 0 },
          extra: { instance_labels: { data: s.instance_labels, shape: [s.n] } },
        });
        rows.push({ case_id: s.case_id, slide_id: s.slide_id, label: classes[s.label_index], label_index: s.label_index, n: s.n, path: `bags/${s.slide_id}.h5` });
        for (const v of s.instance_labels) if (v > 0) tumour++;
        bytes += s.n * s.dim * 4;
        ctx.progress(++i, data.count, `slides written (${(bytes / 2 ** 30).toFixed(2)} GB)`);
      }
      dim = cfg.dim;
      extra = { instance_labels: true, synthetic: cfg as unknown as Json, tumour_instances: tumour };
      ctx.log(`generated in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
    } else if (p.source === 'clam') {
      const csv = ctx.externals.csv ?? p.csv;
      const featuresDir = ctx.externals.features_dir ?? p.features_dir;
      if (!csv || !featuresDir) throw new Error(`${ctx.id}: clam dataset needs the csv and features_dir externals`);
      const listing = await readClamDataset({ csv, features_dir: featuresDir, classes, label_map: labelMap }, (d, t) => ctx.progress(d, t, 'slides checked'));
      for (const s of listing.slides) rows.push({ case_id: s.case_id, slide_id: s.slide_id, label: s.label, label_index: s.label_index, n: s.n, path: s.externalPath! });
      excluded = listing.excluded;
      dim = listing.dim;
      extra = { csv, features_dir: featuresDir };
    } else if (p.source === 'mil_csv') {
      const csv = ctx.externals.csv ?? p.csv;
      if (!csv) throw new Error(`${ctx.id}: mil_csv dataset needs the csv external`);
      const r = readMilCsv({ csv, classes, label_map: labelMap });
      mkdirSync(bagsDir, { recursive: true });
      let i = 0;
      for (const b of r.bags) {
        await writeBag(join(bagsDir, `${b.slide_id}.h5`), b.features, b.n, b.dim);
        rows.push({ case_id: b.case_id, slide_id: b.slide_id, label: b.label, label_index: b.label_index, n: b.n, path: `bags/${b.slide_id}.h5` });
        ctx.progress(++i, r.bags.length, 'bags written');
      }
      excluded = r.excluded;
      dim = r.dim;
      extra = { csv };
    } else {
      throw new Error(`${ctx.id}: dataset source '${(p as { source: string }).source}' is not built by the dataset stage (wsi datasets come from the extract stages)`);
    }

    const counts = classes.map((_, c) => rows.filter((r) => r.label_index === c).length);
    const missing = classes.filter((_, c) => counts[c] === 0);
    const warnings: string[] = [];
    if (missing.length) warnings.push(`no slides of class ${missing.join(', ')}: ${missing.length === classes.length - 1 ? 'every slide has one class, so no AUC can be computed' : 'those classes cannot be learned or scored'}`);
    const empty = rows.filter((r) => r.n === 0);
    if (empty.length) warnings.push(`${empty.length} slide(s) with an empty bag (no instances): ${empty.slice(0, 5).map((r) => r.slide_id).join(', ')}${empty.length > 5 ? ', …' : ''}`);
    if (excluded.length) warnings.push(`${excluded.length} slide(s) dropped (listed in excluded.csv): ${excluded.slice(0, 3).map((e) => `${e.slide_id} (${e.reason})`).join(', ')}${excluded.length > 3 ? ', …' : ''}`);
    for (const w of warnings) ctx.log(`warning: ${w}`);
    const info = writeDatasetDir(ctx.outDir, { classes, dim, source: p.source, rows, excluded, extra });
    const nCases = info.n_cases;
    ctx.log(`${p.source}: ${rows.length} slides of ${nCases} cases (${classes.map((c, i) => `${c} ${counts[i]}`).join(', ')}), dim ${dim}${excluded.length ? `, ${excluded.length} excluded` : ''}`);
    return {
      metrics: { n_slides: rows.length, n_cases: nCases, n_excluded: excluded.length, dim },
      summary: { source: p.source, slides_per_class: info.slides_per_class },
      ...(warnings.length ? { warnings } : {}),
    };
  },
};

export default stage;
export { DatasetError };
