import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { delong, delongPaired } from '../../src/stats/delong.ts';
import { RandomState } from '../../src/splits/mt19937.ts';

const BIN = new URL('../../bin/milflow.mjs', import.meta.url).pathname;
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

test('milflow stats auc / compare print DeLong results as JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-stats-cli-'));
  try {
    const rs = new RandomState(2);
    const y = Array.from({ length: 80 }, (_, i) => i % 2);
    const a = y.map((v) => v * 0.7 + rs.random());
    const b = y.map((v) => v * 0.3 + rs.random());
    const write = (f: string, s: number[], order: number[]) => writeFileSync(join(dir, f), 'slide_id,Y,Y_hat,p_0,p_1\n' +
      order.map((i) => `s${i},${y[i]},${s[i] > 0.5 ? 1 : 0},${1 - s[i]},${s[i]}`).join('\n') + '\n');
    const idx = y.map((_, i) => i);
    write('a.csv', a, idx);
    write('b.csv', b, [...idx].reverse()); // compare aligns by slide id
    const r = run(['stats', 'auc', '--predictions', join(dir, 'a.csv'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const d = delong(y, a)!;
    assert.ok(Math.abs(j.auc - d.auc) < 1e-12);
    assert.deepEqual(j.auc_ci.map((v: number) => +v.toFixed(12)), d.ci.map((v) => +v.toFixed(12)));
    const c = run(['stats', 'compare', '--a', join(dir, 'a.csv'), '--b', join(dir, 'b.csv'), '--json']);
    assert.equal(c.status, 0, c.stderr);
    const cj = JSON.parse(c.stdout);
    assert.ok(Math.abs(cj.delong.z - delongPaired(y, a, b)!.z) < 1e-12);
    writeFileSync(join(dir, 'bad.csv'), 'slide_id,Y,p_0,p_1\ns1,1,0.2,x\n');
    const bad = run(['stats', 'auc', '--predictions', join(dir, 'bad.csv')]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /bad\.csv:2: p_1 'x' is not a number/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
