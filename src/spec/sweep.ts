// Sweep: a grid over dotted paths into the spec. `models.<name>.<field>` addresses the model
// called <name> (not an index, so reordering models does not change what is swept).
import { didYouMean, type SpecPath } from './errors.ts';

export type SweepTarget = { ok: true; path: SpecPath } | { ok: false; message: string };

/** Keys that name things rather than configure them: sweeping them would break identities. */
const UNSWEEPABLE = new Set(['name', 'sweep']);

export function sweepTarget(key: string, spec: any): SweepTarget {
  const segs = key.split('.');
  if (segs.some((s) => s === '')) return { ok: false, message: `'${key}' is not a dotted path (e.g. train.lr or models.clam_sb.B)` };
  if (UNSWEEPABLE.has(segs[0]) || (segs[0] === 'models' && segs[2] === 'name')) {
    return { ok: false, message: `'${key}' cannot be swept: names identify stages` };
  }
  const path: SpecPath = [];
  let node: any = spec;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const last = i === segs.length - 1;
    if (Array.isArray(node)) {
      let idx = -1;
      if (path.length === 1 && path[0] === 'models') {
        idx = node.findIndex((m: any) => m && m.name === seg);
        if (idx < 0) {
          const names = node.map((m: any) => m?.name).filter((n: unknown) => typeof n === 'string');
          const guess = didYouMean(seg, names);
          return { ok: false, message: `no model named '${seg}' (models: ${names.join(', ')})` + (guess ? `; did you mean '${guess}'?` : '') };
        }
      } else if (/^(0|[1-9][0-9]*)$/.test(seg) && Number(seg) < node.length) {
        idx = Number(seg);
      } else {
        return { ok: false, message: `'${segs.slice(0, i).join('.')}' is a list with ${node.length} items; '${seg}' is not one of them` };
      }
      path.push(idx);
      node = node[idx];
      if (last) return { ok: false, message: `'${key}' names a whole list item; sweep one of its fields (e.g. ${key}.B)` };
      continue;
    }
    if (!node || typeof node !== 'object') {
      return { ok: false, message: `'${segs.slice(0, i).join('.')}' is not a section, so '${key}' does not exist` };
    }
    path.push(seg);
    if (!(seg in node)) {
      // The final key may be an optional field without default (checked against the schema
      // when the variant is re-validated); an intermediate one must exist.
      if (last) return { ok: true, path };
      const guess = didYouMean(seg, Object.keys(node));
      return { ok: false, message: `'${segs.slice(0, i + 1).join('.')}' does not exist in this spec` + (guess ? `; did you mean '${[...segs.slice(0, i), guess].join('.')}'?` : '') };
    }
    node = node[seg];
  }
  return { ok: true, path };
}

export function setPath(obj: any, path: SpecPath, value: unknown): void {
  let node = obj;
  for (let i = 0; i < path.length - 1; i++) node = node[path[i]];
  node[path[path.length - 1]] = value;
}

/** Cartesian product, first key varying slowest (like nested loops in the written order). */
export function cartesian<T>(lists: T[][]): T[][] {
  let out: T[][] = [[]];
  for (const list of lists) {
    const next: T[][] = [];
    for (const prefix of out) for (const v of list) next.push([...prefix, v]);
    out = next;
  }
  return out;
}
