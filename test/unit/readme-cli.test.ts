import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The README's CLI reference is generated from every verb's --help; it must not drift.
test('README CLI reference matches the verbs\' --help', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/gen-cli-reference.ts', '--check'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
});
