// A strict reader of the pickle subset torch.save writes for tensors and state dicts. It never
// runs pickle code: the only callables it knows are data constructors (OrderedDict, torch's
// tensor/parameter rebuild functions), which it evaluates itself; a reference to anything else
// (os.system, builtins.eval, a user class, ...) is refused at once, naming it. Containers come
// back as plain data: lists and tuples as arrays, dicts as PyDict, tensors as PtTensor whose
// bytes stay in the file until asked for (see ./torch.ts).

export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyDict | PtTensor | PtStorage | PyGlobal;

export class PyDict {
  readonly items = new Map<string | number, PyValue>();
  constructor(readonly ordered = false) {}
}

export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualname(): string { return `${this.module}.${this.name}`; }
}

export type Dtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const STORAGE_DTYPES: Record<string, Dtype> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8', BoolStorage: 'bool',
};

export const DTYPE_BYTES: Record<Dtype, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** A storage as the container resolved it from a persistent id: where its bytes are. */
export class PtStorage {
  constructor(readonly key: string, readonly dtype: Dtype, readonly numel: number, readonly fileOffset: number) {}
}

export class PtTensor {
  constructor(readonly storage: PtStorage, readonly offset: number, readonly shape: number[], readonly stride: number[]) {}
  get dtype(): Dtype { return this.storage.dtype; }
  get numel(): number { return this.shape.reduce((a, b) => a * b, 1); }
}

/** Raised when the pickle stream ends before STOP (the caller may read more and retry). */
export class PickleTruncated extends Error {}

export class PickleRefused extends Error {
  readonly exitCode = 2;
}

const ALLOWED_CALLABLES = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
]);

export interface UnpickleOptions {
  /** torch's persistent_load: turns the persistent id (a tuple) into a storage. */
  persistentLoad?: (pid: PyValue[]) => PtStorage;
  /** Names the file in messages. */
  source: string;
}

export interface UnpickleResult {
  value: PyValue;
  /** Bytes consumed (the position after STOP). */
  end: number;
}

const MARK = Symbol('mark');
type Slot = PyValue | typeof MARK;

function refuse(source: string, what: string): never {
  throw new PickleRefused(
    `${source}: refused: ${what}. milflow reads tensors and state dicts saved with torch.save and never runs code from a pickle; ` +
    're-save the tensors alone (torch.save(model.state_dict(), path) or torch.save(features, path)), or convert the file to safetensors',
  );
}

function asInt(v: PyValue, what: string, source: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return refuse(source, `${what} is not an integer`);
}

function intList(v: PyValue, what: string, source: string): number[] {
  if (!Array.isArray(v)) refuse(source, `${what} is not a tuple`);
  return (v as PyValue[]).map((x) => asInt(x, what, source));
}

function call(fn: PyGlobal, args: PyValue, source: string): PyValue {
  if (!Array.isArray(args)) refuse(source, `arguments of ${fn.qualname} are not a tuple`);
  const a = args as PyValue[];
  switch (fn.qualname) {
    case 'collections.OrderedDict':
      if (a.length !== 0) refuse(source, 'OrderedDict built from arguments');
      return new PyDict(true);
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2': {
      const [storage, offset, size, stride] = a;
      if (!(storage instanceof PtStorage)) refuse(source, `${fn.qualname} without a storage`);
      const t = new PtTensor(storage as PtStorage, asInt(offset, 'storage offset', source), intList(size, 'tensor size', source), intList(stride, 'tensor stride', source));
      if (t.shape.length !== t.stride.length) refuse(source, 'tensor size and stride differ in length');
      // The furthest element must lie inside the storage.
      let last = t.offset;
      for (let i = 0; i < t.shape.length; i++) {
        if (t.shape[i] < 0 || t.stride[i] < 0) refuse(source, 'negative tensor size or stride');
        if (t.shape[i] > 0) last += (t.shape[i] - 1) * t.stride[i];
      }
      if (t.numel > 0 && last >= t.storage.numel) refuse(source, `tensor reaches element ${last} of a storage of ${t.storage.numel}`);
      return t;
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      if (!(a[0] instanceof PtTensor)) refuse(source, `${fn.qualname} of something that is not a tensor`);
      return a[0];
  }
  return refuse(source, `the pickle calls ${fn.qualname}`);
}

