// One worker process per device slot (src/exec/worker.ts), reused for the slot's next heavy
// stage: starting Node + tsx + the engine costs seconds, more than many evaluate stages take.
// A worker whose stage failed is retired (its state is suspect); one that dies mid-stage fails
// that stage with the signal or exit code and the last lines of its stderr.
import { fileURLToPath } from 'node:url';
import type { ResultPromise } from 'execa';
import type { DeviceSlot, StageResult } from '../types/stage.ts';
import { slotEnv } from './devices.ts';
import type { StageJob, WorkerMessage } from './harness.ts';
import type { Runner, RunnerContext } from './runner.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** Jobs before a worker is replaced anyway (bounds slow leaks in stage code). */
const MAX_JOBS = Number(process.env.MILFLOW_WORKER_MAX_JOBS) || 50;

interface Current {
  resolve(r: StageResult): void;
  reject(e: Error): void;
  log(m: string): void;
  onMsg(m: WorkerMessage): void;
}

interface Worker {
  sub: ResultPromise;
  pid?: number;
  current: Current | null;
  tail: string[];
  jobs: number;
  exited: boolean;
}

export class WorkerPool {
  private workers = new Map<DeviceSlot, Worker>();
  private all = new Set<Worker>();

  constructor(private opts: { sharedGpu: boolean; signal: AbortSignal; reuse?: boolean }) {}

  private async spawn(slot: DeviceSlot): Promise<Worker> {
    // execa costs a quarter second to import: only runs that start workers pay for it.
    const { execaNode } = await import('execa');
    const sub = execaNode(WORKER, [], {
      nodeOptions: ['--import', import.meta.resolve('tsx')],
      serialization: 'json',
      env: slotEnv(slot, this.opts.sharedGpu),
      // Interrupted: SIGTERM, then SIGKILL soon after. A stage computing without awaiting never
      // sees the SIGTERM, and nothing is lost by killing it: its temp dir is dropped anyway.
      cancelSignal: this.opts.signal,
      forceKillAfterDelay: 500,
      reject: false,
      buffer: false,
      stdin: 'ignore',
    });
    const w: Worker = { sub, pid: sub.pid, current: null, tail: [], jobs: 0, exited: false };
    sub.stdout?.on('data', (d: Buffer) => w.current?.log(String(d).trimEnd()));
    sub.stderr?.on('data', (d: Buffer) => {
      const text = String(d).trimEnd();
      w.current?.log(text);
      w.tail.push(...text.split('\n'));
      if (w.tail.length > 20) w.tail.splice(0, w.tail.length - 20);
    });
    sub.on('message', (m: WorkerMessage) => {
      const c = w.current;
      if (!c) return;
      if (m.t === 'result') c.resolve(m.result);
      else if (m.t === 'error') {
        if (m.stack) c.log(m.stack);
        c.reject(new Error(m.message));
      } else if (m.t === 'log') c.log(m.message);
      else c.onMsg(m);
    });
    void sub.then((r) => {
      w.exited = true;
      if (this.workers.get(slot) === w) this.workers.delete(slot);
      this.all.delete(w);
      const c = w.current;
      if (c) {
        const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
        const tail = w.tail.filter(Boolean).slice(-3).join(' | ');
        c.reject(new Error(`worker ${how} before finishing${tail ? `: ${tail}` : ''}`));
      }
    });
    this.workers.set(slot, w);
    this.all.add(w);
    return w;
  }

  private retire(w: Worker): void {
    for (const [slot, x] of this.workers) if (x === w) this.workers.delete(slot);
    if (!w.exited) w.sub.kill('SIGTERM');
  }

  /** Runs a job on the worker of `slot` (starting one if needed). */
  async run(slot: DeviceSlot, job: StageJob, log: (m: string) => void, onMsg: (m: WorkerMessage) => void): Promise<StageResult> {
    let w = this.workers.get(slot);
    if (!w || w.exited || w.current) w = await this.spawn(slot);
    const worker = w;
    worker.tail = [];
    worker.jobs++;
    return new Promise<StageResult>((resolve, reject) => {
      worker.current = {
        resolve: (r) => {
          worker.current = null;
          if (this.opts.reuse === false || worker.jobs >= MAX_JOBS) this.retire(worker);
          resolve(r);
        },
        reject: (e) => {
          worker.current = null;
          this.retire(worker);
          reject(e);
        },
        log,
        onMsg,
      };
      (worker.sub as unknown as { sendMessage(m: unknown): Promise<void> }).sendMessage(job).catch((err: Error) => worker.current?.reject(err));
    });
  }

  /** Lets idle workers exit (they leave when the IPC channel closes) and waits for them. */
  async close(): Promise<void> {
    const subs = [...this.all].map((w) => {
      if (!w.exited) {
        try { w.sub.disconnect(); } catch { w.sub.kill('SIGTERM'); }
      }
      return w.sub;
    });
    this.workers.clear();
    await Promise.race([Promise.allSettled(subs), new Promise((r) => setTimeout(r, 5000).unref())]);
    for (const w of this.all) if (!w.exited) w.sub.kill('SIGKILL');
  }
}

/** The local executor's runner: one reusable worker process per device slot. */
export function workerPoolRunner(ctx: RunnerContext): Runner {
  const free = [...ctx.slots.slots];
  const pool = new WorkerPool({ sharedGpu: ctx.slots.sharedGpu, signal: ctx.signal, reuse: process.env.MILFLOW_WORKER_REUSE !== '0' });
  return {
    concurrency: ctx.slots.slots.length,
    claim: () => free.shift()!,
    release: (slot) => { free.push(slot); },
    run: (job, _attempt, log, onMessage) => pool.run(job.device, job, log, onMessage),
    close: () => pool.close(),
  };
}
