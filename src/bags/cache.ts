// Where a dataset's packed feature store lives: <cache>/.bags/<dataset key>/, next to the dataset
// stage's cache entry and keyed like it, so it is written once per dataset (by the first stage
// that reads its bags, under a lock; the others wait for it) and shared by every later stage and
// every worker on the machine. Not a stage output: the dataset stage's contract stays its four
// files, and a store can always be rebuilt from them.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { acquire } from '../io/lock.ts';
import { packBags } from './pack.ts';
import { STORE_INDEX } from './store.ts';

/** The store directory of a dataset cache entry, or undefined when `dir` is not one (hand-made test layouts). */
export function storeDirOf(dataset: { dir: string; key: string }): string | undefined {
  if (basename(dataset.dir) !== dataset.key || !existsSync(join(dataset.dir, 'manifest.json'))) return undefined;
  return join(dirname(dirname(dataset.dir)), '.bags', dataset.key);
}

export interface EnsureStoreOptions {
  onProgress?(done: number, total: number, gb: number): void;
  onWait?(): void;
  signal?: AbortSignal;
}

/**
 * The packed store of a dataset cache entry, packed now if no stage has yet. undefined when the
 * dataset is not a cache entry (its bags are then read from HDF5).
 */
export async function ensureStore(dataset: { dir: string; key: string }, bags: () => { slide_id: string; path: string }[], opts: EnsureStoreOptions = {}): Promise<string | undefined> {
  const dir = storeDirOf(dataset);
  if (!dir) return undefined;
  if (existsSync(join(dir, STORE_INDEX))) return dir;
  mkdirSync(dirname(dir), { recursive: true });
  const ready = () => existsSync(join(dir, STORE_INDEX));
  const held = await acquire(`${dir}.lock`, { what: `feature store ${dataset.key}`, signal: opts.signal, ready, onWait: () => opts.onWait?.() });
  if (!held) return dir;
  try {
    if (ready()) return dir;
    // Under the lock, any earlier partial store is a crashed packer's: removed.
    for (const f of readdirSync(dirname(dir))) if (f.startsWith(`${basename(dir)}.tmp-`)) rmSync(join(dirname(dir), f), { recursive: true, force: true });
    const tmp = `${dir}.tmp-${process.pid}`;
    mkdirSync(tmp, { recursive: true });
    await packBags(tmp, bags(), opts.onProgress);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return dir;
  } finally {
    await held.release();
  }
}
