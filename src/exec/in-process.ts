// The runner of light stages: in this process, on the CPU, through the same harness as a worker
// (./harness.ts, via ./thread.ts), so a stage cannot tell where it runs.
//
// Each stage runs on a worker thread, not on the orchestrator's: a light stage may compute for
// seconds without an await (a large synthetic dataset, bootstrap CIs, tissue segmentation), and
// while it does the orchestrator's thread could not see Ctrl-C / SIGTERM, draw progress or answer
// anything. On interruption the thread is terminated at once (V8 stops even a loop with no
// await), before the orchestrator drops the stage's temp dir, so nothing partial is published.
//
// Threads are started lazily and kept (unref'd, so they never hold the process open) for the next
// stage and the next run in this process: starting one costs about a second (tsx + the modules).
import { SHARE_ENV, Worker } from 'node:worker_threads';
import type { DeviceSlot, StageResult } from '../types/stage.ts';
import type { StageJob, WorkerMessage } from './harness.ts';
import type { Runner } from './runner.ts';
import type { ToThread } from './thread.ts';

// Light stages are short and mostly I/O; two at a time leave the cores to the heavy ones.
const CONCURRENCY = 2;
// Registers tsx in the thread, then loads ./thread.ts.
const BOOT = new URL('./thread-boot.mjs', import.meta.url);

const idle: Worker[] = [];

function startThread(): Worker {
  // execArgv []: not the parent's `--import tsx` / test-runner flags (BOOT registers tsx once).
  // SHARE_ENV: a stage sees the environment as it is now, not as it was when the thread started.
  const w = new Worker(BOOT, { execArgv: [], env: SHARE_ENV });
  // An idle thread that fails or exits (a stage's stray async work) is dropped, never fatal here.
  const forget = () => { const i = idle.indexOf(w); if (i >= 0) idle.splice(i, 1); };
  w.on('error', forget);
  w.on('exit', forget);
  return w;
}

function runOnThread(job: StageJob, signal: AbortSignal, log: (m: string) => void, onMessage: (m: WorkerMessage) => void): Promise<StageResult> {
  if (signal.aborted) return Promise.reject(new Error('interrupted'));
  const w = idle.pop() ?? startThread();
  w.ref();
  return new Promise<StageResult>((resolve, reject) => {
    let settled = false;
    const done = (keep: boolean) => {
      settled = true;
      w.off('message', onMsg);
      w.off('error', onError);
      w.off('exit', onExit);
      signal.removeEventListener('abort', onAbort);
      if (keep && idle.length < CONCURRENCY) { w.unref(); idle.push(w); } else void w.terminate();
    };
    const onMsg = (m: WorkerMessage) => {
      if (settled) return;
      if (m.t === 'result') { done(true); resolve(m.result); }
      // A thread whose stage failed is not reused: its module state is suspect.
      else if (m.t === 'error') { if (m.stack) log(m.stack); done(false); reject(new Error(m.message)); }
      else if (m.t === 'log') log(m.message);
      else onMessage(m);
    };
    const onError = (err: Error) => { if (!settled) { log(err.stack ?? String(err)); done(false); reject(err); } };
    const onExit = (code: number) => { if (!settled) { done(false); reject(new Error(`stage thread exited with code ${code} before finishing`)); } };
    const onAbort = () => {
      if (settled) return;
      settled = true;
      w.off('message', onMsg);
      // Resolved once the thread has stopped: after that it cannot write into the temp dir.
      void w.terminate().finally(() => reject(new Error('interrupted')));
    };
    w.on('message', onMsg);
    w.on('error', onError);
    w.on('exit', onExit);
    signal.addEventListener('abort', onAbort, { once: true });
    w.postMessage({ t: 'job', job } satisfies ToThread);
  });
}

export function inProcessRunner(opts: { signal: AbortSignal; cores: number }): Runner {
  const device: DeviceSlot = { kind: 'cpu', index: 0, threads: opts.cores };
  return {
    concurrency: CONCURRENCY,
    claim: () => device,
    release: () => {},
    run: (job, _attempt, log, onMessage) => runOnThread(job, opts.signal, log, onMessage),
    close: async () => {},
  };
}
