// DeLong speed at n = 100,000 against R pROC measured on this machine
// (roc + ci.auc(method = "delong"): 0.07 s; paired roc.test(method = "delong"): 0.03 s).
// Usage: node --import tsx scripts/bench-delong.ts [--n 100000] [--time 3000]
import { Bench } from 'tinybench';
import { delong, delongPaired } from '../src/stats/delong.ts';
import { RandomState } from '../src/splits/mt19937.ts';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const n = arg('n', 100_000);
const time = arg('time', 3000);
const PROC = { ci: 70, paired: 30 }; // ms

const rs = new RandomState(1);
const labels = new Uint8Array(n);
const a = new Float64Array(n);
const b = new Float64Array(n);
for (let i = 0; i < n; i++) {
  labels[i] = rs.random() < 0.4 ? 1 : 0;
  a[i] = labels[i] * 0.8 + rs.random();
  // Coarse scores: many ties, the case midranks exist for.
  b[i] = Math.round((labels[i] * 0.5 + rs.random()) * 50) / 50;
}

const bench = new Bench({ time, warmupTime: 300 });
bench
  .add(`delong CI, n=${n}`, () => { delong(labels, a); })
  .add(`delong CI with ties, n=${n}`, () => { delong(labels, b); })
  .add(`paired delong, n=${n}`, () => { delongPaired(labels, a, b); });
console.error(`benchmarking (${time} ms per task) ...`);
await bench.run();
const rows = bench.tasks.map((t) => {
  const r = t.result as any;
  const ms = r.latency.mean as number;
  const ref = t.name.startsWith('paired') ? PROC.paired : PROC.ci;
  const med = r.latency.p50 as number;
  // The machine is shared: the median is the fairer figure; the mean carries others' load.
  return { task: t.name, mean_ms: +ms.toFixed(2), median_ms: +med.toFixed(2), min_ms: +(r.latency.min as number).toFixed(2), samples: r.latency.samplesCount ?? r.latency.samples?.length, pROC_ms: ref, ratio_median_vs_pROC: +(med / ref).toFixed(3), ratio_mean_vs_pROC: +(ms / ref).toFixed(3) };
});
console.table(rows);
console.log(JSON.stringify({ n, rows }));
