// `milflow bench train --features DIR --labels CSV --model clam_sb|mil --epochs 3 --json`
// Times training epochs the way ../shared/bench/torch_clam_ref.py does (every bag once per
// epoch in slide order, Adam lr 2e-4 / L2 1e-5, dropout 0.25, one warm-up epoch excluded) and
// prints the median ms per epoch with the engine and thread count.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function register(program: Command): void {
  const bench = program.command('bench').description('benchmarks of the compute engine');
  bench
    .command('train')
    .description('median time per training epoch over a directory of bags')
    .requiredOption('--features <dir>', 'directory of CLAM feature files <slide_id>.h5')
    .option('--labels <csv>', 'CSV with slide_id,label (default: <features>/labels.csv)')
    .option('--model <type>', 'clam_sb | clam_mb | mil | mmil | abmil', 'clam_sb')
    .option('--size <size>', 'small | big', 'small')
    .option('--epochs <n>', 'timed epochs (after one warm-up)', '3')
    .option('--threads <n>', 'BLAS threads (default: all cores)')
    .option('--dropout <p>', 'dropout (also 0.25 inside attention when > 0)', '0.25')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const { blas } = await import('../engine/blas.ts');
      const { TrainingRng } = await import('../engine/rng.ts');
      const { makeConfig } = await import('../models/config.ts');
      const { createModel } = await import('../models/engine.ts');
      const { initParams, layout } = await import('../models/params.ts');
      const { Adam } = await import('../train/optim.ts');
      const { parseCsv, column } = await import('../io/csv.ts');
      const { cpus } = await import('node:os');
      const file = o.labels ?? join(o.features, 'labels.csv');
      const t = parseCsv(readFileSync(file, 'utf8'), file);
      const si = column(t, 'slide_id', file), li = column(t, 'label', file);
      const rows = t.rows.map((r) => ({ slide: r[si], label: r[li] })).sort((a, b) => (a.slide < b.slide ? -1 : a.slide > b.slide ? 1 : 0));
      const numeric = rows.every((r) => /^\d+$/.test(r.label));
      const names = [...new Set(rows.map((r) => r.label))].sort();
      const threads = Number(o.threads ?? cpus().length);
      blas().setThreads(threads);
      const { BagFeed, h5BagReader } = await import('../bags/feed.ts');
      const paths = new Map(rows.map((r) => [r.slide, join(o.features, `${r.slide}.h5`)]));
      // Bags on demand like the train stage: kept in memory when small, else streamed.
      const feed = await BagFeed.open(h5BagReader(paths), rows.map((r) => ({ slide_id: r.slide, label: numeric ? Number(r.label) : names.indexOf(r.label) })), {
        onLoad: (d, t) => { if (!o.json) process.stderr.write(`\rloading ${d}/${t}`); },
      });
      if (!o.json && feed.mode === 'memory') process.stderr.write('\n');
      const bags = feed.bags;
      const C = Math.max(2, ...bags.map((b) => b.label + 1));
      const cfg = makeConfig({ type: o.model, n_classes: C, dim: feed.dim, size: o.size, subtyping: C > 2, dropout: Number(o.dropout) });
      const model = await createModel(cfg, initParams(layout(cfg), 0));
      const opt = new Adam(layout(cfg).views, model.params.length, { lr: 2e-4, weightDecay: 1e-5 });
      const rng = new TrainingRng(0);
      const epochs = Number(o.epochs);
      const times: number[] = [];
      for (let ep = 0; ep <= epochs; ep++) {
        const t0 = performance.now();
        for (let i = 0; i < bags.length; i++) {
          const b = await feed.get(i, i + 1 < bags.length ? i + 1 : undefined);
          model.forward(b.features, b.n, { label: b.label, train: true, rng });
          model.backward();
          opt.step(model.params, model.grad, (model as { inactive?: Set<number> }).inactive);
          model.paramsChanged?.();
        }
        const ms = performance.now() - t0;
        if (ep > 0) times.push(ms);
        if (!o.json) process.stderr.write(`epoch ${ep}${ep === 0 ? ' (warm-up)' : ''}: ${ms.toFixed(0)} ms\n`);
      }
      const sorted = [...times].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      const out = {
        impl: `milflow-${model.engine}`, engine: model.engine, threads: blas().threads(), model: cfg.type, bags: bags.length,
        instances: bags.reduce((s, b) => s + b.n, 0), ms_per_epoch: median, epochs_timed: times.length, bags_mode: feed.mode, rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
      };
      console.log(o.json ? JSON.stringify(out) : `${cfg.type}: ${median.toFixed(0)} ms/epoch (median of ${times.length}), ${out.instances} patches in ${out.bags} bags, ${out.engine}, ${out.threads} threads`);
    });
}
