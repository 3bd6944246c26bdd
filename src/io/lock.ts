// Per-entry locks: a directory <kind>/<key>.lock/ made by mkdir (atomic) holding owner.json
// {host, pid, start, token}. Rules:
//  - a holder on this host whose process runs is never stale, however long it works;
//  - a holder on this host that is gone (or whose PID was reused) is stale at once;
//  - a holder on another host is stale after `staleMs` without a heartbeat (dir mtime, touched
//    from a thread: ./heartbeat.ts);
//  - release removes the lock only if its owner.json still carries our token.
// Stale locks are removed under a short takeover mutex (<lock>-takeover/), so two waiters can
// never both judge the same lock stale and one remove the lock the other just took.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { faultPoint } from './fault-point.ts';
import { beat, stopBeat } from './heartbeat.ts';
import { ownerState, self, type Owner } from './owner.ts';

export interface LockOwner extends Owner { token: string; since: string; what?: string }

/** Milliseconds without a heartbeat after which a lock held from another host counts as abandoned. */
export const lockStaleMs = () => Math.max(1000, Number(process.env.MILFLOW_LOCK_STALE_MS) || 30000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function readOwner(lockDir: string): LockOwner | null {
  try {
    return JSON.parse(readFileSync(`${lockDir}/owner.json`, 'utf8'));
  } catch {
    return null;
  }
}

function ageMs(path: string): number | null {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** Why a lock may be removed, or null while its holder may still be working. */
export function staleReason(lockDir: string, staleMs = lockStaleMs()): string | null {
  const age = ageMs(lockDir);
  if (age === null) return null; // gone meanwhile
  const o = readOwner(lockDir);
  if (!o) {
    // Made by mkdir but the owner file never written (killed in between), or a foreign format.
    return age > staleMs ? `no owner recorded and untouched for ${Math.round(age / 1000)} s` : null;
  }
  const st = ownerState(o);
  if (st === 'alive') return null;
  if (st === 'dead') return `holder pid ${o.pid} on this host is no longer running`;
  return age > staleMs ? `holder pid ${o.pid} on ${o.host}: no heartbeat for ${Math.round(age / 1000)} s` : null;
}

/** Removes lockDir if it is stale (under the takeover mutex). Returns the reason, or null. */
export function removeIfStale(lockDir: string, staleMs = lockStaleMs()): string | null {
  if (staleReason(lockDir, staleMs) === null) return null;
  const mutex = `${lockDir}-takeover`;
  try {
    mkdirSync(mutex);
  } catch (err: any) {
    if (err?.code !== 'EEXIST') throw err;
    // A takeover lasts milliseconds; one older than that was interrupted by a crash.
    const age = ageMs(mutex);
    if (age !== null && age > 10_000) rmSync(mutex, { recursive: true, force: true });
    return null;
  }
  try {
    const why = staleReason(lockDir, staleMs); // judged again: it may have been released and retaken
    if (why === null) return null;
    const trash = `${lockDir}-stale-${randomBytes(4).toString('hex')}`;
    try { renameSync(lockDir, trash); } catch { return null; }
    rmSync(trash, { recursive: true, force: true });
    return why;
  } finally {
    try { rmdirSync(mutex); } catch { /* removed by a waiter that judged us crashed */ }
  }
}

export interface HeldLock {
  dir: string;
  token: string;
  /** True while owner.json still names us (nobody judged us stale and took over). */
  stillOurs(): boolean;
  release(): Promise<void>;
}

/** One attempt to take lockDir. */
export function tryLock(lockDir: string, what?: string, staleMs = lockStaleMs()): HeldLock | null {
  if (existsSync(lockDir)) return null;
  // The lock appears with its owner already inside (a directory renamed into place), so no
  // crash can leave a lock that does not say whose it is.
  const token = randomBytes(8).toString('hex');
  const prep = `${lockDir}.${token}.new`;
  const owner: LockOwner = { ...self, token, since: new Date().toISOString(), what };
  mkdirSync(prep);
  try {
    writeFileSync(`${prep}/owner.json`, JSON.stringify(owner) + '\n');
    faultPoint('lock:prepared');
    renameSync(prep, lockDir);
  } catch (err: any) {
    rmSync(prep, { recursive: true, force: true });
    if (err?.code === 'ENOTEMPTY' || err?.code === 'EEXIST') return null;
    throw err;
  }
  beat(lockDir, staleMs);
  const stillOurs = () => readOwner(lockDir)?.token === token;
  return {
    dir: lockDir,
    token,
    stillOurs,
    async release() {
      faultPoint('lock:release');
      stopBeat(lockDir);
      if (!stillOurs()) {
        process.emitWarning(`cache lock ${lockDir} is no longer ours (taken over as stale); left to its new holder`);
        return;
      }
      const trash = `${lockDir}-released-${token}`;
      try { renameSync(lockDir, trash); } catch { return; }
      rmSync(trash, { recursive: true, force: true });
    },
  };
}

/** Waits for lockDir; `ready()` returning true ends the wait with null (another run finished). */
export async function acquire(
  lockDir: string,
  opts: { what?: string; signal?: AbortSignal; ready?: () => boolean; onWait?: (holder: LockOwner | null) => void; onStale?: (why: string) => void } = {},
): Promise<HeldLock | null> {
  let waited = false;
  for (;;) {
    if (opts.signal?.aborted) throw new Error('interrupted');
    const held = tryLock(lockDir, opts.what);
    if (held) return held;
    const why = removeIfStale(lockDir);
    if (why) { opts.onStale?.(why); continue; }
    if (opts.ready?.()) return null;
    if (!waited) { waited = true; opts.onWait?.(readOwner(lockDir)); }
    await sleep(250);
  }
}
