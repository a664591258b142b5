/**
 * Runs the built mqttwire CLI as a child process (`node dist/esm/cli/main.js ...`, what the package's
 * `bin` points at; vitest's global setup builds dist when it is stale). Every run is bounded: past `timeoutMs` the child is SIGKILLed and the
 * run rejects with what it printed. Children still alive when the test process exits are killed.
 *
 *   const r = await runCli(['pub', '-L', url, '-t', 'a', '-m', 'hi']);      // waits for exit
 *   const sub = startCli(['sub', '-L', url, '-t', 'a', '-d']);              // keeps running
 *   await sub.waitFor('stderr', /< SUBACK/);
 *   sub.kill('SIGINT'); const r = await sub.done;
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = 'dist/esm/cli/main.js';
/**
 * A run costs a fresh Node process, seconds of wall time on a busy machine: the bounds leave room
 * for that. A child outliving its bound is killed; a test outliving
 * TEST_TIMEOUT_MS fails (and afterAll kills what it left running).
 */
export const DEFAULT_TIMEOUT_MS = 40_000;
export const TEST_TIMEOUT_MS = 60_000;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From spawn to exit. */
  ms: number;
}

export interface CliOptions {
  /** Written to stdin, which is then closed. Without it stdin is closed at once (unless keepStdinOpen). */
  input?: string | Uint8Array;
  keepStdinOpen?: boolean;
  /** Added to a copy of the environment without MQTTWIRE_DEBUG and MQTTWIRE_PASSWORD. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface CliRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in that stream (already printed or still to come). */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves at exit; rejects (after SIGKILL) if the run outlives its timeout. */
  done: Promise<CliResult>;
  kill(signal?: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** SIGKILLs every CLI child still running (for afterAll). */
export function killAllCli(): void {
  for (const c of live) c.kill('SIGKILL');
}

export function startCli(args: string[], options: CliOptions = {}): CliRun {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'MQTTWIRE_DEBUG' && k !== 'MQTTWIRE_PASSWORD') env[k] = v;
  Object.assign(env, options.env);
  const started = performance.now();
  const child = spawn(process.execPath, [ENTRY, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const listeners = new Set<() => void>();
  let closed = false;
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  child.stdout?.on('data', (b: Buffer) => {
    out.push(b);
    notify();
  });
  child.stderr?.on('data', (b: Buffer) => {
    err.push(b);
    notify();
  });
  child.stdin?.on('error', () => {}); // the CLI may exit before reading all of its input
  if (options.input !== undefined) child.stdin?.end(options.input);
  else if (!options.keepStdinOpen) child.stdin?.end();

  const stdout = (): string => Buffer.concat(out).toString('utf8');
  const stderr = (): string => Buffer.concat(err).toString('utf8');
  const describe = (): string => `mqttwire ${args.join(' ')}\n--- stdout ---\n${stdout().slice(-3000)}\n--- stderr ---\n${stderr().slice(-3000)}`;

  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI still running after ${timeoutMs} ms, killed: ${describe()}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      closed = true;
      clearTimeout(timer);
      live.delete(child);
      notify();
      resolve({ code, signal, stdout: stdout(), stderr: stderr(), ms: performance.now() - started });
    });
  });
  done.catch(() => {}); // the caller awaits it; an early test failure must not leave an unhandled rejection

  return {
    child,
    stdout,
    stderr,
    done,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
    waitFor(stream, pattern, waitMs = timeoutMs) {
      const text = stream === 'stdout' ? stdout : stderr;
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = text().match(pattern);
          if (m) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(m);
          } else if (closed) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`CLI exited (${child.exitCode ?? child.signalCode}) before ${stream} matched ${String(pattern)}: ${describe()}`));
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${stream} did not match ${String(pattern)} within ${waitMs} ms: ${describe()}`));
        }, waitMs);
        listeners.add(check);
        check();
      });
    },
  };
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
