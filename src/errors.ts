// The errors milflow raises on purpose, and what each means for the exit code, in one place.
// `milflow` (src/cli/main.ts) prints the message and exits with exitCodeOf(err): 2 when the user
// can fix the call or the input (spec, command line, data files), 1 when a run or a stage failed,
// 130 when interrupted. Anything else is a bug or an environment problem: 1, with its message.

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** The command line is wrong (option value, missing argument). */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Where bad input was found: a file (and line), or a slide. */
export interface InputPlace { file?: string; line?: number; slide?: string }

/** An input file or slide is unusable; the message names it (file:line, or slide). */
export class InputError extends Error {
  readonly exitCode = EXIT.usage;
  constructor(message: string, readonly where: InputPlace = {}) {
    const at = where.file ? `${where.file}${where.line ? `:${where.line}` : ''}` : where.slide ? `slide ${where.slide}` : '';
    super(at && !message.startsWith(at) ? `${at}: ${message}` : message);
    this.name = 'InputError';
  }
}

/** Which stage failed, and where its log is. */
export interface StagePlace { stageId?: string; kind?: string; logPath?: string }

/**
 * A stage failed. Every failure of a run's stage becomes one (src/exec/orchestrator.ts), whatever
 * ran it (in this process, a worker, a batch job), so the user always reads the same line:
 * `<stage id>: <reason> (log: <path>)` — `milflow run` prefixes it with "failed: ".
 */
export class StageError extends Error {
  readonly exitCode = EXIT.failed;
  readonly stageId?: string;
  readonly kind?: string;
  readonly logPath?: string;
  /** The failure alone, without the stage id and log (what the run record keeps as `error`). */
  readonly reason: string;
  constructor(message: string, where: string | StagePlace = {}, options?: { cause?: unknown }) {
    const w = typeof where === 'string' ? { stageId: where } : where;
    const named = w.stageId && !message.startsWith(`${w.stageId}: `) ? `${w.stageId}: ${message}` : message;
    super(w.logPath ? `${named} (log: ${w.logPath})` : named, options);
    this.name = 'StageError';
    this.stageId = w.stageId;
    this.kind = w.kind;
    this.logPath = w.logPath;
    this.reason = message;
  }
}

/**
 * The exit code an error means. SpecError (src/spec/errors.ts) and DatasetError
 * (src/datasets/types.ts) carry exitCode 2 like UsageError and InputError.
 */
export function exitCodeOf(err: unknown): number {
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  return typeof code === 'number' ? code : EXIT.failed;
}
