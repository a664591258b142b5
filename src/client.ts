import type { QoS } from './codec/packets.js';
import { AbortError, ClientClosedError } from './errors.js';
import { describeClient, resolveLogger } from './logger.js';
import { parseUrl, splitCredentials } from './broker-url.js';
import { CALL_OPTIONS, checkKeys, END_OPTIONS, PUBLISH_OPTIONS, SUBSCRIPTION_OPTIONS } from './option-keys.js';
import { endTimeout, resolveOptions, resolveServers, subscriptionLimits, type ClientOptions, type Payload, type ProtocolVersion, type ResolvedOptions } from './options.js';
import { Session, type PublishResult } from './session/session.js';
import type { MessageProperties } from './message.js';
import type { DisconnectPacket, UserProperties } from './codec/packets.js';
import { disconnectPacket } from './client/arguments.js';
import { Deadline } from './session/deadline.js';
import { globalTimers } from './session/timers.js';
import { StatusBroadcaster, type StatusEvent } from './status.js';
import { MemoryStore } from './store/store.js';
import type { Subscription, SubscriptionOptions } from './subscription.js';
import type { TransportFactory } from './transport/transport.js';
import { checkArity, publishPacket, type SubscribeInput } from './client/arguments.js';
import { Connector } from './client/connector.js';
import { admitOffline } from './client/offline-queue.js';
import { ReconnectPolicy } from './client/reconnect-policy.js';
import { Router } from './client/router.js';
import { Lifecycle, type ConnectionState } from './client/states.js';
import { newCounters, snapshot, type ClientStats, type Counters } from './client/stats.js';
import { Subscriptions, type SubscribeOptions } from './client/subscriptions.js';
import { Supervisor, type ConnectResult, type SupervisorParts } from './client/supervisor.js';
import { connectionLimits, type ConnectionLimits } from './client/limits.js';

export type { ClientStats } from './client/stats.js';
export type { SubscribeInput } from './client/arguments.js';
export type { SubscribeOptions } from './client/subscriptions.js';
export type { ConnectResult } from './client/supervisor.js';
export type { ConnectionLimits } from './client/limits.js';
export type { PublishResult } from './session/session.js';

/** Options every call takes. */
export interface CallOptions {
  /** Aborting it rejects the call with AbortError and undoes what it can (see each method). */
  signal?: AbortSignal;
}

/** Options of `publish()`; an unknown key (MQTT.js's `dup`, `properties`) is refused, never ignored. */
export interface PublishOptions extends CallOptions {
  /** MQTT 5: the message's properties (see MessageProperties); refused below level 5. */
  properties?: MessageProperties;
  /** 0 (default): at most once; 1: at least once (PUBACK); 2: exactly once (PUBREC, PUBREL, PUBCOMP). */
  qos?: QoS;
  /** Ask the broker to keep it as the topic's retained message (default false); `true` or `false` only. */
  retain?: boolean;
}

/** Options of `end()`. */
export interface EndOptions extends CallOptions {
  /** Milliseconds to wait for in-flight acknowledgements before DISCONNECT (default: the endTimeout option). */
  timeout?: number;
  /** MQTT 5: the DISCONNECT's reason code (default 0x00 Normal disconnection; 0x04 asks the broker to publish the will). */
  reasonCode?: number;
  /** MQTT 5: a new Session Expiry Interval, in seconds (not above 0 when CONNECT said 0: section 3.14.2.2.2). */
  sessionExpiryInterval?: number;
  /** MQTT 5: a Reason String for the broker's logs. */
  reasonString?: string;
  /** MQTT 5: the DISCONNECT's user properties. */
  userProperties?: UserProperties;
}

/**
 * What publish() resolves with: at MQTT 5 the PUBACK's or PUBREC's result (undefined for QoS 0); at
 * 3.1.1 nothing, as before MQTT 5 came, so code written for 3.1.1 keeps its types. Only a client whose
 * options say `protocolVersion: 5` as a literal (or `MqttClient<5>`) gets the v5 type; options typed as
 * plain ClientOptions give `void` (the value is still there at run time).
 */
export type PublishOutcome<V extends ProtocolVersion> = [V] extends [5] ? PublishResult | undefined : void;

/** What unsubscribe() resolves with: the UNSUBACK's reason codes at MQTT 5; nothing at 3.1.1. */
export type UnsubscribeOutcome<V extends ProtocolVersion> = [V] extends [5] ? number[] : void;

