// `milflow stats auc|compare`: the statistics on prediction files (slide_id, Y, Y_hat, p_0..).
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { UsageError } from '../errors.ts';

const fmt = (x: number | undefined | null, d = 4) => (x === undefined || x === null || Number.isNaN(x) ? 'undefined' : x.toFixed(d));

export function register(program: Command): void {
  const stats = program.command('stats').description('AUC with DeLong / bootstrap CI, and paired DeLong comparison, on prediction CSVs');
  stats
    .command('auc')
    .description('AUC (macro one-vs-rest for multi-class), accuracy, balanced accuracy, F1 and a 95 % CI')
    .requiredOption('--predictions <csv>', 'prediction CSV: slide_id, Y, Y_hat, p_0..p_{C-1} (optional case_id: case-level bootstrap)')
    .option('--ci <method>', 'delong | bootstrap (multi-class macro AUC always uses bootstrap)', 'delong')
    .option('--n-boot <n>', 'bootstrap replicates', '2000')
    .option('--seed <n>', 'bootstrap seed', '1')
    .option('--level <p>', 'confidence level', '0.95')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const { readPredictions, summarize, jsonSafe } = await import('../stats/index.ts');
      if (!['delong', 'bootstrap'].includes(o.ci)) throw new UsageError(`--ci must be delong or bootstrap`);
      const p = readPredictions(resolve(o.predictions));
      const s = summarize(p, { ci: o.ci, level: Number(o.level), bootstrap: { n: Number(o.nBoot), seed: Number(o.seed) } });
      const { roc, roc_points, ...rest } = s;
      if (o.json) { console.log(JSON.stringify(jsonSafe({ file: o.predictions, ...rest, roc, roc_points }), null, 2)); return; }
      console.log(`${o.predictions}: n = ${s.n} (${s.class_counts.join(' / ')} per class)`);
      console.log(`AUC ${fmt(s.auc)}${s.auc_ci ? ` [${fmt(s.auc_ci[0])}, ${fmt(s.auc_ci[1])}] (${s.ci_method}, ${s.ci_level * 100} %)` : ''}${s.auc_note ? ` — ${s.auc_note}` : ''}`);
      console.log(`accuracy ${fmt(s.accuracy)}, balanced accuracy ${fmt(s.balanced_accuracy)}, F1 ${fmt(s.f1)}`);
    });
  stats
    .command('compare')
    .description('paired DeLong test of two models on the same slides')
    .requiredOption('--a <csv>', 'predictions of model A')
    .requiredOption('--b <csv>', 'predictions of model B (same slides, any order)')
    .option('--level <p>', 'confidence level of the difference', '0.95')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const { readPredictions, alignPredictions, comparePredictions, jsonSafe } = await import('../stats/index.ts');
      const a = readPredictions(resolve(o.a));
      const b = alignPredictions(a, readPredictions(resolve(o.b)), [o.a, o.b]);
      const c = comparePredictions(a, b, Number(o.level));
      if (o.json) { console.log(JSON.stringify(jsonSafe({ a: o.a, b: o.b, ...c }), null, 2)); return; }
      console.log(`n = ${c.n}: AUC A ${fmt(c.auc_a)}, B ${fmt(c.auc_b)}, difference ${fmt(c.diff)}`);
      if (c.delong) console.log(`paired DeLong: z = ${fmt(c.delong.z, 3)}, p = ${c.delong.p.toPrecision(3)}, 95 % CI of the difference [${fmt(c.delong.ci_diff[0])}, ${fmt(c.delong.ci_diff[1])}]`);
      for (const [k, d] of (c.delong_per_class ?? []).entries()) {
        console.log(`class ${k} one-vs-rest: ${d ? `z = ${fmt(d.z, 3)}, p = ${d.p.toPrecision(3)}` : 'undefined (class absent)'}`);
      }
    });
}
