// Spec errors as a researcher reads them: file:line:column, the path inside the spec, and
// what is wrong in plain words. One SpecError carries every problem found, not just the first.
import { EXIT } from '../errors.ts';

export type PathSeg = string | number;
export type SpecPath = PathSeg[];

export interface SpecMessage {
  /** The spec file as the user named it (relative paths stay relative). */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Display path, e.g. `models[1].B`; '' for the document as a whole. */
  path: string;
  message: string;
}

export class SpecError extends Error {
  readonly exitCode = EXIT.usage;
  readonly messages: SpecMessage[];
  constructor(messages: SpecMessage[]) {
    super(messages.map(formatSpecMessage).join('\n'));
    this.name = 'SpecError';
    this.messages = messages;
  }
}

export function formatSpecMessage(m: SpecMessage): string {
  return `${m.file}:${m.line}:${m.column} ${m.path ? m.path + ': ' : ''}${m.message}`;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `['models', 1, 'B']` → `models[1].B`; keys that are not identifiers are quoted: `sweep["train.lr"]`. */
export function displayPath(path: SpecPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENT.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Levenshtein distance, for did-you-mean suggestions. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[n];
}

/** The closest candidate if it is plausibly a typo (distance ≤ max(1, len/3); 0 for words of ≤ 2 letters). */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  // Short words are too close to everything: only a case difference counts.
  const limit = word.length <= 2 ? 0 : Math.max(1, Math.floor(word.length / 3));
  return bestD <= limit ? best : undefined;
}

/** Short rendering of a value inside a message: strings quoted, long things cut. */
export function showValue(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = `'${v}'`;
  else if (v === undefined) s = 'nothing';
  else {
    try {
      s = JSON.stringify(v);
    } catch {
      s = String(v);
    }
  }
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v;
}
