// Content-addressed store: <root>/<kind>/<key>/ holds a stage's outputs plus manifest.json.
// An entry exists iff its manifest exists; entries appear only by rename of a complete temp
// directory (<root>/.tmp/<host>-<pid>-s<start>-<random>/), so a crash leaves at most a temp
// directory, which the next run removes once its owner process is gone (./leftovers.ts).
//
// Entries are not trusted blindly: `check` (every cache hit) compares file sizes, the manifest's
// own checksum and the digests of small files; `verify` recomputes every digest (inputs a stage
// reads, `status --verify`). A damaged entry is moved to <root>/.quarantine/ and recomputed.
import { randomBytes, createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open as openAsync } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { listFiles, sha256File } from './digest.ts';
import type { Manifest } from '../types/stage.ts';
import { sha256FileAsync } from './file-digest.ts';
import { faultPoint } from '../io/fault-point.ts';
import { beat, stopBeat } from '../io/heartbeat.ts';
import { acquire, lockStaleMs, type LockOwner } from '../io/lock.ts';
import { self } from '../io/owner.ts';

export { lockStaleMs } from '../io/lock.ts';

export type CacheManifest = Manifest & {
  labels?: Record<string, string | number>;
  run_id?: string;
  /** Relative path → size in bytes of every output file (cheap check on a cache hit). */
  sizes?: Record<string, number>;
  /** sha256 of this manifest's JSON without `checksum`. */
  checksum?: string;
  /** The stage's degenerate-data warnings (StageResult.warnings). */
  warnings?: string[];
};

export interface Check { ok: boolean; problems: string[] }

/** Files up to this size are fully digested on every cache hit. */
export const SMALL_FILE_BYTES = 1 << 20;

