import { AbortError, TimeoutError, type MqttError } from '../errors.js';
import type { Timers } from './timers.js';

const timedOut = (): MqttError => new TimeoutError('timed out');

/**
 * The one way mqttwire waits: an operation that settles exactly once, whichever of resolve, reject,
 * its timer or an AbortSignal comes first. Acknowledgements, CONNACK, opening a transport, end()'s
 * grace periods, a publish being withdrawn and calls waiting for a connection all wait through one.
 *
 * The timer starts with `arm()`, when the request actually goes out, so time spent waiting in a
 * queue does not count against the broker. One rule for aborts: an application's AbortSignal
 * rejects with `AbortError` (the signal's reason as its `cause`), always. Everything a deadline
 * holds (its timer, its abort listener) is released the moment it settles, so a long-lived signal
 * keeps nothing reachable.
 */
export class Deadline<T> {
  readonly promise: Promise<T>;
  settled = false;
  /** The promise's resolving functions, dropped once it settles (a settled deadline may be kept long: the first connect()'s is). */
  private resolveFn: ((value: T) => void) | undefined;
  private rejectFn: ((err: unknown) => void) | undefined;
  private timer: unknown;
  private unlisten: (() => void) | undefined;
  private controller: AbortController | undefined;

  /** `onTimeout` makes the error of an expired timer (only needed for a deadline that is armed). */
  constructor(
    private readonly timers: Timers,
    private readonly onTimeout: () => MqttError = timedOut,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  /** Starts (or restarts) the timer; 0 or Infinity means no deadline. */
  arm(timeoutMs: number): this {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
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

  /**
   * Rejects with AbortError when `signal` fires first; `onAbort` runs just before (to withdraw what
   * can still be withdrawn). The listener goes away when the deadline settles, however it settles.
   */
  abortOn(signal: AbortSignal | undefined, onAbort?: () => void): this {
    if (!signal || this.settled) return this;
    const abort = (): void => {
      if (this.settled) return;
      onAbort?.();
      this.reject(new AbortError(signal.reason));
    };
    if (signal.aborted) {
      abort();
      return this;
    }
    signal.addEventListener('abort', abort, { once: true });
    this.unlisten = () => signal.removeEventListener('abort', abort);
    return this;
  }

  /** Settles as `source` does, unless something settles this deadline first. */
  follow(source: Promise<T>): this {
    source.then(
      (value) => this.resolve(value),
      (err: unknown) => this.reject(err),
    );
    return this;
  }

  /** `work`'s outcome, unless this deadline rejects first (its timer, an abort, a reject()). */
  within<U>(work: Promise<U>): Promise<U> {
    return Promise.race([work, this.promise.then(() => work)]);
  }

  /** Aborts when this deadline rejects: hand it to work that can be cancelled (opening a transport). */
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  resolve(value: T): void {
    if (this.settled) return;
    const resolve = this.resolveFn;
    this.finish();
    resolve?.(value);
  }

  reject(err: unknown): void {
    if (this.settled) return;
    const reject = this.rejectFn;
    this.finish();
    this.controller?.abort(err);
    reject?.(err);
  }

  private finish(): void {
    this.settled = true;
    this.resolveFn = this.rejectFn = undefined;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.unlisten?.();
    this.unlisten = undefined;
  }
}
