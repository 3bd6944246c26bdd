// milflow report spec.yaml [--run DIR] [--open]: render the paper-style report of a run
// (default: the experiment's latest run) into runs/<experiment>/<run-id>/report/.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { loadSpec, type ResolvedExperiment } from '../spec/load.ts';
import { OUT_OPTION, outputRoot } from '../dag/plan.ts';
import { buildReport } from '../report/build.ts';
import { reportedKinds } from '../stages/registry.ts';
import { entriesFromEvents } from '../report/inputs.ts';
import { readEvents } from '../records/events.ts';
import { findRunDirs, uploadReport } from '../tracking/sync.ts';
import { resolveTarget, loadRunSpec } from '../tracking/config.ts';
import { UsageError } from '../errors.ts';

const REPORTED = reportedKinds('run');

export function register(program: Command): void {
  program
    .command('report')
    .description('write the report (HTML, Markdown, CSV tables, SVG figures) of a run into its run directory')
    .argument('[spec]', 'experiment spec (its latest run is reported)')
    .option('--run <dir>', 'report this run directory (runs/<experiment>/<run-id>)')
    .option('--open', 'open the HTML report in the default browser')
    .option(...OUT_OPTION)
    .action(async (specPath: string | undefined, o: { run?: string; open?: boolean; out?: string }) => {
      const loaded = specPath ? await loadSpec(specPath, { checkFiles: false }) : undefined;
      let spec: ResolvedExperiment | undefined = loaded?.spec;
      let runDir: string;
      if (o.run) runDir = resolve(o.run);
      else if (loaded && spec) {
        const root = outputRoot(loaded, o.out);
        const dirs = findRunDirs(root, spec.name);
        if (!dirs.length) throw new Error(`no runs of '${spec.name}' under ${root}: run \`milflow run ${specPath}\` first`);
        runDir = dirs[dirs.length - 1];
      } else throw new UsageError('report: give a spec or --run DIR');
      spec ??= loadRunSpec(runDir) as ResolvedExperiment | undefined;
      const r = await writeRunReport(runDir, spec);
      console.log(`${r.html}  (${r.tables} tables, ${r.figures} figures, ${r.seconds.toFixed(1)} s)`);
      if (r.failed) console.log(`note: ${r.failed} stage(s) failed in this run; see the run summary`);
      if (o.open) spawn(process.platform === 'darwin' ? 'open' : 'xdg-open', [r.html], { detached: true, stdio: 'ignore' }).on('error', () => {}).unref();
    });
}

/** Renders a run's report into <runDir>/report/ (and onto its MLflow run when tracked). */
export async function writeRunReport(runDir: string, spec: ResolvedExperiment | undefined, opts: { quiet?: boolean; upload?: boolean } = {}) {
  const events = readEvents(runDir, { required: true });
  const entries = entriesFromEvents(events).filter((e) => REPORTED.has(e.kind));
  const outDir = join(runDir, 'report');
  const t0 = Date.now();
  if (!opts.quiet) process.stderr.write(`report: ${entries.length} stages from ${runDir}\n`);
  const r = await buildReport({ entries, events, outDir, title: spec?.name, description: spec?.description, classNames: spec?.task?.classes });
  // Best effort: put the report on the run's MLflow parent run when it is tracked.
  // (`milflow run` leaves that to its own tracker, which is still open: upload: false.)
  if (opts.upload !== false && resolveTarget(loadRunSpec(runDir), 'milflow') && existsSync(join(runDir, 'tracking-state.json'))) {
    await uploadReport(runDir).catch((err) => console.error(`report: not uploaded to MLflow (${err.message}); \`milflow sync --run ${runDir}\` retries`));
  }
  return { html: join(outDir, 'report.html'), tables: r.tables.length, figures: r.figures.length, failed: r.summary.counts.failed, seconds: (Date.now() - t0) / 1000 };
}
