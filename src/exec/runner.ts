// Where a stage runs. The orchestrator (./orchestrator.ts) owns the plan, the cache locks, the
// retries and the run journal; a runner only claims a device, runs one StageJob on it and passes
// the stage's messages back. Light stages run in this process (./in-process.ts); heavy ones on
// the runner that `resources.executor` names in RUNNERS (./runners.ts).
import type { Resources } from '../spec/types.gen.ts';
import type { DeviceSlot, StageResult } from '../types/stage.ts';
import type { SlotPlan } from './devices.ts';
import type { StageJob, WorkerMessage } from './harness.ts';

export interface Runner {
  /** Stages in flight at once (devices for a local pool; a politeness cap for a batch queue). */
  readonly concurrency: number;
  /** A device for one stage (recorded in its manifest); give it back with release(). */
  claim(): DeviceSlot;
  release(slot: DeviceSlot): void;
  /** Runs one attempt of a job on job.device. `host` is where it ran when not this machine. */
  run(job: StageJob, attempt: number, log: (m: string) => void, onMessage: (m: WorkerMessage) => void): Promise<StageResult & { host?: string }>;
  /** Stops idle workers and waits for them. */
  close(): Promise<void>;
}

export interface RunnerContext {
  resources: Resources;
  /** The run's directory (job files, logs). */
  runDir: string;
  /** Aborted on Ctrl-C / SIGTERM: cancel what runs. */
  signal: AbortSignal;
  /** milflow run --jobs. */
  jobs?: number;
  slots: SlotPlan;
}
