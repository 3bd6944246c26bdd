// Thin wrappers over the Slurm client commands (sbatch, squeue, scontrol, sacct, scancel).
// Each returns parsed data or throws an Error that quotes the command and its stderr, so a
// misconfigured cluster reads as such instead of as a stage failure.
import { execFile } from 'node:child_process';

export interface CmdResult { code: number; stdout: string; stderr: string }

export function runCmd(cmd: string, args: string[], timeoutMs = 30_000): Promise<CmdResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      let code = 0;
      if (e) code = typeof e.code === 'number' ? e.code : e.code === 'ENOENT' ? 127 : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (e && typeof e.code === 'string' ? e.message : '')) });
    });
  });
}

function fail(cmd: string, args: string[], r: CmdResult): never {
  const why = r.code === 127 ? 'command not found (is slurm-wlm installed? scripts/setup-slurm.sh)' : (r.stderr || r.stdout).trim();
  throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${why}`);
}

/** Submits a batch script; returns the job id. */
export async function sbatch(args: string[], scriptPath: string): Promise<string> {
  const full = ['--parsable', ...args, scriptPath];
  const r = await runCmd('sbatch', full);
  if (r.code !== 0) {
    if (/node configuration is not available|Invalid generic resource|gres/i.test(r.stderr)) {
      r.stderr = `${r.stderr.trim()} — no node offers what resources.slurm asks for (mem, cpus_per_task, gres); compare with: sinfo -N -o '%N %c %m %G'`;
    } else if (/invalid partition/i.test(r.stderr)) {
      r.stderr = `${r.stderr.trim()} — resources.slurm.partition; partitions here: sinfo -s`;
    }
    // The script records the full sbatch command line (see jobScript); the message gives the reason.
    const why = r.code === 127 ? 'command not found (is slurm-wlm installed? scripts/setup-slurm.sh)' : r.stderr.trim().split('\n').map((l) => l.replace(/^sbatch: error: /, '')).join('; ');
    throw new Error(`sbatch ${scriptPath} failed: ${why}`);
  }
  // --parsable prints "jobid" or "jobid;cluster".
  const id = r.stdout.trim().split(';')[0];
  if (!/^\d+$/.test(id)) throw new Error(`sbatch printed no job id: '${r.stdout.trim()}'`);
  return id;
}

/** Job states Slurm reports once a job will not run any more. */
export const TERMINAL_STATES = new Set([
  'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED',
  'BOOT_FAIL', 'DEADLINE', 'REVOKED', 'SPECIAL_EXIT',
]);

/**
 * The job's state from squeue (`--states=all` keeps finished jobs for MinJobAge).
 * `undefined` when the controller no longer knows the job (aged out); throws when squeue itself fails.
 */
export async function squeueState(jobId: string): Promise<string | undefined> {
  const args = ['-h', '-j', jobId, '--states=all', '-o', '%T'];
  const r = await runCmd('squeue', args);
  if (r.code !== 0) {
    if (/Invalid job id/i.test(r.stderr)) return undefined;
    fail('squeue', args, r);
  }
  const st = r.stdout.trim().split('\n')[0]?.trim();
  return st ? st.replace(/\+$/, '') : undefined;
}

/** Exit code and state from `scontrol show job` (works while the controller remembers the job). */
export async function scontrolJob(jobId: string): Promise<{ state?: string; exitCode?: number; signal?: number; reason?: string; nodes?: string; submitTime?: string; startTime?: string } | undefined> {
  const r = await runCmd('scontrol', ['show', 'job', '-o', jobId]);
  if (r.code !== 0) return undefined;
  const fields = new Map<string, string>();
  for (const tok of r.stdout.trim().split(/\s+/)) {
    const i = tok.indexOf('=');
    if (i > 0) fields.set(tok.slice(0, i), tok.slice(i + 1));
  }
  const ec = fields.get('ExitCode')?.split(':');
  return {
    state: fields.get('JobState'),
    exitCode: ec ? Number(ec[0]) : undefined,
    signal: ec && ec[1] !== undefined ? Number(ec[1]) : undefined,
    reason: fields.get('Reason'),
    nodes: fields.get('NodeList'),
    submitTime: fields.get('SubmitTime'),
    startTime: fields.get('StartTime'),
  };
}

/** State and exit code from accounting; `undefined` when accounting is disabled or has no record. */
export async function sacctJob(jobId: string): Promise<{ state: string; exitCode: number } | undefined> {
  const r = await runCmd('sacct', ['-n', '-P', '-X', '-j', jobId, '-o', 'State,ExitCode']);
  if (r.code !== 0) return undefined; // e.g. "Slurm accounting storage is disabled"
  const line = r.stdout.trim().split('\n')[0];
  if (!line) return undefined;
  const [state, ec] = line.split('|');
  return { state: state.split(' ')[0].replace(/\+$/, ''), exitCode: Number((ec ?? '0').split(':')[0]) };
}

export async function scancel(jobId: string): Promise<void> {
  const r = await runCmd('scancel', [jobId]);
  if (r.code !== 0 && !/already completing or completed|Invalid job id/i.test(r.stderr)) fail('scancel', [jobId], r);
}

/** Whether a controller answers: the Slurm executor's precondition. */
export async function slurmReachable(): Promise<{ ok: boolean; reason?: string }> {
  const r = await runCmd('scontrol', ['ping'], 10_000);
  if (r.code === 127) return { ok: false, reason: 'scontrol not found (install slurm-wlm: scripts/setup-slurm.sh)' };
  if (r.code !== 0 || !/is UP/.test(r.stdout)) {
    return { ok: false, reason: `no Slurm controller answers 'scontrol ping' (${(r.stderr || r.stdout).trim() || 'exit ' + r.code}); start one with scripts/start-slurm.sh` };
  }
  return { ok: true };
}

/**
 * Job states for many concurrent jobs with one `squeue` call per interval: every waiting stage
 * asks for its own job, the answers come from a shared query no older than `maxAgeMs`, so a run
 * with a hundred queued jobs costs the controller one RPC per poll, not a hundred.
 */
export class SqueueWatcher {
  private states = new Map<string, string | undefined>();
  private fetchedAt = 0;
  private inflight: Promise<void> | undefined;
  private watched = new Set<string>();
  constructor(private maxAgeMs = 1000) {}

  watch(jobId: string): void { this.watched.add(jobId); this.fetchedAt = 0; }
  unwatch(jobId: string): void { this.watched.delete(jobId); this.states.delete(jobId); }

  async state(jobId: string): Promise<string | undefined> {
    if (!this.watched.has(jobId)) this.watch(jobId);
    // A query already in flight may have been started before this job was watched: then ask again.
    for (let i = 0; i < 3 && (Date.now() - this.fetchedAt > this.maxAgeMs || !this.states.has(jobId)); i++) {
      this.inflight ??= this.fetch().finally(() => { this.inflight = undefined; });
      await this.inflight;
    }
    return this.states.get(jobId);
  }

  private async fetch(): Promise<void> {
    const ids = [...this.watched];
    if (ids.length === 0) return;
    const args = ['-h', '--states=all', '-j', ids.join(','), '-o', '%i %T'];
    const r = await runCmd('squeue', args);
    if (r.code !== 0 && !/Invalid job id/i.test(r.stderr)) fail('squeue', args, r);
    const seen = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const [id, st] = line.trim().split(/\s+/);
      if (id && st) seen.set(id, st.replace(/\+$/, ''));
    }
    for (const id of ids) this.states.set(id, seen.get(id));
    this.fetchedAt = Date.now();
  }
}