function fsyncPath(p: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(p, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function fsyncAsync(p: string): Promise<void> {
  let fh;
  try {
    fh = await openAsync(p, 'r');
    await fh.sync();
  } catch {
    // as fsyncPath
  } finally {
    await fh?.close();
  }
}

export function manifestChecksum(m: CacheManifest): string {
  const { checksum: _omit, ...rest } = m;
  // JSON.parse keeps the written key order, so stringify reproduces the bytes that were hashed
  // (NaN metrics become null either way); no canonical form needed, and it is cheap per hit.
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

/** Test hook: milliseconds to block the event loop inside publish (simulates a slow filesystem). */
const publishBlockMs = () => Number(process.env.MILFLOW_TEST_PUBLISH_BLOCK_MS) || 0;

export class CacheStore {
  readonly tmpRoot: string;
  readonly quarantineRoot: string;
  constructor(readonly root: string) {
    this.tmpRoot = join(root, '.tmp');
    this.quarantineRoot = join(root, '.quarantine');
  }

  entryDir(kind: string, key: string): string {
    return join(this.root, kind, key);
  }
  manifestPath(kind: string, key: string): string {
    return join(this.root, kind, key, 'manifest.json');
  }
  lockDir(kind: string, key: string): string {
    return join(this.root, kind, `${key}.lock`);
  }
  /** An entry is present (not necessarily intact: see `check`). */
  has(kind: string, key: string): boolean {
    return existsSync(this.manifestPath(kind, key));
  }
  readManifest(kind: string, key: string): CacheManifest {
    const p = this.manifestPath(kind, key);
    let text: string;
    try { text = readFileSync(p, 'utf8'); } catch (err: any) { throw new Error(`${p}: cannot read cache manifest (${err?.code ?? err?.message})`); }
    try {
      const m = JSON.parse(text);
      if (!m || typeof m !== 'object' || typeof m.files !== 'object' || m.files === null) throw new Error('not a manifest object');
      return m;
    } catch (err: any) {
      throw new Error(`${p}: corrupt cache manifest (${err?.message})`);
    }
  }

  /** A fresh temp directory owned by this process (heartbeat kept while it exists). */
  makeTemp(): string {
    const dir = join(this.tmpRoot, `${self.host}-${self.pid}-s${self.start ?? 0}-${randomBytes(6).toString('hex')}`);
    mkdirSync(dir, { recursive: true });
    beat(dir, lockStaleMs());
    return dir;
  }
  dropTemp(dir: string): void {
    stopBeat(dir);
    rmSync(dir, { recursive: true, force: true });
  }

  private describe(tmpDir: string, manifest: Omit<CacheManifest, 'files'>, digests: Record<string, string>, sizes: Record<string, number>): CacheManifest {
    const full: CacheManifest = { ...manifest, files: digests, sizes } as CacheManifest;
    delete full.checksum;
    full.checksum = manifestChecksum(full);
    writeFileSync(join(tmpDir, 'manifest.json'), JSON.stringify(full, null, 2) + '\n');
    return full;
  }

  /**
   * Moves the complete tmpDir into place. Without `replace`, an entry that appeared meanwhile
   * (another run published it) wins and tmpDir is dropped. With `replace` (--force) the new entry
   * is renamed beside the old one first: a crash between the two renames leaves `<key>.old-*`,
   * which ./leftovers.ts restores, so a valid entry is never lost.
   */
  private place(tmpDir: string, kind: string, key: string, replace: boolean): boolean {
    const dest = this.entryDir(kind, key);
    mkdirSync(dirname(dest), { recursive: true });
    stopBeat(tmpDir);
    if (existsSync(dest)) {
      if (!replace && this.has(kind, key)) {
        rmSync(tmpDir, { recursive: true, force: true });
        return false;
      }
      const old = `${dest}.old-${randomBytes(6).toString('hex')}`;
      renameSync(dest, old);
      faultPoint('publish:swap');
      renameSync(tmpDir, dest);
      fsyncPath(dirname(dest));
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmpDir, dest);
    }
    fsyncPath(dirname(dest));
    faultPoint('publish:placed');
    return true;
  }

  /**
   * Digests every file of tmpDir, writes manifest.json, fsyncs, and renames tmpDir to the
   * entry. Returns the published manifest. tmpDir no longer exists afterwards. Synchronous:
   * for tests and tools; the executor uses publishAsync.
   */
  publish(tmpDir: string, manifest: Omit<CacheManifest, 'files'>, opts: { replace?: boolean } = {}): CacheManifest {
    const files: Record<string, string> = {};
    const sizes: Record<string, number> = {};
    for (const f of listFiles(tmpDir)) {
      const rel = relative(tmpDir, f);
      if (rel === 'manifest.json') continue;
      files[rel] = sha256File(f);
      sizes[rel] = statSync(f).size;
      fsyncPath(f);
    }
    const full = this.describe(tmpDir, manifest, files, sizes);
    fsyncPath(join(tmpDir, 'manifest.json'));
    fsyncPath(tmpDir);
    if (!this.place(tmpDir, manifest.kind, manifest.key, opts.replace ?? true)) return this.readManifest(manifest.kind, manifest.key);
    return full;
  }

  /**
   * As publish, with hashing and fsync on async I/O so the event loop keeps serving workers and
   * signals. `published: false` when another run's entry appeared first (ours was dropped).
   */
  async publishAsync(tmpDir: string, manifest: Omit<CacheManifest, 'files'>, opts: { replace?: boolean } = {}): Promise<{ manifest: CacheManifest; published: boolean }> {
    const block = publishBlockMs();
    if (block > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, block);
    const files: Record<string, string> = {};
    const sizes: Record<string, number> = {};
    for (const f of listFiles(tmpDir)) {
      const rel = relative(tmpDir, f);
      if (rel === 'manifest.json') continue;
      files[rel] = await sha256FileAsync(f);
      sizes[rel] = statSync(f).size;
      await fsyncAsync(f);
      faultPoint('publish:file');
    }
    const full = this.describe(tmpDir, manifest, files, sizes);
    faultPoint('publish:manifest');
    await fsyncAsync(join(tmpDir, 'manifest.json'));
    await fsyncAsync(tmpDir);
    const published = this.place(tmpDir, manifest.kind, manifest.key, opts.replace ?? false);
    return { manifest: published ? full : this.readManifest(manifest.kind, manifest.key), published };
  }

  /** Cheap integrity check for a cache hit: manifest checksum, file set and sizes, small-file digests. */
  check(kind: string, key: string): Check {
    return this.inspect(kind, key, false) as Check;
  }

  /** Recomputes every file digest of an entry and compares them with its manifest. */
  verify(kind: string, key: string): Check {
    return this.inspect(kind, key, true) as Check;
  }

  /** As verify, reading files with async I/O. */
  async verifyAsync(kind: string, key: string): Promise<Check> {
    const r = this.inspect(kind, key, 'later');
    if (!('pending' in r)) return r;
    for (const { rel, path, digest } of r.pending) {
      try {
        if ((await sha256FileAsync(path)) !== digest) r.problems.push(`digest mismatch: ${rel}`);
      } catch (err: any) {
        r.problems.push(`unreadable file ${rel}: ${err?.code ?? err?.message}`);
      }
    }
    return { ok: r.problems.length === 0, problems: r.problems };
  }

  private inspect(kind: string, key: string, full: boolean | 'later'): Check | { problems: string[]; pending: { rel: string; path: string; digest: string }[] } {
    const dir = this.entryDir(kind, key);
    const problems: string[] = [];
    let m: CacheManifest;
    try { m = this.readManifest(kind, key); } catch (err: any) { return { ok: false, problems: [`manifest unreadable: ${err?.message}`] }; }
    if (m.checksum !== undefined && m.checksum !== manifestChecksum(m)) problems.push('manifest checksum mismatch (manifest edited or torn)');
    if (m.key !== key) problems.push(`manifest key ${m.key} ≠ directory ${key}`);
    if (m.kind !== undefined && m.kind !== kind) problems.push(`manifest kind ${m.kind} ≠ directory ${kind}`);
    let present: Set<string>;
    try { present = new Set(listFiles(dir).map((f) => relative(dir, f)).filter((f) => f !== 'manifest.json')); } catch (err: any) { return { ok: false, problems: [`entry unreadable: ${err?.message}`] }; }
    // Entries written before sizes were recorded get the full check.
    const deep = full === true || (full === false && !m.sizes);
    const pending: { rel: string; path: string; digest: string }[] = [];
    for (const [rel, digest] of Object.entries(m.files)) {
      if (!present.has(rel)) { problems.push(`missing file ${rel}`); continue; }
      present.delete(rel);
      const path = join(dir, rel);
      let size: number;
      try { size = statSync(path).size; } catch { problems.push(`unreadable file ${rel}`); continue; }
      const want = m.sizes?.[rel];
      if (want !== undefined && size !== want) { problems.push(`size mismatch: ${rel} is ${size} bytes, manifest says ${want}`); continue; }
      if (full === 'later') { pending.push({ rel, path, digest }); continue; }
      if (deep || size <= SMALL_FILE_BYTES) {
        try {
          const got = size <= SMALL_FILE_BYTES ? createHash('sha256').update(readFileSync(path)).digest('hex') : sha256File(path);
          if (got !== digest) problems.push(`digest mismatch: ${rel}`);
        } catch (err: any) {
          problems.push(`unreadable file ${rel}: ${err?.code ?? err?.message}`);
        }
      }
    }
    for (const rel of present) problems.push(`file not in manifest: ${rel}`);
    if (full === 'later' && problems.length === 0) return { problems, pending };
    return { ok: problems.length === 0, problems };
  }

  /**
   * Moves a damaged entry to <root>/.quarantine/<kind>-<key>-<time>/ (with why.txt) so it is
   * kept for inspection and recomputed. Returns the new location, or null if it was gone.
   */
  quarantine(kind: string, key: string, problems: string[]): string | null {
    const src = this.entryDir(kind, key);
    if (!existsSync(src)) return null;
    mkdirSync(this.quarantineRoot, { recursive: true });
    const dest = join(this.quarantineRoot, `${kind}-${key}-${new Date().toISOString().replace(/[:.]/g, '')}-${randomBytes(2).toString('hex')}`);
    try {
      renameSync(src, dest);
    } catch (err: any) {
      if (err?.code === 'ENOENT') return null;
      throw err;
    }
    try { writeFileSync(join(dest, 'why.txt'), problems.join('\n') + '\n'); } catch { /* best effort */ }
    return dest;
  }

  /**
   * Holds the per-entry lock (./lock.ts). While another live process holds it, waits, returning
   * `null` as soon as an intact entry appears (the other process computed it) unless `force`.
   */
  async lock(
    kind: string, key: string,
    opts: { force?: boolean; signal?: AbortSignal; onWait?: (holder: LockOwner | null) => void; onStale?: (why: string) => void } = {},
  ): Promise<(() => Promise<void>) | null> {
    mkdirSync(join(this.root, kind), { recursive: true });
    const held = await acquire(this.lockDir(kind, key), {
      what: `${kind}/${key}`, signal: opts.signal, onWait: opts.onWait, onStale: opts.onStale,
      ready: () => !opts.force && this.has(kind, key) && this.check(kind, key).ok,
    });
    return held ? () => held.release() : null;
  }

  /** Every entry as (kind, key). */
  entries(): { kind: string; key: string }[] {
    const out: { kind: string; key: string }[] = [];
    let kinds: string[];
    try { kinds = readdirSync(this.root); } catch { return out; }
    for (const kind of kinds) {
      if (kind.startsWith('.')) continue;
      let keys: string[];
      try { keys = readdirSync(join(this.root, kind)); } catch { continue; }
      for (const key of keys) if (/^[0-9a-f]{16,}$/.test(key) && this.has(kind, key)) out.push({ kind, key });
    }
    return out;
  }
}

