// Worker process for heavy stages: `node --import tsx src/exec/worker.ts`, started by the
// local executor (src/exec/pool.ts) with an IPC channel, one per device slot. Receives StageJobs
// one at a time, runs each, and reports log/progress/metric lines and the result (or the error)
// as IPC messages. After a failed stage it exits, so the next stage starts from a clean process.
import { loadKind, registerStageKind } from '../stages/registry.ts';
import { runJob, type StageJob, type WorkerMessage } from './harness.ts';

const send = (m: WorkerMessage) => new Promise<void>((res) => (process.send ? process.send(m, undefined, {}, () => res()) : res()));

if (!process.send) {
  console.error('src/exec/worker.ts is started by `milflow run` (it needs an IPC channel)');
  process.exit(2);
}

let current: AbortController | null = null;
// Orchestrator gone (killed, or done with us): nobody will publish our output, stop at once.
process.on('disconnect', () => process.exit(current ? 1 : 0));
process.on('SIGTERM', () => { current?.abort(); setTimeout(() => process.exit(143), 2000).unref(); });
process.on('SIGINT', () => { /* the orchestrator decides; it sends SIGTERM */ });

const registered = new Set<string>();
let chain = Promise.resolve();
process.on('message', (job: StageJob) => {
  chain = chain.then(async () => {
    current = new AbortController();
    try {
      for (const ref of Object.values(job.modules ?? {})) {
        if (!registered.has(ref)) { await registerStageKind(ref); registered.add(ref); }
      }
      const kind = await loadKind(job.kind);
      const result = await runJob(kind, job, current.signal, (m) => void send(m));
      current = null;
      await send({ t: 'result', result });
    } catch (err: any) {
      await send({ t: 'error', message: String(err?.message ?? err), stack: err?.stack });
      process.exit(1);
    }
  });
});
