// Stage `report` (identity `report`): the paper-style report over every train / evaluate /
// aggregate / ensemble / compare stage it is given (input name = identity). Outputs:
// report.html (self-contained), report.md, tables/*.csv, figures/*.svg. Pure: it sees only its
// inputs, so its run summary covers the stages' manifests; `milflow report` adds the run's
// events (executed / cached / failed) when it renders into the run directory.
import type { StageKind } from '../types/stage.ts';
import { buildReport } from '../report/build.ts';

export interface ReportParams {
  name?: string;
  description?: string;
  classes?: string[];
}

const stage: StageKind<ReportParams> = {
  kind: 'report',
  async run(params, ctx) {
    const entries = Object.values(ctx.inputs).map((i) => ({ id: i.id, kind: i.kind, dir: i.dir, manifest: i.manifest }));
    ctx.log(`report over ${entries.length} stages`);
    const r = await buildReport({ entries, outDir: ctx.outDir, title: params.name, description: params.description || undefined, classNames: params.classes });
    return { metrics: { figures: r.figures.length, tables: r.tables.length }, summary: { figures: r.figures, tables: r.tables } };
  },
};
export default stage;
