// Runs one stage kind around a StageContext, in the orchestrator (light stages) or in a worker
// process (heavy stages): the same code either way, so a stage cannot tell where it runs.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceSlot, Json, StageInput, StageKind, StageResult } from '../types/stage.ts';

/** What a worker receives (JSON over IPC). */
export interface StageJob {
  id: string;
  kind: string;
  key: string;
  params: Json;
  outDir: string;
  inputs: Record<string, StageInput>;
  externals: Record<string, string>;
  device: DeviceSlot;
  /** Version the key was computed with (the kind's registry row). */
  version: string;
  /** Test-registered kinds: kind → module path. */
  modules?: Record<string, string>;
}

export type WorkerMessage =
  | { t: 'log'; message: string }
  | { t: 'progress'; done: number; total: number; note?: string }
  /** time: when the stage computed it (ms since the epoch), so MLflow shows the epoch's own time. */
  | { t: 'metric'; name: string; value: number; step?: number; time?: number }
  | { t: 'result'; result: StageResult }
  | { t: 'error'; message: string; stack?: string };

export async function runJob(kind: StageKind, job: StageJob, signal: AbortSignal, emit: (m: WorkerMessage) => void): Promise<StageResult> {
  const metricsFile = join(job.outDir, 'metrics.jsonl');
  const result = await kind.run(job.params, {
    id: job.id, key: job.key, outDir: job.outDir, inputs: job.inputs, externals: job.externals, device: job.device, signal,
    log: (message) => emit({ t: 'log', message: String(message) }),
    progress: (done, total, note) => emit({ t: 'progress', done, total, note }),
    metric: (name, value, step) => {
      const time = Date.now();
      appendFileSync(metricsFile, JSON.stringify({ name, value, step: step ?? null, time }) + '\n');
      emit({ t: 'metric', name, value, step, time });
    },
  });
  return result ?? {};
}
