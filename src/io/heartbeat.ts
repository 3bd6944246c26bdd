// Heartbeats of this process's locks and temp directories, touched from a worker thread: the
// orchestrator's event loop may be blocked for a long time (a light stage computing in-process,
// hashing a large entry), and a heartbeat on that loop would stop and let another run judge a
// live lock stale. The thread is unref'd, so it never keeps the process alive.
import { Worker } from 'node:worker_threads';

const CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const { utimesSync } = require('node:fs');
const paths = new Set();
parentPort.on('message', (m) => { if (m.add) paths.add(m.add); if (m.remove) paths.delete(m.remove); });
setInterval(() => {
  const t = new Date();
  for (const p of paths) { try { utimesSync(p, t, t); } catch {} }
}, workerData.intervalMs);
`;

let worker: Worker | null = null;

/** How often heartbeats are written: a few per stale period, at most every 10 s. */
export const heartbeatMs = (staleMs: number) => Math.max(200, Math.min(10_000, Math.floor(staleMs / 4)));

function thread(staleMs: number): Worker {
  if (!worker) {
    // execArgv: [] keeps the parent's loaders (tsx) out of this plain-JS thread.
    worker = new Worker(CODE, { eval: true, execArgv: [], workerData: { intervalMs: heartbeatMs(staleMs) } });
    worker.unref();
    worker.on('error', (err) => process.emitWarning(`cache heartbeat thread failed: ${err.message}`));
    worker.on('exit', () => { worker = null; });
  }
  return worker;
}

export function beat(path: string, staleMs: number): void {
  thread(staleMs).postMessage({ add: path });
}

export function stopBeat(path: string): void {
  worker?.postMessage({ remove: path });
}
