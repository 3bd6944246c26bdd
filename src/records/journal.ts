// Run records: runs/<experiment>/<run-id>/{events.jsonl, record.json, spec.yaml}, and
// runs/<experiment>/identities.json — the last planned key, params and inputs of every identity,
// which `plan` diffs against to say why a stage runs.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { writeJsonAtomic } from '../io/atomic.ts';
import type { DeviceSlot, Json } from '../types/stage.ts';
import type { InputRef } from '../types/stage.ts';
import type { RunEvent, StageStatus } from './events.ts';


export interface IdentityRecord {
  key: string;
  version: string;
  params: Json;
  inputs: Record<string, InputRef>;
  status: StageStatus | 'planned';
  runId: string;
}

export interface StageRecord {
  id: string;
  kind: string;
  key: string;
  status: StageStatus | 'pending' | 'running';
  reason: string;
  seconds?: number;
  error?: string;
  /** A failed stage's log file (absolute). */
  log?: string;
  engine?: string;
  device?: DeviceSlot;
  attempts?: number;
  manifestPath?: string;
  labels?: Record<string, string | number>;
}

export interface RunRecord {
  runId: string;
  experiment: string;
  status: 'running' | 'succeeded' | 'failed' | 'interrupted';
  specPath: string;
  specHash: string;
  milflowVersion: string;
  host: string;
  pid: number;
  started: string;
  finished?: string;
  seconds?: number;
  counts: Record<StageStatus, number>;
  stages: StageRecord[];
  /** Warnings printed during the run (damaged entries recomputed, degenerate data); the report shows them. */
  warnings?: { id?: string; code: string; message: string }[];
}

export const experimentDir = (root: string, experiment: string) => join(root, experiment);

export function newRunId(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}-${randomBytes(2).toString('hex')}`;
}


export function readIdentities(root: string, experiment: string): Record<string, IdentityRecord> {
  try {
    return JSON.parse(readFileSync(join(experimentDir(root, experiment), 'identities.json'), 'utf8'));
  } catch {
    return {};
  }
}

/** Merges entries into identities.json under a file lock (concurrent runs of one experiment). */
export async function updateIdentities(root: string, experiment: string, entries: Record<string, IdentityRecord>): Promise<void> {
  const dir = experimentDir(root, experiment);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'identities.json');
  const release = await lockfile.lock(file, { realpath: false, stale: 10000, retries: { retries: 40, minTimeout: 50, maxTimeout: 500 } });
  try {
    const cur = readIdentities(root, experiment);
    Object.assign(cur, entries);
    writeJsonAtomic(file, cur, 2);
  } finally {
    await release().catch(() => {});
  }
}

/** Run directories of an experiment, oldest first (run ids sort by time). */
export function runDirs(root: string, experiment: string): string[] {
  const dir = experimentDir(root, experiment);
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  return names.filter((n) => /^\d{8}-\d{6}-[0-9a-f]+$/.test(n) && existsSync(join(dir, n, 'record.json'))).sort().map((n) => join(dir, n));
}

export function readRecord(runDir: string): RunRecord {
  return readJsonFile(join(runDir, 'record.json'), 'run record');
}

/** Parses a JSON file; every failure names the file (a torn or hand-edited record is common after a crash). */
export function readJsonFile<T = any>(path: string, what = 'JSON file'): T {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err: any) { throw new Error(`${path}: cannot read ${what} (${err?.code ?? err?.message})`); }
  if (!text.trim()) throw new Error(`${path}: ${what} is empty`);
  try { return JSON.parse(text); } catch (err: any) { throw new Error(`${path}: ${what} is not valid JSON (${err?.message})`); }
}

/** Writes one run's directory. */
export class RunRecorder {
  readonly dir: string;
  private eventsPath: string;
  constructor(root: string, experiment: string, readonly runId: string) {
    this.dir = join(experimentDir(root, experiment), runId);
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    this.eventsPath = join(this.dir, 'events.jsonl');
  }
  writeSpec(text: string): void {
    // A tracking URI may carry a password (http://user:pass@host): never stored in the run.
    writeFileSync(join(this.dir, 'spec.yaml'), text.replace(/\b(https?:\/\/)[^/@\s'"]*@/g, '$1'));
  }
  event(e: RunEvent): void {
    appendFileSync(this.eventsPath, JSON.stringify(e) + '\n');
  }
  writeRecord(r: RunRecord): void {
    writeJsonAtomic(join(this.dir, 'record.json'), r, 2);
  }
  logPath(stageId: string): string {
    return join(this.dir, 'logs', stageId.replace(/[^A-Za-z0-9_.=-]+/g, '_') + '.log');
  }
}

export const thisHost = hostname();
