// Imports point down the layers (docs/architecture.md): a module may import its own folder and
// the layers below, never one above. Static and literal dynamic imports both count; a module
// loaded by a computed path is allowed only for optional dependencies (listed below).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(ROOT, 'src');

/** Bottom first. A file's layer is that of its longest matching prefix. */
export const LAYERS: string[][] = [
  // Foundations: file formats, compute kernels, the stage contract, the spec's types.
  ['errors.ts', 'io/', 'engine/', 'types/', 'spec/types.gen.ts', 'spec/canonical.ts', 'spec/resolved.ts'],
  // The science, each a library of pure functions over data.
  ['datasets/', 'splits/', 'models/', 'stats/', 'wsi/'],
  ['features/', 'train/', 'heatmaps/', 'eval/', 'bags/'],
  // The spec loader (validation reads datasets and model traits), the run journal, the report.
  ['spec/'],
  ['records/'],
  ['report/'],
  // One module per stage kind, and the registry of kinds.
  ['stages/'],
  // Side effects around stages: the content-addressed cache, tracking of run events.
  ['cache/'],
  ['tracking/'],
  // Spec → stage graph → keys → plan; plan → execution; the verbs.
  ['dag/'],
  ['exec/'],
  ['cli/'],
];

/** Computed-path imports allowed: optional dependencies and plugin modules named at run time. */
const COMPUTED_OK = new Set(['stages/registry.ts', 'models/engine.ts', 'models/tfjs/model.ts']);

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : /\.ts$/.test(e.name) ? [join(dir, e.name)] : []));

function layerOf(rel: string): number {
  let best = -1;
  let bestLen = -1;
  LAYERS.forEach((prefixes, i) => {
    for (const p of prefixes) if (rel.startsWith(p) && p.length > bestLen) { best = i; bestLen = p.length; }
  });
  return best;
}

function importsOf(file: string): { spec: string; computed: boolean }[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: { spec: string; computed: boolean }[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s+['"]([^'"]+)['"]/g)) out.push({ spec: m[1], computed: false });
  for (const m of text.matchAll(/\bimport\(\s*([^)]*?)\s*\)/g)) {
    const lit = /^['"]([^'"]+)['"]$/.exec(m[1]);
    out.push(lit ? { spec: lit[1], computed: false } : { spec: m[1], computed: true });
  }
  for (const m of text.matchAll(/new URL\(\s*['"](\.[^'"]+\.ts)['"]\s*,\s*import\.meta\.url/g)) out.push({ spec: m[1], computed: false });
  return out;
}

export function layerViolations(): string[] {
  const bad: string[] = [];
  for (const file of sources(SRC)) {
    const rel = relative(SRC, file);
    const from = layerOf(rel);
    assert.ok(from >= 0, `${rel} is in no layer: add its folder to LAYERS (and to docs/architecture.md)`);
    for (const { spec, computed } of importsOf(file)) {
      if (computed) {
        if (!COMPUTED_OK.has(rel)) bad.push(`${rel} imports a module by a computed path (${spec}): name it literally so the type checker sees it`);
        continue;
      }
      if (!spec.startsWith('.')) continue;
      const target = relative(SRC, resolve(dirname(file), spec));
      if (target.startsWith('..')) continue;
      const to = layerOf(target);
      if (to > from) bad.push(`${rel} (layer ${from}: ${LAYERS[from].join(' ')}) imports ${target} (layer ${to}: ${LAYERS[to].join(' ')})`);
    }
  }
  return bad;
}

test('every import points down the layers (or within its own)', () => {
  const bad = layerViolations();
  assert.deepEqual(bad, [], `imports running up the layers:\n  ${bad.join('\n  ')}`);
});

test('the check sees an upward import (a module of a low layer importing the CLI)', () => {
  assert.ok(layerOf('engine/blas.ts') < layerOf('cli/run.ts'));
  assert.ok(layerOf('spec/types.gen.ts') < layerOf('spec/load.ts'));
  assert.deepEqual(importsOf(fileURLToPath(import.meta.url)).filter((i) => i.spec.includes('src/cli')), []);
});

test('docs/architecture.md lists the layers in this order', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| (\d+) \| ([^|]+) \|/gm)].map((m) => [...m[2].matchAll(/`([^`]+)`/g)].map((x) => x[1]));
  assert.deepEqual(rows, LAYERS, 'the layer table of docs/architecture.md and LAYERS here must agree');
});
