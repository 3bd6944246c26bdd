// milflow sync [spec.yaml] [--run DIR] [--all]: push buffered run events to MLflow.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadSpec } from '../spec/load.ts';
import { OUT_OPTION, outputRoot } from '../dag/plan.ts';
import { syncRun, findRunDirs, waitForExit } from '../tracking/sync.ts';
import { redact } from '../tracking/mlflow-client.ts';
import { PushProgress } from '../tracking/progress.ts';
import { UsageError } from '../errors.ts';

export function register(program: Command): void {
  program
    .command('sync')
    .description('push runs recorded offline (or while MLflow was down) to the MLflow tracking server; idempotent')
    .argument('[spec]', 'experiment spec: sync every run of this experiment')
    .option('--run <dir>', 'sync one run directory (runs/<experiment>/<run-id>)')
    .option('--all', 'sync every run under the output root')
    .option(...OUT_OPTION)
    .option('--uri <uri>', 'MLflow tracking URI (default: the spec, then MLFLOW_TRACKING_URI)')
    .option('--force', 're-check runs already marked as synced')
    .action(async (specPath: string | undefined, o: { run?: string; all?: boolean; out?: string; uri?: string; force?: boolean }) => {
      let dirs: string[];
      let specUri: string | undefined;
      if (o.run) dirs = [resolve(o.run)];
      else if (specPath) {
        const loaded = await loadSpec(specPath, { checkFiles: false });
        // The spec's own URI may carry credentials that the run's stored copy does not.
        specUri = loaded.spec.tracking?.mlflow?.uri;
        dirs = findRunDirs(outputRoot(loaded, o.out), loaded.spec.name);
      } else if (o.all) dirs = findRunDirs(resolve(o.out ?? 'runs'));
      else throw new UsageError('sync: give a spec, --run DIR or --all');
      if (dirs.length === 0) {
        console.log('sync: no runs found');
        return;
      }
      // Started in the background by a run: begin when that run's process is gone.
      if (process.env.MILFLOW_SYNC_AFTER_PID) await waitForExit(Number(process.env.MILFLOW_SYNC_AFTER_PID));
      let failed = 0;
      for (const [i, dir] of dirs.entries()) {
        try {
          const progress = new PushProgress(process.stderr);
          const r = await syncRun(dir, { uri: o.uri ?? specUri, force: o.force, wait: true, onProgress: (n, total) => progress.update(n, total) });
          const what = r.skipped
            ? r.skipped
            : `${r.runsCreated} runs created, ${r.paramsLogged} params, ${r.metricsLogged} metric points, ${r.artifactsUploaded} artifacts, ${r.modelsLogged} models (${r.requests} requests)`;
          if (!r.skipped) progress.done(`MLflow: ${r.experimentUrl ?? r.uri}`);
          console.log(`[${i + 1}/${dirs.length}] ${dir} → ${r.uri} (${r.experiment}): ${what}${r.parentRunId ? ` [run ${r.parentRunId}]` : ''}`);
        } catch (err) {
          failed++;
          console.error(`[${i + 1}/${dirs.length}] ${dir}: ${redact((err as Error).message)}`);
        }
      }
      if (failed) throw new Error(`${failed} of ${dirs.length} runs not synced (kept for the next sync)`);
    });
}
