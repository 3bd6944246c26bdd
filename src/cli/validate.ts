// `milflow validate spec.yaml`: exit 0 with a one-paragraph summary, or 2 with every problem
// as file:line:column path: message.
import type { Command } from 'commander';
import { formatSpecMessage, validateSpec, datasetSource, type LoadedSpec } from '../spec/load.ts';

export function register(program: Command): void {
  program
    .command('validate')
    .description('check an experiment spec (schema, cross-references, dataset files, sweep) and summarise it')
    .argument('<spec>', 'experiment YAML file')
    .option('--no-check-files', 'do not require dataset files to exist (for specs naming data you do not have here)')
    .option('--json', 'print {ok, messages} or {ok, hash, variants, spec} as JSON (for editors and scripts)')
    .action(async (specPath: string, opts: { checkFiles: boolean; json?: boolean }) => {
      const r = await validateSpec(specPath, { checkFiles: opts.checkFiles });
      if (opts.json) {
        const out = r.ok
          ? { ok: true, hash: r.loaded.hash, variants: r.loaded.variants.map((v) => v.coords), spec: r.loaded.spec }
          : { ok: false, messages: r.messages };
        console.log(JSON.stringify(out, null, 2));
        if (!r.ok) process.exitCode = 2;
        return;
      }
      if (!r.ok) {
        for (const m of r.messages) console.error(formatSpecMessage(m));
        console.error(`${r.messages.length} problem${r.messages.length === 1 ? '' : 's'} in ${specPath}`);
        process.exitCode = 2;
        return;
      }
      console.log(summarise(specPath, r.loaded));
    });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : /s$/.test(word) ? 'es' : 's'}`;
}

export function summarise(specPath: string, loaded: LoadedSpec): string {
  const s = loaded.spec;
  const src = datasetSource(s.dataset);
  let data: string;
  if (src === 'synthetic') {
    const y = s.dataset.synthetic!;
    data = `a synthetic dataset (seed ${y.seed}, ${y.cases} cases with ${y.slides_per_case[0]}–${y.slides_per_case[1]} slides each, ${y.bag_size[0]}–${y.bag_size[1]} instances of dim ${y.dim} per slide)`;
  } else if (src === 'clam') data = `CLAM features (${s.dataset.clam!.csv}, features in ${s.dataset.clam!.features_dir})`;
  else if (src === 'mil_csv') data = `the MIL benchmark CSV ${s.dataset.mil_csv!.csv}`;
  else data = `whole-slide images listed in ${s.dataset.wsi!.csv}`;
  const fr = s.splits.training_fractions;
  const nModels = s.models.length;
  const perVariant = nModels * s.splits.folds * fr.length;
  const nv = loaded.variants.length;
  const sweep = nv > 1 ? `; the sweep over ${Object.keys(s.sweep ?? {}).join(', ')} gives ${plural(nv, 'variant')}` : '; no sweep (1 variant)';
  const cohorts = s.evaluate.cohorts.length ? `, plus ${plural(s.evaluate.cohorts.length, 'independent cohort')} (${s.evaluate.cohorts.map((c) => c.name).join(', ')})` : '';
  const compare = s.evaluate.compare.length ? ` Comparisons: ${s.evaluate.compare.map(([a, b]) => `${a} vs ${b}`).join(', ')}.` : '';
  return (
    `${specPath} is valid. Experiment '${s.name}' classifies ${plural(s.task.classes.length, 'class')} (${s.task.classes.join(', ')}) ` +
    `from ${data}. ${plural(nModels, 'model')}: ${s.models.map((m) => `${m.name} (${m.type}${m.type.startsWith('clam') ? `, B ${m.B}, c1 ${m.c1}, c2 ${m.c2}` : ''})`).join(', ')}. ` +
    `Splits: ${s.splits.mode}, ${plural(s.splits.folds, 'fold')} × ${plural(fr.length, 'training fraction')} (${fr.join(', ')}), val ${s.splits.val_frac} / test ${s.splits.test_frac}${cohorts}` +
    `${sweep}: ${perVariant * nv} training runs in all (max ${s.train.max_epochs} epochs each).${compare} Spec hash ${loaded.hash.slice(0, 12)}.`
  );
}
