// What the tracker already pushed to MLflow, kept next to the run's events (the outbox):
// runs/<exp>/<run-id>/tracking-state.json. Every push consults it, so each event reaches the
// server once and a sync after an outage sends only what is missing.
import { readFileSync, existsSync } from 'node:fs';
import { writeJsonAtomic } from '../io/atomic.ts';
import { join } from 'node:path';

export interface PushedRun {
  mlflowRunId: string;
  artifactUri?: string;
  /** Params logged. */
  params?: boolean;
  /** Final batch (end tags, params, remaining metrics) logged. */
  final?: boolean;
  artifacts?: boolean;
  /** MLflow 3 logged model id of a trained checkpoint ('' = the server has no logged models). */
  model?: string;
  terminated?: string;
  /** Per metric key: how many history points were pushed. */
  metrics?: Record<string, number>;
  /** A request failed half-way: re-read MLflow's metric history before pushing more. */
  dirty?: boolean;
  /** Reused child: the MLflow run of the stage that computed the entry, or 'not tracked'. */
  producer?: string;
}

export interface TrackingState {
  version: 1 | 2;
  /** Server URL without credentials. */
  uri?: string;
  experimentId?: string;
  experimentName?: string;
  /** mlflow.experimentKind set on the experiment. */
  experimentKind?: boolean;
  parent?: PushedRun;
  stages: Record<string, PushedRun>;
  /** Producer runs of reused entries: milflow run id → stage id → MLflow run id (null: not tracked). */
  producers?: Record<string, Record<string, string> | null>;
  /** size:mtime of the report.html uploaded to the parent. */
  report?: string;
  /** Headline results logged on the parent. */
  headline?: boolean;
  /** True while events exist that MLflow has not seen (server was unreachable). */
  pending: boolean;
  lastError?: string;
  lastSync?: string;
}

export const STATE_FILE = 'tracking-state.json';

export function loadState(runDir: string): TrackingState {
  const p = join(runDir, STATE_FILE);
  if (!existsSync(p)) return { version: 2, stages: {}, pending: true };
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
  writeJsonAtomic(p, state);
}

export interface StateSaver {
  /** Write soon: at most once per interval, however often it is asked. */
  save(): void;
  /** Write now (going offline, handing off, closing, the end of a sync). */
  now(): void;
}

/**
 * The state changes several times per stage; writing it each time cost more than the pushes
 * (hundreds of renames on a cached run), so it is written at most every `everyMs`, and at once
 * when it matters. A crash in between loses at most that window: the next sync looks the runs up
 * by tag (recover) and MLflow drops repeated points. A timed write that fails is retried by the
 * next one, and `now()` reports it (to `onError` when given, else by throwing).
 */
export function stateSaver(runDir: string, state: TrackingState, opts: { everyMs?: number; onError?: (err: unknown) => void } = {}): StateSaver {
  let timer: NodeJS.Timeout | undefined;
  const write = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    saveState(runDir, state);
  };
  const now = () => {
    try {
      write();
    } catch (err) {
      if (!opts.onError) throw err;
      opts.onError(err);
    }
  };
  const timed = () => {
    try {
      write();
    } catch {
      /* kept dirty: now() at the end writes it again, or says why it cannot */
    }
  };
  return {
    save: () => {
      timer ??= setTimeout(timed, opts.everyMs ?? 250).unref();
    },
    now,
  };
}
