// Stage `extract/<slide_id>` (heavy): features `<slide_id>.h5` ([N,E] float32 + coords) of one
// slide with the ONNX encoder. Inputs: `patch`; externals `slide`, `encoder` (the .onnx, digested
// into the key). A broken encoder fails the stage; a broken slide is recorded in status.json.
import { join } from 'node:path';
import type { StageKind } from '../types/stage.ts';
import { extractStep, readStatus, writeStatus, prefixed } from './wsi-steps.ts';
import { loadEncoder, type EncoderSpec } from '../features/extract.ts';

export interface ExtractParams {
  slide_id: string;
  encoder: Omit<EncoderSpec, 'onnx'>;
}

const stage: StageKind<ExtractParams> = {
  kind: 'extract',
  async run(p, ctx) {
    const slide = ctx.externals.slide;
    const onnx = ctx.externals.encoder;
    const patch = ctx.inputs.patch;
    if (!slide || !onnx || !patch) throw new Error(`${ctx.id}: needs the externals 'slide', 'encoder' and the input 'patch'`);
    const up = readStatus(patch.dir);
    let s;
    if (!up.ok) s = writeStatus(ctx.outDir, { slide_id: p.slide_id, step: up.step, ok: false, reason: up.reason ?? 'patching failed' });
    else {
      const spec: EncoderSpec = { ...p.encoder, onnx };
      const encoder = await loadEncoder(spec, ctx.device.threads);
      try {
        s = await extractStep(slide, join(patch.dir, `${p.slide_id}.h5`), p.slide_id, spec, ctx.outDir, {
          encoder,
          signal: ctx.signal,
          onProgress: (d, t) => ctx.progress(d, t, 'patches'),
        });
      } finally {
        await encoder.close();
      }
    }
    if (!s.ok) ctx.log(`excluded: ${s.reason}`);
    return { engine: 'onnxruntime-cpu', metrics: { ok: s.ok ? 1 : 0, n: Number(s.n ?? 0), ...prefixed(s.ms) }, summary: { ok: s.ok, reason: s.reason ?? null } };
  },
};
export default stage;
