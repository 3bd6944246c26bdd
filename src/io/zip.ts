// The central directory of a ZIP archive, read with positioned reads (no whole-file load), and
// where each entry's bytes start. Only what torch.save writes is accepted: stored (uncompressed)
// entries, ZIP64 when the archive passes 4 GiB. That keeps a tensor's bytes addressable at a
// file offset, so a feature file is read once, straight into its Float32Array.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface ZipEntry {
  name: string;
  /** Absolute file offset of the entry's data. */
  dataOffset: number;
  size: number;
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, b, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got === len ? b : b.subarray(0, got);
}

const EOCD = 0x06054b50, EOCD64 = 0x06064b50, LOC64 = 0x07064b50, CEN = 0x02014b50, LOC = 0x04034b50;

/** Entries by name. Throws (naming the file) on anything but a well-formed, uncompressed ZIP. */
export function zipEntries(fd: number, source: string): Map<string, ZipEntry> {
  const size = fstatSync(fd).size;
  const tailLen = Math.min(size, 22 + 65535 + 20);
  const tail = readAt(fd, size - tailLen, tailLen);
  let e = -1;
  for (let i = tail.length - 22; i >= 0; i--) if (tail.readUInt32LE(i) === EOCD) { e = i; break; }
  if (e < 0) throw new Error(`${source}: not a ZIP archive (no end-of-central-directory record)`);
  let count = tail.readUInt16LE(e + 10);
  let cdSize = tail.readUInt32LE(e + 12);
  let cdOff = tail.readUInt32LE(e + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOff === 0xffffffff) {
    const l = e - 20;
    if (l < 0 || tail.readUInt32LE(l) !== LOC64) throw new Error(`${source}: ZIP64 archive without its locator`);
    const rec = readAt(fd, Number(tail.readBigUInt64LE(l + 8)), 56);
    if (rec.readUInt32LE(0) !== EOCD64) throw new Error(`${source}: bad ZIP64 end-of-central-directory record`);
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOff = Number(rec.readBigUInt64LE(48));
  }
  if (cdOff + cdSize > size) throw new Error(`${source}: truncated ZIP archive (central directory past the end of the file)`);
  const cd = readAt(fd, cdOff, cdSize);
  const out = new Map<string, ZipEntry>();
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CEN) throw new Error(`${source}: corrupt ZIP central directory (entry ${k})`);
    const method = cd.readUInt16LE(p + 10);
    let csize = cd.readUInt32LE(p + 20);
    let usize = cd.readUInt32LE(p + 24);
    const nlen = cd.readUInt16LE(p + 28), xlen = cd.readUInt16LE(p + 30), clen = cd.readUInt16LE(p + 32);
    let local = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nlen);
    // ZIP64 extended information: the 64-bit values, in this order, for the fields set to ~0.
    let x = p + 46 + nlen;
    const xend = x + xlen;
    while (x + 4 <= xend) {
      const id = cd.readUInt16LE(x), len = cd.readUInt16LE(x + 2);
      if (id === 1) {
        let q = x + 4;
        if (usize === 0xffffffff) { usize = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (csize === 0xffffffff) { csize = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (local === 0xffffffff) { local = Number(cd.readBigUInt64LE(q)); q += 8; }
      }
      x += 4 + len;
    }
    if (method !== 0) throw new Error(`${source}: ZIP entry '${name}' is compressed (method ${method}); torch.save writes stored entries only`);
    if (csize !== usize) throw new Error(`${source}: ZIP entry '${name}' has inconsistent sizes`);
    const lh = readAt(fd, local, 30);
    if (lh.length < 30 || lh.readUInt32LE(0) !== LOC) throw new Error(`${source}: ZIP entry '${name}': bad local header`);
    const dataOffset = local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
    if (dataOffset + usize > size) throw new Error(`${source}: ZIP entry '${name}' runs past the end of the file (truncated?)`);
    out.set(name, { name, dataOffset, size: usize });
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

export function readEntry(fd: number, e: ZipEntry): Buffer {
  return readAt(fd, e.dataOffset, e.size);
}

export { readAt };

/** Opens a file for positioned reads; the callback's result is returned, the file closed. */
export function withFd<T>(path: string, f: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`${path}: cannot open (${(e as Error).message})`);
  }
  try {
    return f(fd);
  } finally {
    closeSync(fd);
  }
}
