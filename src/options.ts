import type { QoS, Will, WillProperties } from './codec/packets.js';
import { checkTopicName } from './codec/topics.js';
import { HAS_NUL, LONE_SURROGATE, utf8Length } from './codec/utf8.js';
import { parseUrl, redactUrl } from './broker-url.js';
import { describeValue, InvalidArgumentError, quote } from './errors.js';
import { checkKeys, type KnownKeys } from './option-keys.js';
import type { Logger } from './logger.js';
import type { SessionOptions } from './session/session.js';
import type { Timers } from './session/timers.js';
import type { OverflowPolicy, SubscriptionOptions } from './subscription.js';
import type { TlsOptions, TransportFactory } from './transport/transport.js';
import type { BackoffOptions } from './session/backoff.js';
import type { Store } from './store/store.js';
import { resolveLevel, resolveMqtt5, resolveWillProperties, type Mqtt5Options } from './options-v5.js';

/** The `reconnect` option: the backoff's delays, and which failures are retried. */
export interface ReconnectOptions extends BackoffOptions {
  /**
   * Keep retrying after CONNACK refusals that retrying cannot normally heal (1 bad protocol level,
   * 2 identifier rejected, 4 bad credentials, 5 not authorized). Default false: they end the client.
   */
  retryRefused?: boolean;
  /**
   * Let the first connect() wait for the broker: a failed attempt is retried with the same backoff
   * and servers as a reconnect, and connect() resolves on the first CONNACK 0 (bound the wait with
   * its `signal`). Errors retrying cannot heal still reject at once. Default false: the first
   * connect() makes one attempt, and a failure rejects it and closes the client.
   */
  retryFirstConnect?: boolean;
}

/** The `will` option: the message the broker publishes for the client if it vanishes without DISCONNECT. */
export interface WillOptions {
  /** A topic name: no wildcards, not empty, no U+0000. */
  topic: string;
  /** Required, like a publish payload: `''` or `new Uint8Array(0)` for an empty will message. */
  payload: Payload;
  /** QoS the broker publishes it with (default 0). */
  qos?: QoS;
  /** Publish it as the topic's retained message (default false). */
  retain?: boolean;
  /** MQTT 5: the Will Properties (willDelayInterval, messageExpiryInterval, contentType, ...). */
  properties?: WillProperties;
}

/** 5: MQTT 5.0; 4: MQTT 3.1.1 (the default); 3: MQTT 3.1. */
export type ProtocolVersion = 3 | 4 | 5;

/** Bytes the application may hand over: text is sent as UTF-8. */
export type Payload = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * Options of `new MqttClient(url, options)` and `connect(url, options)`. An unknown key is refused with
 * InvalidArgumentError naming it (and the mqttwire name for an MQTT.js one), never ignored. TLS settings
 * (`ca`, `cert`, `key`, `rejectUnauthorized`, ...) come from TlsOptions; see docs/transports.md. The
 * MQTT 5 options (Mqtt5Options) need `protocolVersion: 5`.
 */
