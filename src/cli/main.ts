// milflow command line. One file per verb in this directory; each exports
// `register(program: Command)`. Verbs load lazily so `milflow validate` does not pay for
// the training engine or the WSI stack.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { exitCodeOf } from '../errors.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

/** verb name → module. Keep sorted; add a line when you add src/cli/<verb>.ts. */
const verbs: Record<string, () => Promise<{ register(p: Command): void }>> = {
  bench: () => import('./bench.ts'),
  eval: () => import('./eval.ts'),
  'fit-bag': () => import('./fit-bag.ts'),
  graph: () => import('./graph.ts'),
  heatmap: () => import('./heatmap.ts'),
  infer: () => import('./infer.ts'),
  patch: () => import('./patch.ts'),
  plan: () => import('./plan.ts'),
  preprocess: () => import('./preprocess.ts'),
  report: () => import('./report.ts'),
  run: () => import('./run.ts'),
  splits: () => import('./splits.ts'),
  stats: () => import('./stats.ts'),
  status: () => import('./status.ts'),
  sync: () => import('./sync.ts'),
  validate: () => import('./validate.ts'),
};

async function main(argv: string[]) {
  const program = new Command('milflow')
    .description('Declarative, cached, reproducible CLAM / MIL experiments for whole-slide images')
    .version(pkg.version)
    .showHelpAfterError();
  const wanted = argv[2];
  // Register only the verb asked for (fast start); all of them for help.
  const names = wanted && verbs[wanted] ? [wanted] : Object.keys(verbs);
  for (const name of names) (await verbs[name]()).register(program);
  await program.parseAsync(argv);
}

main(process.argv).catch((err) => {
  console.error(`milflow: ${err?.message ?? err}`);
  process.exit(exitCodeOf(err));
});
