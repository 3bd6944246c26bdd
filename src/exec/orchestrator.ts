// The orchestrator: runs a plan. It owns what is the same on every executor: the cache (a lock
// per key, a temp dir published atomically, so a crash, a Ctrl-C or a concurrent `milflow run`
// never leaves a partial entry or computes one twice), retries, --keep-going, interruption, and
// the run journal (src/records/: events, record, identities). Where a stage runs is a Runner's
// business (./runner.ts): light stages in this process, heavy ones on the runner of
// resources.executor (a local worker pool, Slurm).
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import PQueue from 'p-queue';
import type { Experiment, Resources } from '../spec/types.gen.ts';
import type { DeviceSlot, StageInput, StageResult } from '../types/stage.ts';
import { CacheStore, lockStaleMs } from '../cache/store.ts';
import { cleanLeftovers } from '../cache/leftovers.ts';
import { faultPoint } from '../io/fault-point.ts';
import type { Plan } from '../dag/plan.ts';
import type { PlannedStage } from '../dag/types.ts';
import type { RunEvent, StageStatus } from '../records/events.ts';
import { EXIT, StageError, exitCodeOf } from '../errors.ts';
import { resolveSlots } from './devices.ts';
import type { StageJob, WorkerMessage } from './harness.ts';
import { extraKindModules, isRegistered, kindInfo } from '../stages/registry.ts';
import { Progress } from './progress.ts';
import { inProcessRunner } from './in-process.ts';
import { RUNNERS } from './runners.ts';
import { RunRecorder, experimentDir, newRunId, thisHost, updateIdentities, type IdentityRecord, type RunRecord, type StageRecord } from '../records/journal.ts';

export const MILFLOW_VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export interface RunOptions {
  plan: Plan;
  /** The loaded spec (records, tracking); optional for plans built from bare stage lists. */
  spec?: { path: string; hash: string; text: string; spec: Experiment };
  resources?: Resources;
  runId?: string;
  jobs?: number;
  retries?: number;
  keepGoing?: boolean;
  progress?: 'tty' | 'lines' | 'none';
  /** Install a SIGINT handler (the CLI does; tests pass their own `signal`). */
  handleSigint?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
  /**
   * Work on the finished run (the CLI writes the report) done while the tracker is still pushing,
   * before it closes: MLflow catches up meanwhile, and the report goes out with the run.
   */
  beforeTrackingCloses?: (r: RunResult) => Promise<void>;
}

export interface RunResult {
  runId: string;
  runDir: string;
  record: RunRecord;
  /** One per failed stage, in plan order: its id, kind, reason and log file. */
  errors: StageError[];
  /** EXIT.interrupted, the failed stages' code (src/errors.ts), or EXIT.ok. */
  exitCode: number;
}

interface Outcome {
  status: StageStatus;
  seconds: number;
  error?: string;
  engine?: string;
  device?: DeviceSlot;
  attempts?: number;
  manifestPath?: string;
  producedByRunId?: string;
  detail?: string;
}

const now = () => new Date().toISOString();

class Interrupted extends Error {
  constructor() { super('interrupted'); }
}

async function openTracker(spec: RunOptions['spec'], runDir: string, runId: string, warn: (m: string) => void) {
  if (!spec) return null;
  try {
    // Lazily: runs without tracking never load the MLflow client.
    const { createTracker } = await import('../tracking/index.ts');
    return await createTracker({ spec: spec.spec, runDir, runId });
  } catch (err: any) {
    warn(`tracking disabled: ${err?.message ?? err}`);
    return null;
  }
}

