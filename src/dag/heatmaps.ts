// Which heatmap stages a spec asks for (src/stages/heatmap.ts does the drawing). Two forms:
// `evaluate.heatmaps: n` (the first n test slides of every checkpoint, default look) and the
// `heatmaps:` section (CLAM's options; chosen models / fractions / folds; named slides get one
// stage per slide × checkpoint, so each is cached on its own). WSI datasets only: the loader's
// validation (src/spec/heatmaps.ts) rejects the others by name.
import type { Json } from '../types/stage.ts';

interface RawLike {
  base: string;
  kind: string;
  params: Json;
  externals?: Record<string, string>;
  labels: Record<string, string | number>;
}

export interface HeatmapDecl {
  /** Identity tail after `<tail of the train stage>` ('' or `/slide=<id>`). */
  suffix: string;
  params: Json;
  inputs: Record<string, string>;
  externals: Record<string, string>;
}

export interface HeatmapPlan {
  wants(model: string, frac: number, fold: number): boolean;
  stages(fold: number): HeatmapDecl[];
}

export function planHeatmaps(spec: any, wsiStages: RawLike[], classes: string[]): HeatmapPlan | undefined {
  if (!spec.dataset.wsi) return undefined;
  const h = spec.heatmaps;
  const n = spec.evaluate?.heatmaps ?? 0;
  if (!h && !(n > 0)) return undefined;
  const perSlide = new Map<string, { patch?: RawLike; segment?: RawLike; extract?: RawLike }>();
  for (const r of wsiStages) {
    if (!['patch', 'segment', 'extract'].includes(r.kind) || r.labels.cohort !== undefined) continue;
    const sid = String(r.labels.slide);
    if (!perSlide.has(sid)) perSlide.set(sid, {});
    (perSlide.get(sid) as any)[r.kind] = r;
  }
  const overlap = h?.overlap ?? 0;
  const wiring = (sids: string[]) => {
    const inputs: Record<string, string> = {};
    const externals: Record<string, string> = {};
    for (const sid of sids) {
      const s = perSlide.get(sid);
      if (!s?.patch?.externals?.slide) continue;
      inputs[`patch:${sid}`] = s.patch.base;
      externals[`slide:${sid}`] = s.patch.externals.slide;
      // Always: the tissue contours clip the colour (and, with overlap, are patched again).
      if (s.segment) inputs[`segment:${sid}`] = s.segment.base;
      if (overlap > 0 && s.extract?.externals?.encoder) externals.encoder = s.extract.externals.encoder;
    }
    return { inputs, externals };
  };
  if (!h) {
    // evaluate.heatmaps: every checkpoint, the first n test slides, the original look.
    const w = wiring([...perSlide.keys()]);
    return { wants: () => true, stages: (fold) => [{ suffix: '', params: { fold, n } as Json, ...w }] };
  }
  const fracs: number[] = spec.splits.training_fractions;
  const chosenFracs: number[] = h.fractions ?? [Math.max(...fracs)];
  const chosenFolds: number[] = h.folds ?? [0];
  const models: string[] | undefined = h.models;
  const options: Record<string, unknown> = {
    overlap, blur: h.blur ?? false, binarize: h.binarize ?? false, threshold: h.threshold ?? 0.5, max_side: h.max_side ?? 2048,
    cmap: h.cmap ?? 'coolwarm', alpha: h.alpha ?? 0.4, blank_canvas: h.blank_canvas ?? false, topk: h.topk ?? 0, bottomk: h.bottomk ?? 0,
  };
  if (h.roi) options.roi = h.roi;
  if ((h.vis_level ?? -1) >= 0) options.vis_level = h.vis_level;
  const first = [...perSlide.values()][0];
  const extra: Record<string, unknown> = {};
  if (overlap > 0 && first?.patch && first.extract) {
    // The overlapping grid is patched and encoded as the dataset's own grid was.
    const { slide_id: _s, step: _st, ...patch } = first.patch.params as Record<string, unknown>;
    extra.patch = patch;
    extra.encoder = (first.extract.params as Record<string, unknown>).encoder;
  }
  const base = { classes, options, ...extra };
  return {
    wants: (m, f, k) => (!models || models.includes(m)) && chosenFracs.includes(f) && chosenFolds.includes(k),
    stages: (fold) =>
      Array.isArray(h.slides)
        ? (h.slides as string[]).map((sid) => ({ suffix: `/slide=${sid}`, params: { fold, slides: [sid], ...base } as Json, ...wiring([sid]) }))
        : [{ suffix: '', params: { fold, n: h.slides ?? 2, ...base } as Json, ...wiring([...perSlide.keys()]) }],
  };
}
