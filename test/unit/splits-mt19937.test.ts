import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RandomState, roundHalfEven } from '../../src/splits/mt19937.ts';

const vec = JSON.parse(readFileSync(new URL('../fixtures/mt19937-vectors.json', import.meta.url), 'utf8'));

test('MT19937 seeding, permutation and choice match numpy legacy RandomState', () => {
  for (const c of vec.cases) {
    const key = (new RandomState(c.seed) as any).mt as Uint32Array;
    assert.deepEqual([...key.slice(0, 5)], c.key_head, `seed ${c.seed} key head`);
    assert.deepEqual([...key.slice(-3)], c.key_tail, `seed ${c.seed} key tail`);
    const rs = new RandomState(c.seed);
    for (const p of c.perms) assert.deepEqual(rs.permutation(p.n), p.perm, `seed ${c.seed} permutation(${p.n})`);
    for (const ch of c.choices) {
      const pool = Array.from({ length: ch.n }, (_, i) => i * 3);
      assert.deepEqual(rs.choice(pool, ch.m), ch.choice, `seed ${c.seed} choice(${ch.n}, ${ch.m})`);
    }
    const rs2 = new RandomState(c.seed);
    for (const d of c.doubles) assert.equal(rs2.random(), d);
  }
});

test('round half to even like numpy.round', () => {
  for (const { x, r } of vec.round) assert.equal(roundHalfEven(x), r, `round(${x})`);
  assert.equal(roundHalfEven(-2.5), -2);
  assert.equal(roundHalfEven(2.4), 2);
});

test('choice without replacement rejects oversized samples', () => {
  assert.throws(() => new RandomState(1).choice([1, 2, 3], 4), /population of 3/);
  assert.throws(() => new RandomState(-1), /seed/);
});
