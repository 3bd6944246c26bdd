// Generates docs/spec-reference.md (every spec field: path, type, default, description) from
// schemas/experiment.schema.json. `--check` exits 1 when the checked-in file is stale.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = join(root, 'schemas/experiment.schema.json');
const outPath = join(root, 'docs/spec-reference.md');

type S = Record<string, any>;

interface Row {
  path: string;
  type: string;
  def: string;
  required: boolean;
  desc: string;
}

function code(s: string): string {
  return '`' + s + '`';
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n+/g, ' ');
}

export function generateReference(schema: S): string {
  const defs: S = schema.$defs ?? {};
  const deref = (s: S): { s: S; name?: string } => {
    if (s && typeof s.$ref === 'string') {
      const name = s.$ref.replace('#/$defs/', '');
      const target = defs[name];
      if (!target) throw new Error(`unresolved $ref ${s.$ref}`);
      // Sibling keywords (default, description) override the target's.
      const { $ref, ...rest } = s;
      return { s: { ...target, ...rest, description: rest.description ?? target.description }, name };
    }
    return { s };
  };

  const typeOf = (s0: S): string => {
    const { s } = deref(s0);
    if (s.enum) return s.enum.map((v: unknown) => JSON.stringify(v)).join(' | ');
    if ('const' in s) return JSON.stringify(s.const);
    if (s.oneOf || s.anyOf) return (s.oneOf ?? s.anyOf).map(typeOf).join(' or ');
    const t = Array.isArray(s.type) ? s.type.join(' or ') : s.type;
    if (t === 'array') {
      const it = s.items ? typeOf(s.items) : 'any';
      const n = s.minItems !== undefined && s.minItems === s.maxItems ? `${s.minItems} × ` : '';
      return `list of ${n}${it}`;
    }
    if (t === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties) {
      return `map of ${typeOf(s.additionalProperties)}`;
    }
    if (t === 'object') return 'mapping';
    return t ?? 'any';
  };

  const constraints = (s: S): string => {
    const c: string[] = [];
    if (s.minimum !== undefined) c.push(`≥ ${s.minimum}`);
    if (s.exclusiveMinimum !== undefined) c.push(`> ${s.exclusiveMinimum}`);
    if (s.maximum !== undefined) c.push(`≤ ${s.maximum}`);
    if (s.exclusiveMaximum !== undefined) c.push(`< ${s.exclusiveMaximum}`);
    if (s.pattern) c.push(`pattern ${code(s.pattern)}`);
    if (s.type === 'array' && s.minItems !== undefined && s.minItems !== s.maxItems) c.push(`at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`);
    if (s.uniqueItems) c.push('unique');
    const it = s.items ? deref(s.items).s : null;
    if (it) {
      const ic = constraints(it);
      if (ic) c.push(`each ${ic}`);
    }
    return c.join(', ');
  };

  const rows: Row[] = [];
  const seenDefs = new Set<string>();
  const walk = (s0: S, path: string, required: boolean, stack: string[]) => {
    const { s, name } = deref(s0);
    if (path) {
      const cons = constraints(s);
      const desc = [s.description ?? '', cons ? `(${cons})` : ''].filter(Boolean).join(' ');
      rows.push({ path, type: typeOf(s0), def: 'default' in s ? JSON.stringify(s.default) : '', required, desc });
    }
    if (name && stack.includes(name)) return;
    const nextStack = name ? [...stack, name] : stack;
    if (name === 'Dataset' && seenDefs.has('Dataset') && path !== 'dataset') {
      rows[rows.length - 1].desc += ' Same fields as `dataset`.';
      return;
    }
    if (name) seenDefs.add(name);
    if (s.properties) {
      const req = new Set<string>(s.required ?? []);
      for (const [k, v] of Object.entries<S>(s.properties)) walk(v, path ? `${path}.${k}` : k, req.has(k), nextStack);
    }
    if (s.additionalProperties && typeof s.additionalProperties === 'object' && s.properties) {
      walk(s.additionalProperties, `${path}.<key>`, false, nextStack);
    }
    if (s.type === 'array' && s.items) {
      const it = deref(s.items).s;
      if (it.properties) walk(s.items, `${path}[]`, false, nextStack);
    }
  };
  walk(schema, '', true, []);

  const sections = new Map<string, Row[]>();
  for (const r of rows) {
    const top = r.path.split(/[.[]/)[0];
    if (!sections.has(top)) sections.set(top, []);
    sections.get(top)!.push(r);
  }
  const out: string[] = [
    '<!-- GENERATED from schemas/experiment.schema.json by scripts/gen-spec-reference.ts. Do not edit. -->',
    '# Experiment spec reference',
    '',
    schema.description ?? '',
    '',
    'Paths use `.` for nested keys and `[]` for list items. Required fields are marked **required**;',
    'every other field may be left out and takes its default (blank: no default, the feature is off).',
    'Relative dataset paths are resolved against the spec file\'s directory. Check a spec with',
    '`milflow validate spec.yaml`.',
    '',
  ];
  for (const [top, rs] of sections) {
    const head = rs[0];
    out.push(`## \`${top}\``, '');
    if (head.desc && rs.length > 1) out.push(head.desc, '');
    out.push('| path | type | default | description |', '|---|---|---|---|');
    for (const r of rs) {
      out.push(`| ${cell(code(r.path))}${r.required ? ' **required**' : ''} | ${cell(r.type)} | ${r.def ? cell(code(r.def)) : ''} | ${cell(r.desc)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** README.md carries the same reference between SPEC-REFERENCE markers (headings one level down). */
export function embedInReadme(readme: string, text: string): string {
  const body = text
    .split('\n')
    .filter((l) => !l.startsWith('<!-- GENERATED'))
    .map((l) => (l.startsWith('#') ? `#${l}` : l))
    .join('\n')
    .trim();
  const block = `<!-- SPEC-REFERENCE (generated by scripts/gen-spec-reference.ts) -->\n${body}\n<!-- /SPEC-REFERENCE -->`;
  const re = /<!-- SPEC-REFERENCE[^>]*-->[\s\S]*?<!-- \/SPEC-REFERENCE -->/;
  if (!re.test(readme)) throw new Error('README.md has no <!-- SPEC-REFERENCE --> ... <!-- /SPEC-REFERENCE --> block');
  return readme.replace(re, () => block);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = generateReference(JSON.parse(readFileSync(schemaPath, 'utf8')));
  const readmePath = join(root, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const nextReadme = embedInReadme(readme, text);
  if (process.argv.includes('--check')) {
    let cur = '';
    try {
      cur = readFileSync(outPath, 'utf8');
    } catch {}
    if (cur !== text || nextReadme !== readme) {
      console.error('docs/spec-reference.md or README.md is out of date: run `node --import tsx scripts/gen-spec-reference.ts`');
      process.exit(1);
    }
    console.log('spec reference up to date');
  } else {
    mkdirSync(dirname(outPath), { recursive: true });
    writeFileSync(outPath, text);
    writeFileSync(readmePath, nextReadme);
    console.log('wrote', outPath, 'and the README block');
  }
}
