// Per-fold checkpoints in a directory, as CLAM's main.py leaves them (s_<fold>_checkpoint.pt) or
// as milflow names them (s_<fold>_checkpoint.safetensors). File names only: `validate` uses it.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface FoldCheckpoint {
  fold: number;
  path: string;
}

/** s_<k>_checkpoint.{pt,safetensors} in a directory, by fold. */
export function findFoldCheckpoints(dir: string): FoldCheckpoint[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`${dir}: cannot read the checkpoints directory (${(e as Error).message})`);
  }
  const byFold = new Map<number, string>();
  for (const n of names) {
    const m = /^s_(\d+)_checkpoint\.(pt|pth|safetensors)$/.exec(n);
    if (!m) continue;
    const k = Number(m[1]);
    if (byFold.has(k)) throw new Error(`${dir}: two checkpoints for fold ${k} (${byFold.get(k)} and ${n}); keep one`);
    byFold.set(k, n);
  }
  if (byFold.size === 0) {
    throw new Error(`${dir}: no fold checkpoints (expected s_<fold>_checkpoint.pt as CLAM's main.py writes, or s_<fold>_checkpoint.safetensors)`);
  }
  return [...byFold].sort((a, b) => a[0] - b[0]).map(([fold, n]) => ({ fold, path: join(dir, n) }));
}

