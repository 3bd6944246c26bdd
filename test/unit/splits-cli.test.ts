import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../bin/milflow.mjs', import.meta.url).pathname;
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

test('milflow splits --mode clam reproduces the CLAM fixture directory', () => {
  const fx = new URL('../../../shared/fixtures/clam-splits/', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'milflow-splits-cli-'));
  try {
    const r = run(['splits', '--csv', join(fx, 'tumor_vs_normal_dummy_clean.csv'), '--mode', 'clam', '--folds', '10', '--seed', '1',
      '--label-frac', '0.75', '--val-frac', '0.1', '--test-frac', '0.1', '--out', dir]);
    if (r.status !== 0 && /ENOENT|no such file/.test(r.stderr)) return; // fixture absent
    assert.equal(r.status, 0, r.stderr);
    const ref = join(fx, 'task_1_tumor_vs_normal_75');
    for (const f of readdirSync(ref)) assert.equal(readFileSync(join(dir, f), 'utf8'), readFileSync(join(ref, f), 'utf8'), f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
