// Builds the inputs of experiments/wsi-e2e.yaml (nothing is downloaded):
//  - slides/tile_XX.tif: 768×768 crops of CMU-1-Small-Region as pyramidal tiled TIFFs (sharp;
//    OpenSlide reads them as generic tiled TIFF). Every other crop gets a stain shift (more
//    eosin, less haematoxylin) and the label `shifted`; the others are `original`. A toy task
//    with a learnable signal, so the experiment checks the whole path slides → features → CLAM.
//  - slides/broken.tif: a truncated copy of one tile (OpenSlide cannot read it), listed in
//    slides.csv on purpose: the run must exclude it visibly (dataset excluded.csv) and go on.
//  - slides.csv (case_id, slide_id, label, path), plus the CMU slide itself (label original).
//  - encoder.onnx: a tiny seeded CNN (64×64 input → 32-d), written in-process.
// Usage: node --import tsx experiments/wsi-e2e/prepare.ts [path/to/CMU-1-Small-Region.svs] [--out DIR]
// (default: experiments/data/wsi/CMU-1-Small-Region.svs, shipped with the project; the slide is
// OpenSlide's public test data, CC0: see experiments/data/wsi/SOURCE.md)
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Slide } from '../../src/wsi/openslide.ts';
import { tinyEncoder } from '../../src/features/onnx-writer.ts';

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
// --out DIR writes the inputs elsewhere (tests); paths in slides.csv stay relative to DIR.
const here = outAt >= 0 ? resolve(args.splice(outAt, 2)[1]) : dirname(fileURLToPath(import.meta.url));
const src = resolve(args[0] ?? join(dirname(fileURLToPath(import.meta.url)), '../data/wsi/CMU-1-Small-Region.svs'));
if (!existsSync(src)) {
  console.error(`${src}: not found. Pass the path of CMU-1-Small-Region.svs (OpenSlide test data).`);
  process.exit(2);
}
const slidesDir = join(here, 'slides');
mkdirSync(slidesDir, { recursive: true });

const slide = Slide.open(src);
const [W, H] = slide.levelDimensions[0];
const img = slide.readRegion(0, 0, 0, W, H);
slide.close();

const T = 768;
const xs = [420, 1000];
const ys = [0, 440, 880, 1320, 1760, H - T];
const rows: string[][] = [];
let k = 0;
for (const y of ys) {
  for (const x of xs) {
    const shifted = k % 2 === 1;
    const tile = new Uint8Array(T * T * 3);
    for (let r = 0; r < T; r++) {
      const a = ((y + r) * W + x) * 3;
      tile.set(img.data.subarray(a, a + T * 3), r * T * 3);
    }
    if (shifted) {
      // A stain shift that scales each channel's optical density, so white background stays
      // white (and unsaturated) while tissue gets redder and paler in blue.
      const f = [0.7, 1.25, 1.1];
      for (let i = 0; i < tile.length; i++) tile[i] = Math.max(0, Math.min(255, Math.round(255 - (255 - tile[i]) * f[i % 3])));
    }
    const id = `tile_${String(k).padStart(2, '0')}`;
    const path = join(slidesDir, `${id}.tif`);
    await sharp(tile, { raw: { width: T, height: T, channels: 3 } })
      .tiff({ tile: true, pyramid: true, tileWidth: 256, tileHeight: 256, compression: 'jpeg', quality: 90 })
      .toFile(path);
    rows.push([`case_${id}`, id, shifted ? 'shifted' : 'original', relative(here, path)]);
    k++;
  }
}
// A corrupt slide: the first 20 kB of a tile.
const broken = join(slidesDir, 'broken.tif');
writeFileSync(broken, readFileSync(join(slidesDir, 'tile_00.tif')).subarray(0, 20_000));
rows.push(['case_broken', 'broken', 'original', relative(here, broken)]);
rows.push(['case_cmu', 'CMU-1-Small-Region', 'original', relative(here, src)]);

writeFileSync(join(here, 'slides.csv'), ['case_id,slide_id,label,path', ...rows.map((r) => r.join(','))].join('\n') + '\n');
const enc = tinyEncoder({ inputSize: 64, dim: 32, channels: 16, seed: 0 });
writeFileSync(join(here, 'encoder.onnx'), enc.bytes);
console.log(`${rows.length} slides (${k} tiles, 1 broken, the CMU slide) → ${relative(process.cwd(), join(here, 'slides.csv'))}; encoder.onnx ${enc.bytes.length} bytes`);
