// Starts a real `mlflow server` (sqlite backend, artifact proxy) on a free 127.0.0.1 port for
// integration tests; installs MLflow through scripts/setup-mlflow.sh when needed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** undefined when MLflow is available; otherwise why not (the caller skips, printing it). */
export function mlflowUnavailable(): string | undefined {
  const r = spawnSync('bash', [join(ROOT, 'scripts/setup-mlflow.sh')], { encoding: 'utf8', timeout: 15 * 60_000 });
  if (r.status === 0) return undefined;
  return `MLflow could not be installed (scripts/setup-mlflow.sh exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`;
}

export interface MlflowServer {
  uri: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
  /** Start again on the same port and store (after stop()). */
  start(): Promise<void>;
  /** Stop and delete the store. */
  close(): Promise<void>;
}

async function waitHealthy(uri: string, proc: ChildProcess, logPath: string, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (proc.exitCode !== null) throw new Error(`mlflow server exited (${proc.exitCode}): ${readFileSync(logPath, 'utf8').slice(-1500)}`);
    try {
      const r = await fetch(`${uri}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`mlflow server not healthy after ${timeoutMs} ms: ${readFileSync(logPath, 'utf8').slice(-1500)}`);
}

export async function startMlflow(): Promise<MlflowServer> {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-mlflow-'));
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  let n = 0;
  const server: Omit<MlflowServer, 'close'> & Partial<Pick<MlflowServer, 'close'>> = {
    uri,
    port,
    dir,
    async start() {
      const logPath = join(dir, `server-${n++}.log`);
      const fd = openSync(logPath, 'a');
      // Own process group: stop() ends the server and its uvicorn worker together.
      proc = spawn('bash', [join(ROOT, 'scripts/start-mlflow.sh'), String(port), dir], { detached: true, stdio: ['ignore', fd, fd] });
      await waitHealthy(uri, proc, logPath);
    },
    async stop() {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null || p.pid === undefined) return;
      const gone = new Promise<void>((r) => p.once('exit', () => r()));
      try {
        process.kill(-p.pid, 'SIGTERM');
      } catch {
        return;
      }
      const t = setTimeout(() => {
        try {
          process.kill(-p.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000);
      await gone;
      clearTimeout(t);
      // The port must refuse connections before an outage test goes on.
      for (let i = 0; i < 40; i++) {
        try {
          await fetch(`${uri}/health`, { signal: AbortSignal.timeout(500) });
          await new Promise((r) => setTimeout(r, 250));
        } catch {
          return;
        }
      }
    },
  };
  server.close = async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  await server.start();
  return server as MlflowServer;
}
