// The versions table (src/stages/versions.ts) lets `plan` compute keys without importing stage
// modules; it must agree with every registered module, or keys would not follow the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadStageKind, stageKinds } from '../../src/stages/registry.ts';
import { stageMeta } from '../../src/stages/versions.ts';

test('every registered stage kind agrees with the versions table (version and placement)', async () => {
  const kinds = stageKinds();
  assert.ok(kinds.includes('splits'));
  for (const name of kinds) {
    const k = await loadStageKind(name);
    assert.equal(k.kind, name, `registry entry ${name} loads kind ${k.kind}`);
    const meta = stageMeta[name];
    if (!meta) continue; // read from the module at plan time (slower, still correct)
    assert.equal(String(k.version), meta.version, `${name}: module version ${k.version}, src/stages/versions.ts says ${meta.version}`);
    assert.equal(k.heavy, meta.heavy, `${name}: module heavy=${k.heavy}, src/stages/versions.ts says ${meta.heavy}`);
  }
});
