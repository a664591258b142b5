/**
 * Child processes for the benches that run their clients in processes of their own (e2e, clients,
 * soak): each in its own process group, killed group-wide on timeout and when the bench exits, so
 * no run leaves a worker behind. Workers report one `result {json}` line on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) killGroup(c, 'SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => process.exit(130));
}

export function spawnChild(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true, env });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.on('error', () => live.delete(child));
  child.stdin?.on('error', () => undefined);
  return child;
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
}

/** Calls `onLine` for every complete line of `stream`. */
export function onLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let rest = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) onLine(line);
  });
  stream?.on('end', () => {
    if (rest) onLine(rest);
    rest = '';
  });
}

export function collect(stream: NodeJS.ReadableStream | null): () => string {
  let text = '';
  stream?.on('data', (chunk: Buffer | string) => {
    text += chunk.toString();
  });
  return () => text;
}

export function timeout(ms: number): { promise: Promise<'timeout'>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

/** The worker's `result {json}` line, parsed. */
export function parseResult<T>(stdout: string): T | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('result '));
  return line ? (JSON.parse(line.slice('result '.length)) as T) : undefined;
}
