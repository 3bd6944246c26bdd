// Device slots: CPU slot counts and threads, GPU slots, --jobs, and the environment a worker
// process actually gets on its slot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectGpus, resolveSlots, slotEnv } from '../../src/exec/devices.ts';
import { planDecls } from '../../src/dag/plan.ts';
import { executePlan } from '../../src/exec/orchestrator.ts';
import { registerStageKind } from '../../src/stages/registry.ts';
import { CacheStore } from '../../src/cache/store.ts';
import { tempDir } from '../helpers/cli.ts';

test('CPU slots: slots_per_device, or cores / threads_per_slot; --jobs caps', async () => {
  const a = await resolveSlots({ devices: ['cpu'] }, { cores: 8 });
  assert.deepEqual(a.slots, [{ kind: 'cpu', index: 0, threads: 8 }]);
  const b = await resolveSlots({ devices: ['cpu'], slots_per_device: 2 }, { cores: 8 });
  assert.deepEqual(b.slots.map((s) => s.threads), [4, 4]);
  const c = await resolveSlots({ devices: ['cpu'], threads_per_slot: 3 }, { cores: 8 });
  assert.deepEqual(c.slots.map((s) => [s.index, s.threads]), [[0, 3], [1, 3]]);
  const d = await resolveSlots({ devices: ['cpu'] }, { cores: 8, jobs: 4 });
  assert.deepEqual(d.slots.map((s) => s.threads), [2, 2, 2, 2]);
  assert.equal(d.sharedGpu, false);
});

test('GPU slots: slots_per_device per GPU, memory growth when shared, pinned CUDA_VISIBLE_DEVICES', async () => {
  const g = await resolveSlots({ devices: ['gpu:0', 'gpu:1'], slots_per_device: 2 }, { cores: 8 });
  assert.deepEqual(g.slots.map((s) => `${s.kind}:${s.index}`), ['gpu:0', 'gpu:0', 'gpu:1', 'gpu:1']);
  assert.equal(g.sharedGpu, true);
  assert.deepEqual(g.slots.map((s) => s.threads), [2, 2, 2, 2]);
  const env = slotEnv(g.slots[2], g.sharedGpu);
  assert.equal(env.CUDA_VISIBLE_DEVICES, '1');
  assert.equal(env.TF_FORCE_GPU_ALLOW_GROWTH, 'true');
  assert.equal(env.OMP_NUM_THREADS, '2');
  assert.equal(env.OPENBLAS_NUM_THREADS, '2');
  const one = await resolveSlots({ devices: ['gpu:3'] }, { cores: 8 });
  assert.equal(one.sharedGpu, false);
  assert.equal(slotEnv(one.slots[0], one.sharedGpu).TF_FORCE_GPU_ALLOW_GROWTH, undefined);
  assert.equal(slotEnv({ kind: 'cpu', index: 0, threads: 1 }, false).CUDA_VISIBLE_DEVICES, '', 'CPU workers see no GPU');
  const gpus = await detectGpus();
  const auto = await resolveSlots({ devices: 'auto' }, { cores: 4 });
  assert.equal(auto.slots[0].kind, gpus.length ? 'gpu' : 'cpu');
});

test('a worker runs with its slot\'s thread and device environment', async (t) => {
  await registerStageKind(`${fileURLToPath(new URL('./exec-kinds.ts', import.meta.url))}#heavy`);
  const root = tempDir('milflow-dev-', t);
  const plan = await planDecls([{ id: 'h', kind: 't_heavy', params: { name: 'h' }, inputs: {} }], { root, experiment: 'd' });
  const r = await executePlan({ plan, progress: 'none', resources: { devices: ['cpu'], threads_per_slot: 1 } });
  assert.equal(r.exitCode, 0);
  const env = JSON.parse(readFileSync(join(new CacheStore(plan.cacheRoot).entryDir('t_heavy', plan.stages[0].key), 'env.json'), 'utf8'));
  assert.deepEqual(env, { omp: '1', openblas: '1', cuda: '', device: { kind: 'cpu', index: 0, threads: 1 } });
});
