// What tests that drive the real CLI share: run `bin/milflow.mjs` (or another node script) as a
// child process and capture what it printed, find the run folder it announced, wait for files it
// writes, and give each test a temp folder that goes away when the test ends, passed or failed.
import { after, type TestContext } from 'node:test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document, visit } from 'yaml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'milflow.mjs');

/** Exit code (null when killed or timed out) and the two streams as text. */
export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

export interface ChildOptions {
  cwd?: string;
  /** Added to (or overriding) this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds before the child is killed (sync runs only). */
  timeout?: number;
}

/**
 * This process's environment plus `extra`, without NODE_TEST_CONTEXT: the test runner sets it
 * for the test file, and a child that inherits it and loads node:test (a test file run in its
 * child mode) would report in the runner's protocol instead of printing.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** `node ...args` to completion. */
export function runNode(args: string[], o: ChildOptions = {}): CliResult {
  const r = spawnSync(process.execPath, args, { cwd: o.cwd, env: childEnv(o.env), encoding: 'utf8', timeout: o.timeout ?? 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `milflow ...args` to completion. */
export function runCli(args: string[], o: ChildOptions = {}): CliResult {
  return runNode([BIN, ...args], o);
}

/** `milflow ...args` in `cwd`, to completion (the form most tests call). */
export function milflow(cwd: string, ...args: string[]): CliResult {
  return runCli(args, { cwd });
}

export interface Started {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  /** The exit code, once the process has exited (its pipes may still be open). */
  exited: Promise<number | null>;
  /** Exit code and both streams in full, once the pipes have closed too. */
  closed: Promise<CliResult>;
}

/** `node ...args` in the background, both streams captured (for tests that signal or race it). */
export function startNode(args: string[], o: ChildOptions = {}): Started {
  const child = spawn(process.execPath, args, { cwd: o.cwd, env: childEnv(o.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let all = '';
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; all += d; });
  child.stderr!.on('data', (d) => { err += d; all += d; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const closed = new Promise<CliResult>((r) => child.on('close', (code) => r({ code, out, err })));
  return { child, output: () => all, exited, closed };
}

/** `node ...args` as `n` processes at once (for races between orchestrators); their results in start order. */
export function runAtOnce(n: number, args: string[], o: ChildOptions = {}): Promise<CliResult[]> {
  return Promise.all(Array.from({ length: n }, () => startNode(args, o).closed));
}

/** `milflow ...args` in the background. */
export function startCli(args: string[], o: ChildOptions = {}): Started {
  return startNode([BIN, ...args], o);
}

/**
 * A path the CLI printed as `<label>: <path>` (`run:`, `report:`), resolved against the
 * directory it ran in.
 */
export function printedPath(cwd: string, out: string, label = 'run'): string {
  const m = new RegExp(`${label}: (.+)`).exec(out);
  if (!m) throw new Error(`no "${label}: <path>" line in the output:\n${out}`);
  return join(cwd, m[1].trim());
}

/** The newest run folder under runs/<experiment>/, or undefined before the first one appears. */
export function newestRunDir(experimentDir: string): string | undefined {
  if (!existsSync(experimentDir)) return undefined;
  const run = readdirSync(experimentDir).filter((n) => /^\d{8}-/.test(n)).sort().pop();
  return run ? join(experimentDir, run) : undefined;
}

/*
 * Test files that race orchestrators run copies of themselves as children: the parent passes a
 * JSON payload in an environment variable (runAtOnce / startNode with `env`), the child runs its
 * stage and ends with exitWithStageStatus, and the parent reads that back with printedStageStatus.
 */

/** The payload this process was started with as a child, or undefined in the test run itself. */
export function childPayload(envVar: string): any {
  const raw = process.env[envVar];
  return raw ? JSON.parse(raw) : undefined;
}

/** Prints the first stage's status as the child's last line and exits with the run's exit code. */
export function exitWithStageStatus(result: { exitCode: number; record: { stages: { status: string }[] } }): never {
  process.stdout.write(JSON.stringify({ status: result.record.stages[0].status }) + '\n');
  process.exit(result.exitCode);
}

/** The stage status a child printed last (see exitWithStageStatus). */
export function printedStageStatus(out: string): string {
  return JSON.parse(out.trim().split('\n').pop()!).status;
}

export function readJson(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** A run folder's record.json, untyped: tests also read and rewrite what RunRecord leaves out. */
export function readRunRecord(runDir: string): any {
  return readJson(join(runDir, 'record.json'));
}

/** Non-empty lines of a file; none while it does not exist yet. */
export function fileLines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until it holds; throws naming `what` (evaluated at the time-out) after `ms`. */
export async function waitFor(cond: () => boolean, ms: number, what: string | (() => string), everyMs = 50): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(everyMs);
  }
}

/** The PID of a process that has already exited (for records whose owner must look dead). */
export function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

/**
 * A new folder under the OS temp dir, removed when test `t` ends (passed or failed); without
 * `t`, when the tests of the calling file are done.
 */
export function tempDir(prefix: string, t?: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  if (t) t.after(remove);
  else after(remove);
  return dir;
}

/** Writes `text` as `dir/<file>` and returns its path. */
export function writeSpec(dir: string, text: string, file = 'spec.yaml'): string {
  const path = join(dir, file);
  writeFileSync(path, text);
  return path;
}

/**
 * A spec as YAML from its sections, written the way people write specs (top-level sections in
 * block style, anything deeper in flow style). Classes default to normal/tumor; a `task` given
 * replaces that.
 */
export function specYaml(sections: Record<string, unknown>): string {
  const doc = new Document({ name: undefined, dataset: undefined, task: { classes: ['normal', 'tumor'] }, ...sections });
  const flowBelowSections = (_key: unknown, node: { flow?: boolean }, path: readonly unknown[]) => {
    if (path.length >= 4) node.flow = true;
  };
  visit(doc, { Map: flowBelowSections, Seq: flowBelowSections });
  return doc.toString();
}

/**
 * A small experiment on synthetic bags, on the CPU with one CLAM-SB model unless `resources` or
 * `models` say otherwise (each section given replaces the default whole).
 */
export function syntheticSpec({ name, synthetic, ...sections }: { name: string; synthetic: Record<string, unknown> } & Record<string, unknown>): string {
  return specYaml({ name, dataset: { synthetic }, models: [{ name: 'clam_sb', type: 'clam_sb' }], resources: { devices: ['cpu'] }, ...sections });
}
