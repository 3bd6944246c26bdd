// Who owns a lock or a temp directory, and whether that owner still runs. On this host a live
// PID is decisive (a busy holder is never judged stale by age); the process start time guards
// against a PID reused by an unrelated process after a crash. Other hosts are judged by age of
// the heartbeat alone, since their PIDs cannot be probed from here.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export const thisHost = hostname();

/** Start time of a process in clock ticks since boot (Linux /proc), or null where unknown. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the command name (field 2) may contain spaces and parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

export const selfStart = processStart(process.pid);

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: any) {
    return err?.code === 'EPERM';
  }
}

export interface Owner { host: string; pid: number; start: string | null }

export const self: Owner = { host: thisHost, pid: process.pid, start: selfStart };

/**
 * 'alive' | 'dead' for an owner on this host; 'unknown' for another host (judge by heartbeat age).
 */
export function ownerState(o: Owner): 'alive' | 'dead' | 'unknown' {
  if (o.host !== thisHost) return 'unknown';
  if (!Number.isInteger(o.pid) || o.pid <= 0 || !pidAlive(o.pid)) return 'dead';
  // Same PID, different start time: the owner died and the PID was reused.
  if (o.start && selfStartKnown()) {
    const now = processStart(o.pid);
    if (now !== null && now !== o.start) return 'dead';
  }
  return 'alive';
}

const selfStartKnown = () => selfStart !== null;
