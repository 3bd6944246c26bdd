// Device slots for heavy stages: GPUs (from the spec or `nvidia-smi -L`), else CPU slots.
import { availableParallelism } from 'node:os';
import { execFile } from 'node:child_process';
import type { Resources } from '../spec/types.gen.ts';
import type { DeviceSlot } from '../types/stage.ts';

export function detectGpus(): Promise<number[]> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['-L'], { timeout: 5000 }, (err, stdout) => {
      if (err) return resolve([]);
      resolve(String(stdout).split('\n').map((l) => /^GPU (\d+):/.exec(l.trim())).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1])));
    });
  });
}

export interface SlotPlan {
  slots: DeviceSlot[];
  /** Per-device concurrency > 1 on a GPU: workers must grow GPU memory on demand. */
  sharedGpu: boolean;
  cores: number;
}

/**
 * CPU: floor(cores / threads_per_slot) slots when threads_per_slot is set, else slots_per_device;
 * each with cores / slots threads. GPU: slots_per_device slots per GPU. `jobs` caps the total.
 */
export async function resolveSlots(res: Resources = {}, opts: { jobs?: number; cores?: number } = {}): Promise<SlotPlan> {
  const cores = opts.cores ?? availableParallelism();
  const per = res.slots_per_device ?? 1;
  let gpus: number[] = [];
  let cpu = false;
  if (res.devices === undefined || res.devices === 'auto') {
    gpus = await detectGpus();
    cpu = gpus.length === 0;
  } else {
    for (const d of res.devices) {
      if (d === 'cpu') cpu = true;
      else gpus.push(Number(d.slice(4)));
    }
  }
  const slots: DeviceSlot[] = [];
  for (const g of gpus) for (let s = 0; s < per; s++) slots.push({ kind: 'gpu', index: g, threads: 0 });
  if (cpu) {
    let n = res.threads_per_slot ? Math.max(1, Math.floor(cores / res.threads_per_slot)) : per;
    if (opts.jobs && gpus.length === 0) n = opts.jobs;
    for (let s = 0; s < n; s++) slots.push({ kind: 'cpu', index: s, threads: 0 });
  }
  const capped = opts.jobs ? slots.slice(0, Math.max(1, opts.jobs)) : slots;
  const threads = res.threads_per_slot ?? Math.max(1, Math.floor(cores / capped.length));
  for (const s of capped) s.threads = threads;
  return { slots: capped, sharedGpu: gpus.length > 0 && per > 1, cores };
}

/** Environment of a worker on a slot. */
export function slotEnv(slot: DeviceSlot, sharedGpu: boolean): Record<string, string> {
  const t = String(slot.threads);
  const env: Record<string, string> = {
    OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t, MILFLOW_THREADS: t,
    // A CPU slot must not grab a GPU the scheduler gave to another worker.
    CUDA_VISIBLE_DEVICES: slot.kind === 'gpu' ? String(slot.index) : '',
  };
  if (slot.kind === 'gpu' && sharedGpu) env.TF_FORCE_GPU_ALLOW_GROWTH = 'true';
  return env;
}
