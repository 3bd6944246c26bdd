// Cache keys. key = sha256 of canonical JSON {kind, version, params, inputs}, where an upstream
// input contributes its key and an external file or directory its content digest. Keys are thus
// known before anything runs, and a change anywhere upstream changes every key below it.
//
// External digests are memoised by (path, size, mtime, inode) in <cache>/.digests.json so that
// replanning over thousands of feature files stats them instead of reading them.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { canonicalJson } from '../spec/canonical.ts';
import type { StageDecl } from '../stages/types.ts';
import { kindInfo } from '../stages/registry.ts';
import type { InputRef, KeyedStage } from './types.ts';

interface MemoEntry { size: number; mtimeMs: number; ino: number; digest: string }

export class DigestMemo {
  private entries: Record<string, MemoEntry> = {};
  private dirty = false;
  /** Bytes and files read (not served from the memo) since construction. */
  hashed = { files: 0, bytes: 0 };
  /** Called after each file actually read (for progress while a first plan hashes). */
  onHashed?: (hashed: { files: number; bytes: number }) => void;
  constructor(private file: string | null, private onLargeFile?: (path: string, bytes: number) => void) {
    if (file) {
      try { this.entries = JSON.parse(readFileSync(file, 'utf8')); } catch { this.entries = {}; }
    }
  }

  /** sha256 of a file's bytes, or of a directory's sorted (relative path, file digest) list. */
  digest(path: string): string {
    let st;
    try { st = statSync(path); } catch { throw new Error(`input not found: ${path}`); }
    if (st.isDirectory()) {
      const h = createHash('sha256').update('dir\n');
      for (const f of listFiles(path)) h.update(`${relative(path, f)}\0${this.fileDigest(f)}\n`);
      return h.digest('hex');
    }
    return this.fileDigest(path, st);
  }

  /**
   * sha256 of the listed files of a directory only (sorted relative paths with their digests),
   * and each file's digest: a dataset is the files its CSV references, not whatever else lives
   * in the folder.
   */
  digestFiles(dir: string, rels: string[]): { digest: string; files: Record<string, string> } {
    try { statSync(dir); } catch { throw new Error(`input not found: ${dir}`); }
    const files: Record<string, string> = {};
    const h = createHash('sha256').update('files\n');
    for (const rel of [...new Set(rels)].sort()) {
      const d = this.fileDigest(join(dir, rel));
      files[rel] = d;
      h.update(`${rel}\0${d}\n`);
    }
    return { digest: h.digest('hex'), files };
  }

  private fileDigest(path: string, st = statSync(path)): string {
    const m = this.entries[path];
    if (m && m.size === st.size && m.mtimeMs === st.mtimeMs && m.ino === st.ino) return m.digest;
    // Whole-slide images run to gigabytes: say what is being read on a first plan.
    if (st.size >= 256 * 1024 * 1024) this.onLargeFile?.(path, st.size);
    const digest = sha256File(path);
    this.hashed.files++;
    this.hashed.bytes += st.size;
    this.onHashed?.(this.hashed);
    this.entries[path] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, digest };
    this.dirty = true;
    return digest;
  }

  save(): void {
    if (!this.file || !this.dirty) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.entries));
    renameSync(tmp, this.file);
    this.dirty = false;
  }
}

/** Regular files under dir, recursively, sorted by relative path (dotfiles included). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
      else if (e.isSymbolicLink()) {
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else if (st.isFile()) out.push(p);
      }
    }
  };
  walk(dir);
  return out;
}

export function sha256File(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let n: number;
    while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

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
