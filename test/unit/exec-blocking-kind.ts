// Test-only light stage kind that computes for `ms` milliseconds without ever awaiting (as a
// large synthetic dataset or a bootstrap loop does), after announcing itself in `started_file`.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../../src/types/stage.ts';

export const blocking: StageKind<{ name: string; ms: number; started_file: string }> = {
  kind: 't_block', version: '1', heavy: false,
  async run(p, ctx) {
    writeFileSync(join(ctx.outDir, 'partial.txt'), 'partial\n');
    appendFileSync(p.started_file, `${ctx.id} ${Date.now()}\n`);
    const end = Date.now() + p.ms;
    let x = 0;
    while (Date.now() < end) x += Math.sqrt(x + 1);
    writeFileSync(join(ctx.outDir, 'out.txt'), `${p.name} ${x > 0}\n`);
    return {};
  },
};

/** The same on a worker process (heavy). */
export const blockingHeavy: StageKind<{ name: string; ms: number; started_file: string }> = { ...blocking, kind: 't_block_heavy', heavy: true };
