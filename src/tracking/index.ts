// Tracking hook for the executor: createTracker({ spec, runDir, runId }).onEvent(e) for every
// run event. The run's events.jsonl is the outbox; the tracker pushes to MLflow what it can and
// records what the server holds (tracking-state.json), so each event is sent once. It never
// throws into the executor and never blocks it: onEvent only queues; pushes run in the
// background, one at a time, coalescing what arrived meanwhile (per-epoch metrics reach MLflow
// about a second after the epoch). Every request is bounded by connect/response timeouts; when
// the server fails, the tracker stops trying for a while (events stay for `milflow sync`), and
// at close() it costs one quick probe, not another round of timeouts.
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from '../records/events.ts';
import { MlflowClient, MlflowUnavailableError, redact } from './mlflow-client.ts';
import { Pusher } from './push.ts';
import { loadState, stateSaver } from './state.ts';
import { resolveTarget, redactSpec, SPEC_SNAPSHOT } from './config.ts';
import { PushProgress } from './progress.ts';
import { startBackgroundSync } from './sync.ts';

export interface Tracker {
  onEvent(e: RunEvent): Promise<void>;
  /** Resolves when every event so far has been handled (pushed, or kept for sync). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface TrackerOptions {
  spec: unknown;
  runDir: string;
  runId: string;
  /** Override the environment (tests). */
  env?: NodeJS.ProcessEnv;
  /** After an outage, wait this long before trying the server again (default 30 s). */
  retryAfterMs?: number;
  /** Coalesce live metrics for this long before a push (default 1000 ms). */
  liveDelayMs?: number;
  log?: (msg: string) => void;
  /** How long close() waits for MLflow before handing the rest to a background sync (default: 2 s or 30 % of the run). */
  waitMs?: number;
  /** Hand what close() could not push to a background `milflow sync` (default true). */
  background?: boolean;
  /** Where the `MLflow: n/N stages logged` line goes (default stderr; null: nowhere). */
  out?: NodeJS.WritableStream | null;
}

const noop: Tracker = { onEvent: async () => {}, flush: async () => {}, close: async () => {} };

