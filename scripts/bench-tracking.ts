// What MLflow tracking costs a fully cached run, against a real `mlflow server` (issue 12):
//   node --import tsx scripts/bench-tracking.ts [--dir DIR] [--runs N]
// 1. with tracking on (A) against the same spec without it (B), paired A B A B … by farm-bench:
//    A's whole time until MLflow holds the run (its `run` command alone is noted from inside), as ratios;
// 2. one more tracked run, measured to the moment MLflow holds all of it (the run's own pushes
//    plus the background sync it hands the rest to), with the REST calls counted by a proxy.
// The spec has 74 stages (synthetic slides, 5 folds × 3 fractions × {CLAM-SB, MIL}).
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { countingProxy } from '../test/helpers/counting-proxy.ts';
import { startMlflow, type MlflowServer } from '../test/helpers/mlflow.ts';
import { BIN, startCli } from '../test/helpers/cli.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const dir = resolve(arg('--dir', mkdtempSync(join(tmpdir(), 'milflow-bench-tracking-'))));
const runs = Number(arg('--runs', '5'));
mkdirSync(dir, { recursive: true });
const say = (m: string) => process.stdout.write(`${m}\n`);

const spec = (name: string, tracking = '') => `name: ${name}
dataset:
  synthetic: { seed: 7, cases: 40, slides_per_case: [1, 2], dim: 64, bag_size: [24, 96], tumour_fraction: [0.05, 0.15], signal: 4 }
task: { classes: [normal, tumor] }
splits: { mode: nested, folds: 5, val_frac: 0.1, test_frac: 0.1, seed: 1, training_fractions: [1, 0.5, 0.25] }
models:
  - { name: clam_sb, type: clam_sb, B: 8, c1: 0.7, c2: 0.3 }
  - { name: mil, type: mil }
train: { lr: 0.0002, weight_decay: 0.00001, max_epochs: 2, min_epochs: 1, patience: 1, seed: 1 }
evaluate: { ci: delong }
resources: { devices: auto, threads_per_slot: 1 }
output: { root: ${join(dir, 'runs')} }
${tracking}`;

let server: MlflowServer | undefined;

