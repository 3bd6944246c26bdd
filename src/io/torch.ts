// PyTorch `.pt` files without Python: CLAM's pt_files/<slide>.pt feature tensors and its
// s_<fold>_checkpoint.pt state dicts. Both containers torch.save has written are read:
//  - zip (torch ≥ 1.6): <archive>/data.pkl plus one stored entry per storage, <archive>/data/<key>;
//  - legacy (torch < 1.6, e.g. CLAM's published checkpoints): five pickles (magic number,
//    protocol version, system info, the object, the storage keys) then each storage as an
//    int64 element count followed by its bytes.
// The pickle is read by ./pickle.ts, which refuses anything but tensors and (ordered) dicts.
// Tensor bytes are read on demand with positioned reads, so listing a cohort reads headers only.
import { fstatSync } from 'node:fs';
import { readAt, readEntry, withFd, zipEntries } from './zip.ts';
import { f16ToF32 } from './safetensors.ts';
import {
  DTYPE_BYTES, PickleRefused, PickleTruncated, PtStorage, PtTensor, PyDict, PyGlobal, STORAGE_DTYPES, unpickle,
  type Dtype, type PyValue,
} from './pickle.ts';

export { PickleRefused, PtTensor, PyDict, type PyValue };

export interface PtFile {
  path: string;
  format: 'zip' | 'legacy';
  value: PyValue;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function storageFromPid(pid: PyValue[], source: string, locate: (key: string, dtype: Dtype, numel: number) => number, views?: Map<string, PtStorage>): PtStorage {
  const [tag, type, key, , numel, view] = pid;
  if (tag !== 'storage' || !(type instanceof PyGlobal) || type.module !== 'torch' || !(type.name in STORAGE_DTYPES) || typeof key !== 'string') {
    throw new PickleRefused(`${source}: refused: a persistent id that is not a torch storage`);
  }
  const dtype = STORAGE_DTYPES[type.name];
  const n = typeof numel === 'number' ? numel : typeof numel === 'bigint' ? Number(numel) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new PickleRefused(`${source}: refused: storage '${key}' has no element count`);
  const root = new PtStorage(key, dtype, n, locate(key, dtype, n));
  // Legacy storage views (view_key, offset, size) share their root storage's bytes.
  if (Array.isArray(view) && view.length === 3 && views) {
    const [vk, off, size] = view;
    if (typeof vk !== 'string' || typeof off !== 'number' || typeof size !== 'number') throw new PickleRefused(`${source}: refused: malformed storage view`);
    const v = new PtStorage(vk, dtype, size, root.fileOffset + off * DTYPE_BYTES[dtype]);
    views.set(vk, v);
    return v;
  }
  return root;
}

function readZip(fd: number, path: string): PtFile {
  const entries = zipEntries(fd, path);
  const pkl = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n) || n === 'data.pkl');
  if (pkl.length !== 1) throw new Error(`${path}: a ZIP file but not a torch.save archive (${pkl.length ? 'several' : 'no'} data.pkl entries)`);
  const prefix = pkl[0].slice(0, -'data.pkl'.length);
  const bo = entries.get(`${prefix}byteorder`);
  if (bo && readEntry(fd, bo).toString('ascii').trim() !== 'little') throw new Error(`${path}: big-endian torch archive (not supported)`);
  const buf = readEntry(fd, entries.get(pkl[0])!);
  const locate = (key: string, dtype: Dtype, numel: number) => {
    const e = entries.get(`${prefix}data/${key}`);
    if (!e) throw new Error(`${path}: storage '${key}' is missing from the archive`);
    if (e.size < numel * DTYPE_BYTES[dtype]) throw new Error(`${path}: storage '${key}' holds ${e.size} bytes, ${numel} ${dtype} values need ${numel * DTYPE_BYTES[dtype]}`);
    return e.dataOffset;
  };
  const { value } = unpickle(buf, 0, { source: path, persistentLoad: (pid) => storageFromPid(pid, path, locate) });
  return { path, format: 'zip', value };
}

function readLegacy(fd: number, path: string): PtFile {
  const size = fstatSync(fd).size;
  // The pickles precede the storage bytes; read a prefix and grow it until they all parse.
  let len = Math.min(size, 1 << 16);
  for (;;) {
    const buf = readAt(fd, 0, len);
    try {
      return parseLegacy(fd, buf, size, path);
    } catch (e) {
      if (!(e instanceof PickleTruncated) || len >= size) throw e instanceof PickleTruncated ? new Error(`${path}: truncated torch file`) : e;
      len = Math.min(size, len * 4);
    }
  }
}

