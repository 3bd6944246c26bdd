// `milflow graph spec.yaml --format mermaid|dot [--collapse]`: the stage DAG, coloured by plan action.
import type { Command } from 'commander';
import { collect, planFromSpec } from '../dag/load.ts';
import { OUT_OPTION } from '../dag/plan.ts';
import type { PlannedStage } from '../dag/types.ts';
import { UsageError } from '../errors.ts';

export function register(program: Command): void {
  program
    .command('graph')
    .description('print the stage graph as Mermaid or Graphviz dot')
    .argument('<spec>', 'experiment YAML file')
    .option('--format <format>', 'mermaid or dot', 'mermaid')
    .option('--collapse', 'one node per stage kind (with counts) instead of one per stage')
    .option('--target <glob>', 'only these stages and what they need (repeatable)', collect, [])
    .option(...OUT_OPTION)
    .action(async (specPath: string, o: { format: string; collapse?: boolean; target: string[]; out?: string }) => {
      if (o.format !== 'mermaid' && o.format !== 'dot') {
        throw new UsageError(`--format must be mermaid or dot, not '${o.format}'`);
      }
      const { plan } = await planFromSpec(specPath, { target: o.target, out: o.out });
      process.stdout.write(renderGraph(plan.stages, o.format, !!o.collapse));
    });
}

interface G { nodes: { id: string; label: string; cls: 'run' | 'cached' | 'mixed' }[]; edges: { from: string; to: string; label?: string }[] }

function graphOf(stages: PlannedStage[], collapse: boolean): G {
  if (!collapse) {
    const nid = new Map(stages.map((s, i) => [s.id, `s${i}`]));
    return {
      nodes: stages.map((s) => ({ id: nid.get(s.id)!, label: s.id, cls: s.action })),
      edges: stages.flatMap((s) => s.deps.filter((d) => nid.has(d)).map((d) => ({ from: nid.get(d)!, to: nid.get(s.id)! }))),
    };
  }
  const kinds = [...new Set(stages.map((s) => s.kind))];
  const kindOf = new Map(stages.map((s) => [s.id, s.kind]));
  const nodes = kinds.map((k) => {
    const ss = stages.filter((s) => s.kind === k);
    const run = ss.filter((s) => s.action === 'run').length;
    return { id: `k_${k.replace(/\W/g, '_')}`, label: `${k} ×${ss.length}${run ? ` (${run} to run)` : ''}`, cls: (run === 0 ? 'cached' : run === ss.length ? 'run' : 'mixed') as G['nodes'][number]['cls'] };
  });
  const count = new Map<string, number>();
  for (const s of stages) for (const d of s.deps) {
    const e = `${kindOf.get(d)}\0${s.kind}`;
    if (kindOf.has(d)) count.set(e, (count.get(e) ?? 0) + 1);
  }
  const edges = [...count].map(([e, n]) => {
    const [a, b] = e.split('\0');
    return { from: `k_${a.replace(/\W/g, '_')}`, to: `k_${b.replace(/\W/g, '_')}`, label: String(n) };
  });
  return { nodes, edges };
}

export function renderGraph(stages: PlannedStage[], format: 'mermaid' | 'dot', collapse: boolean): string {
  const g = graphOf(stages, collapse);
  const q = (s: string) => s.replace(/"/g, '\\"');
  if (format === 'dot') {
    const fill = { run: '#ffd8a8', cached: '#d3f9d8', mixed: '#fff3bf' };
    return ['digraph milflow {', '  rankdir=LR;', '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
      ...g.nodes.map((n) => `  ${n.id} [label="${q(n.label)}", fillcolor="${fill[n.cls]}"];`),
      ...g.edges.map((e) => `  ${e.from} -> ${e.to}${e.label ? ` [label="${e.label}"]` : ''};`), '}', ''].join('\n');
  }
  return ['flowchart LR',
    ...g.nodes.map((n) => `  ${n.id}["${q(n.label)}"]:::${n.cls}`),
    ...g.edges.map((e) => `  ${e.from} -->${e.label ? `|${e.label}|` : ''} ${e.to}`),
    '  classDef run fill:#ffd8a8;', '  classDef cached fill:#d3f9d8;', '  classDef mixed fill:#fff3bf;', ''].join('\n');
}
