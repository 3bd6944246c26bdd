// `milflow heatmap --slide FILE --checkpoint model.safetensors --encoder enc.onnx --dim D [options] --out DIR`
// CLAM's heatmap for any slide and any checkpoint, outside a spec (an independent cohort's slide,
// a slide CLAM features were made from): segment → patch → encode the training grid (the
// reference) → score; with --overlap also an overlapping grid for the heatmap. Cached per
// slide × checkpoint × options under DIR/<slide>/<checkpoint hash>-<options hash>/.
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { UsageError } from '../errors.ts';

const num = (name: string, min = 0) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${name} must be a number ≥ ${min}, not '${v}'`);
  return n;
};
const list = (name: string, len?: number) => (v: string) => {
  const xs = v.split(',').map((x) => x.trim()).filter(Boolean);
  if (len !== undefined && xs.length !== len) throw new UsageError(`${name} needs ${len} comma-separated values, got '${v}'`);
  return xs;
};

interface Opts {
  slide: string; checkpoint: string; encoder: string; dim: number; inputSize: number; mean: string[]; std: string[];
  preset: string; patchSize: number; level: number; overlap: number; roi?: string[]; blur?: boolean; binarize?: boolean; threshold: number;
  visLevel: number; maxSide: number; cmap: string; alpha: number; blankCanvas?: boolean; topk: number; bottomk: number;
  classes?: string[]; label?: string; out: string; force?: boolean;
}

export function register(program: Command): void {
  program
    .command('heatmap')
    .description("draw CLAM's heatmap of one slide from one checkpoint (original beside heatmap, colour bar, caption, top/bottom patches)")
    .requiredOption('--slide <file>', 'slide file (anything OpenSlide reads)')
    .requiredOption('--checkpoint <file>', 'model.safetensors of a train stage (CLAM or MIL)')
    .requiredOption('--encoder <onnx>', 'patch encoder (.onnx) the checkpoint was trained on')
    .requiredOption('--dim <n>', 'feature dimension of the encoder', num('--dim', 1))
    .option('--input-size <px>', 'encoder input side', num('--input-size', 1), 224)
    .option('--mean <r,g,b>', 'encoder input mean', list('--mean', 3), ['0.485', '0.456', '0.406'])
    .option('--std <r,g,b>', 'encoder input std', list('--std', 3), ['0.229', '0.224', '0.225'])
    .option('--preset <name>', 'segmentation preset (tcga, bwh_biopsy, bwh_resection, or a CLAM preset .csv)', 'bwh_biopsy')
    .option('--patch-size <px>', 'patch side at --level (as the checkpoint was trained)', num('--patch-size', 1), 256)
    .option('--level <n>', 'pyramid level the patches were read at', num('--level'), 0)
    .option('--overlap <f>', 'overlap of the heatmap grid, 0 ≤ f < 1 (CLAM: 0.5–0.95)', num('--overlap'), 0)
    .option('--roi <x1,y1,x2,y2>', 'region of interest in level-0 pixels', list('--roi', 4))
    .option('--blur', 'Gaussian blur of the score map')
    .option('--binarize', 'paint only patches at or above --threshold')
    .option('--threshold <f>', 'percentile / 100 for --binarize', num('--threshold'), 0.5)
    .option('--vis-level <n>', 'pyramid level to draw at (-1: finest that fits --max-side)', (v: string) => Number(v), -1)
    .option('--max-side <px>', 'longest side of the picture', num('--max-side', 64), 2048)
    .option('--cmap <name>', 'coolwarm | jet | viridis | rdbu_r', 'coolwarm')
    .option('--alpha <f>', 'weight of the colour over the slide', num('--alpha'), 0.4)
    .option('--blank-canvas', 'draw on white instead of the slide')
    .option('--topk <k>', 'export the k highest-scoring patches as PNG tiles', num('--topk'), 0)
    .option('--bottomk <k>', 'export the k lowest-scoring patches as PNG tiles', num('--bottomk'), 0)
    .option('--classes <a,b,...>', 'class names in checkpoint order (caption)', list('--classes'))
    .option('--label <name>', "the slide's true label (caption)")
    .option('--force', 'redraw even when this slide × checkpoint × options is cached')
    .requiredOption('--out <dir>', 'output root')
    .action(async (o: Opts) => {
      const { resolvePreset } = await import('../wsi/presets.ts');
      const { segmentStep } = await import('../stages/wsi-steps.ts');
      const { Slide } = await import('../wsi/openslide.ts');
      const { patchTissue, slideId } = await import('../wsi/patch.ts');
      const { extractFeatures } = await import('../features/extract.ts');
      const { loadModel } = await import('../models/index.ts');
      const { renderSlideHeatmap } = await import('../heatmaps/render.ts');
      const slidePath = resolve(o.slide);
      const ckpt = resolve(o.checkpoint);
      const id = slideId(slidePath);
      const preset = resolvePreset(o.preset);
      const encoder = { onnx: resolve(o.encoder), dim: o.dim, input_size: o.inputSize, mean: o.mean.map(Number), std: o.std.map(Number), batch_size: 32 };
      const options = {
        overlap: o.overlap, roi: o.roi?.map(Number) as [number, number, number, number] | undefined, blur: !!o.blur, binarize: !!o.binarize, threshold: o.threshold,
        vis_level: o.visLevel >= 0 ? o.visLevel : undefined, max_side: o.maxSide, cmap: o.cmap, alpha: o.alpha, blank_canvas: !!o.blankCanvas, topk: o.topk, bottomk: o.bottomk,
      };
      const digest = (b: Buffer | string) => createHash('sha256').update(b).digest('hex').slice(0, 12);
      const key = `${digest(readFileSync(ckpt))}-${digest(JSON.stringify({ options, encoder: { ...encoder, onnx: digest(readFileSync(encoder.onnx)) }, preset: o.preset, size: o.patchSize, level: o.level, label: o.label, classes: o.classes }))}`;
      const outDir = join(resolve(o.out), id, key);
      if (!o.force && existsSync(join(outDir, `${id}.json`))) {
        process.stderr.write(`${id}: cached (${outDir}); --force redraws\n`);
        process.stdout.write(`${join(outDir, `${id}.figure.png`)}\n`);
        return;
      }
      const model = await loadModel(ckpt);
      const work = mkdtempSync(join(tmpdir(), 'milflow-heatmap-'));
      try {
        process.stderr.write(`${id}: segmenting (${o.preset})…\n`);
        const s = await segmentStep(slidePath, { slide_id: id, seg: preset.seg, line_thickness: preset.vis.line_thickness }, join(work, 'seg'));
        if (!s.ok) throw new Error(s.reason);
        const seg = JSON.parse(readFileSync(join(work, 'seg', 'segmentation.json'), 'utf8'));
        const grid = async (step: number, what: string) => {
          const sl = Slide.open(slidePath);
          let r;
          try {
            r = await patchTissue(sl, seg, { size: o.patchSize, step, level: o.level, contour_fn: preset.patch.contour_fn, use_padding: preset.patch.use_padding });
          } finally {
            sl.close();
          }
          if (r.n === 0) throw new Error(`${id}: no ${o.patchSize} px patches inside the tissue contours`);
          let last = 0;
          const features = await extractFeatures(slidePath, { coords: r.coords, n: r.n, attrs: r.attrs }, encoder, {
            onProgress: (d, t) => {
              if (d === t || Date.now() - last > 2000) { last = Date.now(); process.stderr.write(`${id}: ${what}: encoded ${d}/${t} patches\n`); }
            },
          });
          return { coords: r.coords, features, n: r.n, dim: o.dim, attrs: r.attrs };
        };
        const ref = await grid(o.patchSize, 'training grid');
        const size = ref.attrs.patch_size * ref.attrs.downsample[0];
        const r = await renderSlideHeatmap(
          {
            slidePath, slideId: id, model, reference: ref, patchSize: size, tissue: seg, tile: { level: ref.attrs.patch_level, size: ref.attrs.patch_size },
            overlapGrid: (step) => grid(Math.max(1, Math.round(step / ref.attrs.downsample[0])), `${Math.round(o.overlap * 100)} % overlap grid`),
            classes: o.classes ?? [], trueLabel: o.label, modelName: ckpt.split('/').slice(-2).join('/'), outDir,
          },
          options,
        );
        process.stderr.write(`${id}: predicted ${r.predicted} (p = ${r.probability.toFixed(3)}); ${r.n_scored} patches scored (${r.n_reference} in the training grid), ${r.n_drawn} drawn\n`);
        process.stdout.write(`${join(outDir, `${id}.figure.png`)}\n`);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
}
