// OpenSlide (Debian libopenslide0) through koffi. One Slide object per open file;
// every error names the slide file, and close() is idempotent so `finally` can always call it.
import koffi from 'koffi';
import { basename } from 'node:path';
import { existsSync, statSync } from 'node:fs';

const LIB_CANDIDATES = [
  process.env.MILFLOW_OPENSLIDE_LIB,
  'libopenslide.so.0',
  '/usr/lib/x86_64-linux-gnu/libopenslide.so.0',
  '/usr/lib/aarch64-linux-gnu/libopenslide.so.0',
  'libopenslide.so.1',
  'libopenslide.1.dylib',
  'libopenslide.0.dylib',
].filter((x): x is string => !!x);

interface Api {
  open(path: string): unknown;
  close(h: unknown): void;
  getError(h: unknown): string | null;
  levelCount(h: unknown): number;
  levelDims(h: unknown, level: number, w: number[], hh: number[]): void;
  levelDownsample(h: unknown, level: number): number;
  bestLevel(h: unknown, ds: number): number;
  readRegion(h: unknown, dest: Uint32Array, x: number, y: number, level: number, w: number, hh: number): void;
  propertyNames(h: unknown): unknown;
  propertyValue(h: unknown, name: string): string | null;
  associatedNames(h: unknown): unknown;
  associatedDims(h: unknown, name: string, w: number[], hh: number[]): void;
  readAssociated(h: unknown, name: string, dest: Uint32Array): void;
  detectVendor(path: string): string | null;
  version(): string;
}

let api: Api | null = null;
let loadError: string | null = null;

