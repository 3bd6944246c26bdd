// safetensors read/write: 8-byte little-endian header length, JSON header
// ({name: {dtype, shape, data_offsets}}, optional "__metadata__" of string → string), raw
// little-endian data. F32 is what the models use; F64/I32/I64/F16/BF16 are read (as float32
// for the float types) so reference checkpoints in other dtypes still load.
import { readFile } from 'node:fs/promises';
import { writeFileAtomicAsync } from './atomic.ts';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface SafeTensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** IEEE half → float32 value (safetensors F16, torch float16 storages). */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export function parseSafetensors(buf: Uint8Array, source = 'safetensors'): SafeTensors {
  if (buf.byteLength < 8) throw new Error(`${source}: too short for a safetensors file`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n <= 0 || 8 + n > buf.byteLength) throw new Error(`${source}: bad safetensors header length ${n}`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`${source}: safetensors header is not JSON (${(e as Error).message})`);
  }
  const base = 8 + n;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = { ...(info as Record<string, string>) };
      continue;
    }
    const { dtype, shape, data_offsets } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [a, b] = data_offsets;
    const count = shape.reduce((x, y) => x * y, 1);
    if (base + b > buf.byteLength || a > b) throw new Error(`${source}: tensor '${name}' data out of range`);
    const bytes = buf.subarray(base + a, base + b);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Float32Array(count);
    const width: Record<string, number> = { F32: 4, F64: 8, I32: 4, I64: 8, F16: 2, BF16: 2 };
    const w = width[dtype];
    if (!w) throw new Error(`${source}: tensor '${name}' has unsupported dtype ${dtype}`);
    if (bytes.byteLength !== count * w) throw new Error(`${source}: tensor '${name}' has ${bytes.byteLength} bytes, expected ${count * w}`);
    for (let i = 0; i < count; i++) {
      switch (dtype) {
        case 'F32': out[i] = v.getFloat32(i * 4, true); break;
        case 'F64': out[i] = v.getFloat64(i * 8, true); break;
        case 'I32': out[i] = v.getInt32(i * 4, true); break;
        case 'I64': out[i] = Number(v.getBigInt64(i * 8, true)); break;
        case 'F16': out[i] = f16ToF32(v.getUint16(i * 2, true)); break;
        case 'BF16': {
          const t = new DataView(new ArrayBuffer(4));
          t.setUint32(0, v.getUint16(i * 2, true) << 16, true);
          out[i] = t.getFloat32(0, true);
          break;
        }
      }
    }
    tensors.set(name, { shape: [...shape], data: out });
  }
  return { tensors, metadata };
}

export async function readSafetensors(path: string): Promise<SafeTensors> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  return parseSafetensors(buf, path);
}

/** Serialises F32 tensors (sorted by name, 8-byte aligned as the format recommends). */
export function encodeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): Buffer {
  const entries = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((x, y) => x * y, 1);
    if (count !== t.data.length) throw new Error(`tensor '${name}': shape [${t.shape}] does not match ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + count * 4] };
    off += count * 4;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.from(' '.repeat(pad))]);
  const out = Buffer.alloc(8 + json.length + off);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let p = 8 + json.length;
  for (const [, t] of entries) {
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) bytes.copy(out, p);
    else for (let i = 0; i < t.data.length; i++) out.writeFloatLE(t.data[i], p + i * 4);
    p += t.data.byteLength;
  }
  return out;
}

/** Atomic write (temp file + rename). */
export async function writeSafetensors(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomicAsync(path, encodeSafetensors(tensors, metadata));
}
