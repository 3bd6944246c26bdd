// Slurm executor: runs heavy stages as `sbatch` jobs and waits for them. A job runs the same
// stage harness as a local worker (src/exec/harness.ts, through slurm-worker.ts: the job arrives
// as a JSON file instead of over IPC) and writes into the same temp dir under the cache, which the
// scheduler publishes atomically after success; only the process launcher differs. Job state comes
// from squeue (finished jobs stay listed for MinJobAge), the exit code from a status file the job
// script writes (accounting may be disabled on small clusters), sacct/scontrol as fallbacks. The
// job's stdout is followed while it runs, so the worker's progress and metrics reach the terminal.
// On a multi-node cluster the output root and this checkout must be on a shared file system at
// the same paths (the job script calls this node binary, tsx and worker by absolute path).
import { mkdirSync, writeFileSync, readFileSync, existsSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { Resources } from '../spec/types.gen.ts';
import type { DeviceSlot, StageResult } from '../types/stage.ts';
import type { StageJob, WorkerMessage } from './harness.ts';
import type { Runner, RunnerContext } from './runner.ts';
import { runCmd, sbatch, scontrolJob, sacctJob, scancel, slurmReachable, SqueueWatcher, TERMINAL_STATES } from './slurm-cli.ts';

export type SlurmOptions = NonNullable<Resources['slurm']>;

/** Schema defaults (schemas/experiment.schema.json Resources.slurm), applied when a spec was not defaulted. */
export const SLURM_DEFAULTS = { time: '04:00:00', mem: '16G', cpus_per_task: 2, poll_seconds: 5 } as const;

export interface SlurmJobSpec {
  /** Stage identity: the job name, so `squeue` shows what runs. */
  stageId: string;
  attempt?: number;
  /** The worker command; argv[0] must be an absolute path valid on the compute node. */
  argv: string[];
  /** Environment set in the job script (on top of what sbatch exports from this process). */
  env?: Record<string, string>;
  /** Working directory of the job. */
  cwd: string;
  /** Directory for the job script, its stdout/stderr and status file (the run dir's slurm/). */
  logDir: string;
  options?: SlurmOptions;
  signal?: AbortSignal;
  /** Called with each complete line the job writes to stdout/stderr, as it appears. */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Called with the job id right after submission and on every state change. */
  onState?: (jobId: string, state: string) => void;
  /** Shared squeue poller of concurrent jobs (one is made per job otherwise). */
  watcher?: SqueueWatcher;
  /** sbatch --comment: milflow tags jobs with the stage key and the submitting process. */
  comment?: string;
}

export interface SlurmJobResult {
  jobId: string;
  /** Final Slurm state: COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, ... */
  state: string;
  /** The worker's exit code (from the status file, else sacct/scontrol); null if unknown. */
  exitCode: number | null;
  /** Where the exit code came from. */
  source: 'status-file' | 'sacct' | 'scontrol' | 'none';
  ok: boolean;
  stdoutPath: string;
  stderrPath: string;
  scriptPath: string;
  statusPath: string;
  /** Wall seconds from submission to the final state, and time spent pending in the queue. */
  seconds: number;
  queuedSeconds: number;
  host?: string;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A file-name-safe form of a stage identity. */
export function jobFileStem(stageId: string, attempt = 1): string {
  return `${stageId.replace(/[^A-Za-z0-9._=-]+/g, '_')}.a${attempt}`;
}

/** sbatch arguments for a stage: the spec's resources.slurm plus job name and log paths. */
export function sbatchArgs(stageId: string, opts: SlurmOptions, paths: { stdout: string; stderr: string; cwd: string }): string[] {
  const o = { ...SLURM_DEFAULTS, ...opts };
  const args = [
    `--job-name=${stageId}`,
    `--output=${paths.stdout}`,
    `--error=${paths.stderr}`,
    `--chdir=${paths.cwd}`,
    `--time=${o.time}`,
    `--mem=${o.mem}`,
    `--cpus-per-task=${o.cpus_per_task}`,
    '--ntasks=1',
    '--nodes=1',
    // A failed stage is milflow's to retry (resources.retries), not Slurm's to requeue.
    '--no-requeue',
  ];
  if (o.partition) args.push(`--partition=${o.partition}`);
  if (o.gres) args.push(`--gres=${o.gres}`);
  return args;
}

/**
 * The batch script: run the worker, then record its exit code atomically in the status file.
 * `statusPath` contains `%j`, replaced by the job id when the job runs.
 */
export function jobScript(spec: SlurmJobSpec, statusPath: string, sbatchArgv: string[] = []): string {
  const env = Object.entries(spec.env ?? {})
    .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .map(([k, v]) => `export ${k}=${q(v)}`);
  // The status path carries the job id (%j), so a rerun can never read an earlier job's status.
  const [pre, post] = statusPath.split('%j');
  const path = (suffix: string) => `${q(pre)}"\${SLURM_JOB_ID:-nojob}"${q(post + suffix)}`;
  const status = (code: string) =>
    `printf '{"exit":%d,"job":"%s","host":"%s","finished":"%s"}\\n' ${code} "\${SLURM_JOB_ID:-}" "$(hostname)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > ${path('.tmp')} && mv -f ${path('.tmp')} ${path('')}`;
  return [
    '#!/bin/bash',
    `# milflow stage ${spec.stageId} (attempt ${spec.attempt ?? 1}), submitted from ${hostname()} at ${new Date().toISOString()}`,
    ...(sbatchArgv.length ? [`# submitted as: sbatch ${sbatchArgv.map(q).join(' ')} <this file>`] : []),
    ...env,
    `cd ${q(spec.cwd)} || { ${status('126')}; exit 126; }`,
    'echo "milflow: slurm job ${SLURM_JOB_ID:-?} on $(hostname), cpus ${SLURM_CPUS_PER_TASK:-?}" >&2',
    spec.argv.map(q).join(' '),
    'rc=$?',
    status('"$rc"'),
    'exit $rc',
    '',
  ].join('\n');
}

/** Follows a growing log file, emitting complete lines. */
class LineTail {
  private offset = 0;
  private rest = '';
  // A read may end inside a multi-byte character: the decoder keeps the partial bytes.
  private decoder = new StringDecoder('utf8');
  constructor(private path: string, private emit: (line: string) => void) {}
  poll(final = false): void {
    if (!existsSync(this.path)) return;
    const fd = openSync(this.path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > this.offset) {
        const buf = Buffer.alloc(size - this.offset);
        readSync(fd, buf, 0, buf.length, this.offset);
        this.offset = size;
        const lines = (this.rest + this.decoder.write(buf)).split('\n');
        this.rest = lines.pop() ?? '';
        for (const l of lines) this.emit(l);
      }
    } finally {
      closeSync(fd);
    }
    if (final && this.rest) { this.emit(this.rest); this.rest = ''; }
  }
}

// Jobs this process submitted and still waits for. If the process exits before they end (a second
// Ctrl-C exits at once, an uncaught error), they are cancelled on the way out: nobody would publish
// their outputs, and they would hold the cluster's resources for nothing. (A SIGKILLed orchestrator
// cannot do this; its jobs then fail harmlessly writing to a temp dir the next run cleans.)
const inflight = new Set<string>();
let exitHook = false;
function track(jobId: string): void {
  inflight.add(jobId);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    if (inflight.size) spawnSync('scancel', [...inflight], { stdio: 'ignore', timeout: 10_000 });
  });
}

