// Spec loading: YAML (with source positions) → ajv schema validation + defaults → semantic
// checks → resolution (absolute dataset paths, expanded defaults) → sweep variants.
// Every problem is collected and thrown as one SpecError (exit code 2).
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, isAbsolute } from 'node:path';
import { canonicalHash } from './canonical.ts';
import { SpecError, displayPath, type SpecMessage, type SpecPath } from './errors.ts';
import { parseYaml, type ParsedYaml } from './positions.ts';
import { schemaIssues, type Issue } from './schema.ts';
import { resolvePath, semanticIssues } from './semantic.ts';
import { splitImportIssues } from './split-import.ts';
import { pretrainedIssues } from './pretrained.ts';
import { cohortOverlapIssues } from './cohort-overlap.ts';
import { cartesian, setPath, sweepTarget } from './sweep.ts';
import { isClam } from '../models/config.ts';
import { type LoadedSpec, type ResolvedExperiment, type Variant } from './resolved.ts';

export * from './resolved.ts';
export { SpecError, formatSpecMessage, type SpecMessage } from './errors.ts';
export { canonicalJson, canonicalHash } from './canonical.ts';

export interface LoadOptions {
  /** Check that dataset files exist (default true). Off for specs that name the user's data. */
  checkFiles?: boolean;
}

/** Most combinations a sweep may expand to: beyond this, it is almost surely a mistake. */
export const MAX_VARIANTS = 10_000;

export async function loadSpec(path: string, opts: LoadOptions = {}): Promise<LoadedSpec> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SpecError([{ file: path, line: 1, column: 1, path: '', message: code === 'ENOENT' ? 'spec file not found' : `cannot read spec file (${(e as Error).message})` }]);
  }
  return parseSpec(text, path, opts);
}

/** Like loadSpec, but returns the messages instead of throwing SpecError. */
export async function validateSpec(path: string, opts: LoadOptions = {}): Promise<{ ok: true; loaded: LoadedSpec } | { ok: false; messages: SpecMessage[] }> {
  try {
    return { ok: true, loaded: await loadSpec(path, opts) };
  } catch (e) {
    if (e instanceof SpecError) return { ok: false, messages: e.messages };
    throw e;
  }
}

/** Validates spec text as if it were the file at `path` (which need not exist). */
export function parseSpec(text: string, path: string, opts: LoadOptions = {}): LoadedSpec {
  const absPath = resolve(path);
  const dir = dirname(absPath);
  const file = displayFile(path);
  const y = parseYaml(text);
  const at = (issue: Issue): SpecMessage => {
    const p = y.locate(issue.path, { key: issue.atKey });
    return { file, line: p.line, column: p.column, path: displayPath(issue.path), message: issue.message };
  };
  if (y.errors.length) {
    throw new SpecError(y.errors.map((e) => ({ file, line: e.line, column: e.column, path: '', message: `YAML syntax: ${e.message}` })));
  }
  if (y.data === null || y.data === undefined) throw new SpecError([{ file, line: 1, column: 1, path: '', message: 'the spec is empty' }]);
  if (typeof y.data !== 'object' || Array.isArray(y.data)) {
    throw new SpecError([{ file, line: 1, column: 1, path: '', message: `the spec must be a mapping (key: value), got ${Array.isArray(y.data) ? 'a list' : 'a single value'}` }]);
  }

  const data: any = structuredClone(y.data);
  const semOpts = { dir, checkFiles: opts.checkFiles };
  const issues = schemaIssues(data);
  // Semantic checks assume the shapes the schema guarantees; with schema errors they still run
  // (to report everything at once) but only where the shapes hold, so guard in semanticIssues.
  issues.push(...safeSemantic(data, semOpts));
  // Imported splits: folds and fractions come from the directories (filled into data here).
  if (issues.length === 0) issues.push(...splitImportIssues(data, y.data, dir, opts.checkFiles !== false));
  if (issues.length === 0) issues.push(...pretrainedIssues(data, dir, opts.checkFiles !== false));
  if (issues.length === 0) issues.push(...cohortOverlapIssues(data, dir, opts.checkFiles !== false));
  if (issues.length) throw new SpecError(sortMessages(issues.map(at)));

  const spec = resolveSpec(data, dir);
  const variants = expandSweep(data, dir, semOpts, y, file);
  return { path: absPath, dir, text, hash: canonicalHash(spec), spec, variants };
}

function safeSemantic(data: any, opts: { dir: string; checkFiles?: boolean }): Issue[] {
  try {
    return semanticIssues(data, opts);
  } catch {
    return []; // a shape the schema already reported as wrong
  }
}

