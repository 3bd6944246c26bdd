// `milflow eval --checkpoints DIR --csv dataset.csv --features DIR [--split test|val|train|all]`:
// CLAM's eval.py for fold checkpoints you already have (CLAM's s_<fold>_checkpoint.pt or
// milflow's safetensors). Predictions and metrics in milflow's formats, AUC with DeLong CIs.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCsvRows } from '../io/csv.ts';
import type { ModelType } from '../models/config.ts';
import { UsageError } from '../errors.ts';


export function register(program: Command): void {
  program
    .command('eval')
    .description("evaluate existing fold checkpoints on a CLAM dataset (CLAM's eval.py: --split all|train|val|test)")
    .requiredOption('--checkpoints <dir>', 'directory of s_<fold>_checkpoint.pt (CLAM) or s_<fold>_checkpoint.safetensors')
    .requiredOption('--csv <file>', 'dataset CSV: case_id, slide_id, label')
    .requiredOption('--features <dir>', 'features directory: h5_files/<slide_id>.h5 or pt_files/<slide_id>.pt')
    .option('--classes <list>', 'class names in label-index order, comma-separated (default: the sorted distinct labels, as CLAM\'s label_dict for its tasks)')
    .option('--label-map <pairs>', 'dataset label → class, e.g. tumor_tissue=tumor,normal_tissue=normal (=null drops a label)')
    .option('--split <set>', 'test | val | train: that set of each fold; all: every slide, every fold model, plus their ensemble', 'test')
    .option('--splits <dir>', 'directory of splits_<fold>.csv (default: the checkpoints directory, as CLAM)')
    .option('--folds <list>', 'only these folds, comma-separated (default: every checkpoint found)')
    .option('--model <type>', 'clam_sb | clam_mb | mil | mmil | abmil (default: inferred from the weights)')
    .option('--ci <method>', 'delong | bootstrap', 'delong')
    .option('--out <dir>', 'output directory', 'eval_results')
    .action(async (o: Record<string, string | undefined>) => {
      const { evalCheckpoints, findFoldCheckpoints } = await import('../eval/checkpoints.ts');
      const { readClamDataset } = await import('../datasets/clam.ts');
      const split = o.split as string;
      if (!['all', 'train', 'val', 'test'].includes(split)) throw new UsageError(`--split must be all, train, val or test, not '${split}'`);
      if (o.ci !== 'delong' && o.ci !== 'bootstrap') throw new UsageError(`--ci must be delong or bootstrap, not '${o.ci}'`);
      if (o.model && !['clam_sb', 'clam_mb', 'mil', 'mmil', 'abmil'].includes(o.model)) throw new UsageError(`--model must be clam_sb, clam_mb, mil, mmil or abmil, not '${o.model}'`);
      const labelMap: Record<string, string | null> = {};
      for (const pair of (o.labelMap ?? '').split(',').filter(Boolean)) {
        const [k, v] = pair.split('=');
        if (!k || v === undefined) throw new UsageError(`--label-map: '${pair}' is not label=class`);
        labelMap[k.trim()] = v.trim() === 'null' ? null : v.trim();
      }
      const csv = resolve(o.csv!);
      const classes = o.classes ? o.classes.split(',').map((s) => s.trim()).filter(Boolean) : defaultClasses(csv, labelMap);
      if (classes.length < 2) throw new UsageError(`${csv}: need at least 2 classes (give --classes)`);
      let checkpoints = findFoldCheckpoints(resolve(o.checkpoints!));
      if (o.folds) {
        const want = o.folds.split(',').map((s) => Number(s.trim()));
        const missing = want.filter((k) => !checkpoints.some((c) => c.fold === k));
        if (want.some((k) => !Number.isInteger(k) || k < 0)) throw new UsageError(`--folds must list fold numbers, not '${o.folds}'`);
        if (missing.length) throw new UsageError(`${o.checkpoints}: no checkpoint for fold(s) ${missing.join(', ')} (found ${checkpoints.map((c) => c.fold).join(', ')})`);
        checkpoints = checkpoints.filter((c) => want.includes(c.fold));
      }
      const log = (line: string) => process.stderr.write(`eval: ${line}\n`);
      log(`${checkpoints.length} fold checkpoint(s): ${checkpoints.map((c) => c.fold).join(', ')}; classes ${classes.map((c, i) => `${i}=${c}`).join(', ')}; split ${split}`);
      const listing = await readClamDataset({ csv, features_dir: resolve(o.features!), classes, label_map: Object.keys(labelMap).length ? labelMap : undefined });
      const slides = listing.slides.map((s) => ({ slide_id: s.slide_id, case_id: s.case_id, label_index: s.label_index, path: s.externalPath! }));
      const outDir = resolve(o.out!);
      const r = await evalCheckpoints({
        checkpoints, slides, classes, split: split as 'all', splitsDir: split === 'all' ? undefined : resolve(o.splits ?? o.checkpoints!),
        outDir, overrides: o.model ? { type: o.model as ModelType } : {}, ci: o.ci, log,
      });
      const f = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '   —  ' : v.toFixed(4));
      const line = (name: string, s: (typeof r.folds)[number]['summary']) =>
        `${name.padEnd(10)} n ${String(s.n).padStart(5)}  AUC ${f(s.auc)}${s.auc_ci ? ` [${f(s.auc_ci[0])}, ${f(s.auc_ci[1])}]` : ''}  accuracy ${f(s.accuracy)}`;
      for (const fr of r.folds) console.log(line(`fold ${fr.fold}`, fr.summary));
      if (r.ensemble) console.log(line('ensemble', r.ensemble.summary));
      console.log(`${outDir}/summary.csv  (per fold: fold_<k>/predictions.csv, metrics.json${r.ensemble ? '; ensemble/' : ''})`);
    });
}

/** Sorted distinct labels after the label map (CLAM's tasks number their classes that way too). */
function defaultClasses(csv: string, labelMap: Record<string, string | null>): string[] {
  const { rows } = readCsvRows(csv);
  return [...new Set(rows.map((l) => (Object.prototype.hasOwnProperty.call(labelMap, l) ? labelMap[l] : l)).filter((l): l is string => !!l))].sort();
}

function readCsvRows(csv: string): { rows: string[] } {
  const t = parseCsvRows(readFileSync(csv, 'utf8'), csv);
  if (!t.length) throw new UsageError(`${csv}: empty file`);
  const li = t[0].fields.map((h) => h.trim()).indexOf('label');
  if (li < 0) throw new UsageError(`${csv}:${t[0].line}: no 'label' column`);
  return { rows: t.slice(1).map((r) => (r.fields[li] ?? '').trim()) };
}
