// YAML → plain data, keeping a map back to source positions so that every validation
// message can name line:column in the user's file.
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, isAlias, type Document, type Node } from 'yaml';
import type { SpecPath } from './errors.ts';

export interface Position {
  line: number;
  column: number;
}

export interface ParsedYaml {
  data: unknown;
  /** Syntax errors (the YAML parser's own line:column), empty when the text parsed. */
  errors: { line: number; column: number; message: string }[];
  /**
   * Where `path` is written. `key: true` points at the key of the last segment (for
   * "unknown key" messages). A path that is not in the file (a default, a missing key)
   * falls back to its deepest ancestor that is.
   */
  locate(path: SpecPath, opts?: { key?: boolean }): Position;
  /** True when the path is literally written in the file (not filled in by a default). */
  has(path: SpecPath): boolean;
}

export function parseYaml(text: string): ParsedYaml {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true, merge: true });
  const pos = (offset: number | undefined): Position => {
    const p = lc.linePos(offset ?? 0);
    return { line: p.line, column: p.col };
  };
  const errors = doc.errors.map((e) => {
    const lp = e.linePos?.[0] ?? lc.linePos(e.pos?.[0] ?? 0);
    // The parser's message repeats the position and a code excerpt; keep the first line.
    const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    return { line: lp.line, column: lp.col, message: msg };
  });
  let data: unknown = null;
  if (errors.length === 0) data = doc.toJS({ maxAliasCount: 1000 });

  function walk(path: SpecPath): { found: number; node: Node | null; keyNode: Node | null; parent: Node | null } {
    let node = deref(doc, doc.contents as Node | null);
    let keyNode: Node | null = null;
    let parent: Node | null = null;
    let found = 0;
    for (const seg of path) {
      if (!node) break;
      let next: Node | null = null;
      let nextKey: Node | null = null;
      if (isMap(node)) {
        for (const item of node.items) {
          if (!isPair(item)) continue;
          const k = item.key as Node | null;
          const kv = isScalar(k) ? k.value : k;
          if (String(kv) === String(seg)) {
            next = deref(doc, item.value as Node | null);
            nextKey = k;
            // `key:` with no value: point at the key.
            if (!next) next = k;
            break;
          }
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        const it = node.items[seg] as Node | undefined;
        if (it) next = deref(doc, it);
      }
      if (!next) break;
      parent = node;
      node = next;
      keyNode = nextKey;
      found++;
    }
    return { found, node, keyNode, parent };
  }

  return {
    data,
    errors,
    locate(path, opts = {}) {
      const w = walk(path);
      // Point at the key for unknown keys, and for block mappings/lists (whose own start is
      // the line after `key:`, which reads as the wrong line).
      const block = (isMap(w.node) || isSeq(w.node)) && !(w.node as { flow?: boolean }).flow;
      const target = (opts.key && w.found === path.length) || block ? (w.keyNode ?? w.node) : w.node;
      return pos(target?.range?.[0]);
    },
    has(path) {
      return walk(path).found === path.length;
    },
  };
}

function deref(doc: Document, node: Node | null): Node | null {
  if (node && isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? node;
  return node;
}
