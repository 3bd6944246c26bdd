// Packing HDF5 bags into the dataset's feature store, one bag in memory at a time. Input checks
// (non-finite values, mixed dimensions) run here once per dataset; a failing bag is recorded in
// the index with its reason, and any stage that asks for it gets that reason naming the slide.
import { checkBag } from '../models/index.ts';
import { StoreWriter, type StoreIndex } from './store.ts';

export function bagProblem(features: Float32Array, n: number, dim: number, expectedDim = dim): string | undefined {
  try {
    checkBag(features, n, dim, expectedDim, '');
    return undefined;
  } catch (e) {
    return (e as Error).message.replace(/^: /, '');
  }
}

export async function packBags(dir: string, bags: { slide_id: string; path: string }[], onProgress?: (done: number, total: number, gb: number) => void): Promise<StoreIndex> {
  const { readBag } = await import('../io/h5.ts');
  const store = new StoreWriter(dir);
  let dim = -1, bytes = 0;
  for (let i = 0; i < bags.length; i++) {
    const { slide_id, path } = bags[i];
    const b = await readBag(path);
    if (dim < 0) dim = b.dim;
    const problem = bagProblem(b.features, b.n, b.dim, dim);
    store.add(slide_id, b.features, b.n, b.dim, problem && `${problem} (${path})`);
    bytes += b.n * b.dim * 4;
    onProgress?.(i + 1, bags.length, bytes / 2 ** 30);
  }
  return store.finish();
}
