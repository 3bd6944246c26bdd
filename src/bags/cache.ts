// Where a dataset's packed feature store lives: <cache>/.bags/<dataset key>/, next to the dataset
// stage's cache entry and keyed like it, so it is written once per dataset (by the first stage
// that reads its bags, under a lock; the others wait for it) and shared by every later stage and
// every worker on the machine. Not a stage output: the dataset stage's contract stays its four
// files, and a store can always be rebuilt from them.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { packBags } from './pack.ts';
import { STORE_INDEX } from './store.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  let waited = false;
  for (;;) {
    if (opts.signal?.aborted) throw new Error('interrupted');
    let release: (() => Promise<void>) | undefined;
    try {
      release = await lockfile.lock(dirname(dir), {
        lockfilePath: `${dir}.lock`, realpath: false, stale: 60000, retries: 0,
        onCompromised: (err) => process.emitWarning(`feature store lock ${dir}.lock compromised: ${err.message}`),
      });
    } catch (err: any) {
      if (err?.code !== 'ELOCKED') throw err;
    }
    if (release) {
      try {
        if (existsSync(join(dir, STORE_INDEX))) return dir;
        const tmp = `${dir}.tmp-${process.pid}`;
        rmSync(tmp, { recursive: true, force: true });
        mkdirSync(tmp, { recursive: true });
        await packBags(tmp, bags(), opts.onProgress);
        rmSync(dir, { recursive: true, force: true });
        renameSync(tmp, dir);
        return dir;
      } finally {
        try { await release(); } catch { /* already released */ }
      }
    }
    if (existsSync(join(dir, STORE_INDEX))) return dir;
    if (!waited) { waited = true; opts.onWait?.(); }
    await sleep(500);
  }
}
