/**
 * A child process a test can watch while it runs: wait for a line on stdout or stderr, send it a
 * signal, await its exit. Every run is bounded: past `timeoutMs` the child is SIGKILLed and `done`
 * rejects with what it printed. Children still alive when the test process exits are killed.
 *
 *   const run = startChild(process.execPath, ['server.js'], { cwd, label: 'server' });
 *   await run.waitFor('stdout', /listening on (\d+)/);
 *   run.kill('SIGTERM');
 *   const { code } = await run.done;
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From spawn to exit. */
  ms: number;
}

export interface ChildOptions {
  cwd: string;
  /** The whole environment of the child (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. Without it stdin is closed at once (unless keepStdinOpen). */
  input?: string | Uint8Array;
  keepStdinOpen?: boolean;
  timeoutMs: number;
  /** How failure messages name the run (default: the command line). */
  label?: string;
}

export interface ChildRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in that stream (already printed or still to come). */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves at exit; rejects (after SIGKILL) if the run outlives its timeout. */
  done: Promise<ChildResult>;
  kill(signal?: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** SIGKILLs every child this process started with startChild and that is still running (for afterAll). */
export function killAllChildren(): void {
  for (const c of live) c.kill('SIGKILL');
}

export function startChild(command: string, args: string[], options: ChildOptions): ChildRun {
  const started = performance.now();
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
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
  child.stdin?.on('error', () => {}); // the child may exit before reading all of its input
  if (options.input !== undefined) child.stdin?.end(options.input);
  else if (!options.keepStdinOpen) child.stdin?.end();

  const stdout = (): string => Buffer.concat(out).toString('utf8');
  const stderr = (): string => Buffer.concat(err).toString('utf8');
  const label = options.label ?? [command, ...args].join(' ');
  const describe = (): string => `${label}\n--- stdout ---\n${stdout().slice(-3000)}\n--- stderr ---\n${stderr().slice(-3000)}`;

  const { timeoutMs } = options;
  const done = new Promise<ChildResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${timeoutMs} ms, killed: ${describe()}`));
    }, timeoutMs);
    child.on('error', (e) => err.push(Buffer.from(`\n[spawn error] ${e.message}\n`)));
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
            reject(new Error(`exited (${child.exitCode ?? child.signalCode}) before ${stream} matched ${String(pattern)}: ${describe()}`));
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

/** A readable account of a finished run for assertion messages. */
export function describeResult(what: string, r: ChildResult): string {
  const tail = (s: string): string => (s.length > 4000 ? `...${s.slice(-4000)}` : s);
  return `${what}: exit ${r.code ?? r.signal} after ${Math.round(r.ms)} ms\n--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}`;
}
