// Bags on demand for the stages that compute over them (train, evaluate, bench train).
// A feed serves one bag at a time as a Float32Array view plus its length, which is all an engine
// step sees; while the caller computes on bag k, the read of the bag it named next is already
// running on the libuv pool. A streaming feed holds at most three bag buffers (current, next,
// one spare while a hint changes), sized to the largest bag of the feed and reused.
// Small feeds are loaded once and kept (no re-reads per epoch): chosen by size, not by a flag.
// HDF5 is imported only when a feed reads HDF5: h5wasm alone adds ~600 MB of resident memory to
// a process, more than a streaming train worker needs for everything else.
import { existsSync } from 'node:fs';
import { checkBag } from '../models/index.ts';
import type { Standardize } from '../models/checkpoint.ts';
import { StoreReader } from './store.ts';
import { ensureStore, type EnsureStoreOptions } from './cache.ts';
import { readBagPaths } from '../splits/dataset.ts';

export interface BagRef {
  slide_id: string;
  n: number;
  label: number;
}

export interface FedBag extends BagRef {
  /** Row-major [n, dim]; valid until the next get() of the feed. */
  features: Float32Array;
}

/** Where a feed's bytes come from. */
export interface BagReader {
  readonly kind: 'store' | 'h5';
  dim: number;
  /** Patches of a slide (without reading its features). */
  count(slide: string): Promise<number>;
  /** Features of a slide, into `into` when given and large enough. */
  read(slide: string, into?: Float32Array): Promise<Float32Array>;
  readonly bytesRead: number;
  close(): void;
}

class StoreBagReader implements BagReader {
  readonly kind = 'store';
  dim: number;
  constructor(private store: StoreReader) {
    this.dim = store.index.dim;
  }
  async count(slide: string) { return this.store.entry(slide).n; }
  read(slide: string, into?: Float32Array) {
    const need = this.store.entry(slide).n * this.dim;
    return this.store.read(slide, into && into.length >= need ? into : new Float32Array(need));
  }
  get bytesRead() { return this.store.stats.bytes; }
  close() { this.store.close(); }
}

/** Datasets without a packed store (made by hand, or older cache entries): HDF5 reads. */
class H5BagReader implements BagReader {
  readonly kind = 'h5';
  dim = -1;
  bytesRead = 0;
  private counts = new Map<string, number>();
  constructor(private paths: Map<string, string>) {}
  private path(slide: string): string {
    const p = this.paths.get(slide);
    if (!p) throw new Error(`no bag path for slide '${slide}'`);
    if (!existsSync(p)) throw new Error(`${slide}: feature file ${p} does not exist`);
    return p;
  }
  async count(slide: string) {
    if (!this.counts.has(slide)) {
      const { featureShape } = await import('../datasets/h5-shape.ts');
      const [n, e] = await featureShape(this.path(slide));
      this.counts.set(slide, n);
      if (this.dim < 0) this.dim = e;
    }
    return this.counts.get(slide)!;
  }
  async read(slide: string, into?: Float32Array) {
    const p = this.path(slide);
    const { readBag } = await import('../io/h5.ts');
    const b = await readBag(p);
    if (this.dim < 0) this.dim = b.dim;
    checkBag(b.features, b.n, b.dim, this.dim, `${slide} (${p})`);
    this.bytesRead += b.n * b.dim * 4;
    if (into && into.length >= b.features.length) {
      into.set(b.features);
      return into.subarray(0, b.features.length);
    }
    return b.features;
  }
  close() {}
}

/**
 * Bags of a dataset stage output: from its packed store (packed on first use when the dataset
 * is a cache entry, src/bags/cache.ts), else from its HDF5 files.
 */
export async function openDatasetBags(dataset: { dir: string; key: string }, opts: EnsureStoreOptions = {}): Promise<BagReader> {
  const paths = readBagPaths(dataset.dir);
  const store = await ensureStore(dataset, () => [...paths].map(([slide_id, path]) => ({ slide_id, path })), opts);
  return store ? new StoreBagReader(new StoreReader(store)) : new H5BagReader(paths);
}

/** A packed store directory (benchmarks). */
export function storeBagReader(dir: string): BagReader {
  return new StoreBagReader(new StoreReader(dir));
}

/** A directory of <slide>.h5 files (the bench and CLI verbs). */
export function h5BagReader(paths: Map<string, string>): BagReader {
  return new H5BagReader(paths);
}

/** Feeds up to this many bytes are loaded once and kept in memory. */
export function memoryLimitBytes(): number {
  const mb = Number(process.env.MILFLOW_BAGS_IN_MEMORY_MB);
  return Number.isFinite(mb) && mb >= 0 ? mb * 2 ** 20 : 256 * 2 ** 20;
}

export interface FeedOptions {
  /** 'auto' (default): memory when the feed's bags total ≤ memoryLimitBytes(), else stream. */
  mode?: 'auto' | 'memory' | 'stream';
  /** Called while a memory feed loads. */
  onLoad?(done: number, total: number): void;
}

