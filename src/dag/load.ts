// Spec → plan, the common front of `milflow plan`, `run` and `graph`. Spec errors are the
// loader's SpecError (file:line:column messages, exit code 2), passed through unchanged.
import { loadSpec } from '../spec/load.ts';
import type { LoadedSpec } from '../spec/resolved.ts';
import { planSpec, type Plan } from './plan.ts';

/** commander collector for repeatable options (--target a --target b). */
export const collect = (v: string, prev: string[] = []) => [...prev, v];

export async function planFromSpec(specPath: string, opts: { target?: string[]; force?: string[]; out?: string; name?: string }): Promise<{ loaded: LoadedSpec; plan: Plan }> {
  const loaded = await loadSpec(specPath);
  const plan = await planSpec(loaded, { target: opts.target, force: opts.force, out: opts.out, experiment: opts.name });
  return { loaded, plan };
}
