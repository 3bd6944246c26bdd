// Patch features with a user-supplied ONNX encoder (onnxruntime-node, CPU). Patches of the next
// batch are read (OpenSlide on libuv threads) and resized (sharp) while the encoder runs on the
// current one. Output rows follow the coords order.
import sharp from 'sharp';
import { Slide, argbToRgb } from '../wsi/openslide.ts';
import type { CoordsFile } from '../wsi/coords-h5.ts';

export interface EncoderSpec {
  /** Absolute path of the .onnx file. */
  onnx: string;
  dim: number;
  input_size: number;
  mean: number[];
  std: number[];
  batch_size: number;
  /** Interpolation when the patch side differs from input_size. */
  resize?: 'bilinear' | 'bicubic' | 'nearest' | 'lanczos3';
  /** Graph input / output names (default: the model's first). */
  input_name?: string;
  output_name?: string;
}

const KERNEL = { bilinear: 'linear', bicubic: 'cubic', nearest: 'nearest', lanczos3: 'lanczos3' } as const;

let ortP: Promise<any> | null = null;
function ort(): Promise<any> {
  ortP ??= import('onnxruntime-node').then((m: any) => m.default ?? m);
  return ortP;
}

export interface Encoder {
  spec: EncoderSpec;
  run(batch: Float32Array, n: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export async function loadEncoder(spec: EncoderSpec, threads = 1): Promise<Encoder> {
  const o = await ort();
  let session: any;
  try {
    session = await o.InferenceSession.create(spec.onnx, { intraOpNumThreads: Math.max(1, threads), interOpNumThreads: 1, executionProviders: ['cpu'] });
  } catch (e) {
    throw new Error(`${spec.onnx}: cannot load the ONNX encoder (${(e as Error).message})`);
  }
  const inName = spec.input_name ?? session.inputNames[0];
  const outName = spec.output_name ?? session.outputNames[0];
  if (!session.inputNames.includes(inName)) throw new Error(`${spec.onnx}: no input '${inName}' (inputs: ${session.inputNames.join(', ')})`);
  if (!session.outputNames.includes(outName)) throw new Error(`${spec.onnx}: no output '${outName}' (outputs: ${session.outputNames.join(', ')})`);
  const S = spec.input_size;
  return {
    spec,
    async run(batch, n) {
      const x = new o.Tensor('float32', batch.subarray(0, n * 3 * S * S), [n, 3, S, S]);
      let r: any;
      try {
        r = await session.run({ [inName]: x });
      } catch (e) {
        throw new Error(`${spec.onnx}: encoder failed on a [${n},3,${S},${S}] batch (${(e as Error).message})`);
      }
      const y = r[outName];
      const per = y.data.length / n;
      if (y.dims[0] !== n || per !== spec.dim) {
        throw new Error(`${spec.onnx}: output '${outName}' has shape [${y.dims.join(',')}], expected [${n},${spec.dim}] (encoder.dim in the spec)`);
      }
      return y.data as Float32Array;
    },
    async close() {
      await session.release?.();
    },
  };
}

/** Reads one patch and writes it normalised, CHW, into dst at offset. */
async function loadPatch(slide: Slide, x: number, y: number, level: number, size: number, spec: EncoderSpec, dst: Float32Array, offset: number): Promise<void> {
  const argb = await slide.readRegionArgbAsync(x, y, level, size, size, 1);
  const S = spec.input_size;
  let rgb: Uint8Array;
  const raw = argbToRgb(argb, size, size).data;
  if (size === S) rgb = raw;
  else {
    rgb = new Uint8Array(
      await sharp(raw, { raw: { width: size, height: size, channels: 3 } })
        .resize(S, S, { kernel: KERNEL[spec.resize ?? 'bilinear'], fit: 'fill' })
        .raw()
        .toBuffer(),
    );
  }
  const plane = S * S;
  const [m0, m1, m2] = spec.mean, [s0, s1, s2] = spec.std;
  for (let i = 0, j = 0; i < plane; i++, j += 3) {
    dst[offset + i] = (rgb[j] / 255 - m0) / s0;
    dst[offset + plane + i] = (rgb[j + 1] / 255 - m1) / s1;
    dst[offset + 2 * plane + i] = (rgb[j + 2] / 255 - m2) / s2;
  }
}

export interface ExtractOptions {
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** An already loaded encoder (reused across slides by the CLI). */
  encoder?: Encoder;
}

/** Features [n, dim] for the coords of one slide. */
export async function extractFeatures(slidePath: string, coords: CoordsFile, spec: EncoderSpec, opts: ExtractOptions = {}): Promise<Float32Array> {
  const enc = opts.encoder ?? (await loadEncoder(spec, opts.threads));
  const slide = Slide.open(slidePath);
  try {
    const n = coords.n, B = Math.max(1, spec.batch_size), S = spec.input_size;
    const per = 3 * S * S;
    const out = new Float32Array(n * spec.dim);
    const { patch_level: level, patch_size: size } = coords.attrs;
    const prepare = async (start: number) => {
      const m = Math.min(B, n - start);
      const buf = new Float32Array(m * per);
      await Promise.all(Array.from({ length: m }, (_, k) => loadPatch(slide, coords.coords[2 * (start + k)], coords.coords[2 * (start + k) + 1], level, size, spec, buf, k * per)));
      return { buf, m };
    };
    let next = n > 0 ? prepare(0) : null;
    for (let start = 0; start < n; start += B) {
      if (opts.signal?.aborted) throw new Error('aborted');
      const { buf, m } = await next!;
      next = start + B < n ? prepare(start + B) : null;
      const y = await enc.run(buf, m);
      out.set(y, start * spec.dim);
      opts.onProgress?.(start + m, n);
    }
    if (next) await next;
    return out;
  } finally {
    slide.close();
    if (!opts.encoder) await enc.close();
  }
}
