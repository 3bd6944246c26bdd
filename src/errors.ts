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

/** A stage (or a whole run) failed; the message names the stage. */
export class StageError extends Error {
  readonly exitCode = EXIT.failed;
  constructor(message: string, readonly stageId?: string) {
    super(stageId && !message.startsWith(stageId) ? `${stageId}: ${message}` : message);
    this.name = 'StageError';
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
