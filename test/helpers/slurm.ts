// Starts (or reuses) the single-node Slurm of scripts/start-slurm.sh for integration tests.
// Skips only when Slurm cannot run here at all (not root / cannot be installed: exit 3 of the
// script), printing why; a cluster that should start but does not is a test failure.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/start-slurm.sh', import.meta.url));

export type SlurmHandle = { ok: true; startedHere: boolean; log: string } | { ok: false; reason: string };

/**
 * A cluster that already answers is used as it is (restarting it could kill someone's jobs).
 * Otherwise one is started with two placeholder GPUs (MILFLOW_SLURM_FAKE_GPUS) so that the
 * executor's --gres path is exercised on a CPU-only machine.
 */
export function ensureSlurm(): SlurmHandle {
  const status = spawnSync('bash', [script, 'status'], { encoding: 'utf8' });
  if (status.status === 0) return { ok: true, startedHere: false, log: status.stdout.trim() };
  const env = { ...process.env, MILFLOW_SLURM_FAKE_GPUS: process.env.MILFLOW_SLURM_FAKE_GPUS ?? '2' };
  const r = spawnSync('bash', [script, 'start'], { encoding: 'utf8', timeout: 10 * 60_000, env });
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status === 3) return { ok: false, reason: log.split('\n').filter((l) => /error|missing/.test(l)).join('; ') || log };
  if (r.status !== 0) throw new Error(`scripts/start-slurm.sh failed (exit ${r.status ?? r.signal}):\n${log}`);
  return { ok: true, startedHere: true, log };
}

/** Stops the daemons if this process started them (a cluster found running is left alone). */
export function releaseSlurm(h: SlurmHandle): void {
  if (h.ok && h.startedHere && !process.env.MILFLOW_KEEP_SLURM) spawnSync('bash', [script, 'stop'], { stdio: 'ignore' });
}

export function skipReason(h: SlurmHandle): string | undefined {
  if (h.ok) return undefined;
  const why = `Slurm unavailable: ${h.reason}`;
  console.log(`skipped: ${why}`);
  return why;
}

/** GPUs (gres gpu) the test node offers: 0 when it was started without (real or placeholder) GPUs. */
export function nodeGpus(): number {
  const r = spawnSync('sinfo', ['-h', '-N', '-n', 'localhost', '-o', '%G'], { encoding: 'utf8' });
  const m = /gpu(?::[^:(,]+)?:(\d+)/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : 0;
}
