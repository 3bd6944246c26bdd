// Fault injection over the real executor and cache: kills `milflow`'s orchestrator (SIGKILL) at
// every publish point, kills a --force rewrite mid-swap, damages finished entries in the ways the
// issue-11 audit found, and races two runs whose publish blocks the event loop past the stale
// time. After each fault a normal rerun must finish and leave exactly the clean run's entries.
// Prints: trials, recovered, served damaged (must be 0). Exit 1 if any trial did not recover.
//   node --import tsx scripts/fault-inject.ts [--quick]
// Stages are the small test kinds (test/integration/cache-kinds.ts: a 3 MiB "dataset", two
// "models" that read every byte of it, an aggregate), so one trial takes about a second.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planDecls } from '../src/dag/plan.ts';
import { CacheStore } from '../src/cache/store.ts';
import { executePlan } from '../src/exec/orchestrator.ts';
import { registerStageKind } from '../src/stages/registry.ts';
import type { StageDecl } from '../src/types/stage.ts';

const THIS = fileURLToPath(import.meta.url);
const KINDS = fileURLToPath(new URL('../test/integration/cache-kinds.ts', import.meta.url));
for (const k of ['block', 'big', 'cat']) await registerStageKind(`${KINDS}#${k}`);

function decls(count: string): StageDecl[] {
  return [
    { id: 'data', kind: 't_big', params: { name: 'data', count_file: count }, inputs: {} },
    { id: 'm0', kind: 't_cat', params: { name: 'm0', count_file: count }, inputs: { data: 'data' } },
    { id: 'm1', kind: 't_cat', params: { name: 'm1', count_file: count }, inputs: { data: 'data' } },
    { id: 'agg', kind: 't_cat', params: { name: 'agg', count_file: count }, inputs: { a: 'm0', b: 'm1' } },
  ];
}

if (process.argv[2] === '--child') {
  const [root, count, force] = process.argv.slice(3);
  const plan = await planDecls(decls(count), { root, experiment: 'fi', force: force ? [force] : [] });
  const r = await executePlan({ plan, resources: { devices: ['cpu'], slots_per_device: 1 }, progress: 'none', handleSigint: true });
  process.exit(r.exitCode);
}

const quick = process.argv.includes('--quick');
const base = mkdtempSync(join(tmpdir(), 'milflow-fault-'));
const count = join(base, 'count.txt');

function child(root: string, env: Record<string, string> = {}, force?: string): Promise<{ code: number | null; signal: string | null; err: string }> {
  return new Promise((res) => {
    const e = { ...process.env, ...env };
    delete (e as any).NODE_TEST_CONTEXT;
    const p = spawn(process.execPath, ['--import', 'tsx', THIS, '--child', root, count, ...(force ? [force] : [])], { env: e, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code, signal) => res({ code, signal, err }));
  });
}

type Ref = Map<string, Record<string, string>>;
async function reference(root: string): Promise<Ref> {
  const r = await child(root);
  if (r.code !== 0) throw new Error(`clean run failed: ${r.err}`);
  const store = new CacheStore(join(root, 'cache'));
  return new Map(store.entries().map((e) => [`${e.kind}/${e.key}`, store.readManifest(e.kind, e.key).files]));
}

/** Damaged entries still served + leftovers after the recovery run. */
function audit(root: string, ref: Ref): { damaged: string[]; leftovers: string[] } {
  const store = new CacheStore(join(root, 'cache'));
  const damaged: string[] = [];
  for (const [id, files] of ref) {
    const [kind, key] = id.split('/');
    if (!store.has(kind, key)) { damaged.push(`${id}: missing`); continue; }
    const v = store.verify(kind, key);
    if (!v.ok) damaged.push(`${id}: ${v.problems.join('; ')}`);
    else if (JSON.stringify(store.readManifest(kind, key).files) !== JSON.stringify(files)) damaged.push(`${id}: differs from the clean run`);
  }
  const leftovers: string[] = [];
  const tmp = join(root, 'cache', '.tmp');
  if (existsSync(tmp)) leftovers.push(...readdirSync(tmp).map((n) => `.tmp/${n}`));
  for (const kind of readdirSync(join(root, 'cache'))) {
    if (kind.startsWith('.')) continue;
    for (const n of readdirSync(join(root, 'cache', kind))) if (!/^[0-9a-f]{64}$/.test(n)) leftovers.push(`${kind}/${n}`);
  }
  for (const n of existsSync(join(root, 'fi')) ? readdirSync(join(root, 'fi')) : []) if (n.endsWith('.tmp') || n.endsWith('.lock')) leftovers.push(`fi/${n}`);
  return { damaged, leftovers };
}

let trials = 0;
let recovered = 0;
let servedDamaged = 0;
const failures: string[] = [];

async function trial(name: string, fault: (root: string) => Promise<boolean>, rerunForce?: string, keptOld = false) {
  const root = join(base, `t${trials + failures.length + Math.random().toString(16).slice(2, 6)}`);
  const reached = await fault(root);
  if (!reached) return; // the fault point is not reached on this path: not a trial
  trials++;
  writeFileSync(count, '');
  const r = await child(root, {}, rerunForce);
  const a = audit(root, ref);
  // A killed --force rewrite must leave the old (valid) entries in place: the rerun computes nothing.
  const recomputed = keptOld ? readFileSync(count, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[0]) : [];
  if (recomputed.length) a.damaged.push(`old entries lost by the killed rewrite (recomputed ${recomputed.join(', ')})`);
  if (a.damaged.length) servedDamaged++;
  if (r.code === 0 && a.damaged.length === 0 && a.leftovers.length === 0) recovered++;
  else failures.push(`${name}: exit ${r.code}${a.damaged.length ? `; damaged: ${a.damaged.join(', ')}` : ''}${a.leftovers.length ? `; leftovers: ${a.leftovers.join(', ')}` : ''}${r.code ? `\n${r.err.slice(-800)}` : ''}`);
  process.stdout.write(`${failures.length && failures[failures.length - 1].startsWith(name + ':') ? 'FAIL' : 'ok  '} ${name}\n`);
  rmSync(root, { recursive: true, force: true });
}

