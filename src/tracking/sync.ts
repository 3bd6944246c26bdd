// `milflow sync`: push a run's outbox (events.jsonl + cache manifests) to MLflow, idempotently
// and resumably: the tracking state says what the server already holds, so a sync after an
// outage sends only the rest, and a second sync sends nothing.
import { existsSync, readdirSync, statSync, openSync, writeSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MlflowClient, publicUri, type MlflowClientOptions } from './mlflow-client.ts';
import { Pusher, type PushStats } from './push.ts';
import { loadState, saveState, stateSaver, type TrackingState } from './state.ts';
import { readEvents } from '../records/events.ts';
import { loadRunSpec, resolveTarget } from './config.ts';

export interface SyncResult extends PushStats {
  runDir: string;
  uri: string;
  experiment: string;
  parentRunId?: string;
  experimentUrl?: string;
  /** HTTP requests made. */
  requests: number;
  skipped?: string;
}

export interface SyncOptions {
  uri?: string;
  env?: NodeJS.ProcessEnv;
  /** Re-check a run even if its state says everything was pushed. */
  force?: boolean;
  /** Wait for a sync of the same run in progress (else fail at once). */
  wait?: boolean;
  client?: MlflowClientOptions;
  onProgress?: (logged: number, total: number) => void;
}

