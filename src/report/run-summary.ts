// What ran: from a run's events (executed / cached / failed and why, time per stage kind) and
// the manifests of its stages (engines, devices, versions).
import type { RunEvent } from '../records/events.ts';
import type { StageEntry } from './inputs.ts';

export interface KindRow { kind: string; executed: number; cached: number; failed: number; skipped: number; seconds: number }
export interface RunSummary {
  runId?: string;
  experiment?: string;
  specPath?: string;
  specHash?: string;
  milflowVersion?: string;
  status?: string;
  started?: string;
  seconds?: number;
  counts: { executed: number; cached: number; failed: number; skipped: number };
  failed: { id: string; error: string }[];
  skipped: string[];
  byKind: KindRow[];
  engines: string[];
  devices: string[];
  hosts: string[];
  /** Stage count by reason the planner gave (new, params changed, ...). */
  reasons: Record<string, number>;
}

export function summarizeRun(events: RunEvent[] | undefined, entries: StageEntry[]): RunSummary {
  const s: RunSummary = { counts: { executed: 0, cached: 0, failed: 0, skipped: 0 }, failed: [], skipped: [], byKind: [], engines: [], devices: [], hosts: [], reasons: {} };
  const kinds = new Map<string, KindRow>();
  const row = (k: string) => {
    if (!kinds.has(k)) kinds.set(k, { kind: k, executed: 0, cached: 0, failed: 0, skipped: 0, seconds: 0 });
    return kinds.get(k)!;
  };
  if (events) {
    const ends = new Map<string, Extract<RunEvent, { type: 'stage-end' }>>();
    for (const e of events) {
      if (e.type === 'run-start') {
        Object.assign(s, { runId: e.runId, experiment: e.experiment, specPath: e.specPath, specHash: e.specHash, milflowVersion: e.milflowVersion, started: e.time });
        for (const st of e.stages) {
          const r = st.reason.split(':')[0].trim() || st.reason;
          s.reasons[r] = (s.reasons[r] ?? 0) + 1;
        }
      } else if (e.type === 'stage-end') ends.set(e.id, e);
      else if (e.type === 'run-end') Object.assign(s, { status: e.status, seconds: e.seconds });
    }
    for (const e of ends.values()) {
      s.counts[e.status]++;
      const r = row(e.kind);
      r[e.status]++;
      if (e.status === 'executed') r.seconds += e.seconds;
      if (e.status === 'failed') s.failed.push({ id: e.id, error: e.error ?? 'no reason recorded' });
      if (e.status === 'skipped') s.skipped.push(e.id);
    }
    if (!s.status) s.status = 'running or interrupted (no run-end event)';
  } else {
    for (const e of entries) {
      const r = row(e.kind);
      r.executed++;
      r.seconds += e.manifest.timings?.seconds ?? 0;
      s.counts.executed++;
    }
    s.milflowVersion = entries[0]?.manifest.milflow_version;
  }
  const uniq = (x: (string | undefined)[]) => [...new Set(x.filter((v): v is string => !!v))].sort();
  s.engines = uniq(entries.map((e) => e.manifest.engine));
  s.devices = uniq(entries.map((e) => (e.manifest.device ? `${e.manifest.device.kind}:${e.manifest.device.index}` : undefined)));
  s.hosts = uniq(entries.map((e) => e.manifest.host));
  const order = ['dataset', 'splits', 'segment', 'patch', 'extract', 'train', 'evaluate', 'aggregate', 'ensemble', 'compare', 'report'];
  s.byKind = [...kinds.values()].sort((a, b) => (order.indexOf(a.kind) + 1 || 99) - (order.indexOf(b.kind) + 1 || 99) || (a.kind < b.kind ? -1 : 1));
  return s;
}

export function fmtSeconds(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  if (x < 60) return `${x.toFixed(1)} s`;
  if (x < 3600) return `${Math.floor(x / 60)} min ${Math.round(x % 60)} s`;
  return `${Math.floor(x / 3600)} h ${Math.round((x % 3600) / 60)} min`;
}