// One `scontrol ping` per half minute, not one per job: a run may submit hundreds.
let reachableAt = 0;
async function ensureReachable(): Promise<void> {
  if (Date.now() - reachableAt < 30_000) return;
  const reach = await slurmReachable();
  if (!reach.ok) throw new Error(`resources.executor is slurm but ${reach.reason}`);
  reachableAt = Date.now();
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); signal?.removeEventListener('abort', done); resolve(); }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function readStatus(path: string): { exit: number; host?: string } | undefined {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8'));
    return typeof s.exit === 'number' ? s : undefined;
  } catch {
    return undefined;
  }
}

function tail(path: string, n = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/**
 * Submits the stage's worker as a Slurm job and resolves when it has finished (any final state).
 * Rejects with an AbortError after `scancel` when `signal` aborts, and with a plain Error when Slurm
 * itself fails (no controller, sbatch rejected the request).
 */
export async function runSlurmJob(spec: SlurmJobSpec): Promise<SlurmJobResult> {
  const opts = { ...SLURM_DEFAULTS, ...spec.options };
  await ensureReachable();
  mkdirSync(spec.logDir, { recursive: true });
  const stem = jobFileStem(spec.stageId, spec.attempt);
  const scriptPath = join(spec.logDir, `${stem}.sbatch`);
  const statusTpl = join(spec.logDir, `${stem}.%j.status.json`);
  // %j: Slurm puts the job id in the log names, so every attempt's logs are kept and traceable.
  const stdoutTpl = join(spec.logDir, `${stem}.%j.out`);
  const stderrTpl = join(spec.logDir, `${stem}.%j.err`);
  const args = sbatchArgs(spec.stageId, opts, { stdout: stdoutTpl, stderr: stderrTpl, cwd: spec.cwd });
  if (spec.comment) args.push(`--comment=${spec.comment}`);
  writeFileSync(scriptPath, jobScript(spec, statusTpl, args), { mode: 0o755 });

  const submitted = Date.now();
  const jobId = await sbatch(args, scriptPath);
  const stdoutPath = stdoutTpl.replace('%j', jobId);
  const stderrPath = stderrTpl.replace('%j', jobId);
  const statusPath = statusTpl.replace('%j', jobId);
  track(jobId);
  spec.onState?.(jobId, 'SUBMITTED');

  const outTail = new LineTail(stdoutPath, (l) => spec.onLine?.('stdout', l));
  const errTail = new LineTail(stderrPath, (l) => spec.onLine?.('stderr', l));
  const pollMs = Math.max(100, opts.poll_seconds * 1000);
  let state = 'PENDING';
  let startedAt: number | undefined;
  let cancelled = false;
  let cancelDeadline = 0;
  let unknownSince: number | undefined;
  let seen = false;
  // Answers may be up to half a poll old: concurrent jobs share one squeue call.
  const watcher = spec.watcher ?? new SqueueWatcher(pollMs / 2);
  watcher.watch(jobId);

  for (;;) {
    if (spec.signal?.aborted && !cancelled) {
      cancelled = true;
      cancelDeadline = Date.now() + 60_000;
      await scancel(jobId);
    }
    let s: string | undefined;
    try {
      s = await watcher.state(jobId);
      unknownSince = undefined;
    } catch (err) {
      // A controller hiccup is not a job failure: keep polling for a while.
      unknownSince ??= Date.now();
      if (Date.now() - unknownSince > 5 * 60_000) throw err;
      if (cancelled && Date.now() > cancelDeadline) break;
      await sleep(pollMs, cancelled ? undefined : spec.signal);
      continue;
    }
    if (s === undefined) {
      // Not listed: finished and aged out of the controller (MinJobAge) between polls, when its
      // status file says so; else, shortly after submission, merely not listed yet (a controller
      // restart, a query racing the submission); else gone without a trace (sacct may know).
      const st = readStatus(statusPath);
      if (st) state = st.exit === 0 ? 'COMPLETED' : 'FAILED';
      else if (!seen && Date.now() - submitted < 30_000) s = state;
      else state = 'UNKNOWN';
    } else if (s !== state || !seen) {
      state = s;
      seen = true;
      if (state === 'RUNNING' && startedAt === undefined) startedAt = Date.now();
      spec.onState?.(jobId, state);
    }
    outTail.poll();
    errTail.poll();
    if (s === undefined || TERMINAL_STATES.has(state)) break;
    if (cancelled && Date.now() > cancelDeadline) break;
    await sleep(cancelled ? 200 : pollMs, cancelled ? undefined : spec.signal);
  }

  watcher.unwatch(jobId);
  inflight.delete(jobId);
  // The status file is written by the job on the compute node; allow a shared file system a moment.
  let status = readStatus(statusPath);
  for (let i = 0; !status && !cancelled && state === 'COMPLETED' && i < 20; i++) {
    await sleep(250);
    status = readStatus(statusPath);
  }
  outTail.poll(true);
  errTail.poll(true);

  let exitCode: number | null = null;
  let source: SlurmJobResult['source'] = 'none';
  if (status) {
    exitCode = status.exit;
    source = 'status-file';
  } else {
    const acct = await sacctJob(jobId);
    if (acct) {
      exitCode = acct.exitCode;
      source = 'sacct';
      if (state === 'UNKNOWN') state = acct.state;
    } else {
      const sc = await scontrolJob(jobId);
      if (sc?.exitCode !== undefined) {
        exitCode = sc.exitCode;
        source = 'scontrol';
        if (sc.state && state === 'UNKNOWN') state = sc.state;
      }
    }
  }
  const finished = Date.now();
  let queuedSeconds = ((startedAt ?? finished) - submitted) / 1000;
  if (startedAt === undefined && !cancelled) {
    // Ran between two polls: the controller knows when it started (1 s resolution, local time).
    const sc = await scontrolJob(jobId);
    const sub = Date.parse(sc?.submitTime ?? '');
    const start = Date.parse(sc?.startTime ?? '');
    if (Number.isFinite(sub) && Number.isFinite(start) && start >= sub) queuedSeconds = Math.min(queuedSeconds, (start - sub) / 1000);
  }
  const result: SlurmJobResult = {
    jobId,
    state,
    exitCode,
    source,
    ok: !cancelled && state === 'COMPLETED' && exitCode === 0,
    stdoutPath,
    stderrPath,
    scriptPath,
    statusPath,
    seconds: (finished - submitted) / 1000,
    queuedSeconds,
    host: status?.host,
  };
  if (cancelled) {
    const e = new Error(`slurm job ${jobId} (${spec.stageId}) cancelled`);
    e.name = 'AbortError';
    throw e;
  }
  return result;
}

/** One-paragraph explanation of a failed job, quoting the end of its stderr. */
export function describeSlurmFailure(stageId: string, r: SlurmJobResult): string {
  const what =
    r.state === 'TIMEOUT' ? 'hit its time limit (resources.slurm.time)'
    : r.state === 'OUT_OF_MEMORY' ? 'ran out of memory (resources.slurm.mem)'
    : r.state === 'CANCELLED' ? 'was cancelled outside milflow'
    : r.exitCode !== null ? `exited with code ${r.exitCode}`
    : `ended in state ${r.state} without an exit status`;
  const err = tail(r.stderrPath, 15);
  return `${stageId}: slurm job ${r.jobId} ${what} (state ${r.state}; logs ${r.stdoutPath}, ${r.stderrPath})${err ? `\n${err}` : ''}`;
}

// ---- a stage as a Slurm job ------------------------------------------------------------------

const WORKER = fileURLToPath(new URL('./slurm-worker.ts', import.meta.url));
/** Marks worker messages in the job's stdout (kept in sync with slurm-worker.ts, not imported: that module runs on import). */
const MESSAGE_PREFIX = '@@milflow ';

function tsxLoader(): string {
  // Absolute, so the job can start from any working directory.
  try { return import.meta.resolve('tsx'); } catch { return 'tsx'; }
}

/** host/pid of this orchestrator, as tagged on its jobs. */
const ownerTag = () => `${hostname()}/${process.pid}`;

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err: any) { return err?.code === 'EPERM'; }
}

