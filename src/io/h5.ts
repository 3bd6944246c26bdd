// CLAM feature-file I/O (h5_files/<slide>.h5: `features` [N,E] float32, `coords` [N,2]).
// h5wasm is the only HDF5 implementation that installs from the registry alone.
import h5wasm from 'h5wasm/node';
import { readPtFeatures } from './torch.ts';
import { hdf5Problem } from './h5-sniff.ts';

let ready: Promise<unknown> | null = null;
async function h5() {
  ready ??= h5wasm.ready;
  await ready;
  return h5wasm;
}

export interface Bag {
  /** Row-major [n, dim]. */
  features: Float32Array;
  n: number;
  dim: number;
  /** Row-major [n, 2] (x, y) at level 0, when present. */
  coords?: Int32Array | Float64Array | Float32Array;
  /** Any further 1-D/2-D numeric datasets (e.g. synthetic `instance_labels`). */
  extra?: Record<string, { data: ArrayLike<number>; shape: number[] }>;
}

function toNumberArray(v: unknown): Int32Array | Float64Array | Float32Array {
  if (v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array) return v;
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = Number(v[i]);
    return out;
  }
  if (ArrayBuffer.isView(v)) return Float64Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return Float64Array.from(v as number[]);
  throw new Error('not a numeric dataset');
}

/** Reads a CLAM feature file (h5_files/*.h5, or pt_files/*.pt: features only). Errors name the file. */
export async function readBag(path: string, opts: { extra?: boolean } = {}): Promise<Bag> {
  if (/\.pt$/i.test(path)) return readPtFeatures(path);
  const bad = hdf5Problem(path);
  if (bad) throw new Error(`${path}: ${bad}`);
  const lib = await h5();
  let f: InstanceType<typeof lib.File>;
  try {
    f = new lib.File(path, 'r');
  } catch (e) {
    throw new Error(`${path}: cannot open as HDF5 (${(e as Error).message})`);
  }
  try {
    const keys = f.keys();
    if (!keys.includes('features')) throw new Error(`${path}: no 'features' dataset (found: ${keys.join(', ') || 'nothing'})`);
    const ds = f.get('features') as any;
    const shape: number[] = ds.shape;
    if (shape.length !== 2) throw new Error(`${path}: 'features' must be 2-D [N, E], got shape [${shape.join(', ')}]`);
    const raw = ds.value;
    const features = raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>);
    const bag: Bag = { features, n: shape[0], dim: shape[1] };
    if (keys.includes('coords')) bag.coords = toNumberArray((f.get('coords') as any).value);
    if (opts.extra) {
      bag.extra = {};
      for (const k of keys) {
        if (k === 'features' || k === 'coords') continue;
        const d = f.get(k) as any;
        if (d && d.shape) bag.extra[k] = { data: toNumberArray(d.value), shape: d.shape };
      }
    }
    return bag;
  } finally {
    f.close();
  }
}

export interface WriteBagOptions {
  coords?: Int32Array | ArrayLike<number>;
  coordsAttrs?: Record<string, number | string | number[]>;
  extra?: Record<string, { data: Float32Array | Int32Array | Float64Array; shape: number[] }>;
}

/** Writes a CLAM feature file (features float32, coords int64 as h5py/CLAM write them). */
export async function writeBag(path: string, features: Float32Array, n: number, dim: number, opts: WriteBagOptions = {}): Promise<void> {
  const lib = await h5();
  const f = new lib.File(path, 'w');
  try {
    f.create_dataset({ name: 'features', data: features, shape: [n, dim], dtype: '<f' });
    if (opts.coords) {
      const c = new BigInt64Array(opts.coords.length);
      for (let i = 0; i < c.length; i++) c[i] = BigInt(Math.round(opts.coords[i]));
      const ds = f.create_dataset({ name: 'coords', data: c, shape: [opts.coords.length / 2, 2], dtype: '<q' }) as any;
      for (const [k, v] of Object.entries(opts.coordsAttrs ?? {})) ds.create_attribute(k, v);
    }
    for (const [k, v] of Object.entries(opts.extra ?? {})) {
      const dtype = v.data instanceof Float32Array ? '<f' : v.data instanceof Float64Array ? '<d' : '<i';
      f.create_dataset({ name: k, data: v.data, shape: v.shape, dtype });
    }
  } finally {
    f.close();
  }
}
