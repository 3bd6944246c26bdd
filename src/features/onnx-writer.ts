// A minimal ONNX (protobuf) writer: enough to build small test encoders in-process, with no
// download and no protobuf dependency. Field numbers follow onnx.proto (ModelProto, GraphProto,
// NodeProto, TensorProto, ValueInfoProto, AttributeProto).
import { mulberry32 as rng } from '../datasets/prng.ts';

class Pb {
  private parts: Uint8Array[] = [];
  private len = 0;
  private push(b: Uint8Array) {
    this.parts.push(b);
    this.len += b.length;
  }
  private varint(v: number | bigint) {
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    this.push(Uint8Array.from(out));
  }
  private tag(field: number, wire: number) {
    this.varint((field << 3) | wire);
  }
  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(b.length);
    this.push(b);
    return this;
  }
  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  msg(field: number, m: Pb): this {
    return this.bytes(field, m.finish());
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.len);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export type Attr = { name: string } & ({ i: number } | { ints: number[] } | { f: number });

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Attr[];
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

export interface OnnxIo {
  name: string;
  /** Dimensions; a string is a symbolic (dynamic) dimension. */
  shape: (number | string)[];
}

const FLOAT = 1;

function attr(a: Attr): Pb {
  const m = new Pb().str(1, a.name);
  if ('i' in a) m.int(20, 2).int(3, a.i);
  else if ('ints' in a) {
    m.int(20, 7);
    for (const v of a.ints) m.int(8, v);
  } else m.int(20, 1).float(2, a.f);
  return m;
}

function valueInfo(io: OnnxIo): Pb {
  const shape = new Pb();
  for (const d of io.shape) shape.msg(1, typeof d === 'string' ? new Pb().str(2, d) : new Pb().int(1, d));
  const tensor = new Pb().int(1, FLOAT).msg(2, shape);
  return new Pb().str(1, io.name).msg(2, new Pb().msg(1, tensor));
}

/** Serialises a float32 graph as an ONNX model (IR 8, default opset 13). */
export function encodeOnnxModel(g: { name: string; nodes: OnnxNode[]; initializers: OnnxTensor[]; inputs: OnnxIo[]; outputs: OnnxIo[]; opset?: number }): Uint8Array {
  const graph = new Pb();
  g.nodes.forEach((n, i) => {
    const node = new Pb();
    for (const x of n.inputs) node.str(1, x);
    for (const y of n.outputs) node.str(2, y);
    node.str(3, `${n.op.toLowerCase()}_${i}`).str(4, n.op);
    for (const a of n.attrs ?? []) node.msg(5, attr(a));
    graph.msg(1, node);
  });
  graph.str(2, g.name);
  for (const t of g.initializers) {
    const tp = new Pb();
    for (const d of t.dims) tp.int(1, d);
    tp.int(2, FLOAT).str(8, t.name);
    const raw = new Uint8Array(t.data.length * 4);
    const dv = new DataView(raw.buffer);
    t.data.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    tp.bytes(9, raw);
    graph.msg(5, tp);
  }
  for (const i of g.inputs) graph.msg(11, valueInfo(i));
  for (const o of g.outputs) graph.msg(12, valueInfo(o));
  return new Pb()
    .int(1, 8)
    .str(2, 'milflow')
    .msg(7, graph)
    .msg(8, new Pb().str(1, '').int(2, g.opset ?? 13))
    .finish();
}


export interface TinyEncoderOptions {
  /** Input side (square RGB). */
  inputSize?: number;
  /** Conv output channels. */
  channels?: number;
  /** Conv kernel = stride. */
  kernel?: number;
  /** Output feature dimension. */
  dim?: number;
  seed?: number;
}

/**
 * A tiny CNN patch encoder: Conv(k×k, stride k) → Relu → GlobalAveragePool → Flatten → Gemm.
 * Input `input` [N,3,S,S] float32, output `features` [N,dim]. Weights are fixed by the seed.
 */
export function tinyEncoder(o: TinyEncoderOptions = {}): { bytes: Uint8Array; inputSize: number; dim: number } {
  const S = o.inputSize ?? 64, C = o.channels ?? 16, K = o.kernel ?? 4, D = o.dim ?? 32;
  const r = rng(o.seed ?? 0);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const convW = new Float32Array(C * 3 * K * K).map(() => gauss() / Math.sqrt(3 * K * K));
  const convB = new Float32Array(C).map(() => 0.1 * gauss());
  const fcW = new Float32Array(D * C).map(() => gauss() / Math.sqrt(C));
  const fcB = new Float32Array(D).map(() => 0.01 * gauss());
  const bytes = encodeOnnxModel({
    name: 'milflow_tiny_encoder',
    nodes: [
      { op: 'Conv', inputs: ['input', 'conv_w', 'conv_b'], outputs: ['conv'], attrs: [{ name: 'kernel_shape', ints: [K, K] }, { name: 'strides', ints: [K, K] }] },
      { op: 'Relu', inputs: ['conv'], outputs: ['relu'] },
      { op: 'GlobalAveragePool', inputs: ['relu'], outputs: ['pool'] },
      { op: 'Flatten', inputs: ['pool'], outputs: ['flat'], attrs: [{ name: 'axis', i: 1 }] },
      { op: 'Gemm', inputs: ['flat', 'fc_w', 'fc_b'], outputs: ['features'], attrs: [{ name: 'transB', i: 1 }] },
    ],
    initializers: [
      { name: 'conv_w', dims: [C, 3, K, K], data: convW },
      { name: 'conv_b', dims: [C], data: convB },
      { name: 'fc_w', dims: [D, C], data: fcW },
      { name: 'fc_b', dims: [D], data: fcB },
    ],
    inputs: [{ name: 'input', shape: ['N', 3, S, S] }],
    outputs: [{ name: 'features', shape: ['N', D] }],
  });
  return { bytes, inputSize: S, dim: D };
}
