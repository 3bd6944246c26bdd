// Exit codes come from the error's class (src/errors.ts), not from ad-hoc fields set at each throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT, InputError, StageError, UsageError, exitCodeOf } from '../../src/errors.ts';
import { SpecError } from '../../src/spec/errors.ts';
import { DatasetError } from '../../src/datasets/types.ts';

test('each error class maps to its exit code; anything else is a failure (1)', () => {
  assert.equal(exitCodeOf(new UsageError('--jobs must be a non-negative integer')), EXIT.usage);
  assert.equal(exitCodeOf(new SpecError([{ file: 's.yaml', line: 3, column: 1, path: 'models', message: 'bad' }])), 2);
  assert.equal(exitCodeOf(new DatasetError(['a.csv:4: empty label'])), 2);
  assert.ok(new DatasetError(['x']) instanceof InputError);
  assert.equal(exitCodeOf(new StageError('boom', 'train/clam_sb/frac=1/fold=0')), EXIT.failed);
  assert.equal(exitCodeOf(new Error('disk full')), 1);
  assert.equal(exitCodeOf('a string'), 1);
});

test('InputError names its file and line, or its slide', () => {
  assert.equal(new InputError('empty label', { file: 'slides.csv', line: 7 }).message, 'slides.csv:7: empty label');
  assert.equal(new InputError('truncated tile at level 0', { slide: 'TCGA-01' }).message, 'slide TCGA-01: truncated tile at level 0');
  assert.equal(new StageError('no bags', 'train/x').message, 'train/x: no bags');
  const e = new StageError('no bags', { stageId: 'train/x', kind: 'train', logPath: 'runs/e/r/logs/train_x.log' });
  assert.equal(e.message, 'train/x: no bags (log: runs/e/r/logs/train_x.log)');
  assert.deepEqual([e.stageId, e.kind, e.reason, e.logPath], ['train/x', 'train', 'no bags', 'runs/e/r/logs/train_x.log']);
});

test('no source file sets an exit code by hand on a plain Error', () => {
  const src = fileURLToPath(new URL('../../src', import.meta.url));
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : []));
  const bad = walk(src).filter((f) => /Object\.assign\(\s*new Error\(/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(bad, [], 'use UsageError / InputError / StageError (src/errors.ts)');
});
