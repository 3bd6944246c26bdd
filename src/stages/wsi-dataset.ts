// Stage `wsi-dataset` (identity `dataset` or `dataset/cohort=<name>`): assembles the dataset
// layout of CONTRACTS.md from the per-slide extract stages (inputs `extract:<slide_id>`).
// Slides whose segment / patch / extract step failed are listed in excluded.csv with the reason.
import { copyFileSync, linkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import { readStatus } from './wsi-steps.ts';
import { mapLabel } from '../datasets/labels.ts';
import { writeDatasetDir, type DatasetRow } from '../splits/dataset.ts';

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
    const rows: DatasetRow[] = [];
    const excluded: { slide_id: string; reason: string }[] = [];
    const problems: string[] = [];
    let instances = 0;
    for (const s of p.slides) {
      const lab = mapLabel(s.label, classes, p.label_map ?? undefined);
      if (!lab.ok) {
        if (lab.dropped) excluded.push({ slide_id: s.slide_id, reason: `label '${s.label}' mapped to null` });
        else problems.push(`slide '${s.slide_id}': ${lab.message}`);
        continue;
      }
      const input = ctx.inputs[`extract:${s.slide_id}`];
      if (!input) throw new Error(`${ctx.id}: no input extract:${s.slide_id}`);
      const st = readStatus(input.dir);
      if (!st.ok) {
        excluded.push({ slide_id: s.slide_id, reason: `${st.step}: ${st.reason ?? 'failed'}` });
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
      rows.push({ case_id: s.case_id, slide_id: s.slide_id, label: lab.cls, label_index: lab.index, n, path: `bags/${s.slide_id}.h5` });
    }
    if (problems.length) throw new Error(`${ctx.id}: ${problems.join('; ')}`);
    if (rows.length === 0) throw new Error(`${ctx.id}: every slide was excluded (${excluded.map((e) => `${e.slide_id}: ${e.reason}`).join('; ')})`);
    const info = writeDatasetDir(ctx.outDir, { classes, dim: p.dim, source: 'wsi', rows, excluded });
    const nCases = info.n_cases;
    for (const e of excluded) ctx.log(`excluded ${e.slide_id}: ${e.reason}`);
    ctx.log(`wsi: ${rows.length} slides of ${nCases} cases, ${instances} patches, ${excluded.length} excluded`);
    return { metrics: { n_slides: rows.length, n_cases: nCases, n_excluded: excluded.length, dim: p.dim }, summary: { source: 'wsi', slides_per_class: info.slides_per_class } };
  },
};
export default stage;