function expandSweep(data: any, dir: string, opts: { dir: string; checkFiles?: boolean }, y: ParsedYaml, file: string): Variant[] {
  const sweep: Record<string, unknown[]> = data.sweep ?? {};
  const keys = Object.keys(sweep);
  const base = structuredClone(data);
  delete base.sweep;
  if (keys.length === 0) {
    const spec = resolveSpec(base, dir);
    return [{ coords: {}, spec, hash: canonicalHash(spec) }];
  }
  const msgs: SpecMessage[] = [];
  const msgAt = (path: SpecPath, message: string, key = false) => {
    const p = y.locate(path, { key });
    msgs.push({ file, line: p.line, column: p.column, path: displayPath(path), message });
  };
  const targets: SpecPath[] = [];
  for (const k of keys) {
    const t = sweepTarget(k, base);
    if (t.ok) targets.push(t.path);
    else msgAt(['sweep', k], t.message, true);
  }
  if (msgs.length) throw new SpecError(msgs);
  const total = keys.reduce((n, k) => n * sweep[k].length, 1);
  if (total > MAX_VARIANTS) {
    msgAt(['sweep'], `expands to ${total} combinations (more than ${MAX_VARIANTS}); sweep fewer values`);
    throw new SpecError(msgs);
  }

  // The base spec's files were checked; re-check per variant only when a sweep can change them.
  const touchesFiles = targets.some((t) => ['dataset', 'evaluate', 'splits', 'task'].includes(String(t[0])));
  const varOpts = { ...opts, checkFiles: opts.checkFiles !== false && touchesFiles };
  const idxLists = keys.map((k) => sweep[k].map((_, i) => i));
  const variants: Variant[] = [];
  const seen = new Set<string>();
  for (const combo of cartesian(idxLists)) {
    const v = structuredClone(base);
    combo.forEach((vi, ki) => setPath(v, targets[ki], structuredClone(sweep[keys[ki]][vi])));
    const issues = schemaIssues(v);
    issues.push(...safeSemantic(v, varOpts));
    if (issues.length) {
      for (const issue of issues) {
        // Blame the swept value whose target contains the problem; when none does (a relation
        // between fields), blame the first and name the whole combination.
        let ki = targets.findIndex((t) => isPrefix(t, issue.path) || isPrefix(issue.path, t));
        const direct = ki >= 0;
        if (!direct) ki = 0;
        const missing = issue.atKey === true && isPrefix(targets[ki], issue.path);
        const where: SpecPath = missing ? ['sweep', keys[ki]] : ['sweep', keys[ki], combo[ki]];
        let message = issue.message;
        if (missing) message = `'${keys[ki]}' does not exist in this spec: ${issue.message}`;
        else if (issue.path.length) message = `makes ${displayPath(issue.path)} invalid: ${message}`;
        if (!direct && keys.length > 1) message += ` (in combination ${keys.map((k, j) => `${k}=${JSON.stringify(sweep[k][combo[j]])}`).join(', ')})`;
        const p = y.locate(where, { key: missing });
        const m = { file, line: p.line, column: p.column, path: displayPath(where), message };
        const id = `${m.line}:${m.column}:${m.message}`;
        if (!seen.has(id)) {
          seen.add(id);
          msgs.push(m);
        }
      }
      continue;
    }
    const spec = resolveSpec(v, dir);
    const coords: Record<string, unknown> = {};
    combo.forEach((vi, ki) => (coords[keys[ki]] = sweep[keys[ki]][vi]));
    variants.push({ coords, spec, hash: canonicalHash(spec) });
  }
  if (msgs.length) throw new SpecError(sortMessages(msgs));
  return variants;
}

function isPrefix(a: SpecPath, b: SpecPath): boolean {
  return a.length <= b.length && a.every((s, i) => s === b[i]);
}

/** Defaults the schema cannot state, and absolute paths. `data` is schema-valid with defaults. */
export function resolveSpec(data: any, dir: string): ResolvedExperiment {
  const spec = structuredClone(data);
  const nClasses = spec.task.classes.length;
  resolveDataset(spec.dataset, dir, nClasses);
  for (const c of spec.evaluate.cohorts) resolveDataset(c.dataset, dir, nClasses);
  if (spec.splits.import_dir !== undefined) {
    const d = spec.splits.import_dir;
    spec.splits.import_dir = typeof d === 'string' ? resolvePath(dir, d) : Object.fromEntries(Object.entries(d).map(([k, v]) => [k, resolvePath(dir, v as string)]));
  }
  for (const m of spec.models) if (typeof m.checkpoints === 'string') m.checkpoints = resolvePath(dir, m.checkpoints);
  if (spec.evaluate.compare === undefined) {
    const clam = spec.models.filter((m: any) => isClam(m.type));
    const other = spec.models.filter((m: any) => !isClam(m.type));
    spec.evaluate.compare = clam.flatMap((a: any) => other.map((b: any) => [a.name, b.name]));
  }
  return spec as ResolvedExperiment;
}

function resolveDataset(d: any, dir: string, nClasses: number) {
  if (d.synthetic) d.synthetic.n_classes ??= nClasses;
  if (d.clam) {
    d.clam.csv = resolvePath(dir, d.clam.csv);
    d.clam.features_dir = resolvePath(dir, d.clam.features_dir);
  }
  if (d.mil_csv) d.mil_csv.csv = resolvePath(dir, d.mil_csv.csv);
  if (d.wsi) {
    const w = d.wsi;
    w.csv = resolvePath(dir, w.csv);
    if (w.process_list !== undefined) w.process_list = resolvePath(dir, w.process_list);
    if (w.encoder?.onnx !== undefined) w.encoder.onnx = resolvePath(dir, w.encoder.onnx);
    if (typeof w.preset === 'string' && /\.csv$/i.test(w.preset)) w.preset = resolvePath(dir, w.preset);
  }
}

function sortMessages(ms: SpecMessage[]): SpecMessage[] {
  return [...ms].sort((a, b) => a.line - b.line || a.column - b.column);
}

function displayFile(path: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
