// `milflow plan spec.yaml [--json] [--target GLOB] [--force GLOB]`: what a run would execute and why.
import type { Command } from 'commander';
import { collect, planFromSpec } from '../dag/load.ts';
import { OUT_OPTION } from '../dag/plan.ts';
import type { Plan } from '../dag/plan.ts';
import type { LoadedSpec } from '../spec/resolved.ts';

export function register(program: Command): void {
  program
    .command('plan')
    .description('show which stages a run would execute (and why) and which are cached')
    .argument('<spec>', 'experiment YAML file')
    .option('--json', 'machine-readable plan: per stage id, kind, key, action, reason, params, inputs, labels')
    .option('--target <glob>', 'only these stages and what they need (repeatable; * within a path segment, ** across)', collect, [])
    .option('--force <glob>', 'run these stages even if cached (repeatable)', collect, [])
    .option('--all', 'list every stage to run, not the first few per reason')
    .option(...OUT_OPTION)
    .action(async (specPath: string, o: { json?: boolean; target: string[]; force: string[]; all?: boolean; out?: string }) => {
      process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); });
      const { loaded, plan } = await planFromSpec(specPath, o);
      if (o.json) process.stdout.write(JSON.stringify(planJson(loaded, plan), null, 2) + '\n');
      else process.stdout.write(planText(loaded, plan, { all: o.all }));
    });
}

export function planJson(loaded: LoadedSpec, plan: Plan) {
  return {
    experiment: plan.experiment,
    spec: { path: loaded.path, hash: loaded.hash },
    cache: plan.cacheRoot,
    counts: plan.counts,
    stages: plan.stages.map((s) => ({
      id: s.id, kind: s.kind, key: s.key, version: s.version, action: s.action, reason: s.reason,
      params: s.params, inputs: s.inputs, deps: s.deps, labels: s.labels,
    })),
  };
}

export function planText(loaded: LoadedSpec, plan: Plan, opts: { all?: boolean } = {}): string {
  const lines: string[] = [];
  const { counts } = plan;
  lines.push(`${plan.experiment}: ${counts.total} stages — ${counts.run} to run, ${counts.cached} cached  (spec ${loaded.hash.slice(0, 12)}, planned in ${Math.round(plan.seconds * 1000)} ms)`);
  const kinds = [...new Set(plan.stages.map((s) => s.kind))];
  const width = Math.max(...kinds.map((k) => k.length));
  for (const kind of kinds) {
    const ss = plan.stages.filter((s) => s.kind === kind);
    const run = ss.filter((s) => s.action === 'run');
    lines.push(`  ${kind.padEnd(width)}  ${String(ss.length).padStart(5)}   run ${String(run.length).padStart(4)}   cached ${String(ss.length - run.length).padStart(4)}`);
    const byReason = new Map<string, string[]>();
    // "input changed: <upstream ids>" differs per stage: group those by their first clause.
    for (const s of run) {
      const group = s.reason.startsWith('input changed:') ? 'input changed' : s.reason;
      if (!byReason.has(group)) byReason.set(group, []);
      byReason.get(group)!.push(s.id);
    }
    for (const [reason, ids] of byReason) {
      const shown = opts.all ? ids : ids.slice(0, 3);
      lines.push(`      ${reason}${ids.length > 1 ? ` (${ids.length})` : ''}: ${shown.join(', ')}${shown.length < ids.length ? `, … +${ids.length - shown.length}` : ''}`);
    }
  }
  if (counts.run === 0) lines.push('nothing to run: every stage is cached');
  return lines.join('\n') + '\n';
}
