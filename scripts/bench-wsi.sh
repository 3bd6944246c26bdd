#!/usr/bin/env bash
# Times tissue segmentation + patching of one slide (default: CMU-1-Small-Region, bwh_biopsy,
# 256 px, step 256, level 0) and compares with CLAM's Python pipeline (~0.5 s on this machine).
# Usage: scripts/bench-wsi.sh [SLIDE] [RUNS]
# Then times feature extraction of the same patches (step 128: ~4× as many) with a tiny seeded
# ONNX CNN at 224 px input: patch reading, resizing and normalisation dominate, as the
# throughput floor of any encoder.
# Prints cold (first call: OpenCV WebAssembly start-up included) and warm times (median of RUNS),
# wall and CPU, and the machine load, since other processes share the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
SLIDE="${1:-../shared/data/wsi/CMU-1-Small-Region.svs}"
RUNS="${2:-7}"
CLAM_S="${CLAM_S:-0.5}"
SLIDE="$SLIDE" RUNS="$RUNS" CLAM_S="$CLAM_S" node --import tsx --input-type=module -e '
import { Slide } from "./src/wsi/openslide.ts";
import { segmentTissue } from "./src/wsi/segment.ts";
import { patchTissue } from "./src/wsi/patch.ts";
import { PRESETS } from "./src/wsi/presets.ts";
import { loadavg } from "node:os";
const slidePath = process.env.SLIDE, runs = Number(process.env.RUNS), clam = Number(process.env.CLAM_S);
async function once() {
  const c0 = process.cpuUsage(), t0 = performance.now();
  const slide = Slide.open(slidePath);
  try {
    const { seg } = await segmentTissue(slide, PRESETS.bwh_biopsy.seg);
    const t1 = performance.now();
    const r = await patchTissue(slide, seg, { size: 256, step: 256, level: 0, contour_fn: "four_pt", use_padding: true });
    const t2 = performance.now();
    const c = process.cpuUsage(c0);
    return { seg: (t1 - t0) / 1000, patch: (t2 - t1) / 1000, total: (t2 - t0) / 1000, cpu: (c.user + c.system) / 1e6, n: r.n };
  } finally { slide.close(); }
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const cold = await once();
const warm = [];
for (let i = 0; i < runs; i++) warm.push(await once());
const m = { seg: med(warm.map((w) => w.seg)), patch: med(warm.map((w) => w.patch)), total: med(warm.map((w) => w.total)), cpu: med(warm.map((w) => w.cpu)) };
const f = (x) => x.toFixed(3);
console.log(`slide ${slidePath}: ${cold.n} patches`);
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")} on ${(await import("node:os")).availableParallelism()} cores`);
console.log(`cold (incl. OpenCV start-up): total ${f(cold.total)} s (seg ${f(cold.seg)}, patch ${f(cold.patch)}), CPU ${f(cold.cpu)} s`);
console.log(`warm median of ${runs}: total ${f(m.total)} s (seg ${f(m.seg)}, patch ${f(m.patch)}), CPU ${f(m.cpu)} s`);
console.log(`ratio to CLAM (${clam} s): warm ${(m.total / clam).toFixed(2)}x, cold ${(cold.total / clam).toFixed(2)}x  (< 1 = faster)`);

const { tinyEncoder } = await import("./src/features/onnx-writer.ts");
const { extractFeatures, loadEncoder } = await import("./src/features/extract.ts");
const { writeFileSync, mkdtempSync, rmSync } = await import("node:fs");
const { join } = await import("node:path");
const { tmpdir } = await import("node:os");
const dir = mkdtempSync(join(tmpdir(), "milflow-bench-wsi-"));
try {
  const onnx = join(dir, "enc.onnx");
  writeFileSync(onnx, tinyEncoder({ inputSize: 224, dim: 64, channels: 16, seed: 0 }).bytes);
  const slide = Slide.open(slidePath);
  const { seg } = await segmentTissue(slide, PRESETS.bwh_biopsy.seg);
  const r = await patchTissue(slide, seg, { size: 256, step: 128, level: 0, contour_fn: "four_pt", use_padding: true });
  slide.close();
  const spec = { onnx, dim: 64, input_size: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], batch_size: 64 };
  const encoder = await loadEncoder(spec, 2);
  const coords = { coords: r.coords, n: r.n, attrs: r.attrs };
  await extractFeatures(slidePath, coords, spec, { encoder });
  const t0 = performance.now();
  await extractFeatures(slidePath, coords, spec, { encoder });
  const s = (performance.now() - t0) / 1000;
  console.log(`extract: ${r.n} patches 256→224 px, tiny ONNX CNN, batch 64: ${s.toFixed(2)} s, ${(r.n / s).toFixed(0)} patches/s`);
  await encoder.close();
} finally { rmSync(dir, { recursive: true, force: true }); }
'
