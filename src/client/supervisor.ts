import type { ConnackPacket, ConnackProperties, DisconnectPacket, Packet, PublishPacket } from '../codec/packets.js';
import { AbortError, ClientClosedError, ConnectionClosedError, type MqttError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Deadline } from '../session/deadline.js';
import type { Session, SessionHost } from '../session/session.js';
import type { Timers } from '../session/timers.js';
import type { StatusBroadcaster } from '../status.js';
import type { Store } from '../store/store.js';
import type { Connection, ConnectionOwner } from './connection.js';
import type { Connector } from './connector.js';
import { ReadyWaiters } from './ready.js';
import type { Failure, ReconnectPolicy } from './reconnect-policy.js';
import type { ReadControl, Router } from './router.js';
import { countClosed, type Counters } from './stats.js';
import { refusal, type Lifecycle } from './states.js';
import { LazyOutcome } from './lazy-outcome.js';

/** What connect() resolves with: whether the broker kept a session, and (MQTT 5) the CONNACK's properties. */
export interface ConnectResult {
  /** The broker resumed a stored session (never with `clean: true`). */
  sessionPresent: boolean;
  /** MQTT 5: the CONNACK's properties as the broker sent them (`{}` at 3.1.1, or when it sent none). */
  properties: ConnackProperties;
}

/** How long a DISCONNECTed socket gets to close cleanly before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

export interface SupervisorParts {
  lifecycle: Lifecycle;
  session: Session;
  connector: Connector;
  policy: ReconnectPolicy;
  router: Router;
  store: Store;
  status: StatusBroadcaster;
  counters: Counters;
  timers: Timers;
  log: Logger | undefined;
  clientId: string;
  /** ms a call made while (re)connecting waits for the connection. */
  readyTimeout: number;
  /** On CONNACK 0, resubscribe(): what the client re-subscribes goes out before anything queued. */
  subscriptions: { resubscribe(connack: ConnackPacket): void };
}

/**
 * Runs the client's lifecycle (src/client/states.ts): the first connect, a lost connection,
 * reconnecting with the policy's backoff, a graceful end and the single exit, teardown. It owns the
 * current Connection and is the only part that moves the client from one state to another.
 */
export class Supervisor implements SessionHost, ReadControl, ConnectionOwner {
  /** The live connection (set as soon as its transport is open, so CONNECT can be written). */
  connection: Connection | undefined;
  /** How the client finished; its promise is made when someone reads `closed`. */
  private readonly outcome = new LazyOutcome();
  /** The first connect(): settles on the first CONNACK 0, or with the error that closed the client. */
  private first: Deadline<ConnectResult> | undefined;
  private connectedOnce = false;
  private attemptUrl: URL | undefined;
  private reconnectTimer: unknown;
  private ending: Promise<void> | undefined;
  /**
   * end() while (re)connecting with publishes still to deliver: the one attempt it waits for
   * (bounded by end's timeout) instead of the backoff; settles on CONNACK or when that attempt fails.
   */
  private lastChance: Deadline<void> | undefined;
  /** Calls waiting for a connection; made for the first of them. */
  private ready: ReadyWaiters | undefined;
  /** Why the first connect() failed, when that closed the client (for calls made afterwards). */
  private firstFailure: Error | undefined;
  private readPaused = false;

  constructor(private readonly p: SupervisorParts) {}

  /** Settles when the client is finished: resolves after end(), rejects with the error that ended it otherwise. */
  get closed(): Promise<void> {
    return this.outcome.promise;
  }

  /** Resolves on the first CONNACK 0 with whether the broker kept a session. */
  connect(signal: AbortSignal | undefined): Promise<ConnectResult> {
    const state = this.p.lifecycle.state;
    if (this.first && (state === 'connecting' || state === 'connected' || (state === 'reconnecting' && !this.first.settled))) return this.first.promise;
    if (state !== 'new') return Promise.reject(new ClientClosedError(this.closedWhy('connect')));
    const first = new Deadline<ConnectResult>(this.p.timers);
    this.first = first;
    first.abortOn(signal, () => this.teardown(new AbortError(signal?.reason)));
    if (!first.settled) void this.open();
    return first.promise;
  }

  /** Waits (bounded) for the connection when the client is (re)connecting; throws unless connected. */
  async whenConnected(what: string, signal: AbortSignal | undefined): Promise<void> {
    const state = this.p.lifecycle.state;
    if (state === 'connecting' || state === 'reconnecting') await (this.ready ??= new ReadyWaiters(this.p.timers, this.p.readyTimeout)).wait(what, signal);
    if (signal?.aborted) throw new AbortError(signal.reason);
    if (this.p.lifecycle.state !== 'connected') throw new ClientClosedError(this.closedWhy(what));
  }

  /**
   * Graceful close: publishes already accepted are sent and acknowledged (bounded by `timeout`, or
   * until `signal` aborts), then DISCONNECT, then the transport closes.
   */
  end(timeout: number, signal: AbortSignal | undefined, disconnect: DisconnectPacket = { type: 'disconnect' }): Promise<void> {
    this.ending ??= this.shutdown(timeout, signal, disconnect);
    return this.ending;
  }

