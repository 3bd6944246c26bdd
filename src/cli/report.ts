// milflow report spec.yaml [--run DIR] [--open]: render the paper-style report of a run
// (default: the experiment's latest run) into runs/<experiment>/<run-id>/report/.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { loadSpec, type ResolvedExperiment } from '../spec/load.ts';
import { outputRoot } from '../dag/plan.ts';
import { buildReport } from '../report/build.ts';
import { reportedKinds } from '../stages/registry.ts';
import { entriesFromEvents } from '../report/inputs.ts';
import { readEvents } from '../tracking/events.ts';
import { findRunDirs, uploadReport } from '../tracking/sync.ts';
import { resolveTarget, loadRunSpec } from '../tracking/config.ts';

const REPORTED = reportedKinds('run');

export function register(program: Command): void {
  program
    .command('report')
    .description('write the report (HTML, Markdown, CSV tables, SVG figures) of a run into its run directory')
    .argument('[spec]', 'experiment spec (its latest run is reported)')
    .option('--run <dir>', 'report this run directory (runs/<experiment>/<run-id>)')
    .option('--open', 'open the HTML report in the default browser')
    .action(async (specPath: string | undefined, o: { run?: string; open?: boolean }) => {
      const loaded = specPath ? await loadSpec(specPath, { checkFiles: false }) : undefined;
      let spec: ResolvedExperiment | undefined = loaded?.spec;
      let runDir: string;
      if (o.run) runDir = resolve(o.run);
      else if (loaded && spec) {
        const root = outputRoot(loaded);
        const dirs = findRunDirs(root, spec.name);
        if (!dirs.length) throw new Error(`no runs of '${spec.name}' under ${root}: run \`milflow run ${specPath}\` first`);
        runDir = dirs[dirs.length - 1];
      } else throw Object.assign(new Error('report: give a spec or --run DIR'), { exitCode: 2 });
      spec ??= loadRunSpec(runDir) as ResolvedExperiment | undefined;
      const events = readEvents(runDir);
      const entries = entriesFromEvents(events).filter((e) => REPORTED.has(e.kind));
      const outDir = join(runDir, 'report');
      const t0 = Date.now();
      process.stderr.write(`report: ${entries.length} stages from ${runDir}\n`);
      const r = await buildReport({ entries, events, outDir, title: spec?.name, description: spec?.description, classNames: spec?.task?.classes });
      console.log(`${join(outDir, 'report.html')}  (${r.tables.length} tables, ${r.figures.length} figures, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      if (r.summary.counts.failed) console.log(`note: ${r.summary.counts.failed} stage(s) failed in this run; see the run summary`);
      // Best effort: put the report on the run's MLflow parent run when it is tracked.
      if (resolveTarget(loadRunSpec(runDir), 'milflow') && existsSync(join(runDir, 'tracking-state.json'))) {
        await uploadReport(runDir).catch((err) => console.error(`report: not uploaded to MLflow (${err.message}); \`milflow sync --run ${runDir}\` retries`));
      }
      if (o.open) spawn(process.platform === 'darwin' ? 'open' : 'xdg-open', [join(outDir, 'report.html')], { detached: true, stdio: 'ignore' }).on('error', () => {}).unref();
    });
}
