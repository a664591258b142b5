/**
 * Exponential backoff with full jitter: attempt n waits a random time in [0, min(max, initial * 2^n)].
 * Full jitter spreads clients that lost the same broker at the same moment, so a broker restart
 * is not followed by every client reconnecting in lockstep.
 */
export interface BackoffOptions {
  /** ms; the cap of the first delay (default 1,000). */
  initialDelay?: number;
  /** ms; no delay is longer (default 30,000). */
  maxDelay?: number;
  /** ms a connection must stay up before the next loss starts again from the first delay (default 10,000). */
  resetAfter?: number;
}

export class Backoff {
  readonly initialDelay: number;
  readonly maxDelay: number;
  readonly resetAfter: number;
  private attempt = 0;

  constructor(options: BackoffOptions = {}, private readonly random: () => number = Math.random) {
    this.initialDelay = Math.max(0, options.initialDelay ?? 1000);
    this.maxDelay = Math.max(this.initialDelay, options.maxDelay ?? 30_000);
    this.resetAfter = Math.max(0, options.resetAfter ?? 10_000);
  }

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt, in ms. */
  next(): number {
    // 2^n overflows to Infinity after ~1024 attempts, which min() turns back into maxDelay.
    const cap = Math.min(this.maxDelay, this.initialDelay * 2 ** this.attempt);
    this.attempt++;
    return Math.floor(this.random() * cap);
  }

  reset(): void {
    this.attempt = 0;
  }
}
