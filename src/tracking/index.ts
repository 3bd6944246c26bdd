// Tracking hook for the executor: createTracker({ spec, runDir, runId }).onEvent(e) for every
// run event. The run's events.jsonl is the outbox; the tracker only pushes to MLflow what it
// can and records what it pushed (tracking-state.json). It never throws into the executor and
// never blocks it: pushes run in the background, one at a time, and when the server is
// unreachable the tracker backs off (events stay in the run dir for `milflow sync`).
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from '../records/events.ts';
import { MlflowClient, MlflowUnavailableError } from './mlflow-client.ts';
import { Pusher } from './push.ts';
import { loadState, saveState } from './state.ts';
import { resolveTarget, SPEC_SNAPSHOT } from './config.ts';

export interface Tracker {
  onEvent(e: RunEvent): Promise<void>;
  /** Resolves when every event so far has been handled (pushed, or buffered for sync). */
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
  /** Give up waiting for pending pushes at close() after this long (default 120 s). */
  closeTimeoutMs?: number;
  log?: (msg: string) => void;
}

export function createTracker(opts: TrackerOptions): Tracker {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((m: string) => process.stderr.write(`milflow: ${m}\n`));
  const specName = (opts.spec as { name?: string } | undefined)?.name ?? 'milflow';
  const target = resolveTarget(opts.spec, specName, env);
  try {
    // Snapshot even without a server: a later `milflow sync` logs exactly these params.
    const snap = join(opts.runDir, SPEC_SNAPSHOT);
    if (!existsSync(snap)) writeFileSync(snap, JSON.stringify(opts.spec ?? null, null, 1) + '\n');
  } catch {
    /* run dir not there yet or read-only: sync falls back to spec.yaml */
  }
  if (!target) return { onEvent: async () => {}, flush: async () => {}, close: async () => {} };

  let client: MlflowClient;
  try {
    client = new MlflowClient(target.uri, { retries: 3, backoffMs: 200, timeoutMs: 10000 });
  } catch (err) {
    log(`tracking disabled: ${(err as Error).message}`);
    return { onEvent: async () => {}, flush: async () => {}, close: async () => {} };
  }
  const retryAfter = opts.retryAfterMs ?? Number(env.MILFLOW_TRACKING_RETRY_MS ?? 30000);
  const events: RunEvent[] = [];
  const state = loadState(opts.runDir);
  const save = () => {
    try {
      saveState(opts.runDir, state);
    } catch {
      /* the run dir vanished: nothing to keep */
    }
  };
  const pusher = new Pusher({ client, runDir: opts.runDir, spec: opts.spec, experimentName: target.experiment, state, save });
  let offlineUntil = 0;
  let warned = false;
  let chain: Promise<void> = Promise.resolve();

  const attempt = async (force: boolean) => {
    if (!force && Date.now() < offlineUntil) return;
    try {
      await pusher.push(events);
      state.pending = !events.some((e) => e.type === 'run-end');
      state.lastError = undefined;
      offlineUntil = 0;
    } catch (err) {
      state.pending = true;
      state.lastError = (err as Error).message;
      if (err instanceof MlflowUnavailableError) offlineUntil = Date.now() + retryAfter;
      if (!warned) {
        warned = true;
        log(`MLflow tracking paused (${(err as Error).message}); events are kept in ${opts.runDir}, run \`milflow sync --run ${opts.runDir}\` to push them`);
      }
    }
    save();
  };

  return {
    async onEvent(e: RunEvent) {
      events.push(e);
      if (e.type === 'stage-progress' || e.type === 'stage-start') return;
      chain = chain.then(() => attempt(false));
    },
    flush() {
      return chain;
    },
    async close() {
      chain = chain.then(() => (state.pending ? attempt(true) : undefined));
      const timeout = opts.closeTimeoutMs ?? 120000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([chain, new Promise<void>((r) => (timer = setTimeout(r, timeout)))]);
      clearTimeout(timer);
      if (state.pending && warned) log(`MLflow has not seen all of this run yet: \`milflow sync --run ${opts.runDir}\``);
    },
  };
}

export { syncRun, findRunDirs } from './sync.ts';
export { MlflowClient } from './mlflow-client.ts';
