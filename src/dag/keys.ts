// Cache keys. key = sha256 of canonical JSON {kind, version, params, inputs}, where an upstream
// input contributes its key and an external file or directory its content digest
// (src/cache/digest.ts). Keys are thus known before anything runs, and a change anywhere
// upstream changes every key below it.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../spec/canonical.ts';
import type { InputRef, StageDecl } from '../types/stage.ts';
import { kindInfo } from '../stages/registry.ts';
import type { KeyedStage } from './types.ts';
import type { DigestMemo } from '../cache/digest.ts';

export function stageKey(kind: string, version: string, params: unknown, inputs: Record<string, InputRef>): string {
  // Upstream stages enter by key, externals by content digest (never by path).
  const ins = Object.fromEntries(Object.entries(inputs).map(([n, r]) => [n, r.key ? { key: r.key } : { digest: r.digest }]));
  return createHash('sha256').update(canonicalJson({ kind, version, params, inputs: ins })).digest('hex');
}

/** Computes keys for stages given in dependency order (as buildDag returns them). */
export async function computeKeys(decls: StageDecl[], memo: DigestMemo): Promise<KeyedStage[]> {
  const keys = new Map<string, string>();
  const out: KeyedStage[] = [];
  for (const d of decls) {
    const { version } = kindInfo(d.kind);
    const inputs: Record<string, InputRef> = {};
    for (const [name, up] of Object.entries(d.inputs)) {
      const key = keys.get(up);
      if (!key) throw new Error(`stage ${d.id}: input '${name}' names '${up}', which is not declared before it`);
      inputs[name] = { id: up, key, digest: key };
    }
    for (const [name, path] of Object.entries(d.externals ?? {})) {
      if (inputs[name]) throw new Error(`stage ${d.id}: '${name}' is both an upstream and an external input`);
      try {
        const only = d.externalFiles?.[name];
        inputs[name] = only ? { path, ...memo.digestFiles(path, only) } : { path, digest: memo.digest(path) };
      } catch (err: any) {
        throw new Error(`stage ${d.id}: external input '${name}': ${err?.message ?? err}`);
      }
    }
    const key = stageKey(d.kind, version, d.params, inputs);
    keys.set(d.id, key);
    out.push({ decl: d, key, version, inputs });
  }
  return out;
}