/**
 * An MQTT 5.0 or 3.1.1 client (`V`, the protocol version its options chose, types the results). Nothing happens until `connect()`. Every call returns a Promise; every
 * subscription is an async iterator; `end()` flushes and disconnects, `destroy()` drops at once.
 *
 * A façade over the parts in src/client/ (docs/architecture.md): the lifecycle and its supervisor,
 * connection attempts, the reconnect policy, the router, subscriptions, the offline queue. What it
 * does not know is which transports a URL can use: each entry point (Node, browser, workerd)
 * exports a subclass named MqttClient that supplies its runtime's, so a browser bundle never sees
 * node:net and a Node process never loads a browser shim.
 */
export abstract class MqttClientBase<V extends ProtocolVersion = 4> implements AsyncDisposable {
  /** The broker's address, without any user info the URL carried (that became the credentials). */
  readonly url: URL;
  readonly #options: ResolvedOptions;
  readonly #lifecycle: Lifecycle;
  readonly #session: Session;
  readonly #supervisor: Supervisor;
  readonly #router: Router;
  readonly #subscriptions: Subscriptions;
  readonly #status = new StatusBroadcaster();
  readonly #counters: Counters = newCounters();
  /** Whether the client speaks MQTT 5 (publish properties and limits are checked only then). */
  readonly #v5: boolean;

  /** The transport for a URL scheme in this runtime; rejects with InvalidArgumentError for others. */
  protected abstract selectTransport(url: URL): Promise<TransportFactory>;

