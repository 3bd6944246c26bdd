// The packed feature store: every bag of a dataset as raw little-endian float32 rows in one file
// (features.f32) plus an index of byte offsets (features.json), written once by the dataset stage.
//
// Why a packed copy and not the HDF5 files themselves (measured, see notes/issue10.md):
// h5wasm decodes ~0.15–0.3 GB/s inside the JS thread, so it cannot overlap with compute, and
// it exposes no dataset offsets, so contiguous HDF5 data cannot be pread directly (and CLAM's
// h5py writer makes chunked datasets anyway). A positional read of the packed file runs on the
// libuv pool at page-cache speed (several GB/s) while the current bag computes, into buffers the
// reader reuses, and the page cache holding the file is shared by every worker on the machine.
import { closeSync, fstatSync, openSync, read, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const STORE_INDEX = 'features.json';
export const STORE_DATA = 'features.f32';

export interface StoreEntry {
  /** Byte offset of the bag's first row in features.f32. */
  offset: number;
  n: number;
  /** Set when the bag failed its input checks at pack time (read again, it throws this). */
  problem?: string;
}

export interface StoreIndex {
  format: 'milflow-bags/1';
  dtype: 'float32';
  dim: number;
  bytes: number;
  slides: Record<string, StoreEntry>;
}

/** Appends bags to a new store; `finish()` writes the index (the data file is complete by then). */
export class StoreWriter {
  private fd: number;
  private pos = 0;
  private slides: Record<string, StoreEntry> = {};
  private dim = -1;
  constructor(private dir: string) {
    this.fd = openSync(join(dir, STORE_DATA), 'w');
  }

  /** Rows [n, dim] of one slide. A problem (e.g. non-finite values) is recorded, not thrown. */
  add(slide: string, features: Float32Array, n: number, dim: number, problem?: string): void {
    if (this.dim < 0) this.dim = dim;
    if (dim !== this.dim && !problem) problem = `features have dimension ${dim}, the store holds ${this.dim}`;
    if (problem) {
      this.slides[slide] = { offset: this.pos, n: 0, problem };
      return;
    }
    const bytes = new Uint8Array(features.buffer, features.byteOffset, n * dim * 4);
    for (let o = 0; o < bytes.length;) o += writeSync(this.fd, bytes, o, bytes.length - o, this.pos + o);
    this.slides[slide] = { offset: this.pos, n };
    this.pos += bytes.length;
  }

  finish(): StoreIndex {
    closeSync(this.fd);
    const index: StoreIndex = { format: 'milflow-bags/1', dtype: 'float32', dim: this.dim, bytes: this.pos, slides: this.slides };
    // Written last: a store without its index is not a store.
    writeFileSyncCompact(join(this.dir, STORE_INDEX), index);
    return index;
  }
}

function writeFileSyncCompact(file: string, v: unknown): void {
  const fd = openSync(file, 'w');
  try {
    const b = Buffer.from(JSON.stringify(v) + '\n');
    for (let o = 0; o < b.length;) o += writeSync(fd, b, o, b.length - o);
  } finally {
    closeSync(fd);
  }
}

/** Reads bags of a packed store by positional reads (async: they run while the caller computes). */
export class StoreReader {
  readonly index: StoreIndex;
  private fd: number;
  /** Bytes and bags read (for the read rate of a cold first epoch). */
  stats = { bytes: 0, reads: 0 };
  constructor(readonly dir: string) {
    const file = join(dir, STORE_INDEX);
    this.index = JSON.parse(readFileSync(file, 'utf8'));
    if (this.index.format !== 'milflow-bags/1') throw new Error(`${file}: unknown store format '${this.index.format}'`);
    this.fd = openSync(join(dir, STORE_DATA), 'r');
    const size = fstatSync(this.fd).size;
    if (size !== this.index.bytes) throw new Error(`${join(dir, STORE_DATA)}: ${size} bytes, the index says ${this.index.bytes} (truncated store)`);
  }

  entry(slide: string): StoreEntry {
    const e = this.index.slides[slide];
    if (!e) throw new Error(`${join(this.dir, STORE_INDEX)}: no bag for slide '${slide}'`);
    if (e.problem) throw new Error(`${slide}: ${e.problem}`);
    return e;
  }

  /** Reads one bag into `into` (at least n·dim floats) and returns the view holding it. */
  async read(slide: string, into: Float32Array): Promise<Float32Array> {
    const e = this.entry(slide);
    const count = e.n * this.index.dim;
    if (into.length < count) throw new Error(`buffer of ${into.length} floats is too small for slide '${slide}' (${count})`);
    const bytes = new Uint8Array(into.buffer, into.byteOffset, count * 4);
    let o = 0;
    while (o < bytes.length) {
      const got = await new Promise<number>((res, rej) => read(this.fd, bytes, o, bytes.length - o, e.offset + o, (err, n) => (err ? rej(err) : res(n))));
      if (got === 0) throw new Error(`${join(this.dir, STORE_DATA)}: unexpected end of file reading slide '${slide}'`);
      o += got;
    }
    this.stats.bytes += bytes.length;
    this.stats.reads++;
    return into.subarray(0, count);
  }

  /** Idempotent: feeds sharing a reader each close it. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