export class BagFeed {
  readonly mode: 'memory' | 'stream';
  readonly bytes: number;
  readonly maxBagFloats: number;
  private kept = new Map<number, Float32Array>();
  private transform?: Standardize;
  private cur?: { i: number; buf: Float32Array; view: Float32Array };
  private pending?: { i: number; buf: Float32Array; done: Promise<Float32Array> };
  private spare: Float32Array[] = [];

  private constructor(private reader: BagReader, readonly bags: BagRef[], mode: 'memory' | 'stream') {
    this.mode = mode;
    this.maxBagFloats = Math.max(0, ...bags.map((b) => b.n)) * reader.dim;
    this.bytes = bags.reduce((s, b) => s + b.n * reader.dim * 4, 0);
  }

  static async open(reader: BagReader, slides: { slide_id: string; label: number }[], opts: FeedOptions = {}): Promise<BagFeed> {
    const bags: BagRef[] = [];
    for (const s of slides) bags.push({ slide_id: s.slide_id, label: s.label, n: await reader.count(s.slide_id) });
    const env = process.env.MILFLOW_BAGS;
    let mode = opts.mode ?? (env === 'memory' || env === 'stream' ? env : 'auto');
    if (mode === 'auto') {
      const bytes = bags.reduce((s, b) => s + b.n * Math.max(1, reader.dim) * 4, 0);
      mode = bytes <= memoryLimitBytes() ? 'memory' : 'stream';
    }
    const feed = new BagFeed(reader, bags, mode);
    if (mode === 'memory') {
      for (let i = 0; i < bags.length; i++) {
        feed.kept.set(i, feed.checked(i, await reader.read(bags[i].slide_id)));
        opts.onLoad?.(i + 1, bags.length);
      }
    }
    return feed;
  }

  get dim(): number { return this.reader.dim; }
  get bytesRead(): number { return this.reader.bytesRead; }
  get size(): number { return this.bags.length; }

  /** Standardise every bag served from now on ((x − mean) / std, as applyStandardize). */
  standardize(s: Standardize): void {
    this.transform = s;
    for (const v of this.kept.values()) standardizeInPlace(v, this.dim, s);
  }

  /**
   * Bag i of the feed; `next` names the bag the caller will ask for after it, read meanwhile.
   * The returned view stays valid until the next call.
   */
  async get(i: number, next?: number): Promise<FedBag> {
    const ref = this.bags[i];
    if (!ref) throw new Error(`bag ${i} is outside the feed (${this.bags.length} bags)`);
    let view: Float32Array;
    if (this.mode === 'memory') {
      view = this.kept.get(i)!;
    } else {
      if (!this.cur || this.cur.i !== i) {
        if (this.pending?.i === i) {
          const p = this.pending;
          this.pending = undefined;
          const v = await p.done;
          this.release();
          this.cur = { i, buf: p.buf, view: v };
        } else {
          this.release();
          const buf = this.buffer();
          this.cur = { i, buf, view: await this.load(i, buf) };
        }
      }
      view = this.cur.view;
      if (next !== undefined && next !== i && this.pending?.i !== next) {
        if (this.pending) {
          // A stale prefetch: let it land, then reuse its buffer.
          const p = this.pending;
          this.pending = undefined;
          await p.done.catch(() => undefined);
          this.spare.push(p.buf);
        }
        const buf = this.buffer();
        const done = this.load(next, buf);
        done.catch(() => undefined); // surfaced when the caller asks for it
        this.pending = { i: next, buf, done };
      }
    }
    return { ...ref, features: view };
  }

  /** Every bag once in feed order (prefetching), e.g. for standardisation statistics. */
  async forEach(fn: (b: FedBag, i: number) => void): Promise<void> {
    for (let i = 0; i < this.bags.length; i++) fn(await this.get(i, i + 1 < this.bags.length ? i + 1 : undefined), i);
  }

  close(): void {
    this.kept.clear();
    this.cur = undefined;
    this.pending = undefined;
    this.spare = [];
    this.reader.close();
  }

  private release(): void {
    if (this.cur) this.spare.push(this.cur.buf);
    this.cur = undefined;
  }

  private buffer(): Float32Array {
    return this.spare.pop() ?? new Float32Array(this.maxBagFloats);
  }

  private async load(i: number, buf: Float32Array): Promise<Float32Array> {
    const v = this.checked(i, await this.reader.read(this.bags[i].slide_id, buf));
    if (this.transform) standardizeInPlace(v, this.dim, this.transform);
    return v;
  }

  private checked(i: number, v: Float32Array): Float32Array {
    const b = this.bags[i];
    checkBag(v, b.n, this.dim, this.dim, b.slide_id);
    return v;
  }
}

export function standardizeInPlace(x: Float32Array, dim: number, s: Standardize): void {
  const inv = new Float32Array(dim);
  for (let j = 0; j < dim; j++) inv[j] = s.std[j] > 0 ? 1 / s.std[j] : 1;
  const n = x.length / dim;
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let j = 0; j < dim; j++) x[o + j] = (x[o + j] - s.mean[j]) * inv[j];
  }
}
