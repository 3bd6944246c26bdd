import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, canonicalHash } from '../../src/spec/canonical.ts';

test('keys are sorted at every depth, whatever the insertion order', () => {
  const a = { b: 1, a: { d: [1, { z: 1, y: 2 }], c: 'x' } };
  const b = { a: { c: 'x', d: [1, { y: 2, z: 1 }] }, b: 1 };
  assert.equal(canonicalJson(a), '{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}');
  assert.equal(canonicalJson(a), canonicalJson(b));
  assert.equal(canonicalHash(a), canonicalHash(b));
});

test('array order matters; undefined members are dropped, undefined items become null', () => {
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
  assert.equal(canonicalJson({ a: undefined, b: 2 }), '{"b":2}');
  assert.equal(canonicalJson([undefined, 1]), '[null,1]');
});

test('numbers are written in one form: 1.0 = 1, -0 = 0, shortest round trip', () => {
  assert.equal(canonicalJson({ x: 1.0 }), '{"x":1}');
  assert.equal(canonicalJson(-0), '0');
  assert.equal(canonicalJson(0.1 + 0.2), '0.30000000000000004');
  assert.equal(canonicalJson(2e-4), '0.0002');
  assert.equal(canonicalJson(1e21), '1e+21');
  assert.notEqual(canonicalHash({ lr: 0.0002 }), canonicalHash({ lr: 0.0003 }));
});

test('values without a JSON form are errors, not silently null', () => {
  assert.throws(() => canonicalJson({ a: NaN }), /a is NaN/);
  assert.throws(() => canonicalJson([Infinity]), /Infinity/);
  assert.throws(() => canonicalJson({ f: () => 1 }), /function/);
  const cyc: any = { a: 1 };
  cyc.self = cyc;
  assert.throws(() => canonicalJson(cyc), /cycle/);
});

test('typed arrays serialise as number lists; strings are JSON-escaped', () => {
  assert.equal(canonicalJson(new Float64Array([0.5, 2])), '[0.5,2]');
  assert.equal(canonicalJson({ 'a"b': 'µ\n' }), '{"a\\"b":"µ\\n"}');
  // the same object shared twice is not a cycle
  const shared = { x: 1 };
  assert.equal(canonicalJson({ a: shared, b: shared }), '{"a":{"x":1},"b":{"x":1}}');
});