export interface ClientOptions extends TlsOptions, Mqtt5Options {
  /** Default: `mqttwire` and 12 random hex digits (20 characters of 0-9a-z, which every broker must accept: MQTT-3.1.3-5). */
  clientId?: string;
  /** Start a clean session (default true). */
  clean?: boolean;
  /** Seconds of silence before PINGREQ (default 60; 0 turns keepalive off). */
  keepalive?: number;
  /** Sent in CONNECT only; also taken from the URL's user info (`mqtt://user:pass@host`), the option wins. */
  username?: string;
  /** Sent in CONNECT only (MQTT 3.1.1 needs a username with it); never in a log line, error or event. */
  password?: string | Uint8Array;
  /**
   * Published by the broker if the client vanishes without DISCONNECT. Checked like a publish when
   * the client is made: a topic name without wildcards, a payload (`''` for an empty one), QoS, retain.
   */
  will?: WillOptions;
  /** Milliseconds to open the transport and receive CONNACK (default 30,000). */
  connectTimeout?: number;
  /** Milliseconds to wait for each PUBACK/PUBREC/PUBCOMP/SUBACK/UNSUBACK (default 30,000). */
  ackTimeout?: number;
  /** Milliseconds to wait for PINGRESP (default: the keepalive interval, at most 30,000). */
  pingTimeout?: number;
  /** Milliseconds `end()` waits for in-flight acknowledgements before disconnecting (default 10,000). */
  endTimeout?: number;
  /** Largest packet accepted from or sent to the broker, in bytes, fixed header included. */
  maxPacketSize?: number;
  /** 5 for MQTT 5.0, 4 for MQTT 3.1.1 (default), 3 for MQTT 3.1. */
  protocolVersion?: 3 | 4 | 5;
  /** An alias of protocolVersion (the CONNECT field's name); giving both with different values is an error. */
  protocolLevel?: 3 | 4 | 5;
  /** The most QoS 1/2 publishes awaiting acknowledgement at once (default 20). */
  inflightWindow?: number;
  /** Default buffer bound of each subscription (default 1,000 messages). */
  highWaterMark?: number;
  /** Default overflow policy of each subscription (default 'block'). */
  overflow?: OverflowPolicy;
  /**
   * Milliseconds a full subscription may keep the client from reading before it is reported (a
   * status 'stalled' event and a debug line, again every stallTimeout while it lasts); a subscription
   * never read at all is then set aside (see docs/client.md). Default 10,000; 0 turns this off.
   */
  stallTimeout?: number;
  /** Aborting it destroys the client. */
  signal?: AbortSignal;
  /** Receives one line per packet in and out, and per connection event, each starting with the client id. */
  logger?: Logger;
  /** Log to stderr, each line with the time and the client id (also turned on by MQTTWIRE_DEBUG=1, true, yes or on). */
  debug?: boolean;
  /** Open the byte stream yourself (for runtimes mqttwire does not know). */
  transport?: TransportFactory;
  /** @internal Replaces the global timers (the tests' hand-driven clock); not part of the published API. */
  timers?: Timers;
  /**
   * Reconnect after a connection loss the application did not ask for, with exponential backoff
   * and full jitter (default on: initialDelay 1,000 ms, maxDelay 30,000 ms). `false` turns it off.
   */
  reconnect?: false | ReconnectOptions;
  /** More brokers to try in turn when reconnecting (the URL given first is tried first). */
  servers?: (string | URL)[];
  /**
   * The most publishes queued while not connected (default 10,000); beyond it publish() rejects
   * with QueueFullError. While connected, publishes behind a full in-flight window are not
   * limited: each promise waits its turn, which is the backpressure.
   */
  offlineQueueLimit?: number;
  /** Queue QoS 0 publishes made while offline (default true); false drops them (counted). */
  queueQoS0?: boolean;
  /** Where unacknowledged messages and incoming QoS 2 ids are kept (default: a MemoryStore). */
  store?: Store;
}

/** Every option, so an unknown one can be refused; the compiler keeps this in step with ClientOptions. */
const CLIENT_KEYS = {
  clientId: true, clean: true, keepalive: true, username: true, password: true, will: true, connectTimeout: true,
  ackTimeout: true, pingTimeout: true, endTimeout: true, maxPacketSize: true, protocolVersion: true, protocolLevel: true, inflightWindow: true,
  highWaterMark: true, overflow: true, stallTimeout: true, signal: true, logger: true, debug: true, transport: true, timers: true,
  reconnect: true, servers: true, offlineQueueLimit: true, queueQoS0: true, store: true,
  ca: true, cert: true, key: true, passphrase: true, servername: true, rejectUnauthorized: true, alpnProtocols: true,
  sessionExpiryInterval: true, receiveMaximum: true, topicAliasMaximum: true, requestResponseInformation: true,
  requestProblemInformation: true, userProperties: true, followRedirects: true, topicAliases: true, auth: true,
} satisfies Record<keyof ClientOptions, true>;

