// `milflow preprocess spec.yaml [--jobs N] [--force GLOB] [--keep-going]`: runs only the WSI
// stages of a spec (segment → patch → extract per slide, and the wsi-dataset stages) through
// the same planner, cache and executor as `milflow run`; prints a per-slide summary.
import type { Command } from 'commander';
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { collect, planFromSpec } from '../dag/load.ts';
import { executePlan } from '../exec/orchestrator.ts';
import { UsageError } from '../errors.ts';

export function register(program: Command): void {
  program
    .command('preprocess')
    .description('segment, patch and extract features of the slides of a dataset.wsi spec (cached per slide)')
    .argument('<spec>', 'experiment YAML file with dataset.wsi (or an evaluate cohort with one)')
    .option('--force <glob>', 'recompute these stages even if cached (repeatable)', collect, [])
    .option('--keep-going', 'keep running other stages after a failure')
    .option('--jobs <n>', 'concurrent heavy stages (default: device slots)', (v: string) => Number(v))
    .action(async (specPath: string, o: { force: string[]; keepGoing?: boolean; jobs?: number }) => {
      const { loaded, plan } = await planFromSpec(specPath, { target: ['dataset'], force: o.force });
      const spec = loaded.spec as any;
      const wsiStages = plan.stages.filter((s: any) => ['segment', 'patch', 'extract', 'wsi-dataset'].includes(s.kind));
      if (!wsiStages.some((s: any) => s.kind === 'wsi-dataset')) {
        throw new UsageError(`${specPath}: no dataset.wsi in this spec — nothing to preprocess`);
      }
      const slides = new Set(wsiStages.filter((s: any) => s.kind === 'segment').map((s: any) => s.id.split('/').pop()));
      process.stderr.write(`${plan.experiment}: ${slides.size} slides, ${plan.counts.run} of ${plan.counts.total} stages to run\n`);
      const r = await executePlan({
        plan, spec: { path: loaded.path, hash: loaded.hash, text: loaded.text, spec }, resources: spec.resources,
        jobs: o.jobs || undefined, keepGoing: o.keepGoing, handleSigint: true,
      });
      // Per-slide outcome from the stage manifests' summaries.
      for (const st of r.record.stages as any[]) {
        if (st.kind !== 'extract' || !st.manifestPath || !existsSync(st.manifestPath)) continue;
        const m = JSON.parse(readFileSync(st.manifestPath, 'utf8'));
        const statusPath = join(dirname(st.manifestPath), 'status.json');
        const s = existsSync(statusPath) ? JSON.parse(readFileSync(statusPath, 'utf8')) : m.summary;
        process.stderr.write(s.ok ? `  ${s.slide_id}: ${s.n} patches → ${s.dim}-d features\n` : `  ${s.slide_id}: EXCLUDED (${s.reason})\n`);
      }
      const c = r.record.counts;
      process.stderr.write(`${r.record.status}: ${c.executed} executed, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped\n`);
      process.stdout.write(`run: ${relative(process.cwd(), r.runDir) || r.runDir}\n`);
      process.exitCode = r.exitCode;
    });
}
