// Peak resident memory of training on one very large bag (default 150,000 patches × 1024),
// read from a CLAM .h5 file like the train stage does. Acceptance: under 4 GB.
//   node --import tsx scripts/memory-150k.ts [--n 150000] [--dim 1024] [--model clam_sb] [--steps 2] [--no-h5]
// Prints JSON {n, dim, model, engine, steps, seconds_per_step, max_rss_mb, ok}; exit 1 when over the limit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TrainingRng } from '../src/engine/rng.ts';
import { writeBag, readBag } from '../src/io/h5.ts';
import { makeConfig, type ModelType } from '../src/models/config.ts';
import { NativeModel } from '../src/models/native.ts';
import { initParams, layout } from '../src/models/params.ts';
import { Adam } from '../src/train/optim.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const n = Number(arg('n', '150000')), dim = Number(arg('dim', '1024')), steps = Number(arg('steps', '2'));
const type = arg('model', 'clam_sb') as ModelType;
const useH5 = !process.argv.includes('--no-h5');
const LIMIT_MB = 4096;

function randomBag(): Float32Array {
  const rng = new TrainingRng(1);
  const f = new Float32Array(n * dim);
  for (let i = 0; i < f.length; i++) f[i] = rng.next();
  return f;
}

const writeOnly = process.argv.indexOf('--write-only');
if (writeOnly > 0) {
  // child mode: write the bag file and exit, so the parent's RSS is that of a real stage
  await writeBag(process.argv[writeOnly + 1], randomBag(), n, dim);
  process.exit(0);
}

let features: Float32Array;
if (useH5) {
  const dir = mkdtempSync(join(tmpdir(), 'milflow-mem-'));
  const file = join(dir, 'big.h5');
  process.stderr.write(`writing ${n}×${dim} bag to ${file}\n`);
  execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--write-only', file], { stdio: 'inherit' });
  features = (await readBag(file)).features;
  rmSync(dir, { recursive: true, force: true });
} else {
  features = randomBag();
}
const cfg = makeConfig({ type, n_classes: 2, dim, dropout: 0.25 });
const model = new NativeModel(cfg, initParams(layout(cfg), 1));
const opt = new Adam(model.lay.views, model.params.length, { lr: 2e-4, weightDecay: 1e-5 });
const rng = new TrainingRng(2);
const t0 = performance.now();
for (let s = 0; s < steps; s++) {
  model.forward(features, n, { label: s % 2, train: true, rng });
  model.backward();
  opt.step(model.params, model.grad, model.inactive);
  process.stderr.write(`step ${s + 1}/${steps}: rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB\n`);
}
const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
const out = { n, dim, model: type, engine: model.engine, h5: useH5, steps, seconds_per_step: (performance.now() - t0) / 1000 / steps, max_rss_mb: maxRssMb, limit_mb: LIMIT_MB, ok: maxRssMb < LIMIT_MB };
console.log(JSON.stringify(out));
process.exitCode = out.ok ? 0 : 1;
