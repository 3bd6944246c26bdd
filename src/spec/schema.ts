// ajv (JSON Schema 2020-12) validation of a spec against schemas/experiment.schema.json, with
// ajv's keyword errors translated into sentences a researcher understands.
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { didYouMean, showValue, typeName, type SpecPath } from './errors.ts';

// ajv is CommonJS; under NodeNext the default import is the module object.
const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as unknown as typeof Ajv2020Module.default;

export const SCHEMA_PATH = new URL('../../schemas/experiment.schema.json', import.meta.url);

let cached: { schema: any; validate: ValidateFunction } | null = null;

export function experimentSchema(): any {
  return compiled().schema;
}

function compiled() {
  if (!cached) {
    const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'));
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true });
    cached = { schema, validate: ajv.compile(schema) };
  }
  return cached;
}

/** A problem found in the spec, before it is given a file position. */
export interface Issue {
  path: SpecPath;
  message: string;
  /** Point at the key rather than its value (unknown keys). */
  atKey?: boolean;
}

/**
 * Validates `data` in place: ajv fills every schema default into it (useDefaults).
 * Returns the problems in document order of ajv's traversal, deduplicated.
 */
export function schemaIssues(data: unknown): Issue[] {
  const { validate } = compiled();
  if (validate(data)) return [];
  return translate(validate.errors ?? []);
}

function toPath(instancePath: string): SpecPath {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

const TYPE_WANTED: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
  null: 'null',
};

const TYPE_GOT: Record<string, string> = {
  'a list': 'list',
  'a mapping': 'mapping',
  'an integer': 'integer',
  'a number': 'number',
  'a string': 'string',
  'a boolean': 'boolean',
  null: 'null',
};

// Patterns of the schema, in words.
const PATTERN_WORDS: Record<string, string> = {
  '^[A-Za-z0-9][A-Za-z0-9_.-]*$': "must start with a letter or digit and contain only letters, digits, '_', '.' and '-'",
  '^[A-Za-z0-9_-]+$': "may contain only letters, digits, '_' and '-'",
  '^(cpu|gpu:[0-9]+)$': "must be 'cpu' or 'gpu:<index>' (e.g. gpu:0)",
};

