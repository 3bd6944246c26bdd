// Test-only stage kinds for the cache-integrity tests: `t_block` holds the orchestrator's event
// loop synchronously (as a CPU-bound light stage or a slow synchronous publish would), `t_big`
// writes a file above the small-file threshold, `t_cat` concatenates its inputs. Each appends
// "<id> <pid>" to count_file per execution.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageContext, StageKind } from '../../src/types/stage.ts';

export interface P { name: string; count_file?: string; block_ms?: number; bytes?: number; salt?: number; warn?: string }

const count = (p: P, ctx: StageContext) => { if (p.count_file) appendFileSync(p.count_file, `${ctx.id} ${process.pid}\n`); };
const upstream = (ctx: StageContext) => Object.keys(ctx.inputs).sort().map((n) => readFileSync(join(ctx.inputs[n].dir, 'out.txt'), 'utf8')).join('');

export const block: StageKind<P> = {
  kind: 't_block', version: '1', heavy: false,
  async run(p, ctx) {
    count(p, ctx);
    if (p.block_ms) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, p.block_ms);
    writeFileSync(join(ctx.outDir, 'out.txt'), `${upstream(ctx)}${p.name}\n`);
    return { metrics: {}, ...(p.warn ? { warnings: [p.warn] } : {}) };
  },
};

export const big: StageKind<P> = {
  kind: 't_big', version: '1', heavy: false,
  async run(p, ctx) {
    count(p, ctx);
    const buf = Buffer.alloc(p.bytes ?? 3 << 20);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 31 + 7) & 255;
    writeFileSync(join(ctx.outDir, 'features.bin'), buf);
    writeFileSync(join(ctx.outDir, 'out.txt'), `${p.name}\n`);
    writeFileSync(join(ctx.outDir, 'labels.csv'), 'slide,label\ns1,0\ns2,1\ns3,1\n');
    return { metrics: {} };
  },
};

export const cat: StageKind<P> = {
  kind: 't_cat', version: '1', heavy: false,
  async run(p, ctx) {
    count(p, ctx);
    // Reads every byte of its inputs, so output depends on them (a damaged input would show).
    let sum = 0;
    for (const n of Object.keys(ctx.inputs).sort()) {
      for (const f of Object.keys(ctx.inputs[n].manifest.files).sort()) for (const b of readFileSync(join(ctx.inputs[n].dir, f))) sum = (sum * 33 + b) >>> 0;
    }
    writeFileSync(join(ctx.outDir, 'out.txt'), `${upstream(ctx)}${p.name} ${sum}\n`);
    return { metrics: { sum } };
  },
};
