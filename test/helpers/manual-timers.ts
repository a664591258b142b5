import type { Timers } from '../../src/session/timers.js';

/**
 * A hand-driven clock: nothing fires until `advance()`. Timers due at the same time fire in creation
 * order; a timer created while advancing fires in the same advance if it falls due within it.
 */
export class ManualTimers implements Timers {
  /** `start`: what `now()` reads before any advance. */
  constructor(private time = 1_000_000) {}

  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.pending.set(id, { at: this.time + ms, fn });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    if (typeof handle === 'number') this.pending.delete(handle);
  };

  now = (): number => this.time;

  /** Timers scheduled and not yet fired or cleared. */
  get count(): number {
    return this.pending.size;
  }

  /** Delays (from now) of the pending timers, sorted. */
  get dueIn(): number[] {
    return [...this.pending.values()].map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.pending) {
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.pending.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
    }
    this.time = end;
  }
}
