// One experiment name, one spec: runs/<name>/experiment.json records which spec file first ran
// under that name. A different spec file with different contents reusing the name would silently
// take over `status`, `report` and the identities of the first: refused with a clear error unless
// the run is given its own name (--name). Editing a spec in place (same path, new hash) is the
// normal workflow and stays allowed, as does running a byte-identical copy from elsewhere.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRecord, runDirs } from '../records/journal.ts';
import { UsageError } from '../errors.ts';

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Names that are directories of the output root itself. */
export const RESERVED_NAMES = new Set(['cache']);

export interface NameClaim { specPath: string; specHash: string; since: string }

export function checkRunName(name: string, flag = '--name'): void {
  if (!NAME_PATTERN.test(name) || RESERVED_NAMES.has(name)) {
    throw new UsageError(`${flag} '${name}' is not a usable experiment name (letters, digits, _ . -; not starting with . or -; not ${[...RESERVED_NAMES].join(', ')})`);
  }
}

/** Throws (exit 2) when `name` under `root` belongs to another spec; records the claim otherwise. */
export function claimName(root: string, name: string, spec: { path: string; hash: string }, viaFlag: boolean): void {
  const dir = join(root, name);
  const file = join(dir, 'experiment.json');
  let owner: NameClaim | undefined;
  if (existsSync(file)) {
    try { owner = JSON.parse(readFileSync(file, 'utf8')); } catch { owner = undefined; }
  } else {
    // Runs made before claims existed: the last run's record says which spec it was.
    const last = runDirs(root, name).pop();
    if (last) {
      try {
        const r = readRecord(last);
        if (r.specPath) owner = { specPath: r.specPath, specHash: r.specHash, since: r.started };
      } catch { /* unreadable record: nothing to compare with */ }
    }
  }
  if (owner && owner.specPath !== spec.path && owner.specHash !== spec.hash) {
    const how = viaFlag ? `choose another --name` : `give this run its own name with --name NEW_NAME, or change 'name:' in ${spec.path}`;
    throw new UsageError(
      `experiment name '${name}' is already used by another spec (${owner.specPath}, spec hash ${owner.specHash.slice(0, 12)}) in ${dir}; ` +
      `running ${spec.path} (spec hash ${spec.hash.slice(0, 12)}) there would mix their runs, status and report: ${how}`,
    );
  }
  // New claim, or the owner edited its spec (same path, new hash); an identical copy leaves it be.
  if (!owner || (owner.specPath === spec.path && owner.specHash !== spec.hash) || !existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ specPath: spec.path, specHash: spec.hash, since: new Date().toISOString() } satisfies NameClaim, null, 2) + '\n');
    renameSync(tmp, file);
  }
}
