// What a crash leaves behind, and when it may be removed:
//  - temp dirs <root>/.tmp/<host>-<pid>-s<start>-<rand>: owner gone on this host (dead PID, or a
//    PID reused by another process), or no heartbeat for tempStaleMs when made on another host;
//  - lock dirs <kind>/<key>.lock: judged by ./lock.ts (dead holder at once, foreign by age), plus
//    the trash a crash can leave mid-takeover or mid-release;
//  - <kind>/<key>.old-*: a --force swap killed between its renames. The old entry is put back when
//    the new one is absent, otherwise dropped;
//  - atomic-write temp files (identities.json.<pid>.<hex>.tmp, .digests.json.<pid>.tmp) whose
//    writer is gone.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lockStaleMs, readOwner, removeIfStale, tryLock } from '../io/lock.ts';
import { ownerState, pidAlive, self, thisHost } from '../io/owner.ts';

export interface Cleaned { temps: string[]; locks: string[]; restored: string[]; files: string[] }

/** A temp dir made on another host is abandoned after this long without a heartbeat. */
export const tempStaleMs = () => Math.max(lockStaleMs() * 10, 60_000);

const age = (p: string) => { try { return Date.now() - statSync(p).mtimeMs; } catch { return -1; } };

export function cleanTemps(tmpRoot: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try { names = readdirSync(tmpRoot); } catch { return removed; }
  for (const name of names) {
    const m = /^(.*)-(\d+)-s(\d+)-[0-9a-f]+$/.exec(name) ?? /^(.*)-(\d+)-[0-9a-f]+$/.exec(name);
    const p = join(tmpRoot, name);
    let gone: boolean;
    if (!m) gone = age(p) > tempStaleMs();
    else {
      const owner = { host: m[1], pid: Number(m[2]), start: m.length > 3 && m[3] !== '0' ? m[3] : null };
      if (owner.host === self.host && owner.pid === self.pid && (owner.start === null || owner.start === self.start)) continue;
      const st = ownerState(owner);
      gone = st === 'dead' || (st === 'unknown' && age(p) > tempStaleMs());
    }
    if (!gone) continue;
    rmSync(p, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

export function cleanLocksAndSwaps(root: string): { locks: string[]; restored: string[] } {
  const locks: string[] = [];
  const restored: string[] = [];
  let kinds: string[];
  try { kinds = readdirSync(root); } catch { return { locks, restored }; }
  for (const kind of kinds) {
    if (kind.startsWith('.')) continue;
    const kdir = join(root, kind);
    let names: string[];
    try { names = readdirSync(kdir); } catch { continue; }
    for (const name of names) {
      const p = join(kdir, name);
      if (name.endsWith('.lock')) {
        if (removeIfStale(p)) locks.push(`${kind}/${name}`);
      } else if (/\.lock-(stale|released)-[0-9a-f]+$/.test(name) || (/\.lock-takeover$/.test(name) && age(p) > 10_000)) {
        rmSync(p, { recursive: true, force: true });
      } else if (/\.lock\.[0-9a-f]+\.new$/.test(name)) {
        // A lock being prepared: its owner file says whose; gone with its process.
        const o = readOwner(p);
        if (o ? ownerState(o) === 'dead' || (ownerState(o) === 'unknown' && age(p) > lockStaleMs()) : age(p) > lockStaleMs()) rmSync(p, { recursive: true, force: true });
      } else if (/^[0-9a-f]+\.old-[0-9a-f]+$/.test(name)) {
        const key = name.slice(0, name.indexOf('.old-'));
        // Under the entry's lock: a live --force run may be between its two renames.
        const held = tryLock(join(kdir, `${key}.lock`), `${kind}/${key} swap recovery`);
        if (!held) continue;
        try {
          const dest = join(kdir, key);
          if (!existsSync(join(dest, 'manifest.json')) && existsSync(join(p, 'manifest.json'))) {
            rmSync(dest, { recursive: true, force: true });
            renameSync(p, dest);
            restored.push(`${kind}/${key}`);
          } else rmSync(p, { recursive: true, force: true });
        } finally {
          void held.release();
        }
      }
    }
  }
  return { locks, restored };
}

/** Atomic-write temp files (<name>.<pid>[.<hex>].tmp) in dir whose writer process is gone. */
export function cleanTmpFiles(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try { names = readdirSync(dir); } catch { return removed; }
  for (const name of names) {
    const m = /\.(\d+)(?:\.[0-9a-f]+)?\.tmp$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const p = join(dir, name);
    // No host in these names: a live PID here may be a writer elsewhere on a shared disk, so also
    // require an hour without change before removing a file whose PID runs.
    if (pid === process.pid) continue;
    if (pidAlive(pid) && age(p) < 3_600_000) continue;
    rmSync(p, { force: true });
    removed.push(name);
  }
  return removed;
}

/** Everything above for a cache root and the experiment directories beside it. */
export function cleanLeftovers(cacheRoot: string, experimentDirs: string[] = []): Cleaned {
  const temps = cleanTemps(join(cacheRoot, '.tmp'));
  const { locks, restored } = cleanLocksAndSwaps(cacheRoot);
  const files = [cacheRoot, ...experimentDirs].flatMap((d) => cleanTmpFiles(d).map((f) => join(d, f)));
  return { temps, locks, restored, files };
}

export { thisHost };
