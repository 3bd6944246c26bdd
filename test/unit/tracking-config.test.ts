import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRunSpec, SPEC_SNAPSHOT } from '../../src/tracking/config.ts';

test('a damaged spec snapshot is named in the error, with the way out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-trkcfg-'));
  try {
    writeFileSync(join(dir, SPEC_SNAPSHOT), '{"name": "x", ');
    assert.throws(() => loadRunSpec(dir), (err: Error) => err.message.includes(join(dir, SPEC_SNAPSHOT)) && err.message.includes('spec.yaml'));
    writeFileSync(join(dir, SPEC_SNAPSHOT), '{"name": "x"}');
    assert.deepEqual(loadRunSpec(dir), { name: 'x' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
