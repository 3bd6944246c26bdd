// Reads a run's event log (the tracking outbox): runs/<exp>/<run-id>/events.jsonl.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from '../exec/events.ts';

export function readEvents(runDir: string): RunEvent[] {
  const p = join(runDir, 'events.jsonl');
  if (!existsSync(p)) throw new Error(`${p}: no event log (is ${runDir} a milflow run directory?)`);
  const lines = readFileSync(p, 'utf8').split('\n');
  const out: RunEvent[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as RunEvent);
    } catch (err) {
      // A run killed mid-write leaves a partial last line: tolerated; anything else is corruption.
      if (i >= lines.length - 2) return;
      throw new Error(`${p}:${i + 1}: invalid event (${(err as Error).message})`);
    }
  });
  return out;
}

/** Last stage-end per stage id, in first-seen order (a retried stage ends once more). */
export function stageEnds(events: RunEvent[]): Extract<RunEvent, { type: 'stage-end' }>[] {
  const byId = new Map<string, Extract<RunEvent, { type: 'stage-end' }>>();
  for (const e of events) if (e.type === 'stage-end') byId.set(e.id, e);
  return [...byId.values()];
}
