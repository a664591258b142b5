import type { Readable, Writable } from 'node:stream';

/**
 * Standard output for results. Writes wait for 'drain' (so a slow reader slows the subscription
 * down instead of filling memory), and a reader that went away (EPIPE: `mqttwire sub | head -1`)
 * ends the run quietly: `closed` turns true and `onClose` fires once.
 */
export class Output {
  closed = false;
  private closeHandlers: (() => void)[] = [];

  constructor(private readonly stream: Writable) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') {
        process.stderr.write(`mqttwire: cannot write to standard output: ${err.message}\n`);
      }
      this.markClosed();
    });
  }

  /** Runs `handler` when the reader goes away (at once if it already has). */
  onClose(handler: () => void): void {
    if (this.closed) handler();
    else this.closeHandlers.push(handler);
  }

  async write(chunk: string | Uint8Array): Promise<void> {
    if (this.closed) return;
    if (this.stream.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        this.stream.off('error', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
      this.stream.on('error', done);
    });
  }

  /** Resolves once everything written has reached the OS (or the reader is gone). */
  async flush(): Promise<void> {
    if (this.closed || this.stream.writableLength === 0) return;
    await new Promise<void>((resolve) => this.stream.write('', () => resolve()));
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.closeHandlers.splice(0)) h();
  }
}

/** What a command gets from the process (kept in one place so commands never touch `process` for I/O). */
export interface Context {
  /** The command name, for messages: `mqttwire pub: ...`. */
  command: string;
  out: Output;
  /** One diagnostic line on stderr (the newline is added). */
  info(line: string): void;
  stderr: Writable;
  stderrIsTTY: boolean;
  stdin: Readable;
  env: Record<string, string | undefined>;
  debug: boolean;
}

/**
 * Calls `handler` on the first SIGINT or SIGTERM; a second one exits at once with 130.
 * Returns a function that removes the handlers.
 */
export function onInterrupt(handler: () => void): () => void {
  let count = 0;
  const listener = (): void => {
    count++;
    if (count === 1) handler();
    else process.exit(130);
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}

/** A live line on a terminal's stderr (count, rate...), redrawn in place; does nothing when disabled. */
export class StatusLine {
  private shown = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly stream: Writable,
    readonly enabled: boolean,
  ) {}

  /** Redraws with `render()` every `everyMs` until stop(). */
  start(render: () => string, everyMs = 200): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => this.show(render()), everyMs);
    this.timer.unref();
  }

  show(text: string): void {
    if (!this.enabled) return;
    this.stream.write(`\r\x1b[2K${text}`);
    this.shown = true;
  }

  /** Stops redrawing and erases the line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `1234.5` -> `1235`, `12.345` -> `12.3`, `0.1234` -> `0.123`: enough digits to read, no more. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const abs = Math.abs(n);
  if (abs >= 100) return Math.round(n).toString();
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(abs >= 1 ? 2 : 3);
}
