// Fault injection for scripts/fault-inject.ts and the crash tests: MILFLOW_FAULT=<point>[@<n>]
// kills this process with SIGKILL the n-th time (default 1st) it reaches <point>. Unset, this is
// one environment lookup per call.
const hits = new Map<string, number>();

export function faultPoint(point: string): void {
  const spec = process.env.MILFLOW_FAULT;
  if (!spec) return;
  const [name, nth = '1'] = spec.split('@');
  if (name !== point) return;
  const n = (hits.get(point) ?? 0) + 1;
  hits.set(point, n);
  if (n === Number(nth)) process.kill(process.pid, 'SIGKILL');
}
