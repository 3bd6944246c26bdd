// Canonical JSON: the one serialisation used for hashes and cache keys, so that two specs
// (or stage params) that mean the same thing produce the same bytes.
//  - object keys sorted by UTF-16 code unit order (Array.prototype.sort default), at every depth;
//  - numbers in ECMAScript shortest round-trip form (JSON.stringify), -0 written as 0,
//    so 1, 1.0 and 1e0 in YAML all become "1";
//  - undefined object members dropped (as JSON.stringify does), undefined in arrays → null;
//  - NaN, ±Infinity, functions, symbols, bigints and cycles are errors: they have no JSON form
//    and silently mapping them (JSON.stringify writes null) would merge distinct keys.
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  return write(value, new Set<object>(), '$');
}

/** sha256 (hex) of canonicalJson(value). */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function write(v: unknown, seen: Set<object>, at: string): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`canonicalJson: ${at} is ${v}, which has no JSON form`);
      return Object.is(v, -0) ? '0' : JSON.stringify(v);
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalJson: ${at} is a ${typeof v}, which has no JSON form`);
  }
  const obj = v as object;
  if (seen.has(obj)) throw new TypeError(`canonicalJson: ${at} is a cycle`);
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      return '[' + obj.map((x, i) => (x === undefined ? 'null' : write(x, seen, `${at}[${i}]`))).join(',') + ']';
    }
    if (ArrayBuffer.isView(obj)) {
      // Typed arrays serialise as plain number arrays (JSON.stringify would write an index object).
      return write(Array.from(obj as unknown as ArrayLike<number>), seen, at);
    }
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return write(toJSON.call(obj), seen, at); // e.g. Date
    const keys = Object.keys(obj).sort();
    const parts: string[] = [];
    for (const k of keys) {
      const x = (obj as Record<string, unknown>)[k];
      if (x === undefined) continue;
      parts.push(JSON.stringify(k) + ':' + write(x, seen, `${at}.${k}`));
    }
    return '{' + parts.join(',') + '}';
  } finally {
    seen.delete(obj);
  }
}
