// One row per stage kind (src/stages/registry.ts): a kind's version, placement and report role
// are declared there and nowhere else, so that a bump cannot reach the cache key in one place and
// miss another. Fails when a stage module (or any other source file) declares them again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAGES, kindInfo, loadKind, reportedKinds, stageKinds } from '../../src/stages/registry.ts';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

test('every row loads a module of its own kind that declares neither version nor placement', async () => {
  assert.ok(stageKinds().includes('train'));
  for (const name of stageKinds()) {
    const k = await loadKind(name);
    assert.equal(k.kind, name, `row ${name} loads kind ${k.kind}`);
    assert.equal(k.version, undefined, `${name}: the module declares version ${k.version}; it belongs to its row in src/stages/registry.ts only`);
    assert.equal(k.heavy, undefined, `${name}: the module declares heavy; it belongs to its row in src/stages/registry.ts only`);
    assert.deepEqual(kindInfo(name), { version: STAGES[name].version, heavy: STAGES[name].heavy, registered: true });
  }
});

test('no other source file keeps a table of kinds by version, placement or report role', () => {
  const kinds = stageKinds();
  const registry = join(SRC, 'stages', 'registry.ts');
  for (const file of sources(SRC)) {
    if (file === registry) continue;
    const text = readFileSync(file, 'utf8');
    // A second table would list several kinds side by side with a version/heavy/reported trait,
    // or as a Set of kind names (the two REPORTED sets this replaced).
    for (const m of text.matchAll(/new Set\(\[([^\]]*)\]\)/g)) {
      const named = kinds.filter((k) => new RegExp(`['"]${k}['"]`).test(m[1]));
      assert.ok(named.length < 3, `${file}: a set of stage kinds (${named.join(', ')}); derive it from src/stages/registry.ts`);
    }
    for (const k of kinds) {
      const row = new RegExp(`['"]?${k.replace('-', '\\-')}['"]?\\s*:\\s*\\{[^}]*\\b(version|heavy)\\s*:`);
      assert.ok(!row.test(text), `${file}: declares ${k}'s version or heavy again; it belongs to src/stages/registry.ts`);
    }
  }
});

test('report roles: the report stage takes model-level stages, `milflow report` also heatmaps', () => {
  assert.deepEqual([...reportedKinds('stage')].sort(), ['aggregate', 'compare', 'dataset', 'ensemble', 'evaluate', 'overlap', 'train', 'wsi-dataset']);
  // Per-slide pictures (segmentation, stitched patches) and heatmaps: only `milflow report`.
  assert.deepEqual([...reportedKinds('run')].sort(), ['aggregate', 'compare', 'dataset', 'ensemble', 'evaluate', 'heatmap', 'overlap', 'patch', 'segment', 'train', 'wsi-dataset']);
});