function load(): Api {
  if (api) return api;
  if (loadError) throw new Error(loadError);
  let lib: any = null;
  const tried: string[] = [];
  for (const c of LIB_CANDIDATES) {
    try {
      lib = koffi.load(c);
      break;
    } catch (e) {
      tried.push(`${c}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (!lib) {
    loadError = `OpenSlide library not found (install Debian libopenslide0 or set MILFLOW_OPENSLIDE_LIB). Tried: ${tried.join('; ')}`;
    throw new Error(loadError);
  }
  const osr = koffi.opaque('openslide_t');
  const P = koffi.pointer(osr);
  api = {
    open: lib.func('openslide_open', P, ['const char *']),
    close: lib.func('openslide_close', 'void', [P]),
    getError: lib.func('openslide_get_error', 'const char *', [P]),
    levelCount: lib.func('openslide_get_level_count', 'int32_t', [P]),
    levelDims: lib.func('openslide_get_level_dimensions', 'void', [P, 'int32_t', koffi.out(koffi.pointer('int64_t')), koffi.out(koffi.pointer('int64_t'))]),
    levelDownsample: lib.func('openslide_get_level_downsample', 'double', [P, 'int32_t']),
    bestLevel: lib.func('openslide_get_best_level_for_downsample', 'int32_t', [P, 'double']),
    readRegion: lib.func('openslide_read_region', 'void', [P, 'uint32_t *', 'int64_t', 'int64_t', 'int32_t', 'int64_t', 'int64_t']),
    propertyNames: lib.func('openslide_get_property_names', 'void *', [P]),
    propertyValue: lib.func('openslide_get_property_value', 'const char *', [P, 'const char *']),
    associatedNames: lib.func('openslide_get_associated_image_names', 'void *', [P]),
    associatedDims: lib.func('openslide_get_associated_image_dimensions', 'void', [P, 'const char *', koffi.out(koffi.pointer('int64_t')), koffi.out(koffi.pointer('int64_t'))]),
    readAssociated: lib.func('openslide_read_associated_image', 'void', [P, 'const char *', 'uint32_t *']),
    detectVendor: lib.func('openslide_detect_vendor', 'const char *', ['const char *']),
    version: lib.func('openslide_get_version', 'const char *', []),
  };
  return api;
}

/** Decodes a NULL-terminated `const char * const *` list. */
function stringList(ptr: unknown): string[] {
  if (!ptr) return [];
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const s = koffi.decode(ptr, i * koffi.sizeof('void *'), 'const char *') as string | null;
    if (s == null) break;
    out.push(s);
  }
  return out;
}

export class SlideError extends Error {
  constructor(public readonly slide: string, message: string) {
    super(`${basename(slide)}: ${message}`);
    this.name = 'SlideError';
  }
}

export function openslideVersion(): string {
  return load().version();
}

/** Why OpenSlide cannot be used here (library missing), or null when it can. */
export function openslideUnavailable(): string | null {
  try {
    load();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export interface RgbImage {
  width: number;
  height: number;
  /** Interleaved RGB, row-major, 3 bytes per pixel. */
  data: Uint8Array;
}

/** Converts OpenSlide's premultiplied ARGB (native-endian uint32) to straight RGB over white. */
export function argbToRgb(argb: Uint32Array, width: number, height: number): RgbImage {
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const p = argb[i];
    const a = p >>> 24;
    let r = (p >>> 16) & 255, g = (p >>> 8) & 255, b = p & 255;
    if (a === 0) {
      // Transparent (outside the scanned area): OpenSlide's convention, like CLAM's PIL path, is
      // RGBA (0,0,0,0); the RGB is black there. Keep it black so segmentation behaves the same.
      r = g = b = 0;
    } else if (a !== 255) {
      r = Math.min(255, Math.round((r * 255) / a));
      g = Math.min(255, Math.round((g * 255) / a));
      b = Math.min(255, Math.round((b * 255) / a));
    }
    rgb[j] = r;
    rgb[j + 1] = g;
    rgb[j + 2] = b;
  }
  return { width, height, data: rgb };
}

// Backstop for slides that are never closed (an exception between open and the caller's
// try/finally): the handle is closed when the Slide object is garbage-collected.
const finalizer = new FinalizationRegistry<{ handle: unknown }>((box) => {
  if (box.handle && api) api.close(box.handle);
});

export class Slide {
  readonly path: string;
  readonly name: string;
  private handle: unknown;
  readonly levelCount: number;
  /** [width, height] per level. */
  readonly levelDimensions: [number, number][];
  readonly levelDownsamples: number[];
  readonly properties: Record<string, string>;

  private readonly box: { handle: unknown };

  private constructor(path: string, handle: unknown) {
    this.path = path;
    this.name = basename(path);
    this.handle = handle;
    this.box = { handle: null };
    const a = load();
    this.levelCount = a.levelCount(handle);
    this.check();
    if (this.levelCount < 1) throw new SlideError(path, 'slide has no levels');
    this.levelDimensions = [];
    this.levelDownsamples = [];
    for (let l = 0; l < this.levelCount; l++) {
      const w = [0], h = [0];
      a.levelDims(handle, l, w, h);
      this.levelDimensions.push([Number(w[0]), Number(h[0])]);
      this.levelDownsamples.push(a.levelDownsample(handle, l));
    }
    this.properties = {};
    for (const k of stringList(a.propertyNames(handle))) this.properties[k] = a.propertyValue(handle, k) ?? '';
    this.check();
    // Registered last: if the constructor throws, open() closes the handle itself.
    this.box.handle = handle;
    finalizer.register(this, this.box, this);
  }

  /** Opens a slide; throws SlideError naming the file for missing, unsupported or corrupt files. */
  static open(path: string): Slide {
    const a = load();
    if (!existsSync(path)) throw new SlideError(path, `file not found (${path})`);
    const h = a.open(path);
    if (!h) {
      let size = -1;
      try {
        size = statSync(path).size;
      } catch {
        /* reported below */
      }
      const vendor = a.detectVendor(path);
      if (size === 0) throw new SlideError(path, 'empty file (0 bytes)');
      throw new SlideError(
        path,
        vendor
          ? `looks like a ${vendor} slide but OpenSlide cannot open it (${size} bytes): truncated or corrupt file?`
          : `not a slide format OpenSlide recognizes (${size} bytes): unsupported format, or a truncated or corrupt file`,
      );
    }
    const err = a.getError(h);
    if (err) {
      a.close(h);
      throw new SlideError(path, `OpenSlide cannot read it: ${err}`);
    }
    try {
      return new Slide(path, h);
    } catch (e) {
      a.close(h);
      throw e;
    }
  }

  private check(): void {
    if (!this.handle) throw new SlideError(this.path, 'slide is closed');
    const err = load().getError(this.handle);
    if (err) throw new SlideError(this.path, `OpenSlide error: ${err}`);
  }

  get vendor(): string | null {
    return this.properties['openslide.vendor'] ?? null;
  }

  /** µm per pixel at level 0, [x, y], or null when the metadata has none. */
  get mpp(): [number, number] | null {
    const x = parseFloat(this.properties['openslide.mpp-x'] ?? '');
    const y = parseFloat(this.properties['openslide.mpp-y'] ?? '');
    if (!(x > 0)) return null;
    return [x, y > 0 ? y : x];
  }

  get objectivePower(): number | null {
    const v = parseFloat(this.properties['openslide.objective-power'] ?? '');
    return v > 0 ? v : null;
  }

  bestLevelForDownsample(downsample: number): number {
    const l = load().bestLevel(this.handle, downsample);
    this.check();
    return l < 0 ? 0 : l;
  }

  /** Raw premultiplied ARGB of a region; x, y in level-0 pixels, w, h at `level`. */
  readRegionArgb(x: number, y: number, level: number, w: number, h: number): Uint32Array {
    if (!this.handle) throw new SlideError(this.path, 'slide is closed');
    if (level < 0 || level >= this.levelCount) throw new SlideError(this.path, `level ${level} out of range 0..${this.levelCount - 1}`);
    const buf = new Uint32Array(w * h);
    load().readRegion(this.handle, buf, Math.round(x), Math.round(y), level, w, h);
    this.check();
    return buf;
  }

  /**
   * Like readRegionArgb, but decodes horizontal stripes concurrently on libuv worker threads
   * (OpenSlide handles are thread-safe), so a big region uses every core.
   */
  async readRegionArgbAsync(x: number, y: number, level: number, w: number, h: number, parts = 2): Promise<Uint32Array> {
    if (!this.handle) throw new SlideError(this.path, 'slide is closed');
    if (level < 0 || level >= this.levelCount) throw new SlideError(this.path, `level ${level} out of range 0..${this.levelCount - 1}`);
    const buf = new Uint32Array(w * h);
    const fn = load().readRegion as any;
    const ds = this.levelDownsamples[level];
    // Stripes must start on exact level-0 rows, or they would resample differently from one read.
    const rowsPer = Number.isInteger(ds) ? Math.ceil(h / Math.max(1, parts)) : h;
    const jobs: Promise<void>[] = [];
    for (let r0 = 0; r0 < h; r0 += rowsPer) {
      const rows = Math.min(rowsPer, h - r0);
      const view = buf.subarray(r0 * w, (r0 + rows) * w);
      const y0 = Math.round(y) + r0 * ds;
      jobs.push(new Promise((resolve, reject) => fn.async(this.handle, view, Math.round(x), y0, level, w, rows, (err: unknown) => (err ? reject(err) : resolve()))));
    }
    await Promise.all(jobs);
    this.check();
    return buf;
  }

  /** RGB of a region; x, y in level-0 pixels, w, h at `level`. */
  readRegion(x: number, y: number, level: number, w: number, h: number): RgbImage {
    return argbToRgb(this.readRegionArgb(x, y, level, w, h), w, h);
  }

  get associatedImageNames(): string[] {
    return stringList(load().associatedNames(this.handle));
  }

  readAssociatedImage(name: string): RgbImage {
    const a = load();
    const w = [0], h = [0];
    a.associatedDims(this.handle, name, w, h);
    const W = Number(w[0]), H = Number(h[0]);
    if (W <= 0 || H <= 0) throw new SlideError(this.path, `no associated image '${name}' (have: ${this.associatedImageNames.join(', ') || 'none'})`);
    const buf = new Uint32Array(W * H);
    a.readAssociated(this.handle, name, buf);
    this.check();
    return argbToRgb(buf, W, H);
  }

  close(): void {
    if (this.handle) {
      finalizer.unregister(this);
      this.box.handle = null;
      load().close(this.handle);
      this.handle = null;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Opens, runs fn, always closes. */
export async function withSlide<T>(path: string, fn: (s: Slide) => T | Promise<T>): Promise<T> {
  const s = Slide.open(path);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}