export async function executePlan(opts: RunOptions): Promise<RunResult> {
  const t0 = performance.now();
  const { plan } = opts;
  const store = new CacheStore(plan.cacheRoot);
  const cleaned = cleanLeftovers(plan.cacheRoot, [experimentDir(plan.root, plan.experiment)]);
  const runId = opts.runId ?? newRunId();
  const rec = new RunRecorder(plan.root, plan.experiment, runId);
  if (opts.spec) rec.writeSpec(opts.spec.text);
  const retries = opts.retries ?? opts.resources?.retries ?? 0;
  const slotPlan = await resolveSlots(opts.resources, { jobs: opts.jobs });
  const toRun = new Map<string, number>();
  for (const s of plan.stages) if (s.action === 'run') toRun.set(s.kind, (toRun.get(s.kind) ?? 0) + 1);
  const progress = new Progress(plan.stages.length, toRun, slotPlan.slots.length, opts.progress ?? (process.stderr.isTTY ? 'tty' : 'lines'));
  if (cleaned.temps.length) progress.log(`removed ${cleaned.temps.length} temp dir(s) left by an interrupted run`);
  if (cleaned.locks.length) progress.log(`removed ${cleaned.locks.length} lock(s) left by a run that is no longer running`);
  if (cleaned.files.length) progress.log(`removed ${cleaned.files.length} temp file(s) left by an interrupted write`);
  for (const e of cleaned.restored) progress.log(`restored cache entry ${e}: a --force rewrite was interrupted before it completed`);

  // Tracking must never fail or slow the run: events go through one serial chain, errors warn once.
  let warnedTracking = false;
  const warnTracking = (m: string) => { if (!warnedTracking) { warnedTracking = true; progress.log(`warning: ${m}`); } };
  const tracker = await openTracker(opts.spec, rec.dir, runId, warnTracking);
  let trackChain: Promise<void> = Promise.resolve();
  const emit = (e: RunEvent) => {
    rec.event(e);
    opts.onEvent?.(e);
    if (tracker) trackChain = trackChain.then(() => tracker.onEvent(e)).catch((err) => warnTracking(`tracking failed: ${err?.message ?? err}`));
  };

  const warnings: NonNullable<RunRecord['warnings']> = [];
  const warn = (code: string, message: string, id?: string) => {
    warnings.push({ id, code, message });
    progress.log(`warning: ${message}`);
    emit({ type: 'warning', time: now(), id, code, message });
  };

  const stageRecords = new Map<string, StageRecord>(plan.stages.map((s) => [s.id, { id: s.id, kind: s.kind, key: s.key, status: 'pending', reason: s.reason, labels: s.labels }]));
  const counts = (): Record<StageStatus, number> => {
    const c: Record<StageStatus, number> = { executed: 0, cached: 0, failed: 0, skipped: 0 };
    for (const r of stageRecords.values()) if (r.status in c) c[r.status as StageStatus]++;
    return c;
  };
  const started = now();
  const record = (status: RunRecord['status'], finished?: string): RunRecord => ({
    runId, experiment: plan.experiment, status, specPath: opts.spec?.path ?? '', specHash: opts.spec?.hash ?? '',
    milflowVersion: MILFLOW_VERSION, host: thisHost, pid: process.pid, started, finished,
    seconds: finished ? (performance.now() - t0) / 1000 : undefined, counts: counts(), stages: [...stageRecords.values()],
    ...(warnings.length ? { warnings } : {}),
  });
  rec.writeRecord(record('running'));
  emit({
    type: 'run-start', time: started, runId, experiment: plan.experiment, specPath: opts.spec?.path ?? '', specHash: opts.spec?.hash ?? '',
    milflowVersion: MILFLOW_VERSION,
    stages: plan.stages.map((s) => ({ id: s.id, kind: s.kind, key: s.key, action: s.action, reason: s.reason, labels: s.labels })),
  });

  // Interruption: stop scheduling, cancel workers (SIGTERM, then SIGKILL), abort in-process stages.
  const abort = new AbortController();
  let interrupted = false;
  let stopping = false;
  const interrupt = () => {
    if (interrupted) return;
    interrupted = stopping = true;
    progress.log('interrupted: stopping workers and cleaning up (Ctrl-C again to quit at once)');
    // Queued jobs are not cleared (p-queue would never settle them): they see `stopping` and skip.
    abort.abort();
  };
  const onSigint = () => { if (interrupted) process.exit(130); interrupt(); };
  // SIGTERM (kill, a batch system's time limit) gets the same clean stop as Ctrl-C.
  if (opts.handleSigint) { process.on('SIGINT', onSigint); process.on('SIGTERM', onSigint); }
  opts.signal?.addEventListener('abort', interrupt, { once: true });

  // Heavy stages go to the runner resources.executor names (./runner.ts), light ones stay here.
  const resources = opts.resources ?? {};
  const heavyRunner = await RUNNERS[resources.executor ?? 'local']({ resources, runDir: rec.dir, signal: abort.signal, jobs: opts.jobs, slots: slotPlan });
  const lightRunner = inProcessRunner({ signal: abort.signal, cores: slotPlan.cores });
  const heavyQ = new PQueue({ concurrency: heavyRunner.concurrency });
  const lightQ = new PQueue({ concurrency: lightRunner.concurrency });
  const temps = new Set<string>();
  const byId = new Map(plan.stages.map((s) => [s.id, s]));
  const results = new Map<string, Promise<Outcome>>();

  // Every failure, wherever it happened (the stage itself, its worker's death, a damaged input, an
  // unregistered kind), ends here as one StageError whose log file exists and says why.
  const stageErrors = new Map<string, StageError>();
  const failure = (s: PlannedStage, reason: string): StageError => {
    const logPath = rec.logPath(s.id);
    try { appendFileSync(logPath, `!! ${s.id} failed: ${reason}\n`); } catch { /* run dir gone */ }
    const e = new StageError(reason, { stageId: s.id, kind: s.kind, logPath });
    stageErrors.set(s.id, e);
    return e;
  };

  const finish = (s: PlannedStage, o: Outcome): Outcome => {
    if (o.status === 'failed') o.error = failure(s, o.error || 'failed without a message').reason;
    const log = o.status === 'failed' ? stageErrors.get(s.id)!.logPath : undefined;
    Object.assign(stageRecords.get(s.id)!, {
      status: o.status, seconds: round(o.seconds), error: o.error, log, engine: o.engine, device: o.device, attempts: o.attempts,
      manifestPath: o.manifestPath, reason: o.detail && o.status === 'skipped' ? o.detail : s.reason,
    });
    emit({ type: 'stage-end', time: now(), id: s.id, kind: s.kind, key: s.key, status: o.status, seconds: round(o.seconds), manifestPath: o.manifestPath, producedByRunId: o.producedByRunId, error: o.error, log });
    progress.end(s.id, s.kind, o.status, o.seconds, o.error ?? o.detail);
    return o;
  };

  const stageWarnings = (s: PlannedStage, ws: unknown) => {
    if (Array.isArray(ws)) for (const w of ws) warn('degenerate', `${s.id}: ${w}`, s.id);
  };
  const cachedOutcome = (s: PlannedStage): Outcome => {
    let producedByRunId: string | undefined;
    try {
      const m = store.readManifest(s.kind, s.key);
      producedByRunId = m.run_id;
      // A reused entry repeats its warnings: a rerun must not hide what the first run said.
      stageWarnings(s, m.warnings);
    } catch { /* older entry */ }
    return { status: 'cached', seconds: 0, manifestPath: store.manifestPath(s.kind, s.key), producedByRunId };
  };

  /** A present entry that fails its check is quarantined (kept for inspection) and reported; false = recompute. */
  const intactOrQuarantine = (s: PlannedStage, problems?: string[]): boolean => {
    if (!store.has(s.kind, s.key)) return false;
    const c = problems ? { ok: false, problems } : store.check(s.kind, s.key);
    if (c.ok) return true;
    const where = store.quarantine(s.kind, s.key, c.problems);
    warn('damaged-entry', `${s.id}: cache entry ${s.kind}/${s.key.slice(0, 12)} is damaged (${c.problems.slice(0, 3).join('; ')}${c.problems.length > 3 ? '; …' : ''}); moved to ${where ?? '(already gone)'} and recomputing`, s.id);
    return false;
  };

  // Inputs a stage reads are fully digested once per run; a damaged one is quarantined and
  // recomputed before the stage runs, so no stage ever computes from damaged bytes.
  const inputChecks = new Map<string, Promise<string | null>>();
  const ensureInput = (up: PlannedStage): Promise<string | null> => {
    let p = inputChecks.get(up.id);
    if (!p) {
      p = (async () => {
        if (stageRecords.get(up.id)?.status === 'executed') return null; // published by this run a moment ago
        if (store.has(up.kind, up.key)) {
          const v = await store.verifyAsync(up.kind, up.key);
          if (v.ok) return null;
          // Another run may have replaced it meanwhile: judge again under its lock in execute().
          intactOrQuarantine(up, v.problems);
        }
        if (stopping) return `input ${up.id} is damaged and the run is stopping`;
        const info = kindInfo(up.kind);
        const q = info.heavy ? heavyQ : lightQ;
        const o = await q.add(() => execute(up, info.heavy, info.version, true));
        if (!o || (o.status !== 'executed' && o.status !== 'cached')) return `input ${up.id} was damaged and recomputing it failed: ${o?.error ?? o?.detail ?? 'interrupted'}`;
        const r = stageRecords.get(up.id)!;
        if (o.status === 'executed') Object.assign(r, { status: 'executed', seconds: round(o.seconds), engine: o.engine, device: o.device, attempts: o.attempts, reason: 'recomputed: damaged entry' });
        return null;
      })();
      inputChecks.set(up.id, p);
    }
    return p;
  };

  const inputsOf = (s: PlannedStage): Record<string, StageInput> => {
    const out: Record<string, StageInput> = {};
    for (const [name, upId] of Object.entries(s.decl.inputs)) {
      const up = byId.get(upId)!;
      out[name] = { id: up.id, kind: up.kind, key: up.key, dir: store.entryDir(up.kind, up.key), manifest: store.readManifest(up.kind, up.key) };
    }
    return out;
  };

  const execute = async (s: PlannedStage, heavy: boolean, version: string, recompute = false): Promise<Outcome> => {
    if (stopping && !recompute) return { status: 'skipped', seconds: 0, detail: interrupted ? 'interrupted' : 'not started: the run stopped after a failure' };
    const forced = s.reason === 'forced';
    const release = await store.lock(s.kind, s.key, {
      force: forced, signal: abort.signal,
      onWait: (h) => progress.log(`${s.id}: waiting for its lock (held by ${h ? `pid ${h.pid} on ${h.host} since ${h.since}` : 'another run'}; a holder on another host that stops its heartbeat for ${lockStaleMs() / 1000} s is taken over)`),
      onStale: (why) => progress.log(`${s.id}: took over a stale lock (${why})`),
    }).catch((err) => { if (abort.signal.aborted) throw new Interrupted(); throw err; });
    if (!release) return cachedOutcome(s);
    const logFile = rec.logPath(s.id);
    const log = (m: string) => { try { appendFileSync(logFile, m.endsWith('\n') ? m : m + '\n'); } catch { /* log dir gone */ } };
    let lastProgress = 0;
    const onMsg = (m: WorkerMessage) => {
      if (m.t === 'progress') {
        progress.note(s.id, `${m.done}/${m.total}${m.note ? ` ${m.note}` : ''}`);
        const t = Date.now();
        if (t - lastProgress > 1000 || m.done === m.total) { lastProgress = t; emit({ type: 'stage-progress', time: now(), id: s.id, done: m.done, total: m.total, note: m.note }); }
      } else if (m.t === 'metric') {
        emit({ type: 'stage-metric', time: m.time ? new Date(m.time).toISOString() : now(), id: s.id, name: m.name, value: m.value, step: m.step });
      }
    };
    const runner = heavy ? heavyRunner : lightRunner;
    let slot: DeviceSlot | undefined;
    try {
      if (!forced && intactOrQuarantine(s)) return cachedOutcome(s);
      const inputs = inputsOf(s);
      slot = runner.claim();
      let lastError = '';
      for (let attempt = 1; attempt <= retries + 1; attempt++) {
        if (abort.signal.aborted) throw new Interrupted();
        const tmp = store.makeTemp();
        temps.add(tmp);
        const startedAt = now();
        const t = performance.now();
        stageRecords.get(s.id)!.status = 'running';
        emit({ type: 'stage-start', time: startedAt, id: s.id, kind: s.kind, key: s.key, device: slot, attempt });
        progress.start(s.id, attempt > 1 ? `attempt ${attempt}` : '');
        log(`== ${s.id} (${s.kind} ${s.key.slice(0, 12)}) attempt ${attempt} on ${slot.kind}:${slot.index} at ${startedAt}`);
        const job: StageJob = {
          id: s.id, kind: s.kind, key: s.key, params: s.params, outDir: tmp, inputs, externals: s.decl.externals ?? {}, device: slot, version,
          modules: extraKindModules(),
        };
        try {
          const result = await runner.run(job, attempt, log, onMsg);
          if (abort.signal.aborted) throw new Interrupted();
          faultPoint('stage:computed');
          const finished = now();
          const seconds = (performance.now() - t) / 1000;
          const pub = await store.publishAsync(tmp, {
            kind: s.kind, id: s.id, key: s.key, version, params: s.params, inputs: s.inputs, metrics: result.metrics ?? {},
            summary: result.summary, engine: result.engine, ...(result.warnings?.length ? { warnings: result.warnings } : {}), timings: { started: startedAt, finished, seconds: round(seconds) },
            host: result.host ?? thisHost, device: slot, milflow_version: MILFLOW_VERSION, labels: s.labels, run_id: runId,
          }, { replace: forced });
          temps.delete(tmp);
          // Only if our lock was taken over (a holder on another host judged stale): the first entry stays.
          if (!pub.published) { log(`another run published ${s.kind}/${s.key} first; kept its entry`); return cachedOutcome(s); }
          stageWarnings(s, result.warnings);
          return { status: 'executed', seconds, engine: result.engine, device: slot, attempts: attempt, manifestPath: store.manifestPath(s.kind, s.key) };
        } catch (err: any) {
          store.dropTemp(tmp);
          temps.delete(tmp);
          if (err instanceof Interrupted || abort.signal.aborted) throw new Interrupted();
          lastError = err instanceof StageError ? err.reason : String(err?.message ?? err);
          log(`!! attempt ${attempt} failed: ${err?.stack ?? lastError}`);
          if (attempt <= retries) progress.log(`${s.id}: attempt ${attempt} failed (${lastError}); retrying`);
          else return { status: 'failed', seconds: (performance.now() - t) / 1000, error: lastError, device: slot, attempts: attempt };
        }
      }
      return { status: 'failed', seconds: 0, error: lastError };
    } finally {
      if (slot) runner.release(slot);
      await release();
    }
  };

  const schedule = async (s: PlannedStage): Promise<Outcome> => {
    const deps = await Promise.all(s.deps.map(async (d) => [d, (await results.get(d))?.status] as const));
    const bad = deps.find(([, st]) => st !== 'executed' && st !== 'cached');
    if (bad) return finish(s, { status: 'skipped', seconds: 0, detail: interrupted ? 'interrupted' : `upstream ${bad[0]} ${bad[1] ?? 'missing'}` });
    if (stopping) return finish(s, { status: 'skipped', seconds: 0, detail: interrupted ? 'interrupted' : 'not started: the run stopped after a failure' });
    const forced = s.reason === 'forced';
    if (!forced && store.has(s.kind, s.key) && store.check(s.kind, s.key).ok) return finish(s, cachedOutcome(s));
    for (const upId of Object.values(s.decl.inputs)) {
      const bad = await ensureInput(byId.get(upId)!);
      if (bad) return finish(s, { status: 'failed', seconds: 0, error: bad });
    }
    const info = kindInfo(s.kind);
    if (!isRegistered(s.kind)) {
      if (s.kind === 'report') return finish(s, { status: 'skipped', seconds: 0, detail: 'the report stage is not part of this build' });
      return finish(s, { status: 'failed', seconds: 0, error: `stage kind '${s.kind}' is not registered in this build (src/stages/registry.ts)` });
    }
    const q = info.heavy ? heavyQ : lightQ;
    let o: Outcome | undefined | void;
    try {
      o = await q.add(async () => {
        const r = await execute(s, info.heavy, info.version);
        // Before the queue starts its next job: nothing new may start after a failure.
        if (r.status === 'failed' && !opts.keepGoing) stopping = true;
        return r;
      });
    } catch (err: any) {
      if (err instanceof Interrupted || interrupted) o = { status: 'skipped', seconds: 0, detail: 'interrupted' };
      else o = { status: 'failed', seconds: 0, error: String(err?.message ?? err) };
    }
    if (!o) o = { status: 'skipped', seconds: 0, detail: 'interrupted' };
    if (o.status === 'failed' && !opts.keepGoing) stopping = true;
    return finish(s, o);
  };

  for (const s of plan.stages) results.set(s.id, schedule(s));
  await Promise.all(results.values());

  await heavyRunner.close();
  for (const t of temps) store.dropTemp(t);
  if (opts.handleSigint) { process.off('SIGINT', onSigint); process.off('SIGTERM', onSigint); }
  const c = counts();
  const status: RunRecord['status'] = interrupted ? 'interrupted' : c.failed > 0 ? 'failed' : 'succeeded';
  const finished = now();
  const final = record(status, finished);
  rec.writeRecord(final);
  emit({ type: 'run-end', time: finished, runId, status, counts: c, seconds: round((performance.now() - t0) / 1000) });
  progress.finish();

  const identities: Record<string, IdentityRecord> = {};
  for (const s of plan.stages) {
    const r = stageRecords.get(s.id)!;
    if (r.status === 'skipped' || r.status === 'pending') continue;
    identities[s.id] = { key: s.key, version: s.version, params: s.params, inputs: s.inputs, status: r.status as StageStatus, runId };
  }
  faultPoint('run:identities');
  await updateIdentities(plan.root, plan.experiment, identities);
  const errors = plan.stages.flatMap((s) => (stageRecords.get(s.id)!.status === 'failed' ? [stageErrors.get(s.id)!] : []));
  const exitCode = status === 'interrupted' ? EXIT.interrupted : status === 'failed' ? exitCodeOf(errors[0]) : EXIT.ok;
  const result: RunResult = { runId, runDir: rec.dir, record: final, errors, exitCode };
  try {
    await opts.beforeTrackingCloses?.(result);
  } finally {
    await trackChain;
    if (tracker) await tracker.close().catch((err) => warnTracking(`tracking failed: ${err?.message ?? err}`));
  }
  return result;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
