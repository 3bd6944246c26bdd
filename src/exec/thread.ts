// Thread side of the light-stage runner (./in-process.ts): runs StageJobs one at a time through
// the same harness as a worker process, and posts their log/progress/metric lines and the result
// (or the error) to the orchestrator's thread.
import { parentPort } from 'node:worker_threads';
import { loadKind, registerStageKind } from '../stages/registry.ts';
import { runJob, type StageJob, type WorkerMessage } from './harness.ts';

// No 'abort' message: on interruption the runner terminates the thread (./in-process.ts).
export type ToThread = { t: 'job'; job: StageJob };

const port = parentPort;
if (!port) throw new Error('src/exec/thread.ts runs in a worker thread started by the light-stage runner');

const registered = new Set<string>();
const post = (m: WorkerMessage) => port.postMessage(m);

port.on('message', (m: ToThread) => {
  const job = m.job;
  // Never aborted from here (the thread is terminated instead); the stage's ctx.signal needs one.
  const ac = new AbortController();
  void (async () => {
    try {
      for (const ref of Object.values(job.modules ?? {})) {
        if (!registered.has(ref)) { await registerStageKind(ref); registered.add(ref); }
      }
      const result = await runJob(await loadKind(job.kind), job, ac.signal, post);
      post({ t: 'result', result });
    } catch (err: any) {
      post({ t: 'error', message: String(err?.message ?? err), stack: err?.stack });
    }
  })();
});