export function createTracker(opts: TrackerOptions): Tracker {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((m: string) => process.stderr.write(`milflow: ${m}\n`));
  const specName = (opts.spec as { name?: string } | undefined)?.name ?? 'milflow';
  const target = resolveTarget(opts.spec, specName, env);
  try {
    // Snapshot even without a server (a later `milflow sync` logs exactly these params), never with credentials.
    const snap = join(opts.runDir, SPEC_SNAPSHOT);
    if (!existsSync(snap)) writeFileSync(snap, JSON.stringify(redactSpec(opts.spec ?? null), null, 1) + '\n');
  } catch {
    /* run dir not there yet or read-only: sync falls back to spec.yaml */
  }
  if (!target) return noop;

  let client: MlflowClient;
  try {
    client = new MlflowClient(target.uri, { retries: 2, backoffMs: 200, timeoutMs: 10_000, connectTimeoutMs: 2000, env });
  } catch (err) {
    log(`tracking disabled: ${redact((err as Error).message)}`);
    return noop;
  }
  const retryAfter = opts.retryAfterMs ?? Number(env.MILFLOW_TRACKING_RETRY_MS ?? 30000);
  const liveDelay = opts.liveDelayMs ?? 1000;
  const state = loadState(opts.runDir);
  // A write that fails means the run dir vanished: nothing to keep.
  const { save, now: saveNow } = stateSaver(opts.runDir, state, { onError: () => {} });
  const progress = new PushProgress(opts.out === undefined ? process.stderr : opts.out);
  let closing = false;
  const pusher = new Pusher({
    client,
    runDir: opts.runDir,
    spec: opts.spec,
    experimentName: target.experiment,
    state,
    save,
    onProgress: (n, total) => {
      if (closing) progress.update(n, total);
    },
  });
  let offlineUntil = 0;
  let offline = false;
  let warned = false;
  let probed = false;
  let ended = false;
  let runSeconds = 0;
  let endedAt: number | undefined;
  let handingOff = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let again = false;

  const goOffline = (err: unknown) => {
    state.pending = true;
    if (handingOff) return saveNow();
    state.lastError = redact((err as Error).message);
    if (err instanceof MlflowUnavailableError) {
      offline = true;
      offlineUntil = Date.now() + retryAfter;
    }
    if (!warned) {
      warned = true;
      log(`MLflow tracking paused (${state.lastError}); events are kept in ${opts.runDir}, run \`milflow sync --run ${opts.runDir}\` to push them`);
    }
    saveNow();
  };

  const attempt = async (deadline?: number): Promise<void> => {
    // Down or hung less than retryAfter ago: not even at close (no second round of timeouts; sync catches up).
    if (offline && Date.now() < offlineUntil) return;
    if (!probed || offline) {
      // One short probe before a round of requests: a dead or hung server costs seconds, once.
      probed = true;
      if (!(await client.health(5000))) return goOffline(new MlflowUnavailableError(`MLflow at ${client.base} unavailable: no answer to /health`));
      offline = false;
    }
    try {
      await pusher.push(deadline);
      for (const e of pusher.takeErrors()) log(`MLflow refused part of this run: ${e}`);
      state.pending = !ended || pusher.hasWork();
      state.lastError = undefined;
      offlineUntil = 0;
      save();
    } catch (err) {
      goOffline(err);
    }
  };

  const run = () => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = attempt().finally(() => {
      running = undefined;
      if (again && !closing) {
        again = false;
        schedule(liveDelay);
      }
    });
  };
  const schedule = (delay: number) => {
    if (closing || timer) return;
    if (delay <= 0) run();
    else timer = setTimeout(run, delay).unref() as NodeJS.Timeout;
  };

  return {
    async onEvent(e: RunEvent) {
      pusher.add(e);
      if (e.type === 'run-end') {
        ended = true;
        runSeconds = e.seconds;
        endedAt = Date.now();
      }
      if (e.type === 'stage-progress') return;
      // Metrics arrive in bursts (one per key per epoch): one push a second carries them all.
      schedule(e.type === 'stage-metric' ? liveDelay : 0);
    },
    async flush() {
      while (timer || running) {
        if (timer) {
          clearTimeout(timer);
          run();
        }
        await running;
      }
    },
    async close() {
      closing = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      // The user waits for tracking at most this long after the run's last stage (default: 2 s, or
      // 30 % of a longer run; what ran meanwhile, the report, counts), then what is left goes on
      // in a background `milflow sync`.
      const budgetMs = opts.waitMs ?? (Number(env.MILFLOW_TRACKING_WAIT_MS) || Math.max(2000, 0.3 * runSeconds * 1000));
      const deadline = (endedAt ?? Date.now()) + budgetMs;
      const waitMs = Math.max(0, deadline - Date.now());
      pusher.stopAt(deadline);
      const work = (async () => {
        await running;
        // Paused by a failure a moment ago: one short probe decides whether to try once more.
        if (pusher.hasWork() && offline && Date.now() < offlineUntil && (await client.health(1500))) {
          offline = false;
          offlineUntil = 0;
        }
        if (pusher.hasWork() && !offline) {
          const p = pusher.progress();
          progress.update(p.logged, p.total);
          await attempt(deadline);
        }
        // The report written after the run (before this close) goes on the parent run.
        if (!pusher.hasWork() && !offline && !handingOff) await pusher.reportOnce().catch((err) => goOffline(err));
      })();
      let t: NodeJS.Timeout | undefined;
      const late = await Promise.race([work.then(() => false), new Promise<boolean>((r) => (t = setTimeout(() => r(true), waitMs)))]);
      clearTimeout(t);
      if (late) {
        // Out of time: abandon the requests in flight (the background sync re-checks them).
        handingOff = true;
        client.stop();
        await work;
      }
      saveNow();
      const p = pusher.progress();
      const url = pusher.experimentUrl();
      const where = url ? ` · ${url}` : '';
      if (!pusher.hasWork()) return progress.done(`MLflow: ${p.logged}/${p.total} stages logged${where}`);
      if (!offline && opts.background !== false) {
        const bg = startBackgroundSync(opts.runDir, env, target.uri);
        if (bg) return progress.done(`MLflow: ${p.logged}/${p.total} stages logged; the rest continues in the background (pid ${bg.pid}, log ${bg.log})${where}`);
      }
      progress.done(`MLflow: ${p.logged}/${p.total} stages logged; the rest is kept for \`milflow sync --run ${opts.runDir}\``);
      if (!warned) log(`MLflow has not seen all of this run yet: \`milflow sync --run ${opts.runDir}\``);
    },
  };
}

export { syncRun, findRunDirs } from './sync.ts';
export { MlflowClient } from './mlflow-client.ts';
