// What the tracker already pushed to MLflow, kept next to the run's events (the outbox):
// runs/<exp>/<run-id>/tracking-state.json. Sync reads it to push only what is missing.
import { readFileSync, writeFileSync, renameSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface PushedRun {
  mlflowRunId: string;
  artifactUri?: string;
  /** Steps done: params, tags, final metrics, artifacts, terminal status. */
  params?: boolean;
  tags?: boolean;
  final?: boolean;
  artifacts?: boolean;
  terminated?: string;
  /** Per metric key: how many history points were pushed. */
  metrics?: Record<string, number>;
  /** A request failed half-way: re-read MLflow's metric history before pushing more. */
  dirty?: boolean;
  /** Reused child tagged with the MLflow run that computed the cache entry. */
  linked?: boolean;
}

export interface TrackingState {
  version: 1;
  uri?: string;
  experimentId?: string;
  experimentName?: string;
  parent?: PushedRun;
  stages: Record<string, PushedRun>;
  /** True while events exist that MLflow has not seen (server was unreachable). */
  pending: boolean;
  lastError?: string;
  lastSync?: string;
}

export const STATE_FILE = 'tracking-state.json';

export function loadState(runDir: string): TrackingState {
  const p = join(runDir, STATE_FILE);
  if (!existsSync(p)) return { version: 1, stages: {}, pending: true };
  try {
    const s = JSON.parse(readFileSync(p, 'utf8')) as TrackingState;
    s.stages ??= {};
    return s;
  } catch (err) {
    throw new Error(`${p}: unreadable tracking state (${(err as Error).message}); delete it to re-check everything against MLflow`);
  }
}

export function saveState(runDir: string, state: TrackingState): void {
  const p = join(runDir, STATE_FILE);
  const tmp = `${p}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 1) + '\n');
  renameSync(tmp, p);
}
