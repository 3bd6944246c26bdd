// SIGTERM / SIGINT while a light stage computes without awaiting: the run stops within about a
// second (not when the stage's loop ends), exits 130, records the interruption and leaves no
// cache entry or temp dir of the stopped stage. Light stages run on a worker thread
// (src/exec/in-process.ts); on the orchestrator's own thread the signal would wait ~5 s here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planDecls } from '../../src/dag/plan.ts';
import { CacheStore } from '../../src/cache/store.ts';
import { executePlan } from '../../src/exec/orchestrator.ts';
import { registerStageKind } from '../../src/stages/registry.ts';
import { readRecord, runDirs } from '../../src/records/journal.ts';
import { EXIT } from '../../src/errors.ts';
import type { StageDecl } from '../../src/types/stage.ts';

const THIS = fileURLToPath(import.meta.url);
const BLOCK_MS = 5000;

const decls = (started: string, kind: string): StageDecl[] => [
  { id: 'a', kind: 't_light', params: { name: 'a' }, inputs: {} },
  { id: 'b', kind, params: { name: 'b', ms: BLOCK_MS, started_file: started }, inputs: { a: 'a' } },
];

if (process.env.MILFLOW_BLOCK_CHILD) {
  const { root, started, kind } = JSON.parse(process.env.MILFLOW_BLOCK_CHILD);
  await registerStageKind(`${fileURLToPath(new URL('../integration/exec-kinds.ts', import.meta.url))}#light`);
  await registerStageKind(`${fileURLToPath(new URL('./exec-blocking-kind.ts', import.meta.url))}#blocking`);
  await registerStageKind(`${fileURLToPath(new URL('./exec-blocking-kind.ts', import.meta.url))}#blockingHeavy`);
  const plan = await planDecls(decls(started, kind), { root, experiment: 'blk' });
  const r = await executePlan({ plan, progress: 'lines', handleSigint: true, resources: { devices: ['cpu'], slots_per_device: 1 } });
  // As the CLI does: an exit code, no process.exit(), so anything left holding the process shows.
  process.exitCode = r.exitCode;
} else {
  const cases = [['SIGTERM', 't_block'], ['SIGINT', 't_block'], ['SIGTERM', 't_block_heavy']] as const;
  for (const [sig, kind] of cases) {
    const where = kind === 't_block' ? 'a light stage (worker thread)' : 'a heavy stage (worker process)';
    test(`${sig} while ${where} computes for ${BLOCK_MS / 1000} s without awaiting: stops in ~1 s, exit 130, nothing partial cached`, async (t) => {
      const root = mkdtempSync(join(tmpdir(), 'milflow-block-'));
      const started = join(root, 'started.txt');
      const env = { ...process.env, MILFLOW_BLOCK_CHILD: JSON.stringify({ root, started, kind }) };
      delete (env as any).NODE_TEST_CONTEXT;
      const child = spawn(process.execPath, ['--import', 'tsx', THIS], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const t0 = Date.now();
      while (!(existsSync(started) && readFileSync(started, 'utf8').startsWith('b '))) {
        if (Date.now() - t0 > 60_000) throw new Error(`stage b never started: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 300));
      const tKill = Date.now();
      child.kill(sig);
      const code = await exited;
      const took = Date.now() - tKill;
      t.diagnostic(`exited ${took} ms after ${sig}`);
      assert.equal(code, EXIT.interrupted, err);
      assert.ok(took < 1500, `took ${took} ms after ${sig} to exit (the stage blocks for ${BLOCK_MS} ms)`);
      assert.match(err, /interrupted: stopping/);

      const rec = readRecord(runDirs(root, 'blk').pop()!);
      assert.equal(rec.status, 'interrupted');
      assert.deepEqual(rec.stages.map((s) => [s.id, s.status, s.status === 'skipped' ? s.reason : '']), [['a', 'executed', ''], ['b', 'skipped', 'interrupted']]);
      const store = new CacheStore(join(root, 'cache'));
      assert.deepEqual(store.entries().map((e) => e.kind), ['t_light'], 'only stage a is cached');
      for (const e of store.entries()) assert.deepEqual(store.verify(e.kind, e.key), { ok: true, problems: [] });
      assert.deepEqual(readdirSync(join(root, 'cache', '.tmp')), [], 'the stopped stage left its temp dir');
      rmSync(root, { recursive: true, force: true });
    });
  }
}
