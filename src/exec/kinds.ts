// Resolves stage kinds: the registry (src/stages/registry.ts) plus kinds registered by tests
// from a module path (a path, not an object, so that worker processes can import it too).
import { pathToFileURL } from 'node:url';
import { loadStageKind, stageKinds } from '../stages/registry.ts';
import type { StageKind } from '../stages/types.ts';
import { stageMeta } from '../stages/versions.ts';

const extra = new Map<string, { ref: string; kind: StageKind }>();
const infoMemo = new Map<string, KindInfo>();

/**
 * Registers a stage kind from a module export (default: the default export) that is a StageKind;
 * tests use this for machinery kinds such as `sleep`. `ref` is "path" or "path#exportName".
 */
export async function registerStageKind(ref: string): Promise<StageKind> {
  const [path, name = 'default'] = ref.split('#');
  const kind = (await import(pathToFileURL(path).href))[name] as StageKind;
  if (!kind?.kind || typeof kind.run !== 'function') throw new Error(`${ref} is not a StageKind`);
  extra.set(kind.kind, { ref, kind });
  infoMemo.delete(kind.kind);
  return kind;
}

/** Module refs of test-registered kinds (passed to worker processes). */
export function extraKindModules(): Record<string, string> {
  return Object.fromEntries([...extra].map(([k, v]) => [k, v.ref]));
}

export function isRegistered(kind: string): boolean {
  return extra.has(kind) || stageKinds().includes(kind);
}

export async function loadKind(kind: string): Promise<StageKind> {
  const e = extra.get(kind);
  if (e) return e.kind;
  return loadStageKind(kind);
}

export interface KindInfo { version: string; heavy: boolean; registered: boolean }


/** Version and placement of a kind without importing it when the table knows it. */
export async function kindInfo(kind: string): Promise<KindInfo> {
  const m = infoMemo.get(kind);
  if (m) return m;
  let info: KindInfo;
  const e = extra.get(kind);
  if (e) info = { version: String(e.kind.version), heavy: e.kind.heavy, registered: true };
  else if (stageMeta[kind]) info = { ...stageMeta[kind], registered: stageKinds().includes(kind) };
  else if (stageKinds().includes(kind)) {
    const k = await loadStageKind(kind);
    info = { version: String(k.version), heavy: k.heavy, registered: true };
  } else {
    // Not implemented in this build: plan still shows it; run reports it.
    info = { version: 'unregistered', heavy: false, registered: false };
  }
  infoMemo.set(kind, info);
  return info;
}