export async function syncRun(runDir: string, opts: SyncOptions = {}): Promise<SyncResult> {
  const events = readEvents(runDir, { required: true });
  const start = events.find((e) => e.type === 'run-start');
  const spec = loadRunSpec(runDir);
  const env = opts.env ?? process.env;
  const target = resolveTarget(spec, start?.type === 'run-start' ? start.experiment : 'milflow', env, opts.uri);
  if (!target) throw new Error(`no MLflow server for ${runDir}: set tracking.mlflow.uri in the spec, MLFLOW_TRACKING_URI, or pass --uri`);
  const client = new MlflowClient(target.uri, { env, connectTimeoutMs: 3000, timeoutMs: 15_000, ...opts.client });
  const base = { runDir, uri: client.base, experiment: target.experiment, runsCreated: 0, metricsLogged: 0, paramsLogged: 0, artifactsUploaded: 0, modelsLogged: 0 };
  if (!start) return { ...base, requests: client.requests, skipped: 'no run-start event' };
  const release = await lockSync(runDir, opts.wait ?? false);
  // Read under the lock: a sync that held it a moment ago (the run's background sync) has changed it.
  let state: TrackingState;
  try {
    state = loadState(runDir);
  } catch (err) {
    release();
    throw err;
  }
  const { save, now: saveNow } = stateSaver(runDir, state);
  const pusher = new Pusher({ client, runDir, spec, experimentName: target.experiment, state, save, recover: true, onProgress: opts.onProgress });
  if (!opts.force && !state.pending && state.uri === client.base && state.parent?.terminated) {
    try {
      // A report rendered after the run went out is the one thing left to send.
      const sent = await pusher.reportOnce();
      return { ...base, artifactsUploaded: sent, requests: client.requests, parentRunId: state.parent.mlflowRunId, skipped: sent ? undefined : 'already in sync' };
    } finally {
      try {
        saveNow();
      } finally {
        release();
      }
    }
  }
  for (const e of events) pusher.add(e);
  try {
    await pusher.push();
    if (!pusher.hasWork()) await pusher.reportOnce();
    const errors = pusher.takeErrors();
    if (errors.length) throw new Error(`MLflow refused ${errors.length} stage(s): ${errors[0]}`);
    state.pending = !events.some((e) => e.type === 'run-end') || pusher.hasWork();
    state.lastError = undefined;
    state.lastSync = new Date().toISOString();
  } catch (err) {
    state.pending = true;
    state.lastError = (err as Error).message;
    throw err;
  } finally {
    try {
      saveNow();
    } finally {
      release();
    }
  }
  return { ...base, ...pusher.stats, requests: client.requests, parentRunId: state.parent?.mlflowRunId, experimentUrl: pusher.experimentUrl() };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Resolves when process `pid` has exited (a background sync waits for the command that started it). */
export async function waitForExit(pid: number, maxMs = 6 * 3600_000): Promise<void> {
  const until = Date.now() + maxMs;
  while (pid > 0 && alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
}

/** Is a sync of this run under way in another process? */
export function syncRunning(runDir: string): boolean {
  try {
    const pid = Number(readFileSync(join(runDir, 'tracking-sync.lock'), 'utf8').trim());
    return pid > 0 && pid !== process.pid && alive(pid);
  } catch {
    return false;
  }
}

/** One sync per run at a time (a background sync may still be at work when the user runs one). */
async function lockSync(runDir: string, wait: boolean): Promise<() => void> {
  const p = join(runDir, 'tracking-sync.lock');
  const until = Date.now() + 15 * 60_000;
  for (let i = 0; i < 2 || (wait && Date.now() < until); i++) {
    try {
      const fd = openSync(p, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(p, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(p, 'utf8').trim());
      if (pid && pid !== process.pid && alive(pid)) {
        if (!wait) throw new Error(`${runDir}: another sync of this run is under way (pid ${pid}); try again when it ends`);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      rmSync(p, { force: true }); // left by a sync that died
    }
  }
  throw new Error(`${p}: cannot take the sync lock`);
}

/** Run directories (those with an events.jsonl) under runs/<experiment>/, oldest first. */
export function findRunDirs(root: string, experiment?: string): string[] {
  if (!existsSync(root)) return [];
  const exps = experiment ? [experiment] : readdirSync(root).filter((d) => d !== 'cache');
  const out: { dir: string; t: number }[] = [];
  for (const e of exps) {
    const ed = join(root, e);
    if (!existsSync(ed) || !statSync(ed).isDirectory()) continue;
    for (const r of readdirSync(ed)) {
      const rd = join(ed, r);
      const ev = join(rd, 'events.jsonl');
      if (existsSync(ev)) out.push({ dir: rd, t: statSync(ev).mtimeMs });
    }
  }
  return out.sort((a, b) => a.t - b.t || (a.dir < b.dir ? -1 : 1)).map((x) => x.dir);
}

/**
 * Upload runDir/report/ to the run's MLflow parent (after `milflow report`), if tracked. While the
 * run is still being pushed (a background sync), that sync is left to carry it: returns 'later'.
 */
export async function uploadReport(runDir: string, opts: SyncOptions = {}): Promise<boolean | 'later'> {
  const state = loadState(runDir);
  if (state.pending || syncRunning(runDir)) {
    startBackgroundSync(runDir, process.env);
    return 'later';
  }
  const spec = loadRunSpec(runDir);
  const env = opts.env ?? process.env;
  const target = resolveTarget(spec, 'milflow', env, opts.uri);
  if (!target || !state.parent) return false;
  const client = new MlflowClient(target.uri, opts.client ?? { retries: 2, timeoutMs: 10000, connectTimeoutMs: 2000, env });
  if (state.uri !== client.base) return false;
  const pusher = new Pusher({ client, runDir, spec, experimentName: target.experiment, state, save: () => saveState(runDir, state) });
  await pusher.reportOnce();
  return true;
}

const BIN = new URL('../../bin/milflow.mjs', import.meta.url);

/**
 * A detached `milflow sync --run DIR` that outlives this process (it waits for any sync of the same
 * run already under way); credentials travel in its environment, never on its command line.
 */
export function startBackgroundSync(runDir: string, env: NodeJS.ProcessEnv, uri?: string): { pid: number; log: string } | undefined {
  try {
    const log = join(runDir, 'tracking-sync.log');
    const fd = openSync(log, 'a');
    // It starts pushing once this process has exited: the command the user waits for (the run,
    // then its report) does not share the machine with the catch-up.
    const childEnv: NodeJS.ProcessEnv = { ...env, MILFLOW_SYNC_AFTER_PID: String(process.pid) };
    const args = [fileURLToPath(BIN), 'sync', '--run', runDir];
    if (uri) {
      const u = new URL(uri);
      if (u.username || u.password) {
        childEnv.MLFLOW_TRACKING_USERNAME = decodeURIComponent(u.username);
        childEnv.MLFLOW_TRACKING_PASSWORD = decodeURIComponent(u.password);
      }
      args.push('--uri', publicUri(uri));
    }
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env: childEnv });
    child.unref();
    closeSync(fd);
    try {
      if (child.pid) setPriority(child.pid, 10);
    } catch {
      /* not allowed: it runs at normal priority */
    }
    return child.pid ? { pid: child.pid, log } : undefined;
  } catch {
    return undefined;
  }
}