const IN_THE_URL = 'put it in the broker URL (mqtt://host:1883, ws://host:8080/mqtt)';
const MQTT5_PROPERTIES = 'give each MQTT 5 property as an option of its own (sessionExpiryInterval, receiveMaximum, userProperties, ...) with protocolVersion: 5';

/** The options people bring from MQTT.js (and a few common slips), with what mqttwire takes instead. */
const CLIENT_OPTIONS: KnownKeys = {
  what: 'client',
  keys: Object.keys(CLIENT_KEYS).filter((k) => k !== 'timers'),
  hidden: ['timers'],
  foreign: {
    keepAlive: 'mqttwire calls it "keepalive" (seconds)',
    reconnectPeriod: 'use reconnect: { initialDelay } (ms, the first delay of an exponential backoff), or reconnect: false',
    reconnectOnConnackError: 'use reconnect: { retryRefused: true }',
    protocolId: 'it follows protocolVersion (5 and 4 send "MQTT", 3 sends "MQIsdp")',
    queueQoSZero: 'mqttwire calls it "queueQoS0"',
    incomingStore: 'use "store" (one Store keeps both directions)',
    outgoingStore: 'use "store" (one Store keeps both directions)',
    resubscribe: 'subscriptions are always subscribed again when the broker kept no session',
    manualConnect: 'new MqttClient() never connects by itself: call connect()',
    log: 'use "logger" (a function taking one line) or "debug: true"',
    wsOptions: 'the TLS options (ca, cert, key, ...) are options of their own; for anything else pass options.transport',
    transformWsUrl: 'pass the URL you want, or options.transport',
    unixSocket: 'pass options.transport',
    messageIdProvider: 'packet identifiers are the client\'s own business',
    customHandleAcks: 'the client acknowledges QoS 1 and 2 messages itself',
    host: IN_THE_URL,
    hostname: IN_THE_URL,
    port: IN_THE_URL,
    protocol: IN_THE_URL,
    path: IN_THE_URL,
    properties: MQTT5_PROPERTIES,
    authPacket: 'use auth: an authenticator such as scramSha256() from mqttwire/scram (see docs/auth.md)',
    autoUseTopicAlias: "use topicAliases: 'auto' (the default at MQTT 5; see docs/mqtt5.md)",
    autoAssignTopicAlias: "use topicAliases: 'auto' (the default at MQTT 5; see docs/mqtt5.md)",
  },
};

const RECONNECT_OPTIONS: KnownKeys = { what: 'reconnect', keys: ['initialDelay', 'maxDelay', 'resetAfter', 'retryRefused', 'retryFirstConnect'] };
const WILL_OPTIONS: KnownKeys = { what: 'will', keys: ['topic', 'payload', 'qos', 'retain', 'properties'] };

export interface ResolvedOptions {
  session: SessionOptions;
  connectTimeout: number;
  endTimeout: number;
  maxPacketSize: number;
  highWaterMark: number;
  overflow: OverflowPolicy;
  stallTimeout: number;
  reconnect: ReconnectOptions | undefined;
  offlineQueueLimit: number;
  queueQoS0: boolean;
  /** MQTT 5: follow a Server Reference (DISCONNECT or CONNACK 0x9C/0x9D) when reconnecting. */
  followRedirects: boolean;
  /** Handed to every transport open; rejectUnauthorized is always set (true unless turned off). */
  tls: TlsOptions;
}

const MAX_PACKET = 268_435_455 + 5;
const encoder = new TextEncoder();

/**
 * The bytes of a payload (publish, will) or password. An absent payload is refused: taken as empty,
 * a retained publish would delete the broker's retained message. Empty is said with '' or
 * `new Uint8Array(0)`.
 */