/** Reads one pickle from buf starting at `start`. */
export function unpickle(buf: Uint8Array, start: number, opts: UnpickleOptions): UnpickleResult {
  const { source } = opts;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const td = new TextDecoder('utf-8', { fatal: false });
  let p = start;
  const need = (n: number) => { if (p + n > buf.length) throw new PickleTruncated(`${source}: pickle ends early`); };
  const u8 = () => { need(1); return buf[p++]; };
  const u16 = () => { need(2); const v = dv.getUint16(p, true); p += 2; return v; };
  const u32 = () => { need(4); const v = dv.getUint32(p, true); p += 4; return v; };
  const i32 = () => { need(4); const v = dv.getInt32(p, true); p += 4; return v; };
  const bytes = (n: number) => { need(n); const b = buf.subarray(p, p + n); p += n; return b; };
  const line = () => {
    const e = buf.indexOf(0x0a, p);
    if (e < 0) throw new PickleTruncated(`${source}: pickle ends early`);
    const s = td.decode(buf.subarray(p, e));
    p = e + 1;
    return s;
  };
  const stack: Slot[] = [];
  const memo = new Map<number, PyValue>();
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) refuse(source, 'malformed pickle (stack underflow)');
    return v as PyValue;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) refuse(source, 'malformed pickle (stack underflow)');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) refuse(source, 'malformed pickle (no mark)');
    const items = stack.splice(i) as PyValue[];
    items.shift();
    return items;
  };
  const global = (module: string, name: string): PyGlobal => {
    const qn = `${module}.${name}`;
    if (ALLOWED_CALLABLES.has(qn)) return new PyGlobal(module, name);
    if (module === 'torch' && name in STORAGE_DTYPES) return new PyGlobal(module, name);
    return refuse(source, `the pickle references ${qn}, which is not part of a tensor or state dict`);
  };
  const setItems = (d: PyValue, kv: PyValue[]) => {
    if (!(d instanceof PyDict)) refuse(source, 'SETITEM on something that is not a dict');
    for (let i = 0; i + 1 < kv.length; i += 2) {
      const k = kv[i];
      if (typeof k !== 'string' && typeof k !== 'number') refuse(source, 'a dict key that is not a string or integer');
      (d as PyDict).items.set(k as string | number, kv[i + 1]);
    }
  };
  const append = (l: PyValue, vs: PyValue[]) => {
    if (!Array.isArray(l)) refuse(source, 'APPEND on something that is not a list');
    (l as PyValue[]).push(...vs);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: bytes(8); break; // FRAME (protocol 4 framing: the bytes follow inline)
      case 0x2e: return { value: pop(), end: p }; // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: case 0x8b: { // LONG1, LONG4: little-endian two's complement
        const n = op === 0x8a ? u8() : u32();
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: { need(8); stack.push(dv.getFloat64(p, false)); p += 8; break; } // BINFLOAT (big-endian)
      case 0x58: stack.push(td.decode(bytes(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(td.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: { need(8); const n = Number(dv.getBigUint64(p, true)); p += 8; stack.push(td.decode(bytes(n))); break; } // BINUNICODE8
      case 0x54: stack.push(td.decode(bytes(u32()))); break; // BINSTRING (py2 str)
      case 0x55: stack.push(td.decode(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const d = new PyDict(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const vs = popMark(); append(top(), vs); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) refuse(source, `malformed pickle (memo ${k} unset)`);
        stack.push(memo.get(k)!);
        break;
      }
      case 0x63: { const module = line(); const name = line(); stack.push(global(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(); const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') refuse(source, 'malformed STACK_GLOBAL');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop(); const fn = pop();
        if (!(fn instanceof PyGlobal)) refuse(source, 'the pickle calls something that is not a known constructor');
        stack.push(call(fn as PyGlobal, args, source));
        break;
      }
      case 0x62: { // BUILD: only OrderedDict's attribute dict (state_dict()._metadata) and empty states
        const state = pop(); const obj = top();
        const empty = state === null || (state instanceof PyDict && state.items.size === 0);
        if (obj instanceof PyDict && (state instanceof PyDict || state === null)) break;
        if (obj instanceof PtTensor && empty) break;
        refuse(source, 'the pickle sets the state of an object that is not a dict');
        break;
      }
      case 0x51: { // BINPERSID: torch's storages
        const pid = pop();
        if (!opts.persistentLoad || !Array.isArray(pid)) refuse(source, 'a persistent id that is not a torch storage');
        stack.push(opts.persistentLoad!(pid as PyValue[]));
        break;
      }
      default:
        refuse(source, `pickle opcode 0x${op.toString(16).padStart(2, '0')} ('${String.fromCharCode(op)}') at byte ${p - 1}, which tensors and state dicts do not use`);
    }
  }
}
