// `milflow run spec.yaml [--target GLOB] [--force GLOB] [--keep-going] [--retries N] [--jobs N]`
import type { Command } from 'commander';
import { relative } from 'node:path';
import { collect, planFromSpec } from '../dag/load.ts';
import { OUT_OPTION } from '../dag/plan.ts';
import { writeRunReport } from './report.ts';
import { executePlan, type RunResult } from '../exec/orchestrator.ts';
import { NO_OPENBLAS, openBlasMissing } from '../engine/blas.ts';
import { checkRunName, claimName } from './name-claim.ts';
import { StageError, UsageError } from '../errors.ts';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a non-negative integer, not '${v}'`);
  return n;
};

export function register(program: Command): void {
  program
    .command('run')
    .description('run the experiment: every stage not in the cache, on the available devices')
    .argument('<spec>', 'experiment YAML file')
    .option('--target <glob>', 'only these stages and what they need (repeatable)', collect, [])
    .option('--force <glob>', 'recompute these stages even if cached (repeatable; their keys do not change, so stages below stay cached)', collect, [])
    .option('--keep-going', 'after a failure, keep running stages that do not depend on it')
    .option('--retries <n>', 'retries of a failed stage (default: resources.retries)', int('--retries'))
    .option('--jobs <n>', 'concurrent heavy stages (default: device slots)', int('--jobs'))
    .option(...OUT_OPTION)
    .option('--no-report', 'do not write the report into the run directory')
    .option('--name <name>', "experiment name for this run (default: the spec's name; needed when another spec already uses that name)")
    .action(async (specPath: string, o: { target: string[]; force: string[]; keepGoing?: boolean; retries?: number; jobs?: number; out?: string; report: boolean; name?: string }) => {
      if (o.name !== undefined) checkRunName(o.name);
      const { loaded, plan } = await planFromSpec(specPath, o);
      claimName(plan.root, plan.experiment, { path: loaded.path, hash: loaded.hash }, o.name !== undefined);
      const spec = loaded.spec as any;
      process.stderr.write(`${plan.experiment}: ${plan.counts.total} stages, ${plan.counts.run} to run, ${plan.counts.cached} cached\n`);
      // Workers print the engine's own warning into stage logs; say it where the user looks, once.
      const training = plan.stages.some((st) => st.action === 'run' && st.kind === 'train');
      if (training && process.env.MILFLOW_ENGINE !== 'tfjs' && openBlasMissing()) process.stderr.write(`warning: ${NO_OPENBLAS}\n`);
      // The report is written while MLflow catches up (before the tracker closes), and goes out with the run.
      const r = await executePlan({
        plan, spec: { path: loaded.path, hash: loaded.hash, text: loaded.text, spec }, resources: spec.resources,
        jobs: o.jobs || undefined, retries: o.retries, keepGoing: o.keepGoing, handleSigint: true,
        beforeTrackingCloses: async (res) => {
          summarise(res);
          if (!o.report || res.record.status === 'interrupted') return;
          try {
            const { html } = await writeRunReport(res.runDir, spec, { quiet: true, upload: false });
            process.stdout.write(`report: ${relative(process.cwd(), html) || html}\n`);
          } catch (err) {
            process.stderr.write(`warning: report not written (${(err as Error).message}); \`milflow report --run ${res.runDir}\` retries\n`);
          }
        },
      });
      process.exitCode = r.exitCode;
    });
}

/** The run's outcome, said once where the eye lands (failures, warnings, counts, run dir). */
function summarise(res: RunResult): void {
  const c = res.record.counts;
  // One line per failed stage, the same whatever ran it: "failed: <id>: <reason> (log: <path>)".
  for (const e of res.errors.slice(0, 10)) process.stderr.write(`failed: ${e.logPath ? new StageError(e.reason, { stageId: e.stageId, kind: e.kind, logPath: relative(process.cwd(), e.logPath) }).message : e.message}\n`);
  if (res.errors.length > 10) process.stderr.write(`… and ${res.errors.length - 10} more failed stages (milflow status)\n`);
  // Said again at the end, where the eye lands: degenerate data and recomputed damaged entries.
  const warnings = [...new Map((res.record.warnings ?? []).map((w) => [w.message, w])).values()];
  if (warnings.length) {
    process.stderr.write(`${warnings.length} warning(s):\n`);
    for (const w of warnings.slice(0, 10)) process.stderr.write(`  warning: ${w.message}\n`);
    if (warnings.length > 10) process.stderr.write(`  … and ${warnings.length - 10} more (${relative(process.cwd(), res.runDir)}/record.json)\n`);
  }
  process.stderr.write(`${res.record.status}: ${c.executed} executed, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped in ${(res.record.seconds ?? 0).toFixed(1)} s\n`);
  process.stdout.write(`run: ${relative(process.cwd(), res.runDir) || res.runDir}\n`);
}
