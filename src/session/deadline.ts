import type { MqttError } from '../errors.js';
import type { Timers } from './timers.js';

/**
 * One operation waiting for the broker: it settles exactly once, whichever of resolve, reject or
 * its timer comes first. The timer starts with `arm()`, when the request actually goes out, so
 * time spent waiting in a queue does not count against the broker.
 */
export class Deadline<T> {
  readonly promise: Promise<T>;
  private resolveFn!: (value: T) => void;
  private rejectFn!: (err: unknown) => void;
  private timer: unknown;
  settled = false;

  constructor(
    private readonly timers: Timers,
    private readonly onTimeout: () => MqttError,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  /** Starts (or restarts) the timer; 0 or Infinity means no deadline. */
  arm(timeoutMs: number): this {
    this.timers.clearTimeout(this.timer);
    if (!this.settled && timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      this.timer = this.timers.setTimeout(() => this.reject(this.onTimeout()), timeoutMs);
    }
    return this;
  }

  /** Stops the timer without settling (the request is paused, e.g. while reconnecting). */
  disarm(): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  resolve(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.timers.clearTimeout(this.timer);
    this.resolveFn(value);
  }

  reject(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.timers.clearTimeout(this.timer);
    this.rejectFn(err);
  }
}
