// `milflow sync`: push a run's outbox (events.jsonl + cache manifests) to MLflow, idempotently.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MlflowClient, type MlflowClientOptions } from './mlflow-client.ts';
import { Pusher, type PushStats } from './push.ts';
import { loadState, saveState } from './state.ts';
import { readEvents } from '../records/events.ts';
import { loadRunSpec, resolveTarget } from './config.ts';

export interface SyncResult extends PushStats {
  runDir: string;
  uri: string;
  experiment: string;
  parentRunId?: string;
  skipped?: string;
}

export interface SyncOptions {
  uri?: string;
  env?: NodeJS.ProcessEnv;
  /** Re-check a run even if its state says everything was pushed. */
  force?: boolean;
  client?: MlflowClientOptions;
}

export async function syncRun(runDir: string, opts: SyncOptions = {}): Promise<SyncResult> {
  const events = readEvents(runDir, { required: true });
  const start = events.find((e) => e.type === 'run-start');
  const spec = loadRunSpec(runDir);
  const target = resolveTarget(spec, start?.type === 'run-start' ? start.experiment : 'milflow', opts.env ?? process.env, opts.uri);
  if (!target) throw new Error(`no MLflow server for ${runDir}: set tracking.mlflow.uri in the spec, MLFLOW_TRACKING_URI, or pass --uri`);
  const state = loadState(runDir);
  const client = new MlflowClient(target.uri, opts.client);
  const base = { runDir, uri: client.base, experiment: target.experiment, runsCreated: 0, metricsLogged: 0, paramsLogged: 0, artifactsUploaded: 0 };
  if (!start) return { ...base, skipped: 'no run-start event' };
  if (!opts.force && !state.pending && state.uri === client.base && state.parent?.terminated) {
    return { ...base, parentRunId: state.parent.mlflowRunId, skipped: 'already in sync' };
  }
  const save = () => saveState(runDir, state);
  const pusher = new Pusher({ client, runDir, spec, experimentName: target.experiment, state, save });
  try {
    await pusher.push(events);
    await pusher.pushReport(join(runDir, 'report'));
    state.pending = !events.some((e) => e.type === 'run-end');
    state.lastError = undefined;
    state.lastSync = new Date().toISOString();
  } catch (err) {
    state.pending = true;
    state.lastError = (err as Error).message;
    throw err;
  } finally {
    save();
  }
  return { ...base, ...pusher.stats, parentRunId: state.parent?.mlflowRunId };
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

/** Upload runDir/report/ to the run's MLflow parent (after `milflow report`), if tracked. */
export async function uploadReport(runDir: string, opts: SyncOptions = {}): Promise<boolean> {
  const state = loadState(runDir);
  const spec = loadRunSpec(runDir);
  const target = resolveTarget(spec, 'milflow', opts.env ?? process.env, opts.uri);
  if (!target || !state.parent) return false;
  const client = new MlflowClient(target.uri, opts.client ?? { retries: 2, timeoutMs: 10000 });
  if (state.uri !== client.base) return false;
  const pusher = new Pusher({ client, runDir, spec, experimentName: target.experiment, state, save: () => saveState(runDir, state) });
  await pusher.pushReport(join(runDir, 'report'));
  return true;
}
