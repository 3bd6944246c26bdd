// Spec / stage params → MLflow params: dotted keys, values as strings within MLflow's limits.
import { LIMITS, type MlflowParam } from './mlflow-client.ts';

/**
 * Flattens nested JSON into dotted keys. Objects recurse; arrays of objects recurse with the
 * index (models.0.name); arrays of scalars become one JSON value (so [1,3] stays readable).
 */
export function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value === undefined) return out;
  if (value === null || typeof value !== 'object') {
    if (prefix) out[prefix] = String(value);
    return out;
  }
  if (Array.isArray(value)) {
    if (value.some((v) => v !== null && typeof v === 'object')) value.forEach((v, i) => flatten(v, prefix ? `${prefix}.${i}` : String(i), out));
    else if (prefix) out[prefix] = JSON.stringify(value);
    return out;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0 && prefix) out[prefix] = '{}';
  for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

const TRUNC = '...[truncated]';

/** MLflow params, sorted by key; over-long values are cut (marked) to MLflow's classic 500-char limit. */
export function toParams(value: unknown): MlflowParam[] {
  return Object.entries(flatten(value))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, v]) => ({
      key: key.length > LIMITS.paramKey ? key.slice(0, LIMITS.paramKey) : key,
      value: v.length > LIMITS.paramValue ? v.slice(0, LIMITS.paramValue - TRUNC.length) + TRUNC : v,
    }));
}

export function clipTag(v: string): string {
  return v.length > LIMITS.tagValue ? v.slice(0, LIMITS.tagValue - TRUNC.length) + TRUNC : v;
}
