// Plan: for every stage, its key, whether the cache already holds it, and if not, why it must
// run, stated against the last run that planned the same identity (runs/<experiment>/identities.json).
import { resolve } from 'node:path';
import { canonicalJson } from '../spec/canonical.ts';
import type { Json, StageDecl } from '../types/stage.ts';
import { CacheStore } from '../cache/store.ts';
import { readIdentities, type IdentityRecord } from '../records/journal.ts';
import { buildDag } from './build.ts';
import { DigestMemo } from '../cache/digest.ts';
import { computeKeys } from './keys.ts';
import type { LoadedSpec } from '../spec/resolved.ts';
import type { PlannedStage } from './types.ts';

export interface PlanOptions {
  /** Output root (cache and run records). */
  root: string;
  experiment: string;
  /** Only these stages (glob over identities) and what they need. */
  target?: string[];
  /** Run these stages even when cached. */
  force?: string[];
  /** No notice while digesting large external files. */
  quiet?: boolean;
}

export interface Plan {
  experiment: string;
  root: string;
  cacheRoot: string;
  stages: PlannedStage[];
  counts: { run: number; cached: number; total: number };
  seconds: number;
}

/**
 * Glob over stage identities: `*` matches within one path segment, `**` across segments, `?` one
 * character; a pattern without wildcards also matches everything below it (`train/clam_sb`).
 */
