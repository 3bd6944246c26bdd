// Events of a `milflow run`, appended to runs/<experiment>/<run-id>/events.jsonl.
// Tracking (MLflow) and the report consume these; the executor only emits them.
import type { DeviceSlot } from '../stages/types.ts';

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
    }
  /** Something the user must hear about although the run goes on (damaged cache entry, degenerate data). */
  | { type: 'warning'; time: string; id?: string; code: string; message: string }
  | { type: 'run-end'; time: string; runId: string; status: 'succeeded' | 'failed' | 'interrupted'; counts: Record<StageStatus, number>; seconds: number };
