import { TimeoutError } from '../errors.js';
import { Deadline } from '../session/deadline.js';
import { EMPTY_SET, own } from '../session/lazy-collections.js';
import type { Timers } from '../session/timers.js';

/**
 * subscribe()/unsubscribe() calls made while the client is (re)connecting: each waits, bounded by
 * `ms` and its signal, for the next CONNACK; all are released or failed together.
 */
export class ReadyWaiters {
  private waiting: Set<Deadline<void>> = EMPTY_SET;

  constructor(
    private readonly timers: Timers,
    private readonly ms: number,
  ) {}

  /** Resolves on the next connection; rejects with TimeoutError after `ms`, AbortError when `signal` aborts. */
  async wait(what: string, signal: AbortSignal | undefined): Promise<void> {
    const ms = this.ms;
    const waiter = new Deadline<void>(this.timers, () => new TimeoutError(`cannot ${what}: not connected within ${ms} ms`)).arm(ms).abortOn(signal);
    (this.waiting = own(this.waiting)).add(waiter);
    try {
      await waiter.promise;
    } finally {
      this.waiting.delete(waiter);
    }
  }

  /** Connected: every call waiting goes on. */
  release(): void {
    for (const w of this.waiting) w.resolve();
    this.waiting.clear();
  }

  /** The client closed: every call waiting fails with `err`. */
  fail(err: Error): void {
    for (const w of this.waiting) w.reject(err);
    this.waiting.clear();
  }
}
