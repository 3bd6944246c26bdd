// Stage `wsi-dataset` (identity `dataset` or `dataset/cohort=<name>`): assembles the dataset
// layout of CONTRACTS.md from the per-slide extract stages (inputs `extract:<slide_id>`).
// Slides whose segment / patch / extract step failed are listed in excluded.csv with the reason.
import { copyFileSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import { readStatus } from './wsi-steps.ts';
import { mapLabel } from '../datasets/labels.ts';
import { toCsv } from '../io/csv.ts';

export interface WsiDatasetParams {
  /** Task classes in index order (null: the sorted distinct labels). */
  classes: string[] | null;
  label_map: Record<string, string | null> | null;
  slides: { case_id: string; slide_id: string; label: string }[];
  dim: number;
}

const stage: StageKind<WsiDatasetParams> = {
  kind: 'wsi-dataset',
  async run(p, ctx) {
    const classes = p.classes ?? [...new Set(p.slides.map((s) => s.label))].sort();
    const bags = join(ctx.outDir, 'bags');
    mkdirSync(bags, { recursive: true });
    const rows: (string | number)[][] = [];
    const excluded: (string | number)[][] = [];
    const problems: string[] = [];
    const counts = classes.map(() => 0);
    let instances = 0;
    for (const s of p.slides) {
      const lab = mapLabel(s.label, classes, p.label_map ?? undefined);
      if (!lab.ok) {
        if (lab.dropped) excluded.push([s.slide_id, `label '${s.label}' mapped to null`]);
        else problems.push(`slide '${s.slide_id}': ${lab.message}`);
        continue;
      }
      const input = ctx.inputs[`extract:${s.slide_id}`];
      if (!input) throw new Error(`${ctx.id}: no input extract:${s.slide_id}`);
      const st = readStatus(input.dir);
      if (!st.ok) {
        excluded.push([s.slide_id, `${st.step}: ${st.reason ?? 'failed'}`]);
        continue;
      }
      const src = join(input.dir, `${s.slide_id}.h5`);
      const dst = join(bags, `${s.slide_id}.h5`);
      try {
        linkSync(src, dst);
      } catch {
        copyFileSync(src, dst);
      }
      const n = Number(st.n);
      instances += n;
      counts[lab.index]++;
      rows.push([s.case_id, s.slide_id, lab.cls, lab.index, n, `bags/${s.slide_id}.h5`]);
    }
    if (problems.length) throw new Error(`${ctx.id}: ${problems.join('; ')}`);
    if (rows.length === 0) throw new Error(`${ctx.id}: every slide was excluded (${excluded.map((e) => `${e[0]}: ${e[1]}`).join('; ')})`);
    writeFileSync(join(ctx.outDir, 'slides.csv'), toCsv(['case_id', 'slide_id', 'label', 'label_index', 'n', 'path'], rows));
    writeFileSync(join(ctx.outDir, 'excluded.csv'), toCsv(['slide_id', 'reason'], excluded));
    const nCases = new Set(rows.map((r) => r[0])).size;
    const info = {
      classes,
      dim: p.dim,
      n_slides: rows.length,
      n_cases: nCases,
      source: 'wsi',
      slides_per_class: Object.fromEntries(classes.map((c, i) => [c, counts[i]])),
      n_instances: instances,
      n_excluded: excluded.length,
    };
    writeFileSync(join(ctx.outDir, 'dataset.json'), JSON.stringify(info, null, 2) + '\n');
    for (const e of excluded) ctx.log(`excluded ${e[0]}: ${e[1]}`);
    ctx.log(`wsi: ${rows.length} slides of ${nCases} cases, ${instances} patches, ${excluded.length} excluded`);
    return { metrics: { n_slides: rows.length, n_cases: nCases, n_excluded: excluded.length, dim: p.dim }, summary: { source: 'wsi', slides_per_class: info.slides_per_class } };
  },
};
export default stage;
