// Whole-file writes that a reader never sees half done: write a temp file beside the target
// (same file system), then rename over it. A crash leaves the old file or the new one, plus at
// worst a `<name>.<pid>.<random>.tmp` beside it. The temp name is unique per writer, so two
// processes replacing one file (identities.json, the digest memo) never share a temp file.
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { faultPoint } from './fault-point.ts';

const tempName = (path: string) => `${path}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`;

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, data);
    faultPoint('write:json');
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export async function writeFileAtomicAsync(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** JSON, one trailing newline; `indent` for files people read. */
export function writeJsonAtomic(path: string, value: unknown, indent?: number): void {
  writeFileAtomic(path, JSON.stringify(value, null, indent) + '\n');
}
