// Issue 11, findings 1, 2 and 8 against the real executor: a live lock is never stolen (two
// orchestrators, a stage that blocks the event loop past the stale time), damaged entries are
// never served (quarantined + recomputed), and crash leftovers are cleaned on the next run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planDecls } from '../../src/dag/plan.ts';
import { CacheStore } from '../../src/cache/store.ts';
import { executePlan } from '../../src/exec/orchestrator.ts';
import { registerStageKind } from '../../src/stages/registry.ts';
import type { StageDecl } from '../../src/types/stage.ts';
import { childPayload, deadPid, exitWithStageStatus, fileLines as lines, printedStageStatus, runAtOnce, runCli, tempDir } from '../helpers/cli.ts';

process.env.MILFLOW_LOCK_STALE_MS = '5000';
const KINDS = fileURLToPath(new URL('./cache-kinds.ts', import.meta.url));
const THIS = fileURLToPath(import.meta.url);
for (const k of ['block', 'big', 'cat']) await registerStageKind(`${KINDS}#${k}`);

const resources = { devices: ['cpu'] as [string], slots_per_device: 1 };

async function run(decls: StageDecl[], root: string, force: string[] = []) {
  const plan = await planDecls(decls, { root, experiment: 'ci', force } as any);
  return { plan, result: await executePlan({ plan, resources, progress: 'none' }) };
}

function pipeline(count: string, salt = 0): StageDecl[] {
  return [
    { id: 'data', kind: 't_big', params: { name: 'data', count_file: count }, inputs: {} },
    { id: 'model', kind: 't_cat', params: { name: 'model', count_file: count, salt }, inputs: { data: 'data' } },
  ];
}

