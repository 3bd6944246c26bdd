// `milflow status [spec.yaml | --run DIR]`: the last run — counts, failed stages with their
// errors, stages still running (or left running by a crashed orchestrator).
import type { Command } from 'commander';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadSpec } from '../spec/load.ts';
import { OUT_OPTION, outputRoot } from '../dag/plan.ts';
import { CacheStore } from '../cache/store.ts';
import { readEvents } from '../records/events.ts';
import { readRecord, runDirs, thisHost, type RunRecord } from '../records/journal.ts';

export function register(program: Command): void {
  program
    .command('status')
    .description('summarise the last run of an experiment (or the run in --run DIR)')
    .argument('[spec]', 'experiment YAML file')
    .option('--run <dir>', 'a run directory (runs/<experiment>/<run-id>)')
    .option('--json', 'print the run record as JSON')
    .option('--verify', "recompute the file digests of the run's cache entries and compare them with their manifests")
    .option(...OUT_OPTION)
    .addHelpText('after', '\nExit status: 0 succeeded (or still running), 1 failed, 3 interrupted or crashed, 1 when --verify finds corrupt entries.')
    .action(async (specPath: string | undefined, o: { run?: string; json?: boolean; verify?: boolean; out?: string }) => {
      const dir = o.run ? resolve(o.run) : await lastRun(specPath, o.out);
      if (!dir || !existsSync(join(dir, 'record.json'))) {
        throw new Error(dir ? `no run record in ${dir}` : 'no runs found (give the spec or --run DIR)');
      }
      const rec = readRecord(dir);
      // Scripts and CI ask `milflow status` whether the last run is usable.
      process.exitCode = statusExitCode(rec);
      if (o.json) { process.stdout.write(JSON.stringify(rec, null, 2) + '\n'); return; }
      process.stdout.write(statusText(dir, rec));
      if (o.verify) {
        // The cache sits beside the experiment directories: <root>/<experiment>/<run>/ → <root>/cache.
        const store = new CacheStore(join(dir, '..', '..', 'cache'));
        const touched = touchedEntries(dir, rec);
        let bad = 0;
        let n = 0;
        for (const e of touched) {
          if (!store.has(e.kind, e.key)) {
            // A stage that started but never ended (crash) may not have published: nothing to check.
            if (!e.mustExist) continue;
            n++; bad++;
            process.stdout.write(`  missing: ${e.id} (${e.kind}/${e.key}): the run ${e.why} it, but the cache has no entry\n`);
            continue;
          }
          n++;
          const v = await store.verifyAsync(e.kind, e.key);
          if (!v.ok) { bad++; process.stdout.write(`  corrupt: ${e.id} (${e.kind}/${e.key}): ${v.problems.join('; ')}\n`); }
        }
        process.stdout.write(`  verified ${n} cache entries${rec.status === 'running' ? ' (run not finished: entries from its events)' : ''}: ${bad ? `${bad} damaged or missing` : 'all match their manifests'}\n`);
        if (bad) process.exitCode = process.exitCode || 1;
      }
    });
}

/**
 * Every cache entry a run read or wrote, from its record and its events (a crashed or running
 * run's record.json still says 'pending' for every stage; its events say what happened).
 */
export function touchedEntries(dir: string, rec: RunRecord): { id: string; kind: string; key: string; mustExist: boolean; why: string }[] {
  const out = new Map<string, { id: string; kind: string; key: string; mustExist: boolean; why: string }>();
  const add = (id: string, kind: string, key: string, mustExist: boolean, why: string) => {
    const k = `${kind}/${key}`;
    const cur = out.get(k);
    if (!cur || (mustExist && !cur.mustExist)) out.set(k, { id, kind, key, mustExist, why });
  };
  for (const s of rec.stages) if (s.status === 'executed' || s.status === 'cached') add(s.id, s.kind, s.key, true, s.status === 'executed' ? 'executed' : 'read');
  for (const e of readEvents(dir)) {
    if (e.type === 'run-start') for (const s of e.stages) if (s.action === 'cached') add(s.id, s.kind, s.key, false, 'planned to read');
    if (e.type === 'stage-start') add(e.id, e.kind, e.key, false, 'started');
    if (e.type === 'stage-end' && (e.status === 'executed' || e.status === 'cached')) add(e.id, e.kind, e.key, true, e.status === 'executed' ? 'executed' : 'read');
  }
  return [...out.values()];
}

