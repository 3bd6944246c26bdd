// Content-addressed store: <root>/<kind>/<key>/ holds a stage's outputs plus manifest.json.
// An entry exists iff its manifest exists; entries appear only by rename of a complete temp
// directory (<root>/.tmp/<host>-<pid>-<random>/), so a crash leaves at most a temp directory,
// which the next run removes once its owner process is gone.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import lockfile from 'proper-lockfile';
import { listFiles, sha256File } from './digest.ts';
import type { Manifest } from '../types/stage.ts';

export type CacheManifest = Manifest & { labels?: Record<string, string | number>; run_id?: string };

const host = hostname();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: any) {
    return err?.code === 'EPERM';
  }
}

/** Milliseconds without a heartbeat after which a stage lock counts as abandoned. */
export const lockStaleMs = () => Math.max(5000, Number(process.env.MILFLOW_LOCK_STALE_MS) || 30000);

export class CacheStore {
  readonly tmpRoot: string;
  constructor(readonly root: string) {
    this.tmpRoot = join(root, '.tmp');
  }

  entryDir(kind: string, key: string): string {
    return join(this.root, kind, key);
  }
  manifestPath(kind: string, key: string): string {
    return join(this.root, kind, key, 'manifest.json');
  }
  has(kind: string, key: string): boolean {
    return existsSync(this.manifestPath(kind, key));
  }
  readManifest(kind: string, key: string): CacheManifest {
    return JSON.parse(readFileSync(this.manifestPath(kind, key), 'utf8'));
  }

  /** A fresh temp directory owned by this process. */
  makeTemp(): string {
    const dir = join(this.tmpRoot, `${host}-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Removes temp directories whose owner process (on this host) no longer runs. */
  cleanStaleTemps(): string[] {
    const removed: string[] = [];
    let names: string[];
    try { names = readdirSync(this.tmpRoot); } catch { return removed; }
    for (const name of names) {
      const m = /^(.*)-(\d+)-[0-9a-f]+$/.exec(name);
      if (!m || m[1] !== host) continue;
      const pid = Number(m[2]);
      if (pid === process.pid || pidAlive(pid)) continue;
      rmSync(join(this.tmpRoot, name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }

  /**
   * Digests every file of tmpDir, writes manifest.json, fsyncs, and renames tmpDir to the
   * entry. Returns the published manifest. tmpDir no longer exists afterwards.
   */
  publish(tmpDir: string, manifest: Omit<CacheManifest, 'files'>): CacheManifest {
    const files: Record<string, string> = {};
    for (const f of listFiles(tmpDir)) {
      const rel = relative(tmpDir, f);
      if (rel === 'manifest.json') continue;
      files[rel] = sha256File(f);
      fsyncPath(f);
    }
    const full: CacheManifest = { ...manifest, files } as CacheManifest;
    const mpath = join(tmpDir, 'manifest.json');
    writeFileSync(mpath, JSON.stringify(full, null, 2) + '\n');
    fsyncPath(mpath);
    fsyncPath(tmpDir);
    const dest = this.entryDir(manifest.kind, manifest.key);
    mkdirSync(dirname(dest), { recursive: true });
    if (existsSync(dest)) {
      // Forced recompute over an existing entry: move the old one aside first (rename cannot
      // replace a non-empty directory), then drop it.
      const trash = join(this.tmpRoot, `${host}-${process.pid}-${randomBytes(6).toString('hex')}`);
      renameSync(dest, trash);
      renameSync(tmpDir, dest);
      rmSync(trash, { recursive: true, force: true });
    } else {
      renameSync(tmpDir, dest);
    }
    fsyncPath(dirname(dest));
    return full;
  }

  /**
   * Holds the per-stage lock (proper-lockfile on <kind>/<key>.lock, stale after `staleMs` without
   * a heartbeat, so a killed run's lock frees itself). While another process holds it, waits,
   * returning `null` as soon as the entry appears (the other process computed it) unless `force`.
   */
  async lock(kind: string, key: string, opts: { force?: boolean; signal?: AbortSignal; onWait?: () => void } = {}): Promise<(() => Promise<void>) | null> {
    const target = join(this.root, kind, key);
    mkdirSync(dirname(target), { recursive: true });
    // Light stages run on the orchestrator's event loop and may block it for seconds (heartbeats
    // stop meanwhile): 30 s keeps a busy holder's lock valid, and a crashed run's locks free
    // themselves within that time.
    const stale = lockStaleMs();
    let waited = false;
    for (;;) {
      if (opts.signal?.aborted) throw new Error('interrupted');
      try {
        const release = await lockfile.lock(target, {
          lockfilePath: `${target}.lock`, realpath: false, stale, retries: 0,
          // A lost heartbeat (event loop stalled past `stale`) must not crash the run.
          onCompromised: (err) => process.emitWarning(`cache lock for ${kind}/${key} compromised: ${err.message}`),
        });
        return async () => { try { await release(); } catch { /* already released or compromised */ } };
      } catch (err: any) {
        if (err?.code !== 'ELOCKED') throw err;
      }
      if (!opts.force && this.has(kind, key)) return null;
      if (!waited) { waited = true; opts.onWait?.(); }
      await sleep(250);
    }
  }

  /** Recomputes file digests of an entry and compares them with its manifest. */
  verify(kind: string, key: string): { ok: boolean; problems: string[] } {
    const dir = this.entryDir(kind, key);
    const problems: string[] = [];
    let m: CacheManifest;
    try { m = this.readManifest(kind, key); } catch (err: any) { return { ok: false, problems: [`manifest unreadable: ${err?.message}`] }; }
    if (m.key !== key) problems.push(`manifest key ${m.key} ≠ directory ${key}`);
    const present = new Set(listFiles(dir).map((f) => relative(dir, f)).filter((f) => f !== 'manifest.json'));
    for (const [rel, digest] of Object.entries(m.files)) {
      if (!present.has(rel)) { problems.push(`missing file ${rel}`); continue; }
      present.delete(rel);
      if (sha256File(join(dir, rel)) !== digest) problems.push(`digest mismatch: ${rel}`);
    }
    for (const rel of present) problems.push(`file not in manifest: ${rel}`);
    return { ok: problems.length === 0, problems };
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
      for (const key of keys) if (!key.endsWith('.lock') && this.has(kind, key)) out.push({ kind, key });
    }
    return out;
  }
}
