// Cache store: atomic publish with file digests, verify, temp-dir cleanup, per-entry locks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheStore } from '../../src/cache/store.ts';
import { cleanTemps } from '../../src/cache/leftovers.ts';
import { sha256File } from '../../src/cache/digest.ts';

const KEY = 'a'.repeat(64);
const meta = (key = KEY) => ({
  kind: 'k', id: 'k/x', key, version: '1', params: { p: 1 }, inputs: {}, metrics: { m: 0.5 },
  timings: { started: 's', finished: 'f', seconds: 1 }, host: 'h', device: { kind: 'cpu' as const, index: 0, threads: 1 }, milflow_version: 't',
});

function entryWith(store: CacheStore, files: Record<string, string>, key = KEY) {
  const tmp = store.makeTemp();
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(tmp, rel, '..'), { recursive: true });
    writeFileSync(join(tmp, rel), text);
  }
  return { tmp, manifest: store.publish(tmp, meta(key)) };
}

test('publish renames a complete temp dir into place with a manifest of file digests; verify detects tampering', () => {
  const root = mkdtempSync(join(tmpdir(), 'milflow-cache-'));
  const store = new CacheStore(join(root, 'cache'));
  assert.equal(store.has('k', KEY), false);
  const { tmp, manifest } = entryWith(store, { 'a.txt': 'alpha', 'sub/b.csv': 'x,y\n1,2\n' });
  assert.equal(existsSync(tmp), false, 'the temp dir is renamed, not copied');
  assert.ok(store.has('k', KEY));
  const dir = store.entryDir('k', KEY);
  assert.deepEqual(Object.keys(manifest.files).sort(), ['a.txt', 'sub/b.csv']);
  assert.equal(manifest.files['a.txt'], sha256File(join(dir, 'a.txt')));
  assert.deepEqual(store.readManifest('k', KEY).metrics, { m: 0.5 });
  assert.deepEqual(store.verify('k', KEY), { ok: true, problems: [] });
  assert.deepEqual(store.entries(), [{ kind: 'k', key: KEY }]);

  writeFileSync(join(dir, 'a.txt'), 'ALPHA');
  writeFileSync(join(dir, 'extra.txt'), 'x');
  rmSync(join(dir, 'sub', 'b.csv'));
  const v = store.verify('k', KEY);
  assert.equal(v.ok, false);
  assert.deepEqual(v.problems.sort(), ['digest mismatch: a.txt', 'file not in manifest: extra.txt', 'missing file sub/b.csv']);

  // Forced recompute: a new publish replaces the entry as a whole.
  entryWith(store, { 'c.txt': 'gamma' });
  assert.deepEqual(Object.keys(store.readManifest('k', KEY).files), ['c.txt']);
  assert.deepEqual(store.verify('k', KEY), { ok: true, problems: [] });
  assert.deepEqual(readdirSync(store.tmpRoot), []);
  rmSync(root, { recursive: true, force: true });
});

test('cleanTemps removes temp dirs of dead processes on this host only', () => {
  const root = mkdtempSync(join(tmpdir(), 'milflow-cache-'));
  const store = new CacheStore(join(root, 'cache'));
  const mine = store.makeTemp();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadDir = join(store.tmpRoot, `${hostname()}-${dead.stdout}-abcdef`);
  const otherHost = join(store.tmpRoot, `elsewhere-${dead.stdout}-abcdef`);
  mkdirSync(deadDir);
  mkdirSync(otherHost);
  writeFileSync(join(deadDir, 'partial.h5'), 'half');
  assert.deepEqual(cleanTemps(store.tmpRoot), [`${hostname()}-${dead.stdout}-abcdef`]);
  assert.ok(existsSync(mine));
  assert.ok(existsSync(otherHost));
  assert.equal(existsSync(deadDir), false);
  rmSync(root, { recursive: true, force: true });
});

test('lock: a second taker waits and gets null once the entry is published; force waits for the release', async () => {
  const root = mkdtempSync(join(tmpdir(), 'milflow-cache-'));
  const store = new CacheStore(join(root, 'cache'));
  const release = await store.lock('k', KEY);
  assert.ok(release);
  let waited = false;
  const second = store.lock('k', KEY, { onWait: () => (waited = true) });
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(waited);
  entryWith(store, { 'a.txt': 'a' });
  assert.equal(await second, null, 'the waiter sees the published entry instead of computing it again');

  let got = false;
  const forced = store.lock('k', KEY, { force: true }).then((r) => { got = true; return r; });
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(got, false, 'a forced taker still waits for the holder');
  await release!();
  const r2 = await forced;
  assert.ok(r2);
  await r2!();
  rmSync(root, { recursive: true, force: true });
});

test('lock: a lock left by a killed process goes stale and is taken over', async () => {
  const root = mkdtempSync(join(tmpdir(), 'milflow-cache-'));
  const store = new CacheStore(join(root, 'cache'));
  const lockDir = join(root, 'cache', 'k', `${KEY}.lock`);
  mkdirSync(lockDir, { recursive: true });
  const old = new Date(Date.now() - 60_000);
  utimesSync(lockDir, old, old);
  const t = performance.now();
  const release = await store.lock('k', KEY);
  assert.ok(release);
  assert.ok(performance.now() - t < 2000);
  await release!();
  rmSync(root, { recursive: true, force: true });
});
