// CLAM's patch-coordinates file (patches/<slide_id>.h5): dataset `coords` int64 [N,2] (level-0
// x,y) with the attributes create_patches_fp writes, typed as h5py stores Python values:
// ints → int64 scalars, tuples of floats → float64 [2], dims → int64 [2], name → UTF-8 string.
import h5wasm from 'h5wasm/node';

let ready: Promise<unknown> | null = null;
async function h5() {
  ready ??= h5wasm.ready;
  await ready;
  return h5wasm;
}

export interface CoordsAttrs {
  patch_size: number;
  patch_level: number;
  downsample: [number, number];
  downsampled_level_dim: [number, number];
  level_dim: [number, number];
  name: string;
  /** milflow extras (absent in CLAM files): the target µm/px and output size when patching by mpp. */
  target_mpp?: number;
  target_patch_size?: number;
}

export interface CoordsFile {
  coords: Int32Array;
  n: number;
  attrs: CoordsAttrs;
}

const i64 = (...v: number[]) => BigInt64Array.from(v.map((x) => BigInt(Math.round(x))));

export async function writeCoordsH5(path: string, coords: ArrayLike<number>, attrs: CoordsAttrs): Promise<void> {
  const lib = await h5();
  const f = new lib.File(path, 'w');
  try {
    const n = coords.length / 2;
    const ds = f.create_dataset({ name: 'coords', data: i64(...Array.from(coords)), shape: [n, 2], dtype: '<q' }) as any;
    ds.create_attribute('patch_size', i64(attrs.patch_size), [], '<q');
    ds.create_attribute('patch_level', i64(attrs.patch_level), [], '<q');
    ds.create_attribute('downsample', Float64Array.from(attrs.downsample), [2], '<d');
    ds.create_attribute('downsampled_level_dim', i64(...attrs.downsampled_level_dim), [2], '<q');
    ds.create_attribute('level_dim', i64(...attrs.level_dim), [2], '<q');
    ds.create_attribute('name', attrs.name);
    if (attrs.target_mpp !== undefined) ds.create_attribute('target_mpp', Float64Array.of(attrs.target_mpp), [], '<d');
    if (attrs.target_patch_size !== undefined) ds.create_attribute('target_patch_size', i64(attrs.target_patch_size), [], '<q');
  } finally {
    f.close();
  }
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : Number(v));
const pair = (v: any): [number, number] => [num(v[0]), num(v[1])];

export async function readCoordsH5(path: string): Promise<CoordsFile> {
  const lib = await h5();
  let f: any;
  try {
    f = new lib.File(path, 'r');
  } catch (e) {
    throw new Error(`${path}: cannot open as HDF5 (${(e as Error).message})`);
  }
  try {
    if (!f.keys().includes('coords')) throw new Error(`${path}: no 'coords' dataset`);
    const ds = f.get('coords');
    const raw = ds.value;
    const coords = new Int32Array(raw.length);
    for (let i = 0; i < raw.length; i++) coords[i] = num(raw[i]);
    const a = (k: string) => ds.attrs[k]?.value;
    const attrs: CoordsAttrs = {
      patch_size: num(a('patch_size')),
      patch_level: num(a('patch_level')),
      downsample: pair(a('downsample')),
      downsampled_level_dim: pair(a('downsampled_level_dim')),
      level_dim: pair(a('level_dim')),
      name: String(a('name')),
    };
    if (a('target_mpp') !== undefined) attrs.target_mpp = num(a('target_mpp'));
    if (a('target_patch_size') !== undefined) attrs.target_patch_size = num(a('target_patch_size'));
    return { coords, n: coords.length / 2, attrs };
  } finally {
    f.close();
  }
}