export function globMatcher(patterns: string[]): (id: string) => boolean {
  const res = patterns.flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean).map((p) => {
    let re = '';
    for (let i = 0; i < p.length; i++) {
      const c = p[i];
      if (c === '*' && p[i + 1] === '*') { re += '.*'; i++; }
      else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}(/.*)?$`);
  });
  return (id) => res.some((r) => r.test(id));
}

function flatten(v: unknown, prefix: string, out: Map<string, string>): void {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v as object);
    if (keys.length === 0) out.set(prefix, '{}');
    for (const k of keys) flatten((v as any)[k], prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, v === undefined ? 'undefined' : canonicalJson(v));
  }
}

/** Field-level differences of two params objects: "model.B 8 → 16". */
export function paramsDiff(before: Json, after: Json): string[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(before, '', a);
  flatten(after, '', b);
  const out: string[] = [];
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(k);
    const y = b.get(k);
    if (x === y) continue;
    out.push(`${k || '(params)'} ${x ?? '(unset)'} → ${y ?? '(unset)'}`);
  }
  return out;
}

/** Which files of a per-file digested input changed: "h5_files/s1.h5 changed, h5_files/s9.h5 added". */
export function filesDiff(before: Record<string, string>, after: Record<string, string>): string {
  const out: string[] = [];
  for (const [f, d] of Object.entries(after)) if (!(f in before)) out.push(`${f} added`); else if (before[f] !== d) out.push(`${f} changed`);
  for (const f of Object.keys(before)) if (!(f in after)) out.push(`${f} removed`);
  return out.length > 5 ? `${out.slice(0, 5).join(', ')} (+${out.length - 5} more files)` : out.join(', ') || 'content';
}

function reasonFor(s: { key: string; version: string; params: Json; inputs: PlannedStage['inputs'] }, prev: IdentityRecord | undefined): string {
  if (!prev) return 'new';
  if (prev.key === s.key) return prev.status === 'failed' ? 'failed last run' : 'cache entry missing';
  const why: string[] = [];
  if (prev.version !== s.version) why.push(`stage version changed: ${prev.version} → ${s.version}`);
  const diff = paramsDiff(prev.params, s.params);
  if (diff.length) why.push(`params changed: ${diff.slice(0, 3).join(', ')}${diff.length > 3 ? ` (+${diff.length - 3} more)` : ''}`);
  const changed: string[] = [];
  for (const [name, ref] of Object.entries(s.inputs)) {
    const p = prev.inputs[name];
    if (!p) changed.push(ref.id ?? name);
    else if ((p.key ?? p.digest) !== (ref.key ?? ref.digest)) changed.push(ref.id ?? (p.files && ref.files ? `${name} (${filesDiff(p.files, ref.files)})` : `${name} (${ref.path ? 'content' : 'key'})`));
  }
  for (const name of Object.keys(prev.inputs)) if (!s.inputs[name]) changed.push(`${prev.inputs[name].id ?? name} (removed)`);
  if (changed.length) why.push(`input changed: ${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ` (+${changed.length - 3} more)` : ''}`);
  return why.length ? why.join('; ') : 'key changed';
}

/**
 * Progress while a plan reads input files it has not digested before (files, GB, rate): a line
 * rewritten in place on a terminal, a plain line every ~30 s otherwise.
 */
export function hashProgress(out: NodeJS.WriteStream, everyMs = out.isTTY ? 200 : 30000): (h: { files: number; bytes: number }) => void {
  const t0 = performance.now();
  let last = t0;
  return (h) => {
    const now = performance.now();
    if (now - last < everyMs) return;
    last = now;
    const s = (now - t0) / 1000;
    const line = `digesting inputs: ${h.files} files, ${(h.bytes / 2 ** 30).toFixed(2)} GB, ${(h.bytes / 2 ** 20 / s).toFixed(0)} MB/s (remembered for later plans)`;
    out.write(out.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
  };
}

/** Plans a list of declared stages (in dependency order). */
export async function planDecls(decls: StageDecl[], opts: PlanOptions): Promise<Plan> {
  const t0 = performance.now();
  const root = resolve(opts.root);
  const cacheRoot = resolve(root, 'cache');
  const store = new CacheStore(cacheRoot);
  const memo = new DigestMemo(resolve(cacheRoot, '.digests.json'), opts.quiet ? undefined : (path, bytes) => {
    process.stderr.write(`digesting ${path} (${(bytes / 2 ** 30).toFixed(2)} GB; remembered for later plans)\n`);
  });
  if (!opts.quiet) memo.onHashed = hashProgress(process.stderr);

  let selected = decls;
  if (opts.target?.length) {
    const match = globMatcher(opts.target);
    const byId = new Map(decls.map((d) => [d.id, d]));
    const keep = new Set<string>();
    const add = (id: string) => {
      if (keep.has(id)) return;
      keep.add(id);
      for (const up of Object.values(byId.get(id)?.inputs ?? {})) add(up);
    };
    for (const d of decls) if (match(d.id)) add(d.id);
    if (keep.size === 0) throw new Error(`--target ${opts.target.join(',')} matches no stage (stage ids look like ${decls.slice(0, 3).map((d) => d.id).join(', ')})`);
    selected = decls.filter((d) => keep.has(d.id));
  }

  const th = performance.now();
  const keyed = await computeKeys(selected, memo);
  if (memo.hashed.bytes >= 100 * 2 ** 20 && !opts.quiet) {
    const secs = (performance.now() - th) / 1000;
    process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}digested ${memo.hashed.files} input files (${(memo.hashed.bytes / 2 ** 30).toFixed(2)} GB) in ${secs.toFixed(1)} s, ${(memo.hashed.bytes / 2 ** 30 / secs).toFixed(2)} GB/s\n`);
  }
  memo.save();
  const history = readIdentities(root, opts.experiment);
  const forced = opts.force?.length ? globMatcher(opts.force) : () => false;
  const stages: PlannedStage[] = keyed.map((k) => {
    const d = k.decl;
    const base = { key: k.key, version: k.version, params: d.params, inputs: k.inputs };
    let action: PlannedStage['action'];
    let reason: string;
    if (forced(d.id)) { action = 'run'; reason = 'forced'; }
    else if (store.has(d.kind, k.key)) { action = 'cached'; reason = 'cached'; }
    else { action = 'run'; reason = reasonFor(base, history[d.id]); }
    return { id: d.id, kind: d.kind, ...base, action, reason, labels: d.labels ?? {}, deps: [...new Set(Object.values(d.inputs))], decl: d };
  });
  const run = stages.filter((s) => s.action === 'run').length;
  return {
    experiment: opts.experiment, root, cacheRoot, stages,
    counts: { run, cached: stages.length - run, total: stages.length },
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * Output root of a spec: `--out` when given (relative to the current directory), else
 * output.root (default "runs") relative to the spec file's directory, like the dataset paths,
 * so every verb finds the same cache and runs wherever it is started from.
 */
export function outputRoot(loaded: Pick<LoadedSpec, 'dir' | 'spec'>, out?: string): string {
  return out ? resolve(out) : resolve(loaded.dir, loaded.spec.output?.root ?? 'runs');
}

/** commander option text shared by every verb that reads or writes the output root. */
export const OUT_OPTION = ['--out <dir>', "output root (default: the spec's output.root, relative to the spec's directory: <spec dir>/runs)"] as const;

export async function planSpec(loaded: LoadedSpec, opts: Partial<PlanOptions> & { out?: string } = {}): Promise<Plan> {
  const decls = await buildDag(loaded);
  return planDecls(decls, { root: opts.root ?? outputRoot(loaded, opts.out), experiment: opts.experiment ?? loaded.spec.name, target: opts.target, force: opts.force });
}