const ref = await reference(join(base, 'ref'));
const killAt = (point: string, n: number, force?: string, pre = false) => async (root: string) => {
  if (pre) await child(root);
  const r = await child(root, { MILFLOW_FAULT: `${point}@${n}` }, force);
  return r.signal === 'SIGKILL';
};

// 1. kill -9 at every publish point of a fresh run (each of the 4 publishes).
const points = ['lock:prepared', 'stage:computed', 'publish:file', 'publish:manifest', 'publish:placed', 'lock:release', 'write:json', 'run:identities'];
for (const p of points) for (let n = 1; n <= (quick ? 2 : 4); n++) await trial(`kill at ${p} #${n}`, killAt(p, n));
// 2. kill -9 during a --force rewrite of both models (the old entries must survive).
for (const p of ['stage:computed', 'publish:manifest', 'publish:swap', 'publish:placed', 'lock:release']) for (let n = 1; n <= 2; n++) await trial(`--force rewrite, kill at ${p} #${n}`, killAt(p, n, 'm*', true), undefined, true);

// 3. damaged entries (after a clean run), then a rerun that forces the models (they read the data).
const store = (root: string) => new CacheStore(join(root, 'cache'));
const entry = (root: string, kind: string, id: string) => {
  const s = store(root);
  const e = s.entries().find((x) => x.kind === kind && s.readManifest(x.kind, x.key).id === id)!;
  return s.entryDir(e.kind, e.key);
};
const damage = (f: (root: string) => void) => async (root: string) => { await child(root); f(root); return true; };
const damages: [string, (root: string) => void][] = [
  ['truncated dataset file', (r) => truncateSync(join(entry(r, 't_big', 'data'), 'features.bin'), 4096)],
  ['256 bytes flipped in the dataset file', (r) => { const f = join(entry(r, 't_big', 'data'), 'features.bin'); const b = readFileSync(f); for (let i = 0; i < 256; i++) b[2_000_000 + i] ^= 0xff; writeFileSync(f, b); }],
  ['label column flipped', (r) => { const f = join(entry(r, 't_big', 'data'), 'labels.csv'); writeFileSync(f, readFileSync(f, 'utf8').replace(/,0\n/g, ',X\n').replace(/,1\n/g, ',0\n').replace(/,X\n/g, ',1\n')); }],
  ['half-written manifest', (r) => { const f = join(entry(r, 't_cat', 'agg'), 'manifest.json'); const b = readFileSync(f); writeFileSync(f, b.subarray(0, b.length >> 1)); }],
  ['empty manifest', (r) => writeFileSync(join(entry(r, 't_cat', 'm1'), 'manifest.json'), '')],
  ['manifest metric edited', (r) => { const f = join(entry(r, 't_cat', 'm0'), 'manifest.json'); const m = JSON.parse(readFileSync(f, 'utf8')); m.metrics.sum = 1; writeFileSync(f, JSON.stringify(m, null, 2)); }],
  ['output file deleted', (r) => rmSync(join(entry(r, 't_cat', 'agg'), 'out.txt'))],
  ['extra file in an entry', (r) => writeFileSync(join(entry(r, 't_cat', 'm1'), 'stray.bin'), 'x')],
  ['model output rewritten (same size)', (r) => { const f = join(entry(r, 't_cat', 'm0'), 'out.txt'); const t = readFileSync(f, 'utf8'); writeFileSync(f, t.replace(/\d/, (d) => String((Number(d) + 1) % 10))); }],
];
for (const [what, f] of damages) await trial(`damaged: ${what}`, damage(f), 'm*');

// 4. two runs at once whose publish blocks the event loop past the stale time: each stage once.
{
  const root = join(base, 'race');
  writeFileSync(count, '');
  const env = { MILFLOW_TEST_PUBLISH_BLOCK_MS: '3000', MILFLOW_LOCK_STALE_MS: '1000' };
  const [x, y] = await Promise.all([child(root, env), child(root, env)]);
  trials++;
  const execs = readFileSync(count, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
  const twice = [...new Set(execs)].filter((id) => execs.filter((e) => e === id).length > 1);
  const a = audit(root, ref);
  if (a.damaged.length) servedDamaged++;
  if (x.code === 0 && y.code === 0 && twice.length === 0 && !a.damaged.length && !a.leftovers.length) recovered++;
  else failures.push(`concurrent runs: exits ${x.code}/${y.code}; computed twice: ${twice.join(', ') || 'none'}; ${a.damaged.join(', ')} ${a.leftovers.join(', ')}`);
  process.stdout.write(`${failures.length && failures[failures.length - 1].startsWith('concurrent') ? 'FAIL' : 'ok  '} two concurrent runs, publish blocking 3 s > stale 1 s\n`);
}

rmSync(base, { recursive: true, force: true });
for (const f of failures) process.stdout.write(`\n${f}\n`);
process.stdout.write(`\ntrials: ${trials}\nrecovered: ${recovered}\nserved damaged: ${servedDamaged}\n`);
process.exit(recovered === trials && servedDamaged === 0 ? 0 : 1);
