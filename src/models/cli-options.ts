// Shared model options of `milflow infer` / `fit-bag`: overrides for checkpoints without a
// milflow config (reference PyTorch weights), validated against the weights' shapes.
import type { Command } from 'commander';
import { MODEL_TYPES, type ModelConfig, type ModelType } from './config.ts';
import { UsageError } from '../errors.ts';

export function addModelOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--weights <file>', 'model weights (.safetensors; milflow or reference PyTorch key names)')
    .requiredOption('--bag <file>', 'CLAM feature file (.h5 with features [N, E])')
    .option('--model <type>', `${MODEL_TYPES.join(' | ')} (checked against the weights)`)
    .option('--n-classes <n>', 'number of classes (checked against the weights)')
    .option('--size <size>', 'small | big (checked against the weights)')
    .option('--B <n>', 'top/bottom patches per class for instance clustering')
    .option('--subtyping', 'classes are mutually exclusive subtypes (out-of-class instance supervision)')
    .option('--label <y>', 'slide label (class index): also report losses');
}


export function overridesFrom(o: Record<string, any>): Partial<ModelConfig> {
  const out: Partial<ModelConfig> = {};
  if (o.model !== undefined) {
    if (!MODEL_TYPES.includes(o.model)) throw new UsageError(`--model must be ${MODEL_TYPES.slice(0, -1).join(', ')} or ${MODEL_TYPES.at(-1)}, not '${o.model}'`);
    out.type = o.model as ModelType;
  }
  if (o.B !== undefined) {
    const b = Number(o.B);
    if (!Number.isInteger(b) || b < 1) throw new UsageError(`--B must be a positive integer, not '${o.B}'`);
    out.B = b;
  }
  if (o.subtyping) out.subtyping = true;
  return out;
}

/** Checks --n-classes / --size / --model against the loaded config. */
export function checkAgainst(cfg: ModelConfig, o: Record<string, any>, weights: string): void {
  if (o.nClasses !== undefined && Number(o.nClasses) !== cfg.n_classes) throw new UsageError(`${weights}: the weights have ${cfg.n_classes} classes, not ${o.nClasses}`);
  if (o.size !== undefined && o.size !== cfg.size) throw new UsageError(`${weights}: the weights are size '${cfg.size}', not '${o.size}'`);
  const t = cfg.type === 'mmil' ? 'mil' : cfg.type;
  if (o.model !== undefined && o.model !== cfg.type && !(o.model === 'mil' && t === 'mil') && !(o.model === 'mmil' && cfg.type === 'mil')) {
    throw new UsageError(`${weights}: the weights are a ${cfg.type} model, not ${o.model}`);
  }
}

export function parseLabel(v: string | undefined, nClasses: number, slide: string): number | undefined {
  if (v === undefined) return undefined;
  const y = Number(v);
  if (!Number.isInteger(y) || y < 0 || y >= nClasses) throw new UsageError(`${slide}: label '${v}' is outside the label map (0..${nClasses - 1})`);
  return y;
}
