// Starts (or reuses) the single-node Slurm of scripts/start-slurm.sh for integration tests.
// Skips only when Slurm cannot run here at all (not root / cannot be installed: exit 3 of the
// script), printing why; a cluster that should start but does not is a test failure.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/start-slurm.sh', import.meta.url));

export type SlurmHandle = { ok: true; startedHere: boolean; log: string } | { ok: false; reason: string };

export function ensureSlurm(): SlurmHandle {
  const status = spawnSync('bash', [script, 'status'], { encoding: 'utf8' });
  const wasUp = status.status === 0;
  const r = spawnSync('bash', [script, 'start'], { encoding: 'utf8', timeout: 10 * 60_000 });
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status === 3) return { ok: false, reason: log.split('\n').filter((l) => /error|missing/.test(l)).join('; ') || log };
  if (r.status !== 0) throw new Error(`scripts/start-slurm.sh failed (exit ${r.status ?? r.signal}):\n${log}`);
  return { ok: true, startedHere: !wasUp, log };
}

/** Stops the daemons if this process started them (a cluster found running is left alone). */
export function releaseSlurm(h: SlurmHandle): void {
  if (h.ok && h.startedHere && !process.env.MILFLOW_KEEP_SLURM) spawnSync('bash', [script, 'stop'], { stdio: 'ignore' });
}

export function skipReason(h: SlurmHandle): string | undefined {
  if (h.ok) return undefined;
  const why = `Slurm unavailable: ${h.reason}`;
  console.log(`# skipped: ${why}`);
  return why;
}