async function main() {
  server = await startMlflow();
  say(`bench-tracking: ${dir}; MLflow server at ${server.uri} (sqlite, one worker)`);
  const base = server.uri;
  const proxy = await countingProxy(base);
  const plain = join(dir, 'spec.yaml');
  const tracked = join(dir, 'spec-mlflow.yaml');
  writeFileSync(plain, spec('bench74'));
  writeFileSync(tracked, spec('bench74m', `tracking: { mlflow: { uri: ${proxy.uri}, experiment: bench74 } }\n`));
  // Never spawnSync: the counting proxy lives in this process and must keep answering.
  const cli = async (specPath: string) => {
    const r = await startCli(['run', specPath]).closed;
    if (r.code !== 0) throw new Error(`milflow run ${specPath} failed:\n${r.err}`);
    return r;
  };
  say('computing the 74 stages once (not timed)…');
  await cli(plain);
  await cli(tracked);
  await syncsDone(join(dir, 'runs', 'bench74m'));

  // A's background sync would otherwise overlap (and slow) the B run after it: A waits for it
  // with `milflow sync SPEC` (which waits for a sync under way, then finds the runs in sync), and
  // notes when its `run` command alone returned.
  const times = join(dir, 'command-seconds.txt');
  writeFileSync(times, '');
  const q = (x: string) => `'${x}'`;
  const a = `s=$(date +%s.%N); ${q(process.execPath)} ${q(BIN)} run ${q(tracked)} >/dev/null 2>&1 || exit 1; e=$(date +%s.%N); echo "$s $e" >> ${q(times)}; exec ${q(process.execPath)} ${q(BIN)} sync ${q(tracked)} >/dev/null 2>&1`;
  say(`\n1. fully cached run: A = run with tracking on, then \`milflow sync\` until MLflow holds it all; B = run without tracking; ${runs} pairs:`);
  const fb = await execa('farm-bench', ['-n', String(runs), '--warmup', '1', '--timeout', '1800', '--vs', `${process.execPath} ${BIN} run ${plain}`, '--', 'sh', '-c', a], { reject: false });
  if (fb.failed && fb.exitCode === undefined) say(`(farm-bench not on PATH: ${fb.shortMessage}; skipped)`);
  else say(fb.stdout + fb.stderr);
  const cmd = readFileSync(times, 'utf8').trim().split('\n').slice(1).map((l) => { const [s0, e0] = l.split(' ').map(Number); return e0 - s0; }).sort((x, y) => x - y);
  const bMedian = Number(/B wall s\s+[\d.]+\s+([\d.]+)/.exec(fb.stdout)?.[1]);
  if (cmd.length) {
    const med = cmd[Math.floor(cmd.length / 2)];
    say(`   A's \`run\` command alone (wall, from the shell): min ${cmd[0].toFixed(3)}, median ${med.toFixed(3)}, max ${cmd[cmd.length - 1].toFixed(3)} s`);
    if (bMedian) say(`   median A command / median B: ${(med / bMedian).toFixed(3)}; bound 1.3 × B + 2 s = ${(1.3 * bMedian + 2).toFixed(2)} s`);
  }
  await syncsDone(join(dir, 'runs', 'bench74m'));

  say('2. one tracked run until MLflow holds all of it:');
  proxy.reset();
  const t0 = performance.now();
  const r = await cli(tracked);
  const t1 = performance.now();
  const runDir = join(dir, 'runs', 'bench74m', /run: .*\/([^/\s]+)\n/.exec(r.out)![1]);
  await syncsDone(join(dir, 'runs', 'bench74m'));
  const t2 = performance.now();
  const state = JSON.parse(readFileSync(join(runDir, 'tracking-state.json'), 'utf8'));
  const children = Object.keys(state.stages).length;
  const held = await fetch(`${base}/api/2.0/mlflow/runs/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ experiment_ids: [state.experimentId], filter: `tags.\`milflow.run_id\` = '${runDir.split('/').pop()}'`, max_results: 1000 }),
  }).then((x) => x.json() as Promise<{ runs?: unknown[] }>);
  say(`   command: ${((t1 - t0) / 1000).toFixed(2)} s; MLflow complete (run + background sync): ${((t2 - t0) / 1000).toFixed(2)} s`);
  say(`   MLflow holds ${held.runs?.length ?? 0} runs for it (parent + ${children} stage children); state pending: ${state.pending}`);
  say(`   REST calls: ${proxy.total()} (${(proxy.total() / Math.max(1, children)).toFixed(2)} per stage)`);
  for (const [k, n] of [...proxy.counts].sort((a, b) => b[1] - a[1])) say(`     ${String(n).padStart(5)}  ${k}`);
  await proxy.close();
}

/** Resolves when no background sync of any run under expDir is running or pending. */
async function syncsDone(expDir: string, maxMs = 600_000): Promise<void> {
  const until = Date.now() + maxMs;
  for (;;) {
    const busy = readdirSync(expDir).some((r) => {
      const d = join(expDir, r);
      if (existsSync(join(d, 'tracking-sync.lock'))) return true;
      let st: { pending?: boolean; lastError?: string } = {};
      try {
        st = JSON.parse(readFileSync(join(d, 'tracking-state.json'), 'utf8'));
      } catch {
        /* not a tracked run */
      }
      if (st.pending && st.lastError && Date.now() > until - maxMs + 5000) throw new Error(`${d}: tracking failed: ${st.lastError}`);
      return st.pending === true;
    });
    if (!busy) return;
    if (Date.now() > until) throw new Error(`background syncs under ${expDir} still busy after ${maxMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

main()
  .then(
    () => 0,
    (err) => {
      console.error(err);
      return 1;
    },
  )
  .then(async (code) => {
    await server?.close();
    process.exit(code);
  });