/**
 * Cancels jobs computing this stage key for a milflow run on this host that no longer exists
 * (killed with SIGKILL, machine reset): nobody would publish their output, and they would hold
 * the cluster's resources while this run computes the stage again. Jobs of live runs, and of runs
 * on other hosts (whose liveness cannot be checked from here), are left alone.
 */
async function cancelOrphans(key: string): Promise<string[]> {
  const r = await runCmd('squeue', ['-h', '--me', '-t', 'PENDING,RUNNING,CONFIGURING', '-o', '%i|%k']);
  if (r.code !== 0) return [];
  const host = hostname();
  const out: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const [id, comment] = line.trim().split('|');
    const m = /^milflow key=(\S+) run=(\S+)\/(\d+)$/.exec(comment ?? '');
    if (!id || !m || m[1] !== key || m[2] !== host || Number(m[3]) === process.pid || pidAlive(Number(m[3]))) continue;
    await scancel(id).catch(() => undefined);
    out.push(id);
  }
  return out;
}

/** The device a Slurm job gets: its GPU (if gres asks for one; Slurm sets CUDA_VISIBLE_DEVICES) and its CPUs. */
export function slurmDevice(opts: SlurmOptions = {}): DeviceSlot {
  const gpu = /(^|,)gpu(:|$)/.test(opts.gres ?? '');
  return { kind: gpu ? 'gpu' : 'cpu', index: 0, threads: opts.cpus_per_task ?? SLURM_DEFAULTS.cpus_per_task };
}

