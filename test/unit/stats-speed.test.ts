import { test } from 'node:test';
import assert from 'node:assert/strict';
import { delong, delongPaired } from '../../src/stats/delong.ts';
import { RandomState } from '../../src/splits/mt19937.ts';

// pROC 1.18 on this machine: roc + ci.auc(delong) 70 ms, paired roc.test(delong) 30 ms at
// n = 100,000. Process CPU time (not wall time) of the best of several warm runs is compared,
// so other work on a busy CI machine does not fail it; scripts/bench-delong.ts gives wall-time
// distributions.
test('DeLong at n = 100,000 is no slower than pROC', () => {
  const n = 100_000;
  const rs = new RandomState(1);
  const y = new Uint8Array(n);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rs.random() < 0.4 ? 1 : 0;
    a[i] = y[i] * 0.8 + rs.random();
    b[i] = Math.round((y[i] * 0.5 + rs.random()) * 50) / 50;
  }
  const best = (f: () => void) => {
    for (let r = 0; r < 3; r++) f(); // JIT warm-up
    let t = Infinity;
    for (let r = 0; r < 8; r++) {
      const s = process.cpuUsage();
      f();
      const d = process.cpuUsage(s);
      t = Math.min(t, (d.user + d.system) / 1000);
    }
    return t;
  };
  const single = best(() => delong(y, a));
  const paired = best(() => delongPaired(y, a, b));
  console.log(`# n=${n}: DeLong CI ${single.toFixed(1)} ms CPU (pROC 70), paired ${paired.toFixed(1)} ms CPU (pROC 30)`);
  assert.ok(single < 70, `DeLong CI took ${single} ms`);
  assert.ok(paired < 30, `paired DeLong took ${paired} ms`);
});
