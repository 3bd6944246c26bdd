// Shape of a CLAM feature file's `features` ([N, E]) without reading the features: listing a
// cohort of thousands of slides must not load gigabytes. .h5 (h5_files/) or .pt (pt_files/).
import h5wasm from 'h5wasm/node';
import { ptFeatureShape } from '../io/torch.ts';
import { hdf5Problem } from '../io/h5-sniff.ts';

let ready: Promise<unknown> | null = null;

export async function featureShape(path: string): Promise<[number, number]> {
  if (/\.pt$/i.test(path)) return ptFeatureShape(path);
  const bad = hdf5Problem(path);
  if (bad) throw new Error(bad);
  ready ??= h5wasm.ready;
  await ready;
  let f: InstanceType<typeof h5wasm.File>;
  try {
    f = new h5wasm.File(path, 'r');
  } catch (e) {
    throw new Error(`cannot open as HDF5 (${(e as Error).message})`);
  }
  try {
    const keys = f.keys();
    if (!keys.includes('features')) throw new Error(`no 'features' dataset (found: ${keys.join(', ') || 'nothing'})`);
    const shape = (f.get('features') as unknown as { shape: number[] }).shape;
    if (!shape || shape.length !== 2) throw new Error(`'features' must be 2-D [N, E], got shape [${(shape ?? []).join(', ')}]`);
    return [shape[0], shape[1]];
  } finally {
    f.close();
  }
}
