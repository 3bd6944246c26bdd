// Worker entry inside a Slurm job: `node --import tsx src/exec/slurm-worker.ts JOB.json RESULT.json`.
// The local worker (src/exec/worker.ts) talks to its parent over an IPC channel, which a batch job
// does not have; this entry runs the very same harness (src/exec/harness.ts runJob) with the job
// read from a file, its messages written to stdout as prefixed JSON lines (the executor follows
// the job's stdout file), and the result written atomically to RESULT.json (`%j` → job id).
import { readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../io/atomic.ts';
import { loadKind, registerStageKind } from '../stages/registry.ts';
import { runJob, type StageJob, type WorkerMessage } from './harness.ts';

/** Marks worker messages among whatever else a stage prints to stdout. */
export const MESSAGE_PREFIX = '@@milflow ';

type Outcome = { ok: true; result: unknown } | { ok: false; message: string; stack?: string };

function emit(m: WorkerMessage): void {
  process.stdout.write(MESSAGE_PREFIX + JSON.stringify(m) + '\n');
}

function writeOutcome(path: string, o: Outcome): void {
  writeJsonAtomic(path, o);
}

async function main(): Promise<number> {
  const [jobFile, resultTpl] = process.argv.slice(2);
  if (!jobFile || !resultTpl) {
    console.error('usage: slurm-worker.ts JOB.json RESULT.json (started by the Slurm executor)');
    return 2;
  }
  const resultPath = resultTpl.replace('%j', process.env.SLURM_JOB_ID ?? 'nojob');
  const abort = new AbortController();
  // scancel sends SIGTERM first: let the stage stop cleanly; Slurm kills after KillWait anyway.
  process.on('SIGTERM', () => { abort.abort(); setTimeout(() => process.exit(143), 2000).unref(); });
  try {
    const job = JSON.parse(readFileSync(jobFile, 'utf8')) as StageJob;
    for (const path of Object.values(job.modules ?? {})) await registerStageKind(path);
    const kind = await loadKind(job.kind);
    const result = await runJob(kind, job, abort.signal, emit);
    writeOutcome(resultPath, { ok: true, result });
    return 0;
  } catch (err: any) {
    const message = String(err?.message ?? err);
    writeOutcome(resultPath, { ok: false, message, stack: err?.stack });
    console.error(err?.stack ?? message);
    return 1;
  }
}

// Stages may leave handles (thread pools) open: exit explicitly, after stdout drained.
main().then((code) => process.stdout.write('', () => process.exit(code)));
