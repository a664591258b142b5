import { validateTopicFilter } from './codec/index.js';
import { FrameDecoder } from './codec/decoder.js';
import { parseFromServer } from './codec/parse.js';
import type { ConnackPacket, Packet, PublishPacket, QoS } from './codec/packets.js';
import {
  AbortError,
  ClientClosedError,
  ConnectionClosedError,
  ConnectionRefusedError,
  InvalidArgumentError,
  QueueFullError,
  MqttError,
  MqttProtocolError,
  quote,
  SubscribeError,
  TimeoutError,
} from './errors.js';
import { describeClient, describePacket, resolveLogger, type Logger } from './logger.js';
import { Backoff } from './session/backoff.js';
import { Deadline } from './session/deadline.js';
import { StatusBroadcaster, type StatusEvent } from './status.js';
import { MemoryStore, type Store } from './store/store.js';
import { Message } from './message.js';
import { checkFlag, checkQos, checkTopic, endTimeout, resolveOptions, resolveServers, subscriptionLimits, toBytes, type ClientOptions, type Payload, type ResolvedOptions } from './options.js';
import { parseUrl, splitCredentials } from './broker-url.js';
import { CALL_OPTIONS, checkKeys, END_OPTIONS, FILTER_OPTIONS, PUBLISH_OPTIONS, SUBSCRIBE_OPTIONS, SUBSCRIPTION_OPTIONS } from './option-keys.js';
import { Session, type ConnectionState } from './session/session.js';
import { globalTimers, type Timers } from './session/timers.js';
import { Subscription, type SubscriptionOptions, type SubscriptionOwner } from './subscription.js';
import type { Transport, TransportFactory, TransportHandlers } from './transport/transport.js';
import { PacketWriter } from './writer.js';

export interface CallOptions {
  signal?: AbortSignal;
}

export interface PublishOptions extends CallOptions {
  qos?: QoS;
  retain?: boolean;
}

export interface SubscribeOptions extends CallOptions, SubscriptionOptions {
  /** Requested QoS for filters given as a string or an array (default 0). */
  qos?: QoS;
}

export interface EndOptions extends CallOptions {
  /** Milliseconds to wait for in-flight acknowledgements before DISCONNECT (default: the endTimeout option). */
  timeout?: number;
}

export type SubscribeInput = string | string[] | Record<string, { qos?: QoS }>;

export interface ClientStats {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  inflight: number;
  queued: number;
  /** Messages that matched no subscription while nobody iterated `messages()`. */
  unroutedDropped: number;
  /** Round trip of the last PINGREQ/PINGRESP, in ms. */
  lastPingRoundTrip: number | undefined;
  /** Successful reconnects since connect(). */
  reconnects: number;
  /** QoS 0 publishes dropped while offline (with `queueQoS0: false`). */
  offlineDropped: number;
}

/** The live connection's parts; replaced as a whole, never patched piecemeal. */
interface Connection {
  transport: Transport;
  /** The callbacks given to this transport: events from an older transport are ignored. */
  handlers: TransportHandlers;
  decoder: FrameDecoder;
  writer: PacketWriter;
  paused: boolean;
  /** Resolves when the transport reports it closed. */
  closed: Promise<void>;
  markClosed(): void;
}

/**
 * An MQTT 3.1.1 client. Nothing happens until `connect()`. Every call returns a Promise; every
 * subscription is an async iterator; `end()` flushes and disconnects, `destroy()` drops at once.
 *
 * This is the whole client but for one thing: which transports a URL can use. Each entry point (Node,
 * browser, workerd) exports a subclass named MqttClient that supplies its runtime's transports, so
 * a browser bundle never sees node:net and a Node process never loads a browser shim.
 */
