// A pass-through HTTP proxy in front of a real server that counts the requests it forwards, by
// endpoint: how tests measure what tracking costs the MLflow server.
import { createServer, request, type Server } from 'node:http';

export interface CountingProxy {
  uri: string;
  counts: Map<string, number>;
  total(): number;
  reset(): void;
  close(): Promise<void>;
}

export async function countingProxy(target: string): Promise<CountingProxy> {
  const t = new URL(target);
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const key = `${req.method} ${(req.url ?? '').split('?')[0].replace(/\/(mlflow-artifacts\/artifacts|logged-models)\/.*$/, '/$1/…')}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => {
      res.destroy(); // upstream down: the client sees a dropped connection, as it would without the proxy
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    uri: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    counts,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => counts.clear(),
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
