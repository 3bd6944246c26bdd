// `milflow fit-bag --weights W --bag B.h5 --label Y --steps N [--lr --weight-decay --c1 --c2]
//  --out after.safetensors`: N optimiser steps on one bag with dropout 0 — the "can it overfit
// one bag" check, and with --steps 1 the reference's one-step parity fixture.
import type { Command } from 'commander';
import { addModelOptions, checkAgainst, overridesFrom, parseLabel } from '../models/cli-options.ts';
import { UsageError } from '../errors.ts';

const num = (name: string, v: string, min = 0) => {
  const x = Number(v);
  if (!Number.isFinite(x) || x < min) throw new UsageError(`${name} must be a number ≥ ${min}, not '${v}'`);
  return x;
};

export function register(program: Command): void {
  addModelOptions(program.command('fit-bag').description('take N optimiser steps on one bag (dropout 0) and save the weights'))
    .requiredOption('--out <file>', 'output weights (.safetensors)')
    .option('--steps <n>', 'optimiser steps', '1')
    .option('--lr <x>', 'learning rate', '2e-4')
    .option('--weight-decay <x>', 'weight decay (L2 into the gradient; decoupled with --optimizer adamw)', '1e-5')
    .option('--optimizer <name>', 'adam | adamw', 'adam')
    .option('--c1 <x>', 'weight of the bag loss (CLAM)')
    .option('--c2 <x>', 'weight of the instance loss (CLAM)')
    .option('--inst-loss <name>', 'svm | ce')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const { loadCheckpoint, saveCheckpoint } = await import('../models/checkpoint.ts');
      const { createModel } = await import('../models/engine.ts');
      const { applyStandardize, checkBag } = await import('../models/index.ts');
      const { readBag } = await import('../io/h5.ts');
      const { Adam } = await import('../train/optim.ts');
      const { layout } = await import('../models/params.ts');
      if (o.label === undefined) throw new UsageError('--label is required');
      const ov = { ...overridesFrom(o), dropout: 0 } as Record<string, unknown>;
      if (o.c1 !== undefined) ov.c1 = num('--c1', o.c1);
      if (o.c2 !== undefined) ov.c2 = num('--c2', o.c2);
      if (o.instLoss !== undefined) {
        if (!['svm', 'ce'].includes(o.instLoss)) throw new UsageError(`--inst-loss must be svm or ce`);
        ov.inst_loss = o.instLoss;
      }
      if (!['adam', 'adamw'].includes(o.optimizer)) throw new UsageError(`--optimizer must be adam or adamw`);
      const ck = await loadCheckpoint(o.weights, ov);
      checkAgainst(ck.config, o, o.weights);
      const bag = await readBag(o.bag);
      checkBag(bag.features, bag.n, bag.dim, ck.config.dim, o.bag);
      const label = parseLabel(o.label, ck.config.n_classes, o.bag)!;
      const steps = num('--steps', o.steps, 0);
      const x = ck.standardize ? applyStandardize(bag.features, bag.n, bag.dim, ck.standardize) : bag.features;
      const model = await createModel(ck.config, ck.params);
      const opt = new Adam(layout(ck.config).views, model.params.length, {
        lr: num('--lr', o.lr), weightDecay: num('--weight-decay', o.weightDecay), decoupled: o.optimizer === 'adamw',
      });
      const losses: number[] = [];
      for (let s = 0; s < steps; s++) {
        const f = model.forward(x, bag.n, { label, train: true });
        losses.push(f.loss!);
        model.backward();
        opt.step(model.params, model.grad, (model as { inactive?: Set<number> }).inactive);
        model.paramsChanged?.();
        if (!o.json && (s < 5 || s === steps - 1 || (s + 1) % Math.max(1, Math.floor(steps / 10)) === 0)) {
          process.stderr.write(`step ${s + 1}/${steps}: loss ${f.loss!.toFixed(6)} (bag ${f.bag_loss!.toFixed(6)}${f.inst_loss ? `, instance ${f.inst_loss.toFixed(6)}` : ''})\n`);
        }
      }
      const final = model.forward(x, bag.n, { label });
      await saveCheckpoint(o.out, { ...ck, params: model.params });
      const out = { out: o.out, steps, engine: model.engine, losses, final_loss: final.loss, Y_prob: Array.from(final.Y_prob), Y_hat: final.Y_hat };
      if (o.json) console.log(JSON.stringify(out));
      else console.log(`${o.out}: ${steps} steps, loss ${losses[0]?.toFixed(6) ?? '-'} → ${final.loss!.toFixed(6)}, Y_hat ${final.Y_hat} (label ${label})`);
    });
}
