import { AuthenticationError, ConnectionRefusedError, InvalidArgumentError, MqttError, ServerDisconnectError } from '../errors.js';
import type { ReconnectOptions } from '../options.js';
import { Backoff } from '../session/backoff.js';

/**
 * MQTT 5 CONNACK codes retrying cannot heal: 0x84 Unsupported Protocol Version, 0x85 Client Identifier
 * not valid, 0x86 Bad User Name or Password, 0x87 Not authorized, 0x8C Bad authentication method.
 */
const PERMANENT_REFUSALS: ReadonlySet<number> = new Set([0x84, 0x85, 0x86, 0x87, 0x8c]);

/** MQTT 5 DISCONNECT 0x8E: another connection took our session over. */
const SESSION_TAKEN_OVER = 0x8e;

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

  /** MQTT 5: the server a DISCONNECT or CONNACK 0x9C/0x9D sent us to, tried next (once). */
  private redirectTo: URL | undefined;

  constructor(
    private readonly options: ReconnectOptions | undefined,
    private readonly servers: readonly URL[],
    /** MQTT 5 followRedirects: a Server Reference with 0x9C Use another server / 0x9D Server moved is followed. */
    private readonly followRedirects = false,
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
    // MQTT 5, 0x8E Session taken over: another client now holds our client id; coming back would
    // only take it back, and the two would fight for it forever.
    if (err instanceof ServerDisconnectError && err.reasonCode === SESSION_TAKEN_OVER) return false;
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
    const redirect = this.redirectTo;
    if (redirect) {
      this.redirectTo = undefined;
      return { url: redirect, delay, attempt: backoff.attempts };
    }
    this.index = (this.index + 1) % this.servers.length;
    return { url: this.servers[this.index] as URL, delay, attempt: backoff.attempts };
  }

  /**
   * MQTT 5: `err` (a server DISCONNECT or a CONNACK refusal) says 0x9C Use another server or 0x9D Server
   * moved with a Server Reference: with followRedirects the next attempt goes there, with `from`'s
   * scheme when the reference is only `host` or `host:port` (its format is not fixed by the spec).
   * A reference that is no URL is ignored: the servers are tried as usual.
   */
  redirected(err: Error, from: URL): URL | undefined {
    if (!this.followRedirects) return undefined;
    if (!(err instanceof ServerDisconnectError || err instanceof ConnectionRefusedError)) return undefined;
    if ((err.reasonCode !== 0x9c && err.reasonCode !== 0x9d) || !err.serverReference) return undefined;
    // Several references may be given, separated by spaces: the first is taken.
    const ref = err.serverReference.trim().split(/\s+/)[0] as string;
    try {
      this.redirectTo = new URL(ref.includes('://') ? ref : `${from.protocol}//${ref}`);
    } catch {
      return undefined;
    }
    return this.redirectTo;
  }

  /** Errors that retrying cannot heal: retrying would only hammer the broker. */
  private isPermanent(err: Error): boolean {
    if (err instanceof ConnectionRefusedError) {
      if (this.options?.retryRefused) return false;
      // 3.1.1: 3 (server unavailable) may heal; 1, 2, 4 and 5 need someone to change something.
      // MQTT 5: the codes that name our own CONNECT as wrong; busy, unavailable, quota, rate and the
      // rest back off and try again.
      return err.reasonCode < 0x80 ? err.reasonCode !== 3 : PERMANENT_REFUSALS.has(err.reasonCode);
    }
    // MQTT 5 enhanced authentication: a broker that failed to prove itself will not pass on a retry.
    if (err instanceof AuthenticationError) return true;
    return err instanceof InvalidArgumentError || (err instanceof MqttError && (err.code === 'TLS_ERROR' || err.code === 'ABORTED' || err.code === 'CLIENT_CLOSED'));
  }
}