function parseLegacy(fd: number, buf: Buffer, size: number, path: string): PtFile {
  const source = path;
  let r = unpickle(buf, 0, { source });
  if (r.value !== Number(LEGACY_MAGIC) && r.value !== LEGACY_MAGIC) throw new Error(`${path}: not a torch file (bad magic number)`);
  r = unpickle(buf, r.end, { source });
  if (r.value !== 1001) throw new Error(`${path}: unsupported legacy torch protocol ${String(r.value)}`);
  r = unpickle(buf, r.end, { source });
  const sys = r.value;
  if (sys instanceof PyDict && sys.items.get('little_endian') === false) throw new Error(`${path}: big-endian torch file (not supported)`);
  // The object's storages are located after the key list is known: record them, patch offsets.
  const pending: { key: string; dtype: Dtype; numel: number; set: (off: number) => void }[] = [];
  const views = new Map<string, PtStorage>();
  const objStart = r.end;
  const obj = unpickle(buf, objStart, {
    source,
    persistentLoad: (pid) => storageFromPid(pid, source, (key, dtype, numel) => {
      pending.push({ key, dtype, numel, set: () => {} });
      return -1; // patched below
    }, views),
  });
  const keys = unpickle(buf, obj.end, { source });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) throw new Error(`${path}: malformed legacy torch file (storage key list)`);
  // Storage bytes: for each key in list order, an int64 element count then the data.
  const offsets = new Map<string, { at: number; numel: number }>();
  let pos = keys.end;
  const dtypeOf = new Map(pending.map((s) => [s.key, s.dtype]));
  for (const k of keys.value as string[]) {
    const head = readAt(fd, pos, 8);
    if (head.length < 8) throw new Error(`${path}: truncated torch file (storage '${k}')`);
    const numel = Number(head.readBigInt64LE(0));
    const dt = dtypeOf.get(k);
    if (!dt) throw new Error(`${path}: storage '${k}' is listed but never used`);
    offsets.set(k, { at: pos + 8, numel });
    pos += 8 + numel * DTYPE_BYTES[dt];
    if (pos > size) throw new Error(`${path}: truncated torch file (storage '${k}' runs past the end)`);
  }
  // Second pass over the object pickle with the real offsets (cheap: the pickle is small).
  const located = unpickle(buf, objStart, {
    source,
    persistentLoad: (pid) => storageFromPid(pid, source, (key, dtype, numel) => {
      const o = offsets.get(key);
      if (!o) throw new Error(`${path}: storage '${key}' has no data`);
      if (o.numel < numel) throw new Error(`${path}: storage '${key}' holds ${o.numel} values, ${numel} are used`);
      return o.at;
    }, new Map()),
  });
  return { path, format: 'legacy', value: located.value };
}

/** Reads a .pt file's structure (tensors stay on disk). Refuses pickles that would run code. */
export function readPt(path: string): PtFile {
  return withFd(path, (fd) => {
    const head = readAt(fd, 0, 4);
    if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return readZip(fd, path);
    if (head.length >= 2 && head[0] === 0x80) return readLegacy(fd, path);
    if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) throw new Error(`${path}: a gzip file, not a torch.save file`);
    throw new Error(`${path}: not a torch.save file (neither a ZIP archive nor a pickle)`);
  });
}

function decode(b: Buffer, dtype: Dtype, out: Float32Array, at: number, count: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (dtype) {
    case 'float32':
      if ((b.byteOffset & 3) === 0) out.set(new Float32Array(b.buffer, b.byteOffset, count), at);
      else for (let i = 0; i < count; i++) out[at + i] = dv.getFloat32(i * 4, true);
      return;
    case 'float64': for (let i = 0; i < count; i++) out[at + i] = dv.getFloat64(i * 8, true); return;
    case 'float16': for (let i = 0; i < count; i++) out[at + i] = f16ToF32(dv.getUint16(i * 2, true)); return;
    case 'bfloat16': {
      const t = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) { t.setUint32(0, dv.getUint16(i * 2, true) << 16, true); out[at + i] = t.getFloat32(0, true); }
      return;
    }
    case 'int64': for (let i = 0; i < count; i++) out[at + i] = Number(dv.getBigInt64(i * 8, true)); return;
    case 'int32': for (let i = 0; i < count; i++) out[at + i] = dv.getInt32(i * 4, true); return;
    case 'int16': for (let i = 0; i < count; i++) out[at + i] = dv.getInt16(i * 2, true); return;
    case 'int8': for (let i = 0; i < count; i++) out[at + i] = dv.getInt8(i); return;
    case 'uint8': case 'bool': for (let i = 0; i < count; i++) out[at + i] = b[i]; return;
  }
}