  /** Closes at once without DISCONNECT (so the broker publishes the will). */
  destroy(err?: unknown): void {
    this.teardown(err, err ?? new ClientClosedError('the client was destroyed'));
  }

  // SessionHost: the session writes on the current connection and delivers to the router.

  write(packet: Packet, topicAlias?: number): void {
    this.connection?.writer?.write(packet, topicAlias);
  }

  whenWritten(): Promise<void> {
    return this.connection?.writer?.whenWritten() ?? Promise.reject(new ConnectionClosedError('not connected'));
  }

  deliver(packet: PublishPacket): void {
    this.p.router.route(packet);
  }

  fail(err: MqttError): void {
    this.lost(err);
  }

  // ReadControl: the router stops and restarts reading for a full subscription. While we do not
  // read, the session holds its deadlines for the broker's answers: our backpressure is not a dead broker.

  pause(): void {
    this.readPaused = true;
    this.connection?.pause();
    this.p.session.holdReading(true);
  }

  resume(): void {
    this.readPaused = false;
    this.connection?.resume();
    this.p.session.holdReading(false);
  }

  /** The session's CONNACK 0 (called before it re-sends in-flight messages and moves its queue). */
  connected(connack: ConnackPacket): void {
    const p = this.p;
    p.lifecycle.to('connected');
    const again = this.connectedOnce;
    this.connectedOnce = true;
    if (again) p.counters.reconnects++;
    p.policy.connected(p.timers.now());
    p.log?.(`connected (sessionPresent=${connack.sessionPresent})`);
    p.subscriptions.resubscribe(connack);
    this.ready?.release();
    p.status.emit({ type: 'connected', sessionPresent: connack.sessionPresent, url: (this.attemptUrl ?? p.policy.first).href });
    // Still full from before: the new connection is read no further than its CONNACK.
    if (this.readPaused) this.pause();
    this.first?.resolve({ sessionPresent: connack.sessionPresent, properties: connack.properties ?? {} });
    this.lastChance?.resolve();
  }

  /**
   * Every way a connection can break that the application did not ask for ends here: transport
   * error or close, dead keepalive, a protocol error from the broker. With reconnect on, the session
   * is kept and a new attempt scheduled; otherwise the client closes with `err`.
   */
  lost(err: MqttError, connection?: Connection): void {
    if (connection && connection !== this.connection) return;
    const p = this.p;
    const state = p.lifecycle.state;
    if (state === 'connecting') {
      // An attempt is under way: fail it, and let it decide.
      this.dropConnection(err);
      p.session.suspend(err);
      return;
    }
    if (state === 'closing') return this.teardown(undefined, new ClientClosedError('the client ended before this operation completed'));
    if (state !== 'connected' || !p.policy.retries('lost', err)) return this.teardown(err);
    p.log?.(`connection lost: ${err.message}`);
    this.redirect(err);
    this.dropConnection(err);
    p.session.suspend(err);
    p.policy.lost(p.timers.now());
    p.lifecycle.to('reconnecting');
    p.status.emit({ type: 'disconnected', reason: err });
    p.status.emit({ type: 'offline', queued: p.session.stats.queued + p.session.stats.inflight });
    this.schedule();
  }

  /** The first connection: opens the store, then one attempt at the client's URL. */
  private async open(): Promise<void> {
    const p = this.p;
    p.lifecycle.to('connecting');
    try {
      p.session.restore(await p.store.open(p.clientId));
    } catch (err) {
      return this.teardown(err);
    }
    if (p.lifecycle.state !== 'connecting') return; // ended or destroyed meanwhile
    await this.attempt(p.policy.first, 'first');
  }

  private async attempt(url: URL, failure: Failure): Promise<void> {
    const p = this.p;
    this.attemptUrl = url;
    try {
      await p.connector.attempt(url, p.session, this, (c) => (this.connection = c));
    } catch (err) {
      if (p.lifecycle.state !== 'connecting') return; // ended or destroyed meanwhile
      const error = err instanceof Error ? err : new ConnectionClosedError(String(err));
      if (this.connection) this.dropConnection(error);
      if (this.lastChance) return this.lastChance.reject(error); // end() is waiting for this attempt alone
      const retry = p.policy.retries(failure, error);
      // A failed first connect() that will not be retried is its caller's to report, not a status event.
      if (retry || failure !== 'first') p.status.emit({ type: 'error', error });
      if (!retry) {
        if (!this.connectedOnce) this.firstFailure = error;
        return this.teardown(error);
      }
      this.redirect(error);
      p.lifecycle.to('reconnecting');
      this.schedule();
    }
  }

  /** MQTT 5 followRedirects: a 0x9C/0x9D Server Reference becomes the next attempt's server. */
  private redirect(err: Error): void {
    const to = this.p.policy.redirected(err, this.attemptUrl ?? this.p.policy.first);
    if (to) this.p.log?.(`the broker sent us to ${to.host}`);
  }

