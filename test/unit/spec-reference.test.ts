import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateReference } from '../../scripts/gen-spec-reference.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const schema = JSON.parse(readFileSync(`${root}/schemas/experiment.schema.json`, 'utf8'));

test('docs/spec-reference.md is current with the schema', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/gen-spec-reference.ts', '--check'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
});

test('the reference lists fields with type, default and description', () => {
  const md = generateReference(schema);
  assert.match(md, /\| `models\[\]\.B` \| integer \| `8` \| Patches sampled per class .*\(≥ 1\) \|/);
  assert.match(md, /\| `train\.lr` \| number \| `0\.0002` \|/);
  assert.match(md, /\| `models\[\]\.type` \*\*required\*\* \| "clam_sb" \\\| "clam_mb" \\\| "mil" \\\| "mmil" \\\| "abmil" \|/);
  assert.match(md, /\| `splits\.training_fractions` \| list of number \| `\[1\]` \|.*each > 0, ≤ 1/);
  assert.match(md, /\| `evaluate\.cohorts\[\]\.dataset` \*\*required\*\* \|.*Same fields as `dataset`/);
  // every property of every $def appears under some path
  for (const [name, def] of Object.entries<any>(schema.$defs)) {
    for (const k of Object.keys(def.properties ?? {})) assert.ok(md.includes(`.${k}\``) || md.includes(`\`${k}\``), `${name}.${k} missing`);
  }
});

test('a schema change shows up in the reference', () => {
  const s2 = structuredClone(schema);
  s2.$defs.Train.properties.grad_clip = { type: 'number', minimum: 0, default: 1, description: 'Clip gradients.' };
  const md = generateReference(s2);
  assert.match(md, /\| `train\.grad_clip` \| number \| `1` \| Clip gradients\. \(≥ 0\) \|/);
  assert.notEqual(md, generateReference(schema));
});