export interface SlurmStageRequest {
  /** The job exactly as the local executor hands it to its worker (outDir: the cache's temp dir). */
  job: StageJob;
  /** The run directory; job scripts, stage JSON and logs go to <runDir>/slurm/. */
  runDir: string;
  slurm?: SlurmOptions;
  /** Extra environment for the worker (the job also inherits the submitting environment). */
  env?: Record<string, string>;
  attempt?: number;
  cwd?: string;
  signal?: AbortSignal;
  /** Worker messages (log, progress, metric) as they appear in the job's stdout. */
  onMessage?: (m: WorkerMessage) => void;
  /** Job id after submission and each state change (PENDING, RUNNING, COMPLETED, ...). */
  onJob?: (jobId: string, state: string) => void;
  watcher?: SqueueWatcher;
}

export interface SlurmStageResult extends StageResult {
  slurm: { jobId: string; state: string; seconds: number; queuedSeconds: number; stdout: string; stderr: string; host?: string };
}

/**
 * Runs one heavy stage as an sbatch job and resolves with its StageResult; the caller publishes
 * job.outDir as it would after a local worker. Rejects with the stage's own error message (plus the
 * job id and log paths) when the stage fails, with a Slurm-level explanation when the job died
 * (time limit, memory, node failure), and with an AbortError after scancel when `signal` aborts.
 */