  private schedule(): void {
    const p = this.p;
    const { url, delay, attempt } = p.policy.next();
    p.log?.(`reconnecting to ${url.host} in ${delay} ms (attempt ${attempt})`);
    p.status.emit({ type: 'reconnecting', attempt, delay, url: url.href });
    this.reconnectTimer = p.timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      p.lifecycle.to('connecting');
      void this.attempt(url, 'reconnect');
    }, delay);
  }

  private async shutdown(timeout: number, signal: AbortSignal | undefined, disconnect: DisconnectPacket): Promise<void> {
    const p = this.p;
    const started = p.timers.now();
    // Only when there is something to deliver: end() while connected moves to closing at once.
    const delivering = this.deliverBeforeEnd(timeout, signal);
    if (delivering && (await delivering)) timeout = Math.max(0, timeout - (p.timers.now() - started));
    const state = p.lifecycle.state;
    if (state !== 'connected') {
      const why = state === 'connecting' || state === 'reconnecting' ? `the client was ended while ${state}` : undefined;
      this.teardown(undefined, new ClientClosedError(why));
      return this.closed.catch(() => {});
    }
    p.lifecycle.to('closing');
    await this.bounded(p.session.whenIdle(), timeout, signal);
    const connection = this.connection;
    if (connection && p.lifecycle.state === 'closing') {
      p.session.disconnect(disconnect);
      connection.end();
      // A bounded moment to close cleanly; teardown() below destroys the socket regardless.
      await this.bounded(connection.closed, CLOSE_GRACE_MS, undefined);
    }
    this.teardown(undefined, new ClientClosedError('the client ended before this operation completed'));
    await this.closed.catch(() => {});
  }

  /**
   * end() while (re)connecting, with publishes accepted and not yet acknowledged: rather than reject
   * them (a SIGTERM during a broker restart would lose them), connect once more now, without waiting
   * out the backoff, and give that one attempt end's `timeout`. True when it connected; otherwise
   * what is pending is rejected with ClientClosedError saying why. Undefined (synchronously) when
   * there is nothing to deliver or a connection already.
   */
  private deliverBeforeEnd(timeout: number, signal: AbortSignal | undefined): Promise<boolean> | undefined {
    const p = this.p;
    const state = p.lifecycle.state;
    const { queued, inflight } = p.session.stats;
    if ((state !== 'reconnecting' && state !== 'connecting') || queued + inflight === 0 || timeout <= 0) return undefined;
    return this.lastAttempt(state, queued + inflight, timeout, signal);
  }

  private async lastAttempt(state: 'connecting' | 'reconnecting', pending: number, timeout: number, signal: AbortSignal | undefined): Promise<boolean> {
    const p = this.p;
    const lastChance = new Deadline<void>(p.timers).arm(timeout).abortOn(signal);
    this.lastChance = lastChance;
    p.lifecycle.requestEnd();
    p.log?.(`end(): ${pending} publishes to deliver; connecting once more (at most ${timeout} ms)`);
    if (state === 'reconnecting') {
      p.timers.clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      p.lifecycle.to('connecting');
      void this.attempt(this.attemptUrl ?? p.policy.first, 'reconnect');
    }
    try {
      await lastChance.promise;
      return true;
    } catch (err) {
      if (p.lifecycle.state !== 'closed') {
        const why = err instanceof Error ? err.message : String(err);
        this.teardown(undefined, new ClientClosedError(`the client was ended while ${state}, and the broker could not be reached to deliver ${pending} publishes: ${why}`));
      }
      return false;
    } finally {
      this.lastChance = undefined;
    }
  }

  /** Waits for `work` at most `ms` (or until `signal` aborts); never rejects. */
  private bounded(work: Promise<void>, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Deadline<void>(this.p.timers).follow(work).arm(ms).abortOn(signal).promise.catch(() => {});
  }

  /**
   * The single exit: closes the transport, settles every pending operation with `pendingError`,
   * ends every iterator (with `err` when the client failed) and settles `closed`. Idempotent.
   */
  private teardown(err: unknown, pendingError: unknown = err): void {
    const p = this.p;
    if (p.lifecycle.state === 'closed') return;
    if (err) p.log?.(`closing: ${err instanceof Error ? err.message : String(err)}`);
    const settleError = pendingError instanceof Error ? pendingError : new ClientClosedError();
    p.lifecycle.to('closed');
    p.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    p.connector.abort(settleError);
    this.dropConnection(settleError);
    p.session.close(settleError);
    this.ready?.fail(settleError);
    this.first?.reject(settleError);
    p.router.end(err);
    p.status.emit(err instanceof Error ? { type: 'closed', error: err } : { type: 'closed' });
    p.status.end();
    void p.store.close().catch((e: unknown) => p.log?.(`closing the store failed: ${String(e)}`));
    this.outcome.end(err);
  }

  /** Closes the current connection (if any) without touching the session. */
  private dropConnection(err: Error): void {
    const connection = this.connection;
    if (!connection) return;
    this.connection = undefined;
    countClosed(this.p.counters, connection);
    connection.drop(err);
  }

  private closedWhy(what: string): string {
    return refusal(what, this.p.lifecycle.state, this.firstFailure);
  }

}
