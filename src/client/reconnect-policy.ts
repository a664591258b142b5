import { ConnectionRefusedError, InvalidArgumentError, MqttError } from '../errors.js';
import type { ReconnectOptions } from '../options.js';
import { Backoff } from '../session/backoff.js';

/** What failed: the connection that was up, an attempt to reconnect, or the very first connect(). */
export type Failure = 'lost' | 'reconnect' | 'first';

/**
 * The reconnect policy: whether to try again, when (exponential backoff with full jitter) and
 * where (the servers in turn). Knows nothing of sockets or timers: the supervisor asks it.
 */
export class ReconnectPolicy {
  private readonly backoff: Backoff | undefined;
  private index = 0;
  private upSince = 0;

  constructor(
    private readonly options: ReconnectOptions | undefined,
    private readonly servers: readonly URL[],
  ) {
    this.backoff = options ? new Backoff(options) : undefined;
  }

  /** The server of the first connect(): the client's URL. */
  get first(): URL {
    return this.servers[0] as URL;
  }

  /**
   * Whether to try again after `err`. A loss is always retried (when reconnect is on), a failed
   * reconnect attempt unless retrying cannot heal it, a failed first connect() likewise but only with
   * retryFirstConnect.
   */
  retries(failure: Failure, err: Error): boolean {
    if (!this.backoff) return false;
    if (failure === 'lost') return true;
    if (failure === 'first' && !this.options?.retryFirstConnect) return false;
    return !this.isPermanent(err);
  }

  /** A connection came up at `now` (ms). */
  connected(now: number): void {
    this.upSince = now;
  }

  /** The connection was lost at `now`: after one that stayed up resetAfter ms, the backoff starts over. */
  lost(now: number): void {
    if (this.backoff && now - this.upSince >= this.backoff.resetAfter) this.backoff.reset();
  }

  /** The next attempt: the next server in turn, after a backoff delay. Only called when retries() said yes. */
  next(): { url: URL; delay: number; attempt: number } {
    const backoff = this.backoff as Backoff;
    const delay = backoff.next();
    this.index = (this.index + 1) % this.servers.length;
    return { url: this.servers[this.index] as URL, delay, attempt: backoff.attempts };
  }

  /** Errors that retrying cannot heal: retrying would only hammer the broker. */
  private isPermanent(err: Error): boolean {
    if (err instanceof ConnectionRefusedError) {
      // 3 (server unavailable) may heal; 1, 2, 4 and 5 need someone to change something.
      return err.returnCode !== 3 && !this.options?.retryRefused;
    }
    return err instanceof InvalidArgumentError || (err instanceof MqttError && (err.code === 'TLS_ERROR' || err.code === 'ABORTED' || err.code === 'CLIENT_CLOSED'));
  }
}