export abstract class MqttClientBase implements SubscriptionOwner, AsyncDisposable {
  readonly url: URL;
  /** Settles when the client is finished: resolves after `end()`, rejects with the error that ended it otherwise. */
  readonly closed: Promise<void>;
  private readonly options: ResolvedOptions;
  private readonly session: Session;
  private readonly timers: Timers;
  private readonly log: Logger | undefined;
  private readonly userTransport: ClientOptions['transport'];
  private readonly subscriptions = new Set<Subscription>();
  /**
   * Subscriptions whose subscribe() still waits for its SUBACK. Nobody can read them yet, so a full
   * buffer there must not stop the socket: the SUBACK that hands them to the application is behind
   * the messages that filled it.
   */
  private readonly awaitingSuback = new Set<Subscription>();
  private unrouted: Subscription | undefined;
  /**
   * Unrouted messages held until the application first calls messages(): a resumed session
   * (clean: false) delivers right after CONNACK, before the application could subscribe again.
   * A subscribe() takes the held messages its filters match; once the first subscribe() has
   * succeeded the application is set up, and what is still held is counted and dropped, like any
   * unrouted message nobody reads. Bounded by highWaterMark; the oldest are dropped beyond it.
   */
  private held: Message[] | undefined = [];
  private connection: Connection | undefined;
  private connecting: Promise<{ sessionPresent: boolean }> | undefined;
  private ending: Promise<void> | undefined;
  private settleClosed!: { resolve(): void; reject(err: unknown): void };
  private counters = { messagesIn: 0, messagesOut: 0, bytesIn: 0, unroutedDropped: 0, bytesOutClosed: 0, reconnects: 0, offlineDropped: 0 };
  /** The brokers to try, in turn; the first is `url`. */
  private readonly servers: URL[];
  private serverIndex = 0;
  /** Undefined when `reconnect: false`. */
  private readonly backoff: Backoff | undefined;
  private reconnectTimer: unknown;
  /** Aborts the connection attempt under way (end() or destroy() while it opens or waits for CONNACK). */
  private attemptAbort: AbortController | undefined;
  /**
   * Filters the application left while offline in a persistent session: the broker still holds
   * them, so they are unsubscribed after the next CONNACK with sessionPresent.
   */
  private leftOffline = new Set<string>();
  private connectedAt = 0;
  private readonly store: Store;
  private readonly statusEvents = new StatusBroadcaster();
  /** subscribe/unsubscribe calls made while offline, waiting (bounded) for the next CONNACK. */
  private readonly readyWaiters = new Set<Deadline<void>>();

  /** The transport for a URL scheme in this runtime; rejects with InvalidArgumentError for others. */
  protected abstract selectTransport(url: URL): Promise<TransportFactory>;