function got(data: unknown): string {
  const t = typeName(data);
  if (data === null || Array.isArray(data) || (typeof data === 'object' && data !== null)) return TYPE_GOT[t] ?? t;
  return `${TYPE_GOT[t] ?? t} ${showValue(data)}`;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function translateOne(e: ErrorObject): Issue | null {
  const path = toPath(e.instancePath);
  const data = e.data;
  const ps = (e.parentSchema ?? {}) as any;
  const p = e.params as any;
  const last = path[path.length - 1];
  switch (e.keyword) {
    case 'required':
      return { path: [...path, p.missingProperty], message: `missing required key '${p.missingProperty}'` };
    case 'additionalProperties': {
      const allowed = Object.keys(ps.properties ?? {});
      const key = String(p.additionalProperty);
      const guess = didYouMean(key, allowed);
      const msg = `unknown key '${key}'` + (allowed.length ? ` (allowed: ${allowed.join(', ')})` : '') + (guess ? `; did you mean '${guess}'?` : '');
      return { path: [...path, key], message: msg, atKey: true };
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map((v) => String(v));
      const guess = typeof data === 'string' ? didYouMean(data, allowed) : undefined;
      return { path, message: `must be one of ${allowed.join(', ')} (got ${showValue(data)})` + (guess ? `; did you mean '${guess}'?` : '') };
    }
    case 'const':
      return { path, message: `must be ${showValue(p.allowedValue)} (got ${showValue(data)})` };
    case 'type': {
      const types: string[] = Array.isArray(p.type) ? p.type : String(p.type).split(',');
      const wanted = types.map((t) => TYPE_WANTED[t] ?? t).join(' or ');
      const hint = types.includes('string') && (typeof data === 'number' || typeof data === 'boolean') ? ` (YAML read it as ${typeof data}; quote it: '${data}')` : '';
      return { path, message: `must be ${wanted}, got ${got(data)}${hint}` };
    }
    case 'minimum':
      return { path, message: `must be ≥ ${p.limit} (got ${showValue(data)})` };
    case 'exclusiveMinimum':
      return { path, message: `must be > ${p.limit} (got ${showValue(data)})` };
    case 'maximum':
      return { path, message: `must be ≤ ${p.limit} (got ${showValue(data)})` };
    case 'exclusiveMaximum':
      return { path, message: `must be < ${p.limit} (got ${showValue(data)})` };
    case 'minItems':
    case 'maxItems': {
      const n = Array.isArray(data) ? data.length : 0;
      if (path.length === 2 && path[0] === 'task' && last === 'classes') {
        return { path, message: `needs at least ${p.limit} classes (got ${n})` };
      }
      if (path[0] === 'sweep' && path.length === 2) return { path, message: `must list at least one value to sweep over` };
      if (ps.minItems !== undefined && ps.minItems === ps.maxItems) {
        return { path, message: `must have exactly ${count(ps.minItems, 'item')} (got ${n})` };
      }
      return { path, message: `must have ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${count(p.limit, 'item')} (got ${n})` };
    }
    case 'uniqueItems':
      return { path, message: `must not repeat values: items ${p.j} and ${p.i} are both ${showValue((data as unknown[])[p.i])}` };
    case 'pattern': {
      const words = PATTERN_WORDS[p.pattern] ?? `must match the pattern ${p.pattern}`;
      return { path, message: `${words} (got ${showValue(data)})` };
    }
    case 'minProperties':
    case 'maxProperties': {
      const keys = data && typeof data === 'object' ? Object.keys(data) : [];
      if (ps.properties && 'synthetic' in ps.properties && 'clam' in ps.properties) {
        const sources = Object.keys(ps.properties);
        const list = sources.slice(0, -1).join(', ') + ' or ' + sources[sources.length - 1];
        return keys.length === 0
          ? { path, message: `must name a dataset source: ${list}` }
          : { path, message: `must name exactly one dataset source (${list}); got ${keys.length}: ${keys.join(', ')}` };
      }
      return { path, message: `must have ${e.keyword === 'minProperties' ? 'at least' : 'at most'} ${count(p.limit, 'key')} (got ${keys.length})` };
    }
    case 'oneOf':
    case 'anyOf': {
      const desc = typeof ps.description === 'string' ? ps.description.replace(/\.$/, '') : 'one of the allowed forms';
      return { path, message: `must be ${desc} (got ${showValue(data)})` };
    }
    default:
      return { path, message: `${e.message ?? e.keyword}` };
  }
}

/**
 * oneOf/anyOf: ajv reports every branch's failures plus the oneOf itself. When exactly one
 * branch fits the value's shape (no type/const/enum error at the value itself), that branch
 * is what the user meant: keep its errors. Otherwise say what the alternatives are.
 */
function collapseAlternatives(errors: ErrorObject[]): ErrorObject[] {
  const drop = new Set<ErrorObject>();
  for (const alt of errors) {
    if (alt.keyword !== 'oneOf' && alt.keyword !== 'anyOf') continue;
    const prefix = alt.schemaPath + '/';
    const byBranch = new Map<string, ErrorObject[]>();
    for (const e of errors) {
      if (!e.schemaPath.startsWith(prefix)) continue;
      const b = e.schemaPath.slice(prefix.length).split('/')[0];
      if (!byBranch.has(b)) byBranch.set(b, []);
      byBranch.get(b)!.push(e);
    }
    const shapeOk = [...byBranch.entries()].filter(
      ([, es]) => !es.some((e) => e.instancePath === alt.instancePath && ['type', 'const', 'enum'].includes(e.keyword)),
    );
    for (const es of byBranch.values()) for (const e of es) drop.add(e);
    if (shapeOk.length === 1) {
      drop.add(alt);
      for (const e of shapeOk[0][1]) drop.delete(e);
    }
  }
  return errors.filter((e) => !drop.has(e));
}

export function translate(errors: ErrorObject[]): Issue[] {
  const out: Issue[] = [];
  const seen = new Set<string>();
  const kept = collapseAlternatives(errors);
  // "missing key 'models'" next to "unknown key 'modles'; did you mean 'models'?" is one typo.
  const typoed = new Set<string>();
  for (const e of kept) {
    if (e.keyword !== 'additionalProperties') continue;
    const guess = didYouMean(String((e.params as any).additionalProperty), Object.keys(((e.parentSchema ?? {}) as any).properties ?? {}));
    if (guess) typoed.add(e.instancePath + '/' + guess);
  }
  for (const e of kept) {
    if (e.keyword === 'required' && typoed.has(e.instancePath + '/' + (e.params as any).missingProperty)) continue;
    const issue = translateOne(e);
    if (!issue) continue;
    const k = JSON.stringify(issue.path) + '\0' + issue.message;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(issue);
  }
  return out;
}