export function toBytes(payload: Payload, what = 'payload'): Uint8Array {
  if (typeof payload === 'string') return encoder.encode(payload);
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (ArrayBuffer.isView(payload)) return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload === undefined) throw new InvalidArgumentError(`${what} is missing: pass '' or new Uint8Array(0) for an empty one`);
  throw new InvalidArgumentError(`${what} must be a string, Uint8Array, ArrayBuffer or ArrayBufferView, got ${describeValue(payload)}`);
}

/** A topic name the application gave (publish, will): valid, or InvalidArgumentError. */
export function checkTopic(topic: unknown, what = 'topic'): string {
  if (typeof topic !== 'string') throw new InvalidArgumentError(`${what} must be a string, got ${describeValue(topic)}`);
  try {
    checkTopicName(topic);
  } catch (err) {
    throw new InvalidArgumentError(`invalid ${what} ${quote(topic)}: ${(err as Error).message}`);
  }
  return topic;
}

/** A string field of CONNECT (client id, user name): UTF-8 encodable, no U+0000, at most 65535 bytes. */
function checkMqttString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${what} must be a string, got ${describeValue(value)}`);
  const bytes = utf8Length(value);
  if (bytes === HAS_NUL) throw new InvalidArgumentError(`${what} ${quote(value)} must not contain U+0000 (MQTT-1.5.3-2)`);
  if (bytes === LONE_SURROGATE) throw new InvalidArgumentError(`${what} ${quote(value)} contains an unpaired surrogate (MQTT-1.5.3-1)`);
  if (bytes > 0xffff) throw new InvalidArgumentError(`${what} is ${bytes} bytes in UTF-8; the limit is 65535`);
  return value;
}

/** A binary field of CONNECT (will payload, password) has a two-byte length: at most 65535 bytes. */
function checkShortBytes(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length > 0xffff) throw new InvalidArgumentError(`${what} is ${bytes.length} bytes; the limit is 65535`);
  return bytes;
}

/**
 * The password as CONNECT carries it. A wrong one is refused by its type alone: a message never shows a
 * password, even one of the wrong type (a numeric PIN read from a config file is still a secret).
 */
function checkPassword(value: unknown): Uint8Array {
  if (typeof value === 'string' || value instanceof Uint8Array) return checkShortBytes(toBytes(value), 'password');
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
  throw new InvalidArgumentError(`password must be a string or a Uint8Array, got ${kind} (not shown)`);
}

/**
 * The will is application input like a publish, so it is checked when the client is made, before
 * any socket opens, with the same rules; the encoder would otherwise find it bad only inside connect().
 */
function resolveWill(will: unknown, level: 3 | 4 | 5): Will {
  if (typeof will !== 'object' || will === null) throw new InvalidArgumentError(`will must be an object { topic, payload, qos, retain }, got ${describeValue(will)}`);
  checkKeys(will, WILL_OPTIONS);
  const w = will as Partial<WillOptions>;
  const topic = checkTopic(w.topic, 'will.topic');
  const resolved: Will = {
    topic,
    payload: checkShortBytes(toBytes(w.payload as Payload, 'will.payload'), 'will.payload'),
    qos: checkQos(w.qos ?? 0, 'will.qos'),
    retain: checkFlag(w.retain, 'will.retain'),
  };
  const properties = resolveWillProperties(w.properties, level);
  if (properties) resolved.properties = properties;
  return resolved;
}

/** An optional boolean option: true, false or absent (false); anything else is refused, not coerced. */
export function checkFlag(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${what} must be true or false, got ${describeValue(value)}`);
  return value;
}

export function checkQos(qos: unknown, what = 'qos'): QoS {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new InvalidArgumentError(`${what} must be 0, 1 or 2, got ${describeValue(qos)}`);
  return qos;
}

/**
 * A client id needs to be unique, not secret, so Math.random is enough (48 random bits); the first
 * use of crypto costs a fresh Node process about 3 ms, a tenth of the cold-start budget.
 */
