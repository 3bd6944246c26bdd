// Resolves stage kinds: the registry (src/stages/registry.ts) plus kinds registered by tests
// from a module path (a path, not an object, so that worker processes can import it too).
import { pathToFileURL } from 'node:url';
import { loadStageKind, stageKinds } from '../stages/registry.ts';
import type { StageKind } from '../stages/types.ts';
import { stageMeta } from '../stages/versions.ts';

const extra = new Map<string, { module: string; kind: StageKind }>();

/**
 * Registers a stage kind from a module that default-exports a StageKind (tests use this for
 * machinery kinds such as `sleep`). Returns the kind.
 */
export async function registerStageKind(modulePath: string): Promise<StageKind> {
  const kind = (await import(pathToFileURL(modulePath).href)).default as StageKind;
  if (!kind?.kind || typeof kind.run !== 'function') throw new Error(`${modulePath} does not default-export a StageKind`);
  extra.set(kind.kind, { module: modulePath, kind });
  return kind;
}

/** Module paths of test-registered kinds (passed to worker processes). */
export function extraKindModules(): Record<string, string> {
  return Object.fromEntries([...extra].map(([k, v]) => [k, v.module]));
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

const infoMemo = new Map<string, KindInfo>();

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
