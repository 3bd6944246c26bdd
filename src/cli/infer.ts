// `milflow infer --weights W.safetensors --bag B.h5 [--model ... --B 8 --subtyping] [--label Y] --json`
// One bag through a model: attention, probabilities, prediction, logits, slide embedding and,
// with --label, the instance losses (smooth SVM and CE) and the bag CE loss.
import type { Command } from 'commander';
import { addModelOptions, checkAgainst, overridesFrom, parseLabel } from '../models/cli-options.ts';

export function register(program: Command): void {
  addModelOptions(program.command('infer').description('run one bag through a model (attention, probabilities, embedding, losses)'))
    .option('--json', 'print JSON')
    .action(async (o) => {
      const { loadCheckpoint } = await import('../models/checkpoint.ts');
      const { createModel } = await import('../models/engine.ts');
      const { applyStandardize, checkBag } = await import('../models/index.ts');
      const { readBag } = await import('../io/h5.ts');
      const ck = await loadCheckpoint(o.weights, { ...overridesFrom(o), dropout: 0 });
      checkAgainst(ck.config, o, o.weights);
      const bag = await readBag(o.bag);
      checkBag(bag.features, bag.n, bag.dim, ck.config.dim, o.bag);
      const label = parseLabel(o.label, ck.config.n_classes, o.bag);
      const x = ck.standardize ? applyStandardize(bag.features, bag.n, bag.dim, ck.standardize) : bag.features;
      const model = await createModel(ck.config, ck.params);
      const f = model.forward(x, bag.n, { label });
      const out: Record<string, unknown> = {
        model: ck.config.type, n_classes: ck.config.n_classes, engine: model.engine, n: bag.n,
        A_raw: Array.from(f.A_raw), A_raw_shape: [f.A_raw.length / bag.n, bag.n],
        logits: Array.from(f.logits), Y_prob: Array.from(f.Y_prob), Y_hat: f.Y_hat, embedding: Array.from(f.embedding),
      };
      if (f.top_instance !== undefined) out.top_instance = f.top_instance;
      if (label !== undefined) {
        Object.assign(out, { label, bag_loss_ce: f.bag_loss_ce, loss: f.loss });
        if (f.inst_loss_svm !== undefined) {
          Object.assign(out, { instance_loss_svm: f.inst_loss_svm, instance_loss_ce: f.inst_loss_ce, inst_preds: f.inst_preds, inst_labels: f.inst_labels });
        }
      }
      if (o.json) {
        console.log(JSON.stringify(out));
        return;
      }
      console.log(`${o.bag}: ${bag.n} patches × ${bag.dim}, ${ck.config.type} (${model.engine})`);
      console.log(`Y_hat ${f.Y_hat}  Y_prob [${Array.from(f.Y_prob, (p) => p.toFixed(4)).join(', ')}]  logits [${Array.from(f.logits, (p) => p.toFixed(4)).join(', ')}]`);
      if (label !== undefined) {
        console.log(`label ${label}: bag CE ${f.bag_loss_ce!.toFixed(6)}` +
          (f.inst_loss_svm !== undefined ? `, instance loss smooth-SVM ${f.inst_loss_svm.toFixed(6)}, CE ${f.inst_loss_ce!.toFixed(6)}` : ''));
      }
      console.log('(--json for attention, embedding and all values)');
    });
}
