// Engine selection. MILFLOW_ENGINE=native|tfjs overrides; otherwise the native engine on CPU,
// and tfjs-node-gpu when a GPU device slot is assigned (MILFLOW_DEVICE=gpu or
// CUDA_VISIBLE_DEVICES set by the executor) and the package is importable.
// Both engines expose the same BagModel: flat params/grad buffers in the layout of ./params.ts.
import type { ModelConfig } from './config.ts';
import { NativeModel, type Forward, type ForwardOptions } from './native.ts';

export type { Forward, ForwardOptions } from './native.ts';

export interface BagModel {
  readonly cfg: ModelConfig;
  readonly params: Float32Array;
  readonly grad: Float32Array;
  readonly engine: string;
  forward(X: Float32Array, n: number, opts?: ForwardOptions): Forward;
  backward(): void;
  /** Call after params were changed in place (tfjs copies them to its tensors). */
  paramsChanged?(): void;
  release?(): void;
}

export interface EngineChoice {
  name: 'native' | 'tfjs';
  /** tfjs module to use (tfjs-node-gpu / tfjs-node / tfjs-core + cpu backend). */
  tfjsPackage?: string;
}

let tfjsProbe: Promise<string | null> | null = null;

/** The first importable tfjs-node flavour, or null. Never a dependency: probed at run time. */
export function probeTfjsNode(gpu: boolean): Promise<string | null> {
  tfjsProbe ??= (async () => {
    const names = gpu ? ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] : ['@tensorflow/tfjs-node'];
    for (const name of names) {
      try {
        await import(name);
        return name;
      } catch {
        /* not installed */
      }
    }
    return null;
  })();
  return tfjsProbe;
}

export async function chooseEngine(device?: { kind: 'cpu' | 'gpu' }): Promise<EngineChoice> {
  const forced = process.env.MILFLOW_ENGINE;
  const gpu = device ? device.kind === 'gpu' : process.env.MILFLOW_DEVICE === 'gpu';
  if (forced === 'native') return { name: 'native' };
  if (forced === 'tfjs') {
    const pkg = (await probeTfjsNode(gpu)) ?? (await probeTfjsNode(false));
    return { name: 'tfjs', tfjsPackage: pkg ?? '@tensorflow/tfjs-backend-cpu' };
  }
  if (forced && forced !== 'auto') throw new Error(`MILFLOW_ENGINE must be native, tfjs or auto, got '${forced}'`);
  if (gpu) {
    const pkg = await probeTfjsNode(true);
    if (pkg) return { name: 'tfjs', tfjsPackage: pkg };
  }
  return { name: 'native' };
}

export async function createModel(cfg: ModelConfig, params: Float32Array, device?: { kind: 'cpu' | 'gpu' }): Promise<BagModel> {
  const choice = await chooseEngine(device);
  if (choice.name === 'tfjs') {
    const { TfjsModel, loadTfjs } = await import('./tfjs/model.ts');
    const tf = await loadTfjs(choice.tfjsPackage!);
    return new TfjsModel(cfg, params, tf.tf, tf.engine);
  }
  return new NativeModel(cfg, params);
}
