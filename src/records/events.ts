// Events of a `milflow run`, appended to runs/<experiment>/<run-id>/events.jsonl.
// Tracking (MLflow) and the report consume these; the executor only emits them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceSlot } from '../types/stage.ts';

export type StageStatus = 'executed' | 'cached' | 'failed' | 'skipped';

export type RunEvent =
  | {
      type: 'run-start';
      time: string;
      runId: string;
      experiment: string;
      specPath: string;
      specHash: string;
      milflowVersion: string;
      stages: { id: string; kind: string; key: string; action: 'run' | 'cached'; reason: string; labels?: Record<string, string | number> }[];
    }
  | { type: 'stage-start'; time: string; id: string; kind: string; key: string; device: DeviceSlot; attempt: number }
  | { type: 'stage-progress'; time: string; id: string; done: number; total: number; note?: string }
  /** A metric() call of a running stage (also stored in the entry's metrics.jsonl). */
  | { type: 'stage-metric'; time: string; id: string; name: string; value: number; step?: number }
  | {
      type: 'stage-end';
      time: string;
      id: string;
      kind: string;
      key: string;
      status: StageStatus;
      seconds: number;
      /** Absolute path of the cache entry's manifest.json (executed or cached). */
      manifestPath?: string;
      /** For cached stages: the run that computed the entry. */
      producedByRunId?: string;
      error?: string;
      /** A failed stage's log file (absolute). */
      log?: string;
    }
  /** Something the user must hear about although the run goes on (damaged cache entry, degenerate data). */
  | { type: 'warning'; time: string; id?: string; code: string; message: string }
  | { type: 'run-end'; time: string; runId: string; status: 'succeeded' | 'failed' | 'interrupted'; counts: Record<StageStatus, number>; seconds: number };

/**
 * A run's events, in order. A missing log is an empty run unless `required` (then an error
 * naming the file). A run killed mid-write leaves a partial last line: skipped; a bad line
 * anywhere else is corruption and names file:line.
 */
export function readEvents(runDir: string, opts: { required?: boolean } = {}): RunEvent[] {
  const p = join(runDir, 'events.jsonl');
  if (!existsSync(p)) {
    if (opts.required) throw new Error(`${p}: no event log (is ${runDir} a milflow run directory?)`);
    return [];
  }
  const lines = readFileSync(p, 'utf8').split('\n');
  const out: RunEvent[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as RunEvent);
    } catch (err) {
      if (i >= lines.length - 2) return;
      throw new Error(`${p}:${i + 1}: invalid event (${(err as Error).message})`);
    }
  });
  return out;
}

/** Last stage-end per stage id, in first-seen order (a retried stage ends once more). */
export function stageEnds(events: RunEvent[]): Extract<RunEvent, { type: 'stage-end' }>[] {
  const byId = new Map<string, Extract<RunEvent, { type: 'stage-end' }>>();
  for (const e of events) if (e.type === 'stage-end') byId.set(e.id, e);
  return [...byId.values()];
}
