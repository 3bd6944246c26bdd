// Is this file an HDF5 file, whole? Checked before h5wasm opens it: h5wasm answers a text file,
// a directory or a truncated file with pages of library diagnostics and "name not defined". The
// superblock (at 0, 512, 1024, … when a user block precedes it) records the end-of-file address,
// so a copy cut short is recognised by its size alone.
import { closeSync, openSync, readSync, statSync } from 'node:fs';

const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

function readAt(fd: number, pos: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  const got = readSync(fd, b, 0, n, pos);
  return b.subarray(0, got);
}

function uint(b: Buffer, at: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + b[at + i];
  return v;
}

/** Why `path` is not a complete HDF5 file, or null when it looks like one. */
export function hdf5Problem(path: string): string | null {
  let st;
  try { st = statSync(path); } catch (err: any) { return `cannot read (${err?.code ?? err?.message})`; }
  if (st.isDirectory()) return 'is a directory, not an HDF5 file';
  if (!st.isFile()) return `is not a regular file (${st.isFIFO() ? 'a named pipe' : 'a device or socket'})`;
  if (st.size === 0) return 'is empty (0 bytes), not an HDF5 file';
  const fd = openSync(path, 'r');
  try {
    for (let base = 0; base + 8 <= st.size; base = base === 0 ? 512 : base * 2) {
      if (!readAt(fd, base, 8).equals(SIGNATURE)) { if (base >= 1 << 20) break; continue; }
      const sb = readAt(fd, base, 96);
      if (sb.length < 12) return `is truncated (${st.size} bytes: the HDF5 superblock is cut off)`;
      const version = sb[8];
      let eofAt: number;
      let offs: number;
      if (version === 0 || version === 1) {
        offs = sb[13];
        eofAt = 24 + (version === 1 ? 4 : 0) + 2 * offs;
      } else if (version === 2 || version === 3) {
        offs = sb[9];
        eofAt = 12 + 2 * offs;
      } else return null; // a newer superblock: let the library judge
      if (![2, 4, 8].includes(offs) || sb.length < eofAt + offs) return `is truncated (${st.size} bytes: the HDF5 superblock is cut off)`;
      const eof = uint(sb, eofAt, offs);
      if (base + eof > st.size) return `is truncated: ${st.size} bytes, but its HDF5 superblock says ${base + eof}`;
      return null;
    }
    const head = readAt(fd, 0, 4);
    const what = head[0] === 0x50 && head[1] === 0x4b ? ' (it is a zip archive: a torch .pt file? name it .pt)' : /^[\x09\x0a\x0d\x20-\x7e]{4}$/.test(head.toString('latin1')) ? ' (it looks like text)' : '';
    return `is not an HDF5 file: no HDF5 signature${what}`;
  } finally {
    closeSync(fd);
  }
}