export async function runStageOnSlurm(req: SlurmStageRequest): Promise<SlurmStageResult> {
  const opts = { ...SLURM_DEFAULTS, ...req.slurm };
  const logDir = join(req.runDir, 'slurm');
  mkdirSync(logDir, { recursive: true });
  const stem = jobFileStem(req.job.id, req.attempt);
  const jobFile = join(logDir, `${stem}.job.json`);
  const resultTpl = join(logDir, `${stem}.%j.result.json`);
  writeFileSync(jobFile, JSON.stringify(req.job));
  const threads = String(opts.cpus_per_task);
  const env: Record<string, string> = {
    OMP_NUM_THREADS: threads, OPENBLAS_NUM_THREADS: threads, MKL_NUM_THREADS: threads, MILFLOW_THREADS: threads,
    MILFLOW_EXECUTOR: 'slurm',
    // A CPU job must not see GPUs exported from the submitting shell; with gres, Slurm sets it.
    ...(slurmDevice(opts).kind === 'cpu' ? { CUDA_VISIBLE_DEVICES: '' } : {}),
    ...req.env,
  };
  for (const o of await cancelOrphans(req.job.key)) {
    req.onMessage?.({ t: 'log', message: `cancelled slurm job ${o}: left computing this stage by a milflow run that died` });
  }
  const r = await runSlurmJob({
    comment: `milflow key=${req.job.key} run=${ownerTag()}`,
    stageId: req.job.id,
    attempt: req.attempt,
    argv: [process.execPath, '--import', tsxLoader(), WORKER, jobFile, resultTpl],
    env,
    cwd: req.cwd ?? process.cwd(),
    logDir,
    options: opts,
    signal: req.signal,
    onState: req.onJob,
    watcher: req.watcher,
    onLine: (stream, line) => {
      if (stream === 'stdout' && line.startsWith(MESSAGE_PREFIX)) {
        try { req.onMessage?.(JSON.parse(line.slice(MESSAGE_PREFIX.length)) as WorkerMessage); } catch { /* a torn line: skip */ }
      } else if (line) {
        req.onMessage?.({ t: 'log', message: line });
      }
    },
  });
  let outcome: { ok: boolean; result?: StageResult; message?: string } | undefined;
  try { outcome = JSON.parse(readFileSync(resultTpl.replace('%j', r.jobId), 'utf8')); } catch { /* job died before writing it */ }
  const where = `slurm job ${r.jobId}, logs ${r.stdoutPath} ${r.stderrPath}`;
  if (r.ok && outcome?.ok) {
    return {
      ...(outcome.result ?? {}),
      slurm: { jobId: r.jobId, state: r.state, seconds: r.seconds, queuedSeconds: r.queuedSeconds, stdout: r.stdoutPath, stderr: r.stderrPath, host: r.host },
    };
  }
  if (outcome && !outcome.ok && outcome.message) throw new Error(`${outcome.message} (${where})`);
  if (r.ok) throw new Error(`${req.job.id}: slurm job ${r.jobId} completed but wrote no result (${where})`);
  throw new Error(describeSlurmFailure(req.job.id, r));
}

/**
 * The Slurm executor's runner: every heavy stage an sbatch job. Checks that a controller answers
 * (a run fails up front, not per stage, when none does). `jobs` (milflow run --jobs) caps jobs in
 * flight (default 64): Slurm queues them, so this is a politeness cap, not a device count.
 */
export async function slurmRunner(ctx: RunnerContext): Promise<Runner> {
  await ensureReachable();
  const slurm = { ...SLURM_DEFAULTS, ...ctx.resources.slurm };
  const watcher = new SqueueWatcher((slurm.poll_seconds * 1000) / 2);
  const device = slurmDevice(slurm);
  return {
    concurrency: Math.max(1, ctx.jobs ?? 64),
    claim: () => device,
    release: () => {},
    run: async (job, attempt, log, onMessage) => {
      const r = await runStageOnSlurm({
        job: { ...job, device },
        runDir: ctx.runDir,
        slurm,
        attempt,
        signal: ctx.signal,
        watcher,
        onMessage: (m) => (m.t === 'log' ? log(m.message) : onMessage(m)),
        onJob: (id, state) => log(`slurm job ${id}: ${state}`),
      });
      const s = r.slurm;
      log(`slurm job ${s.jobId}: ${s.seconds.toFixed(1)} s from submission (${s.queuedSeconds.toFixed(1)} s queued) on ${s.host ?? '?'}`);
      // The compute node it ran on goes into the manifest.
      return { ...r, host: s.host };
    },
    close: async () => {},
  };
}
