// `milflow patch --slide FILE --preset NAME [--patch-size 256 --step 256 --level 0 | --mpp 0.5] --out DIR`
// Segments and patches one slide outside any spec: DIR/patches/<id>.h5 (CLAM coords),
// DIR/masks/<id>.png, DIR/stitches/<id>.png.
import type { Command } from 'commander';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { UsageError } from '../errors.ts';

const num = (name: string, int = false) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (int && !Number.isInteger(n))) throw new UsageError(`${name} must be a positive ${int ? 'integer' : 'number'}, not '${v}'`);
  return n;
};

export function register(program: Command): void {
  program
    .command('patch')
    .description('segment the tissue of one slide and write CLAM patch coordinates (.h5), mask and stitched preview')
    .requiredOption('--slide <file>', 'slide file (anything OpenSlide reads: .svs, .tif, .ndpi, .mrxs, ...)')
    .option('--preset <name>', 'segmentation preset: tcga, bwh_biopsy, bwh_resection, or a CLAM preset .csv', 'bwh_biopsy')
    .option('--patch-size <px>', 'patch side at the patch level (or at --mpp)', num('--patch-size', true), 256)
    .option('--step <px>', 'grid step (default: patch size, no overlap)', num('--step', true))
    .option('--level <n>', 'pyramid level to patch at', (v: string) => Number(v), 0)
    .option('--mpp <um>', 'patch at this many µm per pixel instead of a level', num('--mpp'))
    .option('--mpp-override <um>', 'µm/px to assume when the slide metadata has none', num('--mpp-override'))
    .option('--contour-fn <fn>', 'four_pt | four_pt_hard | center | basic (default: the preset)')
    .option('--process-list <csv>', 'CLAM process list with per-slide segmentation overrides')
    .option('--seg <key=value>', 'override a segmentation parameter, CLAM names (seg_level, sthresh, mthresh, close, use_otsu, a_t, a_h, max_n_holes, keep_ids, exclude_ids, line_thickness); repeatable', (v: string, prev: string[] = []) => [...prev, v], [])
    .requiredOption('--out <dir>', 'output directory')
    .action(async (o: { slide: string; preset: string; patchSize: number; step?: number; level: number; mpp?: number; mppOverride?: number; contourFn?: string; processList?: string; seg: string[]; out: string }) => {
      const { resolvePreset, applyOverrides, readProcessList } = await import('../wsi/presets.ts');
      const { segmentStep, patchStep } = await import('../stages/wsi-steps.ts');
      const { slideId } = await import('../wsi/patch.ts');
      const slide = resolve(o.slide);
      const id = slideId(slide);
      let preset = resolvePreset(o.preset);
      if (o.processList) {
        const row = readProcessList(resolve(o.processList)).get(id);
        if (row) preset = applyOverrides(preset, row.values, `${o.processList}:${row.line}`);
      }
      if (o.contourFn) preset = applyOverrides(preset, { contour_fn: o.contourFn }, '--contour-fn');
      for (const kv of o.seg) {
        const i = kv.indexOf('=');
        const key = kv.slice(0, i);
        const known = ['seg_level', 'sthresh', 'mthresh', 'close', 'use_otsu', 'a_t', 'a_h', 'max_n_holes', 'keep_ids', 'exclude_ids', 'line_thickness'];
        if (i <= 0 || !known.includes(key)) throw new UsageError(`--seg ${kv}: expected KEY=VALUE with KEY one of ${known.join(', ')}`);
        preset = applyOverrides(preset, { [key]: kv.slice(i + 1) }, '--seg');
      }
      const out = resolve(o.out);
      for (const d of ['patches', 'masks', 'stitches']) mkdirSync(join(out, d), { recursive: true });
      const work = mkdtempSync(join(tmpdir(), 'milflow-patch-'));
      try {
        process.stderr.write(`${id}: segmenting (${o.preset})…\n`);
        const s = await segmentStep(slide, { slide_id: id, seg: preset.seg, line_thickness: preset.vis.line_thickness }, join(work, 'seg'), join(out, 'masks', `${id}.png`));
        if (!s.ok) throw new Error(s.reason);
        const ms = s.ms as { segment: number; mask: number };
        process.stderr.write(`${id}: ${s.n_contours} tissue contour(s), ${s.n_holes} hole(s) in ${ms.segment} ms; mask ${join(o.out, 'masks', `${id}.png`)}\n`);
        const seg = JSON.parse(readFileSync(join(work, 'seg', 'segmentation.json'), 'utf8'));
        const p = await patchStep(
          slide, seg,
          { slide_id: id, size: o.patchSize, step: o.step ?? o.patchSize, level: o.level, mpp: o.mpp, mpp_override: o.mppOverride, contour_fn: preset.patch.contour_fn, use_padding: preset.patch.use_padding },
          join(work, 'patch'), join(out, 'patches', `${id}.h5`), join(out, 'stitches', `${id}.png`),
        );
        if (!p.ok) throw new Error(p.reason);
        const g = p.geometry as { level: number; read_size: number };
        process.stderr.write(`${id}: ${p.n_patches} patches of ${g.read_size} px at level ${g.level} in ${(p.ms as { patch: number }).patch} ms\n`);
        process.stdout.write(`${join(o.out, 'patches', `${id}.h5`)}\n`);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
}
