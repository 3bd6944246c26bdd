// The executors: resources.executor → the factory of its Runner (./runner.ts). Each is imported
// only when a run uses it.
//
// Adding an executor (Kubernetes, Ray, ...): one file exporting an async factory of a Runner, one
// row here, and its name in the schema's resources.executor enum (the row's key is typed by it).
import type { Resources } from '../spec/types.gen.ts';
import type { Runner, RunnerContext } from './runner.ts';

type Executor = NonNullable<Resources['executor']>;

export const RUNNERS: Record<Executor, (ctx: RunnerContext) => Promise<Runner>> = {
  local: async (ctx) => (await import('./pool.ts')).workerPoolRunner(ctx),
  slurm: async (ctx) => (await import('./slurm.ts')).slurmRunner(ctx),
};
