// The runner of light stages: in this process, on the CPU, through the same harness as a worker
// (./harness.ts), so a stage cannot tell where it runs.
import { loadKind } from '../stages/registry.ts';
import type { DeviceSlot } from '../types/stage.ts';
import { runJob } from './harness.ts';
import type { Runner } from './runner.ts';

export function inProcessRunner(opts: { signal: AbortSignal; cores: number }): Runner {
  const device: DeviceSlot = { kind: 'cpu', index: 0, threads: opts.cores };
  return {
    // Light stages are short and mostly I/O; two at a time keep the event loop responsive.
    concurrency: 2,
    claim: () => device,
    release: () => {},
    run: async (job, _attempt, log, onMessage) => {
      const kind = await loadKind(job.kind);
      return runJob(kind, job, opts.signal, (m) => (m.t === 'log' ? log(m.message) : onMessage(m)));
    },
    close: async () => {},
  };
}
