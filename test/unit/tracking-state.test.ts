import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATE_FILE, stateSaver, type TrackingState } from '../../src/tracking/state.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('state saver: many save() calls write once after the interval; now() writes at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-trkstate-'));
  try {
    const state: TrackingState = { version: 2, stages: {}, pending: true };
    const saver = stateSaver(dir, state, { everyMs: 100 });
    for (let i = 0; i < 50; i++) {
      state.lastError = `e${i}`;
      saver.save();
    }
    assert.ok(!existsSync(join(dir, STATE_FILE)), 'not written before the interval');
    await sleep(250);
    assert.equal(JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')).lastError, 'e49');
    state.pending = false;
    saver.save();
    saver.now();
    assert.equal(JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')).pending, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('state saver: a timed write that fails is not thrown from the timer; now() reports it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-trkstate-'));
  try {
    // A file where the run directory should be: every write fails.
    writeFileSync(join(dir, 'blocked'), 'x');
    const runDir = join(dir, 'blocked', 'run');
    const state: TrackingState = { version: 2, stages: {}, pending: true };
    const saver = stateSaver(runDir, state, { everyMs: 10 });
    saver.save();
    await sleep(60); // an uncaught throw from the timer would fail the test here
    assert.throws(() => saver.now(), /ENOTDIR/);
    const seen: unknown[] = [];
    stateSaver(runDir, state, { onError: (e) => seen.push(e) }).now();
    assert.equal(seen.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
