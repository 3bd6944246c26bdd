// Stage `segment/<slide_id>`: tissue contours + mask picture of one slide (external `slide`).
// A slide that cannot be read is recorded in status.json (ok: false, reason), not thrown.
import type { StageKind } from '../types/stage.ts';
import { segmentStep, type SegmentStepParams, prefixed } from './wsi-steps.ts';

const stage: StageKind<SegmentStepParams> = {
  kind: 'segment',
  async run(p, ctx) {
    const slide = ctx.externals.slide;
    if (!slide) throw new Error(`${ctx.id}: needs the external 'slide'`);
    const s = await segmentStep(slide, p, ctx.outDir);
    if (!s.ok) ctx.log(`excluded: ${s.reason}`);
    return { metrics: { ok: s.ok ? 1 : 0, n_contours: Number(s.n_contours ?? 0), ...prefixed(s.ms) }, summary: { ok: s.ok, reason: s.reason ?? null } };
  },
};
export default stage;
