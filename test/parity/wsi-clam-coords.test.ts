// CLAM parity: CMU-1-Small-Region, bwh_biopsy preset, 256 px patches, step 256, level 0 must give
// exactly the 50 level-0 coordinates (and order, and attributes) CLAM's create_patches_fp wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { Slide, openslideUnavailable } from '../../src/wsi/openslide.ts';
import { segmentTissue } from '../../src/wsi/segment.ts';
import { patchTissue } from '../../src/wsi/patch.ts';
import { PRESETS } from '../../src/wsi/presets.ts';
import { writeCoordsH5, readCoordsH5 } from '../../src/wsi/coords-h5.ts';

const SLIDE = '/work/shared/data/wsi/CMU-1-Small-Region.svs';
const REF = '/work/shared/fixtures/wsi-reference/CMU-1-Small-Region.bwh_biopsy.coords.json';
const PRESET_DIR = '/work/shared/fixtures/clam-presets';
const noLib = openslideUnavailable();
const shared = existsSync(SLIDE) && existsSync(REF) && !noLib;
if (!shared) console.log(`skipping: ${noLib ?? `${SLIDE} or ${REF} not present`}`);

test('CMU-1-Small-Region bwh_biopsy 256/256/level 0: same coords as CLAM (Jaccard 1, same order, same attrs)', { skip: !shared }, async () => {
  const ref = JSON.parse(readFileSync(REF, 'utf8'));
  const slide = Slide.open(SLIDE);
  try {
    const { seg } = await segmentTissue(slide, PRESETS.bwh_biopsy.seg);
    const r = await patchTissue(slide, seg, { size: 256, step: 256, level: 0, contour_fn: 'four_pt', use_padding: true });
    const mine = Array.from({ length: r.n }, (_, i) => `${r.coords[2 * i]},${r.coords[2 * i + 1]}`);
    const theirs: string[] = ref.coords_level0_xy.map((c: number[]) => c.join(','));
    const a = new Set(mine), b = new Set(theirs);
    const inter = [...a].filter((x) => b.has(x)).length;
    const jaccard = inter / (a.size + b.size - inter);
    assert.equal(jaccard, 1, `Jaccard ${jaccard}; extra ${[...a].filter((x) => !b.has(x))}; missing ${[...b].filter((x) => !a.has(x))}`);
    assert.deepEqual(mine, theirs, 'same order as CLAM writes them');
    assert.equal(r.n, ref.n_coords);
    assert.deepEqual({ ...r.attrs }, { ...ref.attrs });

    const dir = mkdtempSync(join(tmpdir(), 'milflow-wsi-parity-'));
    try {
      const h5 = join(dir, 'CMU-1-Small-Region.h5');
      await writeCoordsH5(h5, r.coords, r.attrs);
      const back = await readCoordsH5(h5);
      assert.deepEqual(Array.from(back.coords), Array.from(r.coords));
      assert.deepEqual(back.attrs, r.attrs);
      // h5py's view (types as CLAM/h5py write them), when Debian's python3-h5py is installed.
      const py = spawnSync('/usr/bin/python3', ['-c', `
import h5py, json, sys
f = h5py.File(sys.argv[1], 'r'); d = f['coords']; a = d.attrs
print(json.dumps({'dtype': str(d.dtype), 'shape': list(d.shape), 'first': d[0].tolist(),
  'types': {k: (str(v.dtype) if hasattr(v, 'dtype') else type(v).__name__) for k, v in a.items()},
  'shapes': {k: list(getattr(v, 'shape', ())) for k, v in a.items()}, 'name': a['name']}))
`, h5], { encoding: 'utf8' });
      if (py.status !== 0 && /No module named 'h5py'|ENOENT/.test(py.stderr + String(py.error ?? ''))) {
        console.log('h5py check skipped: /usr/bin/python3 with h5py not available');
      } else {
        assert.equal(py.status, 0, py.stderr);
        const j = JSON.parse(py.stdout);
        assert.equal(j.dtype, 'int64');
        assert.deepEqual(j.shape, [50, 2]);
        assert.deepEqual(j.first, ref.coords_level0_xy[0]);
        assert.deepEqual(j.types, { patch_size: 'int64', patch_level: 'int64', downsample: 'float64', downsampled_level_dim: 'int64', level_dim: 'int64', name: 'str' });
        assert.deepEqual(j.shapes.downsample, [2]);
        assert.deepEqual(j.shapes.patch_size, []);
        assert.equal(j.name, 'CMU-1-Small-Region');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    slide.close();
  }
});

test('presets in source equal the CLAM preset CSVs', { skip: !existsSync(PRESET_DIR) }, async () => {
  const { resolvePreset } = await import('../../src/wsi/presets.ts');
  for (const name of ['tcga', 'bwh_biopsy', 'bwh_resection']) {
    const fromCsv = resolvePreset(join(PRESET_DIR, `${name}.csv`));
    assert.deepEqual(fromCsv, PRESETS[name], name);
  }
});

test('mask picture: the green contour band overlaps CLAM\'s mask picture (IoU ≥ 0.85 at the fixture size)', { skip: !shared }, async () => {
  const sharp = (await import('sharp')).default;
  const { segmentStep } = await import('../../src/stages/wsi-steps.ts');
  const dir = mkdtempSync(join(tmpdir(), 'milflow-wsi-mask-'));
  try {
    const st = await segmentStep(SLIDE, { slide_id: 'cmu', seg: PRESETS.bwh_biopsy.seg, line_thickness: PRESETS.bwh_biopsy.vis.line_thickness }, dir);
    assert.equal(st.ok, true);
    const refPng = REF.replace('.coords.json', '.mask.png');
    const a = await sharp(refPng).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const b = await sharp(join(dir, 'mask.png')).resize(a.info.width, a.info.height, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const green = (d: Buffer, i: number) => d[i + 1] > 180 && d[i] < 120 && d[i + 2] < 120;
    let inter = 0, uni = 0, nb = 0;
    for (let i = 0; i < a.data.length; i += 3) {
      const x = green(a.data, i), y = green(b.data, i);
      if (y) nb++;
      if (x && y) inter++;
      if (x || y) uni++;
    }
    assert.ok(nb > 5000, `our mask has a contour band (${nb} green pixels)`);
    assert.ok(inter / uni >= 0.85, `IoU ${(inter / uni).toFixed(3)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