  constructor(url: string | URL, options: ClientOptions = {}) {
    // The URL's user info becomes credentials (unless given as options) and leaves the URL, so no
    // event, error, log line or inspection of the client can show it.
    const { url: address, username, password } = splitCredentials(parseUrl(url, options.transport !== undefined));
    this.url = address;
    this.options = resolveOptions({ ...options, username: options.username ?? username, password: options.password ?? password });
    this.timers = options.timers ?? globalTimers;
    this.log = resolveLogger(options, this.options.session.clientId);
    this.userTransport = options.transport;
    this.servers = [this.url, ...resolveServers(options.servers, options.transport !== undefined)];
    this.backoff = this.options.reconnect ? new Backoff(this.options.reconnect) : undefined;
    this.store = options.store ?? new MemoryStore();
    this.session = new Session(this.options.session, {
      write: (p) => this.connection?.writer.write(p),
      whenWritten: () => this.connection?.writer.whenWritten() ?? Promise.reject(new ConnectionClosedError('not connected')),
      deliver: (p) => this.route(p),
      fail: (err) => this.connectionLost(err),
      connected: (connack) => this.resubscribe(connack),
    }, this.timers, this.store);
    this.closed = new Promise<void>((resolve, reject) => {
      this.settleClosed = { resolve, reject };
    });
    // Nobody has to await `closed`: an error that ends the client must not become an unhandled rejection.
    this.closed.catch(() => {});
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) this.destroy(new AbortError(signal.reason));
      else signal.addEventListener('abort', () => this.destroy(new AbortError(signal.reason)), { once: true });
    }
  }

  /** Where the connection stands (decided by the session, the only owner of that state). */
  get state(): ConnectionState {
    return this.session.state;
  }

  get connected(): boolean {
    return this.session.state === 'connected';
  }

  get clientId(): string {
    return this.options.session.clientId;
  }

  stats(): ClientStats {
    return {
      messagesIn: this.counters.messagesIn,
      messagesOut: this.counters.messagesOut,
      bytesIn: this.counters.bytesIn,
      bytesOut: this.counters.bytesOutClosed + (this.connection?.writer.bytesOut ?? 0),
      inflight: this.session.stats.inflight,
      queued: this.session.stats.queued,
      unroutedDropped: this.counters.unroutedDropped,
      lastPingRoundTrip: this.session.lastPingRoundTrip,
      reconnects: this.counters.reconnects,
      offlineDropped: this.counters.offlineDropped,
    };
  }

  /**
   * Connection events as an async iterator: connected, disconnected, offline, reconnecting,
   * error, closed. Each call gets its own stream from now on; it ends when the client closes.
   */
  status(): AsyncIterableIterator<StatusEvent> {
    const stream = this.statusEvents.open();
    if (this.session.state === 'closed') stream.return?.();
    return stream;
  }

  /** Opens the connection; resolves on CONNACK 0 with whether the broker kept a session. */
  connect(options: CallOptions = {}): Promise<{ sessionPresent: boolean }> {
    try {
      checkKeys(options, CALL_OPTIONS);
    } catch (err) {
      return Promise.reject(err);
    }
    const state = this.session.state;
    if (this.connecting && (state === 'connecting' || state === 'connected')) return this.connecting;
    if (state !== 'new') return Promise.reject(new ClientClosedError(`cannot connect: the client is ${this.session.state}`));
    this.connecting = this.firstConnect(options.signal);
    return this.connecting;
  }

  /** QoS 0 resolves once written, QoS 1 on PUBACK, QoS 2 on PUBCOMP. */
  async publish(topic: string, payload: Payload, options: PublishOptions = {}): Promise<void> {
    const state = this.session.state;
    if (state === 'closing' || state === 'closed') throw new ClientClosedError(`cannot publish: the client is ${state}`);
    checkKeys(options, PUBLISH_OPTIONS);
    const qos = checkQos(options.qos ?? 0);
    const retain = checkFlag(options.retain, 'retain');
    checkTopic(topic);
    const bytes = toBytes(payload);
    // Topic length prefix + topic + packet id + payload, then the fixed header around it.
    const remaining = 2 + utf8Length(topic) + (qos > 0 ? 2 : 0) + bytes.length;
    const size = 1 + (remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4) + remaining;
    if (size > this.options.maxPacketSize) {
      throw new InvalidArgumentError(`the PUBLISH would be ${size} bytes, over maxPacketSize ${this.options.maxPacketSize}`);
    }
    const signal = options.signal;
    if (signal?.aborted) throw new AbortError(signal.reason);
    if (state !== 'connected') {
      if (qos === 0 && !this.options.queueQoS0) {
        this.counters.offlineDropped++;
        return;
      }
      // While connected the in-flight window is the backpressure (the promise waits its turn);
      // offline nothing drains the queue, so it is bounded.
      if (this.session.stats.queued >= this.options.offlineQueueLimit) {
        throw new QueueFullError(`the offline queue holds ${this.options.offlineQueueLimit} messages (offlineQueueLimit); publish refused`);
      }
    }
    const packet: PublishPacket = { type: 'publish', topic, payload: bytes, qos, retain, dup: false };
    const op = this.session.publish(packet);
    this.counters.messagesOut++;
    if (!signal) return op.promise;
    const onAbort = (): void => op.cancel(new AbortError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await op.promise;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Resolves after SUBACK with a live Subscription (`sub.granted` holds the return codes). A 0x80
   * refusal of any filter rejects with SubscribeError; the filters granted in the same call are
   * then unsubscribed again, so a subscribe either fully succeeds or leaves nothing behind.
   */
  async subscribe(input: SubscribeInput, options: SubscribeOptions = {}): Promise<Subscription> {
    checkKeys(options, SUBSCRIBE_OPTIONS);
    const filters = this.normalizeSubscribe(input, options.qos);
    const limits = subscriptionLimits(options, this.options);
    await this.whenReady('subscribe');
    const signal = options.signal;
    if (signal?.aborted) throw new AbortError(signal.reason);
    const sub = new Subscription(this, filters, limits);
    // Registered before SUBSCRIBE goes out: retained messages may arrive in the same read as SUBACK.
    this.subscriptions.add(sub);
    if (this.held) this.held = this.held.filter((msg) => (sub.matches(msg.topic) ? (sub.push(msg), false) : true));
    const acked = this.session.subscribe(filters);
    let granted: number[];
    this.awaitingSuback.add(sub);
    try {
      granted = await withAbort(acked, signal);
    } catch (err) {
      this.subscriptions.delete(sub);
      sub.discard();
      // Aborted while the SUBACK is still to come: undo whatever the broker grants.
      if (err instanceof AbortError) acked.then(() => this.unsubscribeUnshared(sub.topicFilters), () => {});
      throw err;
    } finally {
      this.awaitingSuback.delete(sub);
    }
    sub.granted = granted;
    const refused = filters.filter((_, i) => granted[i] === 0x80).map((f) => f.topicFilter);
    if (refused.length > 0) {
      this.subscriptions.delete(sub);
      sub.discard();
      const ok = filters.flatMap((f, i) => (granted[i] === 0x80 ? [] : [{ topicFilter: f.topicFilter, qos: granted[i] as number }]));
      await this.unsubscribeUnshared(ok.map((f) => f.topicFilter)).catch(() => {});
      throw new SubscribeError(refused, ok);
    }
    if (this.held) {
      this.counters.unroutedDropped += this.held.length;
      this.held = undefined;
    }
    return sub;
  }

  /** Sends UNSUBSCRIBE and resolves on UNSUBACK; subscriptions left with no filter end. */
  async unsubscribe(topicFilters: string | string[], options: CallOptions = {}): Promise<void> {
    const filters = typeof topicFilters === 'string' ? [topicFilters] : [...topicFilters];
    if (filters.length === 0) throw new InvalidArgumentError('unsubscribe needs at least one topic filter');
    for (const f of filters) checkFilter(f);
    checkKeys(options, CALL_OPTIONS);
    await this.whenReady('unsubscribe');
    if (options.signal?.aborted) throw new AbortError(options.signal.reason);
    for (const sub of [...this.subscriptions]) {
      if (sub.removeFilters(filters)) {
        this.subscriptions.delete(sub);
        sub.end();
      }
    }
    await withAbort(this.session.unsubscribe(filters), options.signal);
  }

  /** Every message that matched no live subscription. Without a reader they are counted and dropped. */
  messages(options: SubscriptionOptions = {}): Subscription {
    checkKeys(options, SUBSCRIPTION_OPTIONS);
    if (!this.unrouted || this.unrouted.closed) {
      this.unrouted = new Subscription(this, [], subscriptionLimits(options, this.options));
      for (const msg of this.held ?? []) this.unrouted.push(msg);
      this.held = undefined;
      if (this.session.state === 'closed') this.unrouted.end();
    }
    return this.unrouted;
  }

  /**
   * Graceful close: publishes already accepted are sent and acknowledged (bounded by `timeout`),
   * then DISCONNECT, then the transport closes. Everything still pending afterwards is rejected.
   */
  end(options: EndOptions = {}): Promise<void> {
    let timeout: number;
    try {
      checkKeys(options, END_OPTIONS);
      timeout = endTimeout(options, this.options.endTimeout);
    } catch (err) {
      return Promise.reject(err);
    }
    this.ending ??= this.shutdown(timeout);
    return this.ending;
  }

  /** Closes at once without DISCONNECT (so the broker publishes the will). */
  destroy(err?: unknown): void {
    this.teardown(err, err ?? new ClientClosedError('the client was destroyed'));
  }

  /** What util.inspect and console.log show: never the options, which hold the password. */
  [Symbol.for('nodejs.util.inspect.custom')](_depth: number, options: object, inspect?: (value: unknown, options: object) => string): string {
    return describeClient(this.constructor.name, { url: this.url.href, clientId: this.clientId, state: this.state }, options, inspect);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.end();
  }

  // SubscriptionOwner

  async release(sub: Subscription): Promise<void> {
    if (sub === this.unrouted) {
      this.unrouted = undefined;
      return;
    }
    if (!this.subscriptions.delete(sub)) return;
    await this.unsubscribeUnshared(sub.topicFilters).catch((err: unknown) => this.log?.(`unsubscribe after leaving a subscription failed: ${String(err)}`));
  }

  consumed(): void {
    const conn = this.connection;
    if (!conn?.paused) return;
    if (this.anyBlocked()) return;
    conn.paused = false;
    conn.transport.resume();
  }

  // Internals

  /** The first connection: a failure here rejects connect() and closes the client (no retry). */
  private async firstConnect(signal: AbortSignal | undefined): Promise<{ sessionPresent: boolean }> {
    this.session.opening();
    try {
      this.session.restore(await this.store.open(this.clientId));
      const connack = await this.attempt(this.servers[0] as URL, signal);
      return { sessionPresent: connack.sessionPresent };
    } catch (err) {
      this.teardown(err);
      throw err;
    }
  }

  /**
   * One connection attempt: open the transport, CONNECT, wait for CONNACK 0, all within
   * connectTimeout. On failure the half-open connection is dropped and the error thrown; what
   * happens next (close or retry) is the caller's decision.
   */
  private async attempt(url: URL, signal?: AbortSignal): Promise<ConnackPacket> {
    const controller = new AbortController();
    this.attemptAbort = controller;
    const timer = this.timers.setTimeout(
      () => controller.abort(new TimeoutError(`no CONNACK from ${url.host} within ${this.options.connectTimeout} ms`)),
      this.options.connectTimeout,
    );
    const onUserAbort = (): void => controller.abort(new AbortError(signal?.reason));
    if (signal?.aborted) onUserAbort();
    signal?.addEventListener('abort', onUserAbort, { once: true });
    try {
      if (controller.signal.aborted) throw controller.signal.reason;
      const factory = this.userTransport ?? (await this.selectTransport(url));
      this.log?.(`connecting to ${url.protocol}//${url.host}`);
      const handlers: TransportHandlers = {
        onData: (chunk) => this.onData(chunk),
        onDrain: () => this.connection?.writer.onDrain(),
        onClose: (err) => this.onTransportClose(handlers, err),
      };
      const transport = await withAbort(factory(url, handlers, { ...this.options.tls, signal: controller.signal }), controller.signal);
      if (this.session.state !== 'connecting') {
        transport.destroy();
        throw new ClientClosedError('the client was closed while connecting');
      }
      let markClosed!: () => void;
      const closed = new Promise<void>((r) => (markClosed = r));
      this.connection = {
        transport,
        handlers,
        decoder: new FrameDecoder({ maxPacketSize: this.options.maxPacketSize, protocolLevel: this.options.session.protocolLevel }, parseFromServer),
        writer: new PacketWriter(transport, this.log ? (p) => this.log?.(`> ${describePacket(p)}`) : undefined, () => this.store.flush()),
        paused: false,
        closed,
        markClosed,
      };
      const connack = await withAbort(this.session.start(), controller.signal);
      this.connectedAt = this.timers.now();
      this.log?.(`connected (sessionPresent=${connack.sessionPresent})`);
      for (const w of this.readyWaiters) w.resolve();
      this.readyWaiters.clear();
      this.statusEvents.emit({ type: 'connected', sessionPresent: connack.sessionPresent, url: url.href });
      return connack;
    } catch (err) {
      const error = controller.signal.aborted && controller.signal.reason instanceof MqttError ? controller.signal.reason : err;
      this.dropConnection(error instanceof Error ? error : new ConnectionClosedError(String(error)));
      if (this.session.state === 'connecting') this.session.suspend(error instanceof Error ? error : new ConnectionClosedError(String(error)));
      throw error;
    } finally {
      this.timers.clearTimeout(timer);
      if (this.attemptAbort === controller) this.attemptAbort = undefined;
      signal?.removeEventListener('abort', onUserAbort);
    }
  }

  /**
   * Every way a connection can break that the application did not ask for ends here: socket
   * error or close, dead keepalive, a protocol error from the broker. With reconnect on, the
   * session is kept and a new attempt is scheduled; otherwise the client closes with `err`.
   */
  private connectionLost(err: unknown): void {
    const state = this.session.state;
    const error = err instanceof Error ? err : new ConnectionClosedError(String(err));
    if (state === 'connecting') {
      // An attempt is under way: fail it, and let its owner decide.
      this.dropConnection(error);
      this.session.suspend(error);
      return;
    }
    if (state !== 'connected' || !this.backoff) {
      this.teardown(error);
      return;
    }
    this.log?.(`connection lost: ${error.message}`);
    this.dropConnection(error);
    this.session.suspend(error);
    if (this.timers.now() - this.connectedAt >= this.backoff.resetAfter) this.backoff.reset();
    this.statusEvents.emit({ type: 'disconnected', reason: error });
    this.statusEvents.emit({ type: 'offline', queued: this.session.stats.queued + this.session.stats.inflight });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const backoff = this.backoff;
    if (!backoff || this.session.state !== 'reconnecting') return;
    const delay = backoff.next();
    this.serverIndex = (this.serverIndex + 1) % this.servers.length;
    const url = this.servers[this.serverIndex] as URL;
    this.log?.(`reconnecting to ${url.host} in ${delay} ms (attempt ${backoff.attempts})`);
    this.statusEvents.emit({ type: 'reconnecting', attempt: backoff.attempts, delay, url: url.href });
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect(url);
    }, delay);
  }

  private async reconnect(url: URL): Promise<void> {
    if (this.session.state !== 'reconnecting') return;
    this.session.opening();
    try {
      await this.attempt(url);
      this.counters.reconnects++;
    } catch (err) {
      if (this.session.state !== 'reconnecting') return; // ended or destroyed meanwhile
      const error = err instanceof Error ? err : new ConnectionClosedError(String(err));
      this.statusEvents.emit({ type: 'error', error });
      if (this.isPermanent(error)) {
        this.teardown(error);
        return;
      }
      this.scheduleReconnect();
    }
  }

  /** Errors that retrying cannot heal: retrying would only hammer the broker. */
  private isPermanent(err: Error): boolean {
    if (err instanceof ConnectionRefusedError) {
      // 3 (server unavailable) may heal; 1, 2, 4 and 5 need someone to change something.
      return err.returnCode !== 3 && !this.options.reconnect?.retryRefused;
    }
    return err instanceof InvalidArgumentError || (err instanceof MqttError && err.code === 'TLS_ERROR');
  }

  /**
   * CONNACK 0 on a reconnect with no session on the broker: every live subscription is
   * subscribed again before anything else goes out, and its SUBACK checked again.
   */
  private resubscribe(connack: ConnackPacket): void {
    if (connack.sessionPresent) {
      this.unsubscribeLeftOffline();
      return;
    }
    this.leftOffline.clear(); // the broker has no session, so nothing of it to undo
    for (const sub of this.subscriptions) {
      if (sub.granted.length === 0) continue; // its own SUBSCRIBE is still on the way
      const filters = sub.filters;
      this.session.subscribe(filters).then(
        (granted) => {
          sub.granted = granted;
          const refused = filters.filter((_, i) => granted[i] === 0x80).map((f) => f.topicFilter);
          if (refused.length === 0) return;
          const error = new SubscribeError(refused, filters.flatMap((f, i) => (granted[i] === 0x80 ? [] : [{ topicFilter: f.topicFilter, qos: granted[i] as number }])));
          this.statusEvents.emit({ type: 'error', error });
          this.subscriptions.delete(sub);
          sub.end(error);
        },
        // Lost again before SUBACK: the next reconnect subscribes again.
        () => {},
      );
    }
  }

  private unsubscribeLeftOffline(): void {
    const inUse = this.filtersInUse();
    const left = [...this.leftOffline].filter((f) => !inUse.has(f));
    this.leftOffline.clear();
    if (left.length === 0) return;
    this.session.unsubscribe(left).catch(() => {
      // Lost again before UNSUBACK: try once more after the next reconnect.
      for (const f of left) this.leftOffline.add(f);
    });
  }

  private filtersInUse(): Set<string> {
    const inUse = new Set<string>();
    for (const sub of this.subscriptions) for (const f of sub.topicFilters) inUse.add(f);
    return inUse;
  }

  /** Closes the current transport (if any) without touching the session. */
  private dropConnection(err: Error): void {
    const conn = this.connection;
    if (!conn) return;
    this.connection = undefined;
    this.counters.bytesOutClosed += conn.writer.bytesOut;
    conn.writer.fail(err);
    conn.transport.destroy();
    conn.markClosed();
  }

  private onData(chunk: Uint8Array): void {
    const conn = this.connection;
    if (!conn) return;
    this.counters.bytesIn += chunk.length;
    let packets: Packet[];
    try {
      packets = conn.decoder.push(chunk);
      for (const p of packets) {
        this.log?.(`< ${describePacket(p)}`);
        this.session.receive(p);
        if (this.connection !== conn) return;
      }
    } catch (err) {
      this.connectionLost(err instanceof MqttError ? err : new MqttProtocolError('DECODER_FAILED', String(err)));
    }
  }

  private onTransportClose(handlers: TransportHandlers, err: Error | undefined): void {
    const conn = this.connection;
    if (!conn || conn.handlers !== handlers) return;
    conn.markClosed();
    if (this.session.state === 'closing' || this.session.state === 'closed') return;
    // A TLS failure before CONNACK keeps its TLS_ERROR (permanent: no retrying): with TLS 1.3 the
    // broker refuses a missing or bad client certificate only after the client's handshake is done.
    if (this.session.state === 'connecting' && err instanceof MqttError && err.code === 'TLS_ERROR') return this.connectionLost(err);
    this.connectionLost(new ConnectionClosedError(err ? `connection lost: ${err.message}` : 'the broker closed the connection', { cause: err }));
  }

  /** Matches an incoming message to every live subscription whose filter matches, once each. */
  private route(packet: PublishPacket): void {
    this.counters.messagesIn++;
    const msg = new Message(packet);
    let matched = false;
    for (const sub of this.subscriptions) {
      if (sub.matches(msg.topic)) {
        matched = true;
        sub.push(msg);
      }
    }
    if (!matched) {
      if (this.unrouted) this.unrouted.push(msg);
      else if (this.held) {
        if (this.held.push(msg) > this.options.highWaterMark) {
          this.held.shift();
          this.counters.unroutedDropped++;
        }
      } else this.counters.unroutedDropped++;
    }
    const conn = this.connection;
    if (conn && !conn.paused && this.anyBlocked()) {
      // A consumer is behind: stop reading so TCP pushes back on the broker instead of us buffering.
      conn.paused = true;
      conn.transport.pause();
    }
  }

  private anyBlocked(): boolean {
    for (const sub of this.subscriptions) if (sub.blocked && !this.awaitingSuback.has(sub)) return true;
    return this.unrouted?.blocked ?? false;
  }

  private async shutdown(timeout: number): Promise<void> {
    const state = this.session.state;
    if (state === 'new' || state === 'closed') {
      this.teardown(undefined, new ClientClosedError());
      return this.closed.catch(() => {});
    }
    if (state === 'connecting' || state === 'reconnecting') {
      this.teardown(undefined, new ClientClosedError(`the client was ended while ${state}`));
      return this.closed.catch(() => {});
    }
    this.session.beginEnd();
    let timer: unknown;
    const timedOut = new Promise<void>((resolve) => (timer = this.timers.setTimeout(resolve, timeout)));
    await Promise.race([this.session.whenIdle(), timedOut]);
    this.timers.clearTimeout(timer);
    const conn = this.connection;
    if (conn && this.session.state === 'closing') {
      this.session.disconnect();
      conn.writer.flush();
      conn.transport.end();
      // Give the socket a bounded moment to close cleanly; destroy() below ends it regardless.
      let closeTimer: unknown;
      await Promise.race([conn.closed, new Promise<void>((r) => (closeTimer = this.timers.setTimeout(r, 1000)))]);
      this.timers.clearTimeout(closeTimer);
    }
    this.teardown(undefined, new ClientClosedError('the client ended before this operation completed'));
    await this.closed.catch(() => {});
  }

  /**
   * The single exit: closes the transport, settles every pending operation with `pendingError`,
   * ends every iterator (with `err` when the client failed) and settles `closed`. Idempotent.
   */
  private teardown(err: unknown, pendingError: unknown = err): void {
    if (this.session.state === 'closed') return;
    if (err) this.log?.(`closing: ${err instanceof Error ? err.message : String(err)}`);
    const settleError = pendingError instanceof Error ? pendingError : new ClientClosedError();
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.attemptAbort?.abort(settleError);
    this.dropConnection(settleError);
    this.session.close(settleError);
    for (const w of this.readyWaiters) w.reject(settleError);
    this.readyWaiters.clear();
    for (const sub of this.subscriptions) sub.end(err);
    this.subscriptions.clear();
    this.unrouted?.end(err);
    this.statusEvents.emit(err instanceof Error ? { type: 'closed', error: err } : { type: 'closed' });
    this.statusEvents.end();
    void this.store.close().catch((e: unknown) => this.log?.(`closing the store failed: ${String(e)}`));
    if (err !== undefined) this.settleClosed.reject(err);
    else this.settleClosed.resolve();
  }

  /** Waits for a connection (bounded by ackTimeout) when the client is connecting or reconnecting. */
  private async whenReady(what: string): Promise<void> {
    const state = this.session.state;
    if (state === 'connecting' || state === 'reconnecting') {
      const waiter = new Deadline<void>(this.timers, () => {
        this.readyWaiters.delete(waiter);
        return new TimeoutError(`cannot ${what}: not connected within ${this.options.session.ackTimeout} ms`);
      }).arm(this.options.session.ackTimeout);
      this.readyWaiters.add(waiter);
      await waiter.promise;
    }
    if (this.session.state !== 'connected') throw new ClientClosedError(`cannot ${what}: the client is ${this.session.state}`);
  }

  private normalizeSubscribe(input: SubscribeInput, qos: QoS | undefined): { topicFilter: string; qos: QoS }[] {
    let list: { topicFilter: string; qos: QoS }[];
    if (typeof input === 'string') list = [{ topicFilter: input, qos: checkQos(qos ?? 0) }];
    else if (Array.isArray(input)) list = input.map((topicFilter) => ({ topicFilter, qos: checkQos(qos ?? 0) }));
    else if (input && typeof input === 'object') {
      list = Object.entries(input).map(([topicFilter, o]) => {
        if (o === undefined) throw new InvalidArgumentError(`topic filter ${quote(topicFilter)} needs its options, e.g. { qos: 1 }`);
        checkKeys(o, FILTER_OPTIONS);
        return { topicFilter, qos: checkQos(o.qos ?? qos ?? 0) };
      });
    } else throw new InvalidArgumentError('subscribe takes a topic filter, an array of them, or an object of filter: { qos }');
    if (list.length === 0) throw new InvalidArgumentError('subscribe needs at least one topic filter (MQTT-3.8.3-3)');
    for (const s of list) checkFilter(s.topicFilter);
    return list;
  }

  /** Unsubscribes those of `filters` that no live subscription still uses. */
  private async unsubscribeUnshared(filters: string[]): Promise<void> {
    const inUse = this.filtersInUse();
    const unused = [...new Set(filters)].filter((f) => !inUse.has(f));
    if (unused.length === 0) return;
    if (this.session.state !== 'connected') {
      if (this.session.state === 'reconnecting' && !this.options.session.clean) for (const f of unused) this.leftOffline.add(f);
      return;
    }
    await this.session.unsubscribe(unused);
  }
}

function checkFilter(filter: string): void {
  try {
    validateTopicFilter(filter);
  } catch (err) {
    throw new InvalidArgumentError(`invalid topic filter ${quote(filter)}: ${(err as Error).message}`);
  }
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}

/** Rejects with the signal's reason (as an AbortError) when it fires first. */
function withAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason instanceof MqttError ? signal.reason : new AbortError(signal.reason);
}
