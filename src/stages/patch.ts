// Stage `patch/<slide_id>`: CLAM coords .h5 (`<slide_id>.h5`) + stitched preview of one slide.
// Inputs: `segment`; external `slide`. Upstream failures pass through as this slide's failure.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import { patchStep, readStatus, writeStatus, type PatchStepParams, prefixed } from './wsi-steps.ts';
import type { Segmentation } from '../wsi/segment.ts';

const stage: StageKind<PatchStepParams> = {
  kind: 'patch',
  async run(p, ctx) {
    const slide = ctx.externals.slide;
    const seg = ctx.inputs.segment;
    if (!slide || !seg) throw new Error(`${ctx.id}: needs the external 'slide' and the input 'segment'`);
    const up = readStatus(seg.dir);
    const s = up.ok
      ? await patchStep(slide, JSON.parse(readFileSync(join(seg.dir, 'segmentation.json'), 'utf8')) as Segmentation, p, ctx.outDir)
      : writeStatus(ctx.outDir, { slide_id: p.slide_id, step: up.step, ok: false, reason: up.reason ?? 'segmentation failed' });
    if (!s.ok) ctx.log(`excluded: ${s.reason}`);
    return { metrics: { ok: s.ok ? 1 : 0, n_patches: Number(s.n_patches ?? 0), ...prefixed(s.ms) }, summary: { ok: s.ok, reason: s.reason ?? null } };
  },
};
export default stage;
