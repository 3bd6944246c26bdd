// `milflow validate spec.yaml`: exit 0 with a one-paragraph summary, or 2 with every problem
// as file:line:column path: message.
import type { Command } from 'commander';
import { formatSpecMessage, validateSpec, datasetSource, type LoadedSpec, type SpecMessage } from '../spec/load.ts';
import { checkDataFiles, dataBytes, type DataSource } from '../datasets/check-files.ts';

export function register(program: Command): void {
  program
    .command('validate')
    .description('check an experiment spec (schema, cross-references, dataset files, sweep) and summarise it')
    .argument('<spec>', 'experiment YAML file')
    .option('--no-check-files', 'do not require dataset files to exist (for specs naming data you do not have here)')
    .option('--json', 'print {ok, messages} or {ok, hash, variants, spec} as JSON (for editors and scripts)')
    .option('--data', `read the dataset files as run will (slide ids, feature files and dimensions); default: on when they total at most ${DATA_CHECK_DEFAULT_BYTES / 2 ** 30} GiB`)
    .option('--no-data', 'do not read the dataset files')
    .action(async (specPath: string, opts: { checkFiles: boolean; json?: boolean; data?: boolean }) => {
      const r0 = await validateSpec(specPath, { checkFiles: opts.checkFiles });
      const r = r0.ok && opts.checkFiles !== false && opts.data !== false ? await withDataCheck(r0.loaded, opts.data === true, !!opts.json) : r0;
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

/** Dataset files up to this size are read by `validate` unless --no-data. */
export const DATA_CHECK_DEFAULT_BYTES = 2 * 2 ** 30;

async function withDataCheck(loaded: LoadedSpec, forced: boolean, quiet: boolean): Promise<{ ok: true; loaded: LoadedSpec } | { ok: false; messages: SpecMessage[] }> {
  const s = loaded.spec;
  const sources: DataSource[] = [{ where: 'dataset', clam: s.dataset.clam, mil_csv: s.dataset.mil_csv }];
  for (const c of s.evaluate.cohorts) sources.push({ where: `cohort ${c.name}`, clam: c.dataset.clam, mil_csv: c.dataset.mil_csv });
  const files = sources.filter((x) => x.clam || x.mil_csv);
  if (!files.length) return { ok: true, loaded };
  const bytes = dataBytes(files);
  if (!forced && bytes > DATA_CHECK_DEFAULT_BYTES) {
    if (!quiet) process.stderr.write(`validate: dataset files not read (${(bytes / 2 ** 30).toFixed(1)} GiB); \`milflow validate --data\` reads them\n`);
    return { ok: true, loaded };
  }
  let last = 0;
  const t0 = Date.now();
  const { problems, summary } = await checkDataFiles(files, s.task.classes, s.task.label_map ?? undefined, (where, done, total) => {
    const t = Date.now();
    if (quiet || (t - last < 1000 && done !== total) || t - t0 < 500) return;
    last = t;
    process.stderr.write(`validate: ${where}: ${done}/${total} slides checked\n`);
  });
  if (!problems.length) {
    if (!quiet) for (const line of summary) process.stderr.write(`validate: ${line}\n`);
    return { ok: true, loaded };
  }
  const file = loaded.path;
  return { ok: false, messages: problems.map((message) => ({ file, line: 1, column: 1, path: 'dataset', message })) };
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