  constructor(url: string | URL, options: ClientOptions & { protocolVersion?: V } = {}) {
    // The URL's user info becomes credentials (unless given as options) and leaves the URL, so no
    // event, error, log line or inspection of the client can show it.
    const anyScheme = options.transport !== undefined;
    const { url: address, username, password } = splitCredentials(parseUrl(url, anyScheme));
    this.url = address;
    const o = resolveOptions({ ...options, username: options.username === undefined ? username : options.username, password: options.password === undefined ? password : options.password });
    this.#options = o;
    this.#v5 = o.session.protocolLevel === 5;
    const timers = options.timers ?? globalTimers;
    const log = resolveLogger(options, o.session.clientId);
    const store = options.store ?? new MemoryStore();
    const lifecycle = new Lifecycle(log && ((from, to) => log(`state ${from} -> ${to}`)));
    // The supervisor is the session's host and the router's read control, and needs both: it is made
    // first, and its parts are filled in below, before anything can call it.
    const parts: SupervisorParts = {
      lifecycle,
      policy: new ReconnectPolicy(o.reconnect, [this.url, ...resolveServers(options.servers, anyScheme)], o.followRedirects),
      store,
      status: this.#status,
      counters: this.#counters,
      timers,
      log,
      clientId: o.session.clientId,
      readyTimeout: o.session.ackTimeout,
      // Filled in below: named here so that the object has room for them (fields added to an object
      // literal later go to a second allocation).
      router: undefined as never,
      session: undefined as never,
      connector: undefined as never,
      subscriptions: undefined as never,
    };
    const supervisor = new Supervisor(parts);
    const router = (parts.router = new Router(o, supervisor, this.#counters, timers, this.#status, log));
    const session = (parts.session = new Session(o.session, supervisor, timers, store));
    const userTransport = options.transport;
    parts.connector = new Connector(
      { connectTimeout: o.connectTimeout, tls: o.tls, connection: {
        maxPacketSize: o.maxPacketSize,
        protocolLevel: o.session.protocolLevel,
        log,
        store,
        // A QoS 0 publish that never left this process is kept for the next connection, as one made offline would be.
        requeueQos0: o.queueQoS0 ? session : undefined,
      } },
      (u) => (userTransport ? Promise.resolve(userTransport) : this.selectTransport(u)),
      timers,
      log,
    );
    const subscriptions = (parts.subscriptions = new Subscriptions({
      session,
      router,
      lifecycle,
      connection: supervisor,
      status: this.#status,
      timers,
      log,
      clean: o.session.clean,
      v5: o.session.protocolLevel === 5,
      defaults: o,
    }));
    this.#lifecycle = lifecycle;
    this.#session = session;
    this.#supervisor = supervisor;
    this.#router = router;
    this.#subscriptions = subscriptions;
    // Aborting the client's own signal destroys it; the listener goes when the client closes, so a
    // long-lived signal keeps no closed client reachable.
    const signal = options.signal;
    if (signal?.aborted) supervisor.destroy(new AbortError(signal.reason));
    else if (signal) {
      const abort = (): void => supervisor.destroy(new AbortError(signal.reason));
      signal.addEventListener('abort', abort, { once: true });
      void this.closed.catch(() => {}).then(() => signal.removeEventListener('abort', abort));
    }
  }

  /**
   * Settles when the client is finished: resolves after `end()`, rejects with the error that ended it
   * otherwise. The same promise on every read; nobody has to await it (a rejection nobody reads is
   * not an unhandled rejection).
   */
  get closed(): Promise<void> {
    return this.#supervisor.closed;
  }

  /** Where the client stands: new, connecting, connected, reconnecting, closing or closed. */
  get state(): ConnectionState {
    return this.#lifecycle.state;
  }

  /** Whether `state` is `connected`. */
  get connected(): boolean {
    return this.#lifecycle.state === 'connected';
  }

  /** The client identifier sent in CONNECT: the option, or the generated `mqttwire` + 12 hex digits; at MQTT 5, the one the broker assigned for an empty one. */
  get clientId(): string {
    return this.#session.currentClientId;
  }

  /**
   * The limits in force on the current (or last) connection: at MQTT 5 what the broker's CONNACK
   * announced, at 3.1.1 what the spec implies (see docs/mqtt5.md). A fresh read-only object per read.
   */
  get limits(): ConnectionLimits {
    return connectionLimits(this.#session.limits);
  }

  /** A snapshot of the counters: messages and bytes each way, in flight, queued, dropped, last ping. */
  stats(): ClientStats {
    return snapshot(this.#counters, this.#session, this.#supervisor.connection);
  }

  /**
   * Connection events as an async iterator: connected, disconnected, offline, reconnecting,
   * error, closed. Each call gets its own stream from now on; it ends when the client closes.
   */
  status(): AsyncIterableIterator<StatusEvent> {
    const stream = this.#status.open();
    if (this.#lifecycle.state === 'closed') stream.return?.();
    return stream;
  }

  /**
   * Opens the connection; resolves on CONNACK 0 with whether the broker kept a session and, at MQTT 5,
   * the CONNACK's properties (`{}` at 3.1.1). If the attempt fails it rejects with why
   * (ConnectionRefusedError, TimeoutError, TransportError, MqttProtocolError, AbortError) and the client
   * is closed, unless `reconnect.retryFirstConnect` makes it wait for the broker; on a closed client it
   * rejects with ClientClosedError.
   */
  connect(options: CallOptions = {}): Promise<ConnectResult> {
    try {
      // eslint-disable-next-line prefer-rest-params -- extra arguments are a JavaScript caller's mistake; the typed signature stays
      checkArity(arguments, 1, 'connect');
      checkKeys(options, CALL_OPTIONS);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#supervisor.connect(options.signal);
  }

  /**
   * QoS 0 resolves once written, QoS 1 on PUBACK, QoS 2 on PUBCOMP: with undefined at 3.1.1 and for
   * QoS 0, with the PUBACK's or PUBREC's reason code and properties at MQTT 5 (a code of 0x80 or
   * more rejects with PublishError instead). Bad input (topic, QoS, payload, an unknown option, a
   * packet over maxPacketSize) rejects at once with InvalidArgumentError and sends nothing; after
   * `end()` it rejects with ClientClosedError; offline beyond `offlineQueueLimit` with QueueFullError.
   * A missing acknowledgement rejects with TimeoutError after `ackTimeout`.
   */
  publish(topic: string, payload: Payload, options: PublishOptions = {}): Promise<PublishOutcome<V>> {
    // Not an async function: that would wrap the session's promise in one more per message, which a
    // burst of QoS 1/2 publishes keeps alive until each is acknowledged. Every throw still rejects.
    try {
      const state = this.#lifecycle.state;
      if (this.#lifecycle.ending) throw new ClientClosedError(`cannot publish: the client is ${state === 'closing' || state === 'closed' ? state : 'ending'}`);
      // eslint-disable-next-line prefer-rest-params -- extra arguments are a JavaScript caller's mistake; the typed signature stays
      checkArity(arguments, 3, 'publish');
      checkKeys(options, PUBLISH_OPTIONS);
      const session = this.#session;
      const packet = publishPacket(topic, payload, options, session.limits, this.#v5);
      const signal = options.signal;
      if (signal?.aborted) throw new AbortError(signal.reason);
      if (state !== 'connected' && !admitOffline(packet.qos, session.stats.queued, this.#options, this.#counters)) return Promise.resolve(undefined as PublishOutcome<V>);
      const done = session.publish(packet, signal);
      this.#counters.messagesOut++;
      return done as Promise<PublishOutcome<V>>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Resolves after SUBACK with a live Subscription (`sub.granted` holds the return codes). A 0x80
   * refusal of any filter rejects with SubscribeError; the filters granted in the same call are
   * then unsubscribed again, so a subscribe either fully succeeds or leaves nothing behind.
   */
  subscribe(input: SubscribeInput, options: SubscribeOptions = {}): Promise<Subscription> {
    try {
      // eslint-disable-next-line prefer-rest-params -- extra arguments are a JavaScript caller's mistake; the typed signature stays
      checkArity(arguments, 2, 'subscribe');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#subscriptions.subscribe(input, options);
  }

  /**
   * Sends UNSUBSCRIBE and resolves on UNSUBACK with its reason codes, one per filter, at MQTT 5 (0x00
   * Success, 0x11 No subscription existed, 0x80 and above refused); `[]` at 3.1.1, whose UNSUBACK has
   * none. Subscriptions left with no filter end.
   */
  unsubscribe(topicFilters: string | string[], options: CallOptions = {}): Promise<UnsubscribeOutcome<V>> {
    try {
      // eslint-disable-next-line prefer-rest-params -- extra arguments are a JavaScript caller's mistake; the typed signature stays
      checkArity(arguments, 2, 'unsubscribe');
    } catch (err) {
      return Promise.reject(err);
    }
    // At 3.1.1 the codes are [] and the type says nothing, so 3.1.1 code keeps its types.
    return this.#subscriptions.unsubscribe(topicFilters, options) as Promise<UnsubscribeOutcome<V>>;
  }

  /**
   * MQTT 5 enhanced authentication: starts a re-authentication on the live connection (AUTH 0x19 with
   * a fresh exchange from the `auth` mechanism), answers the broker's challenges, and resolves when its
   * AUTH 0x00 arrives and the mechanism has verified it. Publishing and receiving go on meanwhile. Rejects
   * with InvalidArgumentError without the `auth` option, ConnectionClosedError when not connected,
   * TimeoutError after `ackTimeout`, AuthenticationError when the mechanism refuses the broker's answer
   * (the connection then closes); a broker that refuses us closes the connection with its DISCONNECT.
   */
  reauthenticate(options: CallOptions = {}): Promise<void> {
    try {
      checkKeys(options, CALL_OPTIONS);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Deadline<void>(globalTimers).follow(this.#session.reauthenticate()).abortOn(options.signal).promise;
  }

  /** Every message that matched no live subscription. Without a reader they are counted and dropped. */
  messages(options: SubscriptionOptions = {}): Subscription {
    checkKeys(options, SUBSCRIPTION_OPTIONS);
    return this.#router.messages(subscriptionLimits(options, this.#options), this.#lifecycle.state === 'closed');
  }

  /**
   * Graceful close: publishes already accepted are sent and acknowledged (bounded by `timeout`, or
   * until `signal` aborts), then DISCONNECT, then the transport closes. Everything still pending
   * afterwards is rejected.
   */
  end(options: EndOptions = {}): Promise<void> {
    let timeout: number;
    let disconnect: DisconnectPacket;
    try {
      // eslint-disable-next-line prefer-rest-params -- extra arguments are a JavaScript caller's mistake; the typed signature stays
      checkArity(arguments, 1, 'end');
      checkKeys(options, END_OPTIONS);
      timeout = endTimeout(options, this.#options.endTimeout);
      disconnect = disconnectPacket(options, this.#v5, this.#options.session.connectProperties?.sessionExpiryInterval ?? 0);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#supervisor.end(timeout, options.signal, disconnect);
  }

  /** Closes at once without DISCONNECT (so the broker publishes the will). */
  destroy(err?: unknown): void {
    this.#supervisor.destroy(err);
  }

  /** What util.inspect and console.log show: never the options, which hold the password. */
  [Symbol.for('nodejs.util.inspect.custom')](_depth: number, options: object, inspect?: (value: unknown, options: object) => string): string {
    return describeClient(this.constructor.name, { url: this.url.href, clientId: this.clientId, state: this.state }, options, inspect);
  }

  /** `await using client = await connect(url)`: the same as `end()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.end();
  }
}
