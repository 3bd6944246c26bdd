// Worker process for one heavy stage: `node --import tsx src/stages/worker.ts`, started by the
// local executor (src/exec/local.ts) with an IPC channel. Receives a StageJob, runs it, and
// reports log/progress/metric lines and the result (or the error) as IPC messages.
import { loadKind, registerStageKind } from '../exec/kinds.ts';
import { runJob, type StageJob, type WorkerMessage } from '../exec/harness.ts';

const send = (m: WorkerMessage) => new Promise<void>((res) => (process.send ? process.send(m, undefined, {}, () => res()) : res()));

if (!process.send) {
  console.error('src/stages/worker.ts is started by `milflow run` (it needs an IPC channel)');
  process.exit(2);
}

const abort = new AbortController();
// Orchestrator gone (killed): nobody will publish our output, stop at once.
process.on('disconnect', () => process.exit(1));
process.on('SIGTERM', () => { abort.abort(); setTimeout(() => process.exit(143), 2000).unref(); });
process.on('SIGINT', () => { /* the orchestrator decides; it sends SIGTERM */ });

process.once('message', async (job: StageJob) => {
  let code = 0;
  try {
    for (const path of Object.values(job.modules ?? {})) await registerStageKind(path);
    const kind = await loadKind(job.kind);
    const result = await runJob(kind, job, abort.signal, (m) => void send(m));
    await send({ t: 'result', result });
  } catch (err: any) {
    code = 1;
    await send({ t: 'error', message: String(err?.message ?? err), stack: err?.stack });
  }
  // Stages may leave handles (thread pools) open: exit explicitly.
  process.exit(code);
});
