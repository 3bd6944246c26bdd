// Test-only stage kinds for the executor's machinery tests (never a fake train): they count
// their executions in a side file outside the cache, sleep, copy upstream text, or fail.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageContext, StageKind } from '../../src/types/stage.ts';

export interface TParams { name: string; ms?: number; count_file?: string; fail_slide?: string; fail_times?: number }

async function body(p: TParams, ctx: StageContext) {
  if (p.count_file) appendFileSync(p.count_file, `${ctx.id} ${process.pid}\n`);
  // Partial output first: a failure or a kill must not let it reach the cache.
  writeFileSync(join(ctx.outDir, 'partial.txt'), 'partial\n');
  const upstream = Object.keys(ctx.inputs).sort().map((n) => readFileSync(join(ctx.inputs[n].dir, 'out.txt'), 'utf8')).join('');
  const steps = 10;
  for (let i = 1; i <= steps; i++) {
    if (ctx.signal.aborted) throw new Error('aborted');
    await new Promise((r) => setTimeout(r, (p.ms ?? 0) / steps));
    ctx.progress(i, steps, 'sleeping');
  }
  if (p.fail_slide) {
    const tries = p.count_file && existsSync(p.count_file) ? readFileSync(p.count_file, 'utf8').split('\n').filter((l) => l.startsWith(ctx.id + ' ')).length : 1;
    if (tries <= (p.fail_times ?? Infinity)) throw new Error(`cannot read slide ${p.fail_slide}.svs: truncated tile at level 0`);
  }
  ctx.metric('loss', 1 / (1 + upstream.length), 0);
  ctx.metric('loss', 0.5 / (1 + upstream.length), 1);
  writeFileSync(join(ctx.outDir, 'out.txt'), `${upstream}${p.name}\n`);
  const env = process.env;
  writeFileSync(join(ctx.outDir, 'env.json'), JSON.stringify({ omp: env.OMP_NUM_THREADS ?? null, openblas: env.OPENBLAS_NUM_THREADS ?? null, cuda: env.CUDA_VISIBLE_DEVICES ?? null, device: ctx.device }));
  return { metrics: { lines: upstream.split('\n').length }, engine: 'test' };
}

export const heavy: StageKind<TParams> = { kind: 't_heavy', version: '1', heavy: true, run: body };
export const light: StageKind<TParams> = { kind: 't_light', version: '1', heavy: false, run: body };