function randomClientId(): string {
  let id = 'mqttwire';
  for (let i = 0; i < 12; i++) id += Math.floor(Math.random() * 16).toString(16);
  return id;
}

export function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, got ${describeValue(value)}`);
  return value;
}

const OVERFLOW_POLICIES: readonly OverflowPolicy[] = ['block', 'drop-oldest', 'drop-newest'];

/** A subscription's buffer bound and overflow policy: the call's own, else the client's defaults. */
export function subscriptionLimits(o: SubscriptionOptions, defaults: Required<SubscriptionOptions>): Required<SubscriptionOptions> {
  const overflow = o.overflow ?? defaults.overflow;
  if (!OVERFLOW_POLICIES.includes(overflow)) {
    throw new InvalidArgumentError(`overflow must be ${OVERFLOW_POLICIES.map((p) => `'${p}'`).join(', ')}, got ${describeValue(overflow)}`);
  }
  return { highWaterMark: nonNegative(o.highWaterMark, defaults.highWaterMark, 'highWaterMark'), overflow };
}

/** The timeout of `end()`: the call's own (checked), else the endTimeout option. */
export function endTimeout(o: { timeout?: number }, fallback: number): number {
  return nonNegative(o.timeout, fallback, 'timeout');
}

/** The reconnect option: false (off), or the backoff settings (true or absent: the defaults). */
function resolveReconnect(r: unknown): ReconnectOptions | undefined {
  if (r === false) return undefined;
  if (r === undefined || r === true) return {};
  checkKeys(r, RECONNECT_OPTIONS);
  const o = r as ReconnectOptions;
  const out: ReconnectOptions = {};
  for (const k of ['initialDelay', 'maxDelay', 'resetAfter'] as const) if (o[k] !== undefined) out[k] = nonNegative(o[k], 0, `reconnect.${k}`);
  if (o.retryRefused !== undefined) out.retryRefused = checkFlag(o.retryRefused, 'reconnect.retryRefused');
  if (o.retryFirstConnect !== undefined) out.retryFirstConnect = checkFlag(o.retryFirstConnect, 'reconnect.retryFirstConnect');
  return out;
}

/** The `servers` to try in turn after the first URL: broker URLs, like the first. */
export function resolveServers(servers: unknown, anyScheme: boolean): URL[] {
  if (servers === undefined) return [];
  if (!Array.isArray(servers)) throw new InvalidArgumentError(`servers must be an array of broker URLs, got ${describeValue(servers)}`);
  return servers.map((s: unknown, i) => {
    if (typeof s === 'object' && s !== null && !(s instanceof URL)) {
      throw new InvalidArgumentError("servers takes broker URLs ('mqtt://host:1883'), not { host, port } objects");
    }
    const url = parseUrl(s as string | URL, anyScheme);
    // Only the first URL's user info becomes the credentials: here it would be ignored, and shown in events.
    if (url.username !== '' || url.password !== '') {
      throw new InvalidArgumentError(`servers[${i}] ${quote(redactUrl(url))} carries a user name or password: give credentials as the username and password options`);
    }
    return url;
  });
}

export function resolveOptions(o: ClientOptions): ResolvedOptions {
  checkKeys(o, CLIENT_OPTIONS);
  const keepalive = nonNegative(o.keepalive, 60, 'keepalive');
  if (keepalive > 65535 || !Number.isInteger(keepalive)) throw new InvalidArgumentError('keepalive must be an integer number of seconds, 0 to 65535');
  const protocolLevel = resolveLevel(o.protocolVersion, o.protocolLevel);
  const inflightWindow = nonNegative(o.inflightWindow, 20, 'inflightWindow');
  if (inflightWindow < 1 || inflightWindow > 65535) throw new InvalidArgumentError('inflightWindow must be 1 to 65535');
  const clean = o.clean === undefined || checkFlag(o.clean, 'clean');
  const clientId = o.clientId === undefined ? randomClientId() : checkMqttString(o.clientId, 'clientId');
  // MQTT 5 lets the broker assign an id to any session (MQTT-3.1.3-6 of 5.0); 3.1.1 only to a clean one.
  if (clientId === '' && !clean && protocolLevel !== 5) throw new InvalidArgumentError('an empty clientId needs clean: true (MQTT-3.1.3-7)');
  if (o.password !== undefined && o.username === undefined && protocolLevel === 4) {
    throw new InvalidArgumentError('a password needs a username in MQTT 3.1.1 (MQTT-3.1.2-22)');
  }
  const will = o.will === undefined ? undefined : resolveWill(o.will, protocolLevel);
  const maxPacketSize = Math.min(nonNegative(o.maxPacketSize, MAX_PACKET, 'maxPacketSize'), MAX_PACKET);
  const v5 = resolveMqtt5(o, protocolLevel, clean, o.maxPacketSize === undefined ? undefined : maxPacketSize);
  const session: SessionOptions = {
    clientId,
    clean,
    keepalive,
    protocolLevel,
    ackTimeout: nonNegative(o.ackTimeout, 30_000, 'ackTimeout'),
    pingTimeout: nonNegative(o.pingTimeout, Math.min(30_000, Math.max(1000, keepalive * 1000)), 'pingTimeout'),
    inflightWindow,
    maxPacketSize,
    receiveMaximum: v5.receiveMaximum,
    topicAliasMaximum: v5.topicAliasMaximum,
  };
  if (v5.topicAliases) session.topicAliases = true;
  if (v5.auth) session.auth = v5.auth;
  if (v5.connectProperties) session.connectProperties = v5.connectProperties;
  if (o.username !== undefined) session.username = checkMqttString(o.username, 'username');
  if (o.password !== undefined) session.password = checkPassword(o.password);
  if (will) session.will = will;
  // Every field written in the literal, none spread in: a literal with a spread is built field by
  // field, and its last fields spill out of the object into a second allocation (one more per client).
  const { highWaterMark, overflow } = subscriptionLimits(o, { highWaterMark: 1000, overflow: 'block' });
  return {
    session,
    connectTimeout: nonNegative(o.connectTimeout, 30_000, 'connectTimeout'),
    endTimeout: nonNegative(o.endTimeout, 10_000, 'endTimeout'),
    maxPacketSize,
    highWaterMark,
    overflow,
    stallTimeout: nonNegative(o.stallTimeout, 10_000, 'stallTimeout'),
    reconnect: resolveReconnect(o.reconnect),
    offlineQueueLimit: nonNegative(o.offlineQueueLimit, 10_000, 'offlineQueueLimit'),
    queueQoS0: o.queueQoS0 === undefined || checkFlag(o.queueQoS0, 'queueQoS0'),
    followRedirects: v5.followRedirects,
    tls: resolveTls(o),
  };
}

/** Only the TLS fields that were given, with verification on unless it was explicitly turned off. */
function resolveTls(o: TlsOptions): TlsOptions {
  if (o.rejectUnauthorized !== undefined && typeof o.rejectUnauthorized !== 'boolean') {
    throw new InvalidArgumentError('rejectUnauthorized must be true or false');
  }
  if (o.alpnProtocols !== undefined && (!Array.isArray(o.alpnProtocols) || o.alpnProtocols.some((p) => typeof p !== 'string'))) {
    throw new InvalidArgumentError('alpnProtocols must be an array of strings');
  }
  const tls: TlsOptions = { rejectUnauthorized: o.rejectUnauthorized !== false };
  for (const k of ['ca', 'cert', 'key', 'passphrase', 'servername', 'alpnProtocols'] as const) {
    if (o[k] !== undefined) (tls as Record<string, unknown>)[k] = o[k];
  }
  return tls;
}