/** 0 succeeded or running, 1 failed, 3 interrupted, or left 'running' by a dead orchestrator. */
export function statusExitCode(rec: RunRecord): number {
  if (rec.status === 'failed') return 1;
  if (rec.status === 'interrupted') return 3;
  if (rec.status === 'running' && rec.host === thisHost && !alive(rec.pid)) return 3;
  return 0;
}

async function lastRun(specPath?: string, out?: string): Promise<string | null> {
  if (specPath) {
    const loaded = await loadSpec(specPath, { checkFiles: false });
    return runDirs(outputRoot(loaded, out), loaded.spec.name).pop() ?? null;
  }
  // No spec: the newest run of any experiment under --out or ./runs.
  const root = resolve(out ?? 'runs');
  let best: string | null = null;
  let bestName = '';
  for (const exp of existsSync(root) ? readdirSync(root) : []) {
    if (exp === 'cache' || !statSync(join(root, exp)).isDirectory()) continue;
    const last = runDirs(root, exp).pop();
    const name = last?.split('/').pop() ?? '';
    if (last && name > bestName) { best = last; bestName = name; }
  }
  return best;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e: any) { return e?.code === 'EPERM'; }
}

export function statusText(dir: string, rec: RunRecord): string {
  const lines: string[] = [];
  let status: string = rec.status;
  if (rec.status === 'running' && rec.host === thisHost && !alive(rec.pid)) status = 'crashed (orchestrator no longer running; rerun to resume)';
  const c = rec.counts;
  lines.push(`run ${rec.runId} of ${rec.experiment}: ${status}`);
  lines.push(`  started ${rec.started}${rec.finished ? `, finished ${rec.finished} (${(rec.seconds ?? 0).toFixed(1)} s)` : ''} on ${rec.host}, milflow ${rec.milflowVersion}`);
  // A running record still holds its start-time counts; the events say how far it got.
  if (rec.status !== 'running') lines.push(`  ${rec.stages.length} stages: ${c.executed} executed, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped`);
  // Live state comes from the events (record.json is rewritten only at the start and the end).
  const ended = new Map<string, { status: string; error?: string; log?: string }>();
  const started = new Map<string, string>();
  const progress = new Map<string, string>();
  for (const e of readEvents(dir)) {
    if (e.type === 'stage-start') started.set(e.id, e.time);
    if (e.type === 'stage-progress') progress.set(e.id, `${e.done}/${e.total}${e.note ? ` ${e.note}` : ''}`);
    if (e.type === 'stage-end') ended.set(e.id, { status: e.status, error: e.error, log: e.log });
  }
  if (rec.status === 'running') {
    const done = [...ended.values()];
    const n = (s: string) => done.filter((d) => d.status === s).length;
    lines.push(`  so far: ${n('executed')} executed, ${n('cached')} cached, ${n('failed')} failed, ${n('skipped')} skipped of ${rec.stages.length}`);
    const running = [...started].filter(([id]) => !ended.has(id));
    if (running.length) {
      lines.push(`  ${status.startsWith('crashed') ? 'interrupted while running' : 'running'}:`);
      for (const [id, t] of running) lines.push(`    ${id} (since ${t}${progress.has(id) ? `; ${progress.get(id)}` : ''})`);
    }
  }
  const failed = rec.status === 'running'
    ? [...ended].filter(([, v]) => v.status === 'failed').map(([id, v]) => ({ id, error: v.error, log: v.log }))
    : rec.stages.filter((s) => s.status === 'failed');
  if (failed.length) {
    lines.push('  failed:');
    // As `milflow run` says it (src/errors.ts StageError): the reason, then the stage's log.
    for (const f of failed) lines.push(`    ${f.id}: ${f.error ?? '(no message)'}${f.log ? ` (log: ${f.log})` : ''}`);
  }
  lines.push(`  record: ${dir}`);
  return lines.join('\n') + '\n';
}
