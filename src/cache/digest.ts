// Content digests of files and directories: the identity of external inputs (slides, CSVs,
// feature directories) and of published cache entries. Digests are memoised by (path, size,
// mtime, inode) in <cache>/.digests.json so that replanning over thousands of feature files
// stats them instead of reading them.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';

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
    writeFileAtomic(this.file, JSON.stringify(this.entries));
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

