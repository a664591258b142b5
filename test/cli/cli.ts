/**
 * Runs the built mqttwire CLI as a child process (`node dist/esm/cli/main.js ...`, what the package's
 * `bin` points at; vitest's global setup builds dist when it is stale), through startChild
 * (test/helpers/child.ts): every run is bounded, and children still alive at exit are killed.
 *
 *   const r = await runCli(['pub', '-L', url, '-t', 'a', '-m', 'hi']);      // waits for exit
 *   const sub = startCli(['sub', '-L', url, '-t', 'a', '-d']);              // keeps running
 *   await sub.waitFor('stderr', /< SUBACK/);
 *   sub.kill('SIGINT'); const r = await sub.done;
 */
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Output } from '../../src/cli/io.js';
import { main } from '../../src/cli/run.js';
import { killAllChildren, startChild, type ChildResult, type ChildRun } from '../helpers/child.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = 'dist/esm/cli/main.js';
/**
 * A run costs a fresh Node process, seconds of wall time on a busy machine: the bounds leave room
 * for that. A child outliving its bound is killed; a test outliving
 * TEST_TIMEOUT_MS fails (and afterAll kills what it left running).
 */
export const DEFAULT_TIMEOUT_MS = 40_000;
export const TEST_TIMEOUT_MS = 60_000;

/** What a finished CLI run printed, and how it ended. */
export type CliResult = ChildResult;

export interface CliOptions {
  /** Written to stdin, which is then closed. Without it stdin is closed at once (unless keepStdinOpen). */
  input?: string | Uint8Array;
  keepStdinOpen?: boolean;
  /** Added to a copy of the environment without MQTTWIRE_DEBUG and MQTTWIRE_PASSWORD. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export type CliRun = ChildRun;

/** SIGKILLs every CLI child still running (for afterAll). */
export const killAllCli = killAllChildren;

export function startCli(args: string[], options: CliOptions = {}): CliRun {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'MQTTWIRE_DEBUG' && k !== 'MQTTWIRE_PASSWORD') env[k] = v;
  Object.assign(env, options.env);
  return startChild(process.execPath, [ENTRY, ...args], {
    cwd: ROOT,
    env,
    input: options.input,
    keepStdinOpen: options.keepStdinOpen,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    label: `mqttwire ${args.join(' ')}`,
  });
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Starts `mqttwire sub ... -d` and resolves once its SUBACK arrived (the debug log says so). */
export async function startSubscribed(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const run = startCli([...args, '-d'], options);
  await run.waitFor('stderr', /< SUBACK/);
  return run;
}

/** stderr without the --debug packet log. */
export function diagnostics(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !l.startsWith('mqttwire debug:'));
}

/** Runs main() in this process with captured streams (only for runs that never reach a broker). */
export async function runInProcess(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (b: Buffer) => out.push(b));
  stderr.on('data', (b: Buffer) => err.push(b));
  const code = await main(argv, { stdout: new Output(stdout), stderr, stdin: new PassThrough(), env });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}
