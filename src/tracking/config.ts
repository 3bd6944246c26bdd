// Where tracking goes: tracking.mlflow.uri in the spec, else MLFLOW_TRACKING_URI.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpec } from '../spec/load.ts';
import { publicUri } from './mlflow-client.ts';

export interface TrackingTarget {
  uri: string;
  experiment: string;
}

interface SpecLike {
  name?: string;
  tracking?: { mlflow?: { uri?: string; experiment?: string } };
}

/** undefined when no MLflow server is configured (local run store only). */
export function resolveTarget(spec: unknown, fallbackName: string, env = process.env, override?: string): TrackingTarget | undefined {
  const s = (spec ?? {}) as SpecLike;
  const uri = override ?? s.tracking?.mlflow?.uri ?? env.MLFLOW_TRACKING_URI;
  if (!uri) return undefined;
  return { uri, experiment: s.tracking?.mlflow?.experiment ?? s.name ?? fallbackName };
}

export const SPEC_SNAPSHOT = 'tracking-spec.json';

/** The spec as it may be stored: the tracking URI without credentials (sync takes them from the environment). */
export function redactSpec<T>(spec: T): T {
  const uri = (spec as SpecLike | null)?.tracking?.mlflow?.uri;
  if (!uri) return spec;
  const s = spec as SpecLike;
  return { ...s, tracking: { ...s.tracking, mlflow: { ...s.tracking!.mlflow, uri: publicUri(uri) } } } as T;
}

/** The spec the tracker saw (so a later sync logs the same params), else the run's spec.yaml. */
export function loadRunSpec(runDir: string): unknown {
  const snap = join(runDir, SPEC_SNAPSHOT);
  if (existsSync(snap)) {
    try {
      return JSON.parse(readFileSync(snap, 'utf8'));
    } catch (err) {
      throw new Error(`${snap}: unreadable spec snapshot (${(err as Error).message}); delete it and sync falls back to ${join(runDir, 'spec.yaml')}`);
    }
  }
  const yml = join(runDir, 'spec.yaml');
  if (!existsSync(yml)) return undefined;
  // Resolved as the run resolved it: relative paths against the spec's own directory.
  let specPath = yml;
  try { specPath = JSON.parse(readFileSync(join(runDir, 'record.json'), 'utf8')).specPath || yml; } catch { /* no record yet */ }
  return parseSpec(readFileSync(yml, 'utf8'), specPath, { checkFiles: false }).spec;
}