/** A tensor's values as float32, row-major in its logical shape (any strides). */
export function tensorData(path: string, t: PtTensor): Float32Array {
  const n = t.numel;
  const out = new Float32Array(n);
  if (n === 0) return out;
  const w = DTYPE_BYTES[t.dtype];
  const contiguous = t.shape.every((_, i) => t.stride[i] === t.shape.slice(i + 1).reduce((a, b) => a * b, 1) || t.shape[i] === 1);
  withFd(path, (fd) => {
    if (contiguous) {
      const b = readAt(fd, t.storage.fileOffset + t.offset * w, n * w);
      if (b.length < n * w) throw new Error(`${path}: truncated tensor data`);
      decode(b, t.dtype, out, 0, n);
      return;
    }
    // Strided view: read the span it covers once, then gather.
    let span = 1;
    for (let i = 0; i < t.shape.length; i++) span += (t.shape[i] - 1) * t.stride[i];
    const all = new Float32Array(span);
    const b = readAt(fd, t.storage.fileOffset + t.offset * w, span * w);
    if (b.length < span * w) throw new Error(`${path}: truncated tensor data`);
    decode(b, t.dtype, all, 0, span);
    const idx = new Array(t.shape.length).fill(0);
    for (let k = 0; k < n; k++) {
      let src = 0;
      for (let d = 0; d < idx.length; d++) src += idx[d] * t.stride[d];
      out[k] = all[src];
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d] < t.shape[d]) break;
        idx[d] = 0;
      }
    }
  });
  return out;
}

/** The tensor a CLAM feature file holds ([N, E]); the file's own words when it holds something else. */
export function featureTensor(pt: PtFile): PtTensor {
  let v = pt.value;
  // torch.save({'features': x, ...}) is accepted too.
  if (v instanceof PyDict && v.items.get('features') instanceof PtTensor) v = v.items.get('features')!;
  if (!(v instanceof PtTensor)) throw new Error(`${pt.path}: holds ${describe(v)}, not a feature tensor [N, E]`);
  if (v.shape.length !== 2) throw new Error(`${pt.path}: the feature tensor must be 2-D [N, E], got shape [${v.shape.join(', ')}]`);
  if (!v.dtype.startsWith('float') && v.dtype !== 'bfloat16') throw new Error(`${pt.path}: feature tensor of ${v.dtype}, expected floating point`);
  return v;
}

/** [N, E] of a .pt feature file, reading only its header. */
export function ptFeatureShape(path: string): [number, number] {
  const t = featureTensor(readPt(path));
  return [t.shape[0], t.shape[1]];
}

export function readPtFeatures(path: string): { features: Float32Array; n: number; dim: number } {
  const pt = readPt(path);
  const t = featureTensor(pt);
  return { features: tensorData(path, t), n: t.shape[0], dim: t.shape[1] };
}

function describe(v: PyValue): string {
  if (v instanceof PyDict) return `a dict (keys: ${[...v.items.keys()].slice(0, 5).join(', ')}${v.items.size > 5 ? ', …' : ''})`;
  if (Array.isArray(v)) return `a list/tuple of ${v.length}`;
  if (v instanceof PtTensor) return `a tensor [${v.shape.join(', ')}]`;
  return v === null ? 'None' : typeof v;
}

/** Keys under which checkpoints commonly nest the state dict. */
const NESTED = ['state_dict', 'model_state_dict', 'model'];

/**
 * The tensors of a state dict saved with torch.save(model.state_dict()) (or a dict nesting it
 * under state_dict / model_state_dict / model), by key, as float32.
 */
export function readPtStateDict(path: string): Map<string, { shape: number[]; data: Float32Array }> {
  const pt = readPt(path);
  let d = pt.value;
  if (d instanceof PyDict && ![...d.items.values()].some((v) => v instanceof PtTensor)) {
    const k = NESTED.find((n) => d instanceof PyDict && d.items.get(n) instanceof PyDict);
    if (k) d = (d as PyDict).items.get(k)!;
  }
  if (!(d instanceof PyDict)) throw new Error(`${path}: holds ${describe(d)}, not a state dict`);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, v] of d.items) {
    if (typeof k !== 'string') throw new Error(`${path}: state dict key ${k} is not a string`);
    if (!(v instanceof PtTensor)) throw new Error(`${path}: state dict entry '${k}' is ${describe(v)}, not a tensor`);
    out.set(k, { shape: [...v.shape], data: tensorData(path, v) });
  }
  return out;
}