const payload = childPayload('MILFLOW_CI_CHILD');
if (payload) {
  const { root, count, block } = payload;
  const { result } = await run([{ id: 'slow', kind: 't_block', params: { name: 'slow', count_file: count, block_ms: block }, inputs: {} }], root);
  exitWithStageStatus(result);
} else {
  test('finding 1: a stage blocking the event loop past the stale time keeps its lock; two runs compute it once', async (t) => {
    const root = tempDir('milflow-ci-', t);
    const count = join(root, 'count.txt');
    const [x, y] = await runAtOnce(2, ['--import', 'tsx', THIS], { env: { MILFLOW_CI_CHILD: JSON.stringify({ root, count, block: 7000 }) } });
    assert.equal(x.code, 0, x.err);
    assert.equal(y.code, 0, y.err);
    assert.equal(lines(count).length, 1, `the stage ran ${lines(count).length} times:\n${x.err}\n${y.err}`);
    const statuses = [x, y].map((r) => printedStageStatus(r.out)).sort();
    assert.deepEqual(statuses, ['cached', 'executed']);
    // The lock is gone (released by its owner only) and the entry verifies.
    const store = new CacheStore(join(root, 'cache'));
    assert.deepEqual(readdirSync(join(root, 'cache', 't_block')).filter((n) => n.includes('.lock')), []);
    for (const e of store.entries()) assert.ok(store.verify(e.kind, e.key).ok);
  });

  const damages: [string, (dir: string) => void][] = [
    ['truncated output file', (d) => truncateSync(join(d, 'features.bin'), 1000)],
    ['half-written manifest', (d) => { const m = readFileSync(join(d, 'manifest.json')); writeFileSync(join(d, 'manifest.json'), m.subarray(0, m.length >> 1)); }],
    ['label column flipped in a small file (same size)', (d) => writeFileSync(join(d, 'labels.csv'), readFileSync(join(d, 'labels.csv'), 'utf8').replace('s1,0', 's1,1').replace('s2,1', 's2,0'))],
    ['manifest digest edited to match nothing', (d) => { const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')); m.metrics.x = 1; writeFileSync(join(d, 'manifest.json'), JSON.stringify(m)); }],
    ['file deleted', (d) => rmSync(join(d, 'out.txt'))],
  ];
  for (const [what, damage] of damages) {
    test(`finding 2: a cached entry with a ${what} is quarantined, reported and recomputed`, async (t) => {
      const root = tempDir('milflow-ci-', t);
      const count = join(root, 'count.txt');
      const first = await run(pipeline(count), root);
      assert.equal(first.result.exitCode, 0);
      const store = new CacheStore(first.plan.cacheRoot);
      const dataKey = first.plan.stages[0].key;
      const good = readFileSync(join(store.entryDir('t_big', dataKey), 'features.bin'));
      const modelOut = readFileSync(join(store.entryDir('t_cat', first.plan.stages[1].key), 'out.txt'), 'utf8');
      damage(store.entryDir('t_big', dataKey));
      // Downstream must recompute too (new params): it may only read an intact input.
      const second = await run(pipeline(count, 1), root);
      assert.equal(second.result.exitCode, 0, JSON.stringify(second.result.record.stages));
      assert.equal(lines(count).filter((l) => l.startsWith('data ')).length, 2, 'the damaged entry was served instead of recomputed');
      assert.ok(store.verify('t_big', dataKey).ok);
      assert.deepEqual(readFileSync(join(store.entryDir('t_big', dataKey), 'features.bin')), good);
      const q = readdirSync(store.quarantineRoot);
      assert.equal(q.length, 1);
      assert.ok(existsSync(join(store.quarantineRoot, q[0], 'why.txt')));
      const w = second.result.record.warnings ?? [];
      assert.ok(w.some((x) => x.code === 'damaged-entry' && x.id === 'data'), JSON.stringify(w));
      // Same bytes in → same model out (the salt is not part of the output).
      assert.equal(readFileSync(join(store.entryDir('t_cat', second.plan.stages[1].key), 'out.txt'), 'utf8'), modelOut);
    });
  }

  test('finding 2: 256 bytes flipped inside a large input (sizes unchanged) are caught by the full input check before a stage reads it', async (t) => {
    const root = tempDir('milflow-ci-', t);
    const count = join(root, 'count.txt');
    const first = await run(pipeline(count), root);
    const store = new CacheStore(first.plan.cacheRoot);
    const dataKey = first.plan.stages[0].key;
    const f = join(store.entryDir('t_big', dataKey), 'features.bin');
    const buf = readFileSync(f);
    for (let i = 0; i < 256; i++) buf[1_000_000 + i] ^= 0xff;
    writeFileSync(f, buf);
    const modelOut = readFileSync(join(store.entryDir('t_cat', first.plan.stages[1].key), 'out.txt'), 'utf8');
    const second = await run(pipeline(count, 1), root);
    assert.equal(second.result.exitCode, 0);
    assert.equal(lines(count).filter((l) => l.startsWith('data ')).length, 2);
    assert.equal(readFileSync(join(store.entryDir('t_cat', second.plan.stages[1].key), 'out.txt'), 'utf8'), modelOut, 'the model was computed from damaged bytes');
    assert.ok((second.result.record.warnings ?? []).some((x) => x.code === 'damaged-entry'));
  });

  test('finding 8: a run removes locks, temp dirs and temp files crashed processes left, and restores an entry a killed --force swap had moved aside', async (t) => {
    const root = tempDir('milflow-ci-', t);
    const count = join(root, 'count.txt');
    const first = await run(pipeline(count), root);
    const store = new CacheStore(first.plan.cacheRoot);
    const [data, model] = first.plan.stages;
    const dead = deadPid();
    // A lock left by a holder killed right after publishing (its entry is complete).
    const lock = store.lockDir('t_cat', model.key);
    mkdirSync(lock);
    writeFileSync(join(lock, 'owner.json'), JSON.stringify({ host: hostname(), pid: dead, start: null, token: 'x', since: '' }));
    // Temp dirs: a dead PID here, a PID reused by a live process (pid 1, other start time), another host long silent.
    const temps = [`${hostname()}-${dead}-s1-aaaa`, `${hostname()}-1-s999999999-bbbb`, 'elsewhere-123-s5-cccc'];
    for (const t of temps) mkdirSync(join(store.tmpRoot, t), { recursive: true });
    const old = new Date(Date.now() - 3600_000);
    utimesSync(join(store.tmpRoot, temps[2]), old, old);
    const live = `${hostname()}-${process.pid}-s0-dddd`;
    mkdirSync(join(store.tmpRoot, live));
    // identities.json temp from a writer killed before its rename.
    const idTmp = join(root, 'ci', `identities.json.${dead}.abc123.tmp`);
    writeFileSync(idTmp, '{');
    // A --force swap killed between its renames: the old entry sits beside, no entry in place.
    const dataDir = store.entryDir('t_big', data.key);
    renameSync(dataDir, `${dataDir}.old-0123456789ab`);
    const t0 = performance.now();
    const second = await run(pipeline(count), root);
    assert.ok(performance.now() - t0 < 10_000, 'waited for a dead holder’s lock');
    assert.equal(second.result.exitCode, 0);
    assert.deepEqual(second.result.record.counts, { executed: 0, cached: 2, failed: 0, skipped: 0 }, 'the old entry was not restored');
    assert.equal(existsSync(lock), false);
    assert.deepEqual(readdirSync(store.tmpRoot).sort(), [live]);
    assert.equal(existsSync(idTmp), false);
    assert.equal(existsSync(`${dataDir}.old-0123456789ab`), false);
  });

  test('finding 8: --force recomputes beside the old entry and swaps it in, leaving nothing beside it', async (t) => {
    const root = tempDir('milflow-ci-', t);
    const count = join(root, 'count.txt');
    const first = await run(pipeline(count), root);
    const store = new CacheStore(first.plan.cacheRoot);
    const key = first.plan.stages[0].key;
    const before = statSync(store.manifestPath('t_big', key)).ino;
    const again = await run(pipeline(count), root, ['data']);
    assert.equal(again.result.exitCode, 0);
    assert.notEqual(statSync(store.manifestPath('t_big', key)).ino, before);
    assert.ok(store.verify('t_big', key).ok);
    assert.deepEqual(readdirSync(join(first.plan.cacheRoot, 't_big')).filter((n) => n !== key), []);
  });

  test('finding 3: status --verify checks every entry a crashed run touched and names the damaged one (exit non-zero)', async (t) => {
    const root = tempDir('milflow-ci-', t);
    const count = join(root, 'count.txt');
    const { plan, result } = await run(pipeline(count), root);
    // What a kill -9 after the last publish leaves: record.json from the start, no run-end event.
    const rec = JSON.parse(readFileSync(join(result.runDir, 'record.json'), 'utf8'));
    const dead = deadPid();
    Object.assign(rec, { status: 'running', pid: dead, finished: undefined, stages: rec.stages.map((x: any) => ({ ...x, status: 'pending' })) });
    writeFileSync(join(result.runDir, 'record.json'), JSON.stringify(rec));
    const ev = readFileSync(join(result.runDir, 'events.jsonl'), 'utf8').split('\n').filter((l) => l && !l.includes('"run-end"'));
    writeFileSync(join(result.runDir, 'events.jsonl'), ev.join('\n') + '\n');
    const status = () => runCli(['status', '--run', result.runDir, '--verify']);
    const ok = status();
    assert.equal(ok.code, 3, `a crashed run exits 3: ${ok.out}${ok.err}`);
    assert.match(ok.out, /verified 2 cache entries.*all match/);
    const store = new CacheStore(plan.cacheRoot);
    const f = join(store.entryDir('t_big', plan.stages[0].key), 'features.bin');
    const buf = readFileSync(f);
    buf[2_000_000] ^= 1;
    writeFileSync(f, buf);
    const bad = status();
    assert.notEqual(bad.code, 0, bad.out + bad.err);
    assert.match(bad.out, /corrupt: data .*digest mismatch: features\.bin/);
  });

  test('finding 5: stage warnings reach the terminal and the record, and are repeated when the entry is reused', async (t) => {
    const root = tempDir('milflow-ci-', t);
    const decls: StageDecl[] = [{ id: 'ds', kind: 't_block', params: { name: 'ds', warn: 'no slides of class tumor' }, inputs: {} }];
    for (const expect of ['executed', 'cached']) {
      const plan = await planDecls(decls, { root, experiment: 'w' });
      const logged: string[] = [];
      const r = await executePlan({ plan, resources, progress: 'none', onEvent: (e) => { if (e.type === 'warning') logged.push(e.message); } });
      assert.equal(r.record.stages[0].status, expect);
      assert.deepEqual(r.record.warnings, [{ id: 'ds', code: 'degenerate', message: 'ds: no slides of class tumor' }]);
      assert.deepEqual(logged, ['ds: no slides of class tumor']);
    }
  });
}
