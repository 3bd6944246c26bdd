// dataset.wsi → per-slide stages segment/<id> → patch/<id> → extract/<id>, and one wsi-dataset
// stage that assembles them. Params are split so that each stage's key holds only what changes
// its output: a new patch size re-runs patch + extract, never segment; the slide files and the
// .onnx encoder are externals, so their content digests enter the keys.
import { dirname, isAbsolute, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { WsiDataset } from '../spec/types.gen.ts';
import type { Json, StageDecl } from '../types/stage.ts';
import { applyOverrides, readCsv, readProcessList, resolvePreset, type Preset } from '../wsi/presets.ts';
import { slideId } from '../wsi/patch.ts';

const abs = (dir: string, p: string) => (isAbsolute(p) ? p : resolve(dir, p));

export interface WsiSlideRow {
  case_id: string;
  slide_id: string;
  label: string;
  path: string;
  line: number;
}

/** Reads the slide list (case_id, slide_id, label, path relative to the CSV). Errors name the line. */
export function readSlideList(csvPath: string): WsiSlideRow[] {
  const { header, rows } = readCsv(csvPath);
  const missing = ['case_id', 'label', 'path'].filter((c) => !header.includes(c));
  if (missing.length) throw new Error(`${csvPath}:1: header lacks ${missing.join(', ')} (found: ${header.join(', ')}; expected case_id,slide_id,label,path)`);
  const seen = new Map<string, number>();
  const out: WsiSlideRow[] = [];
  const problems: string[] = [];
  for (const r of rows) {
    const v = r.values;
    const at = `${csvPath}:${r.line}`;
    if (!v.path) {
      problems.push(`${at}: empty path`);
      continue;
    }
    const path = abs(dirname(csvPath), v.path);
    const id = v.slide_id || slideId(path);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(id)) problems.push(`${at}: slide_id '${id}' must be a plain file-name stem (letters, digits, _ . + -)`);
    if (seen.has(id)) problems.push(`${at}: slide '${id}' is listed twice (also line ${seen.get(id)})`);
    if (!existsSync(path)) problems.push(`${at}: slide file not found: ${path}`);
    if (!v.case_id || !v.label) problems.push(`${at}: empty ${!v.case_id ? 'case_id' : 'label'}`);
    seen.set(id, r.line);
    out.push({ case_id: v.case_id, slide_id: id, label: v.label, path, line: r.line });
  }
  if (problems.length) throw new Error(problems.join('\n'));
  if (out.length === 0) throw new Error(`${csvPath}: no slides listed`);
  return out;
}

/** spec.dataset.wsi.segmentation (typed JSON) → the string form applyOverrides reads. */
function specOverrides(seg: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(seg ?? {})) {
    if (v === undefined || v === null) continue;
    out[k] = Array.isArray(v) ? (v.length ? v.join(' ') : 'none') : String(v);
  }
  return out;
}

export interface WsiTask {
  classes: string[];
  label_map: Json;
}

export function expandWsiDataset(ds: WsiDataset, specDir: string, idPrefix: string, task?: WsiTask): { stages: StageDecl[]; datasetStageId: string } {
  const csv = abs(specDir, ds.csv);
  const slides = readSlideList(csv);
  const presetArg = ds.preset ?? 'bwh_biopsy';
  const base = applyOverrides(resolvePreset(/\.csv$/.test(presetArg) ? abs(specDir, presetArg) : presetArg), specOverrides(ds.segmentation as Record<string, unknown>), 'dataset.wsi.segmentation');
  const plist = ds.process_list ? readProcessList(abs(specDir, ds.process_list)) : null;
  if (!ds.encoder) throw new Error('dataset.wsi.encoder is required: features come from an ONNX encoder (onnx, dim, input_size, mean, std)');
  const onnx = abs(specDir, ds.encoder.onnx);
  if (!existsSync(onnx)) throw new Error(`dataset.wsi.encoder.onnx: file not found: ${onnx}`);
  const enc = ds.encoder;
  const encoder = {
    dim: enc.dim,
    input_size: enc.input_size ?? 224,
    mean: enc.mean ?? [0.485, 0.456, 0.406],
    std: enc.std ?? [0.229, 0.224, 0.225],
    batch_size: enc.batch_size ?? 64,
    resize: (enc as { resize?: string }).resize ?? 'bilinear',
  };
  const pp = ds.patch ?? {};
  const pre = idPrefix ? `${idPrefix}/` : '';
  const datasetStageId = idPrefix ? `dataset/${idPrefix}` : 'dataset';
  const cohortLabel: Record<string, string> = idPrefix.startsWith('cohort=') ? { cohort: idPrefix.slice(7) } : {};
  const stages: StageDecl[] = [];
  const dsInputs: Record<string, string> = {};
  for (const s of slides) {
    const row = plist?.get(s.slide_id) ?? plist?.get(s.path.split(/[\\/]/).pop()!);
    const preset: Preset = row ? applyOverrides(base, row.values, `${ds.process_list}:${row.line}`) : base;
    const segId = `segment/${pre}${s.slide_id}`;
    const patchId = `patch/${pre}${s.slide_id}`;
    const extractId = `extract/${pre}${s.slide_id}`;
    const labels = { slide: s.slide_id, ...cohortLabel };
    stages.push({
      id: segId,
      kind: 'segment',
      params: { slide_id: s.slide_id, seg: preset.seg, line_thickness: preset.vis.line_thickness } as unknown as Json,
      inputs: {},
      externals: { slide: s.path },
      labels,
    });
    const patchParams: Record<string, Json> = {
      slide_id: s.slide_id,
      size: pp.size ?? 256,
      step: pp.step ?? pp.size ?? 256,
      level: pp.level ?? 0,
      contour_fn: (row?.values.contour_fn || pp.contour_fn || preset.patch.contour_fn) as string,
      use_padding: preset.patch.use_padding,
    };
    if (pp.mpp !== undefined) patchParams.mpp = pp.mpp;
    if (pp.mpp_override !== undefined) patchParams.mpp_override = pp.mpp_override;
    stages.push({ id: patchId, kind: 'patch', params: patchParams, inputs: { segment: segId }, externals: { slide: s.path }, labels });
    stages.push({
      id: extractId,
      kind: 'extract',
      params: { slide_id: s.slide_id, encoder } as unknown as Json,
      inputs: { patch: patchId },
      externals: { slide: s.path, encoder: onnx },
      labels,
    });
    dsInputs[`extract:${s.slide_id}`] = extractId;
  }
  stages.push({
    id: datasetStageId,
    kind: 'wsi-dataset',
    params: {
      classes: task?.classes ?? null,
      label_map: task?.label_map ?? null,
      slides: slides.map((s) => ({ case_id: s.case_id, slide_id: s.slide_id, label: s.label })),
      dim: enc.dim,
    } as unknown as Json,
    inputs: dsInputs,
    labels: { ...cohortLabel },
  });
  return { stages, datasetStageId };
}
