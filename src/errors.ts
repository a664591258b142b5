/**
 * Symbol.for gives every copy of mqttwire the same symbol. A class's own brand names it: a
 * subclass an application writes without one is recognised by identity, as usual.
 */
const BRAND: unique symbol = Symbol.for('mqttwire.errorClass') as never;

/**
 * Every error mqttwire raises is an MqttError with a stable `code`, so callers can branch on
 * `err.code` instead of parsing messages. Protocol errors also name the normative statement they
 * break (e.g. `MQTT-2.2.2-2`) where one applies: of MQTT 3.1.1, or of MQTT 5.0 for a packet of
 * protocol level 5.
 */
export class MqttError extends Error {
  /** @internal The brand `instanceof` checks across copies of mqttwire. */
  static readonly [BRAND]: string = 'MqttError';
  /** Stable across versions: branch on it, not on the message. Each subclass narrows it to its own. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    // The brand, not the class's own name, which a minifier renames (`i: topic must be a string`); a
    // subclass the application writes without a brand keeps its class name.
    this.name = brandOf(new.target) ?? new.target.name;
    this.code = code;
  }

  /**
   * `err instanceof InvalidArgumentError` holds for an error made by any copy of mqttwire: the
   * ESM and the CommonJS build are two copies in a process that loads both (an application that
   * imports, a dependency that requires), and so are two installed versions. Each class carries a
   * brand; an error is an instance when a class in its prototype chain carries the same brand.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isBrandedInstance(value, this);
  }
}

function isBrandedInstance(value: unknown, cls: object): boolean {
  if (Function.prototype[Symbol.hasInstance].call(cls, value)) return true;
  const brand = brandOf(cls);
  if (brand === undefined || typeof value !== 'object' || value === null) return false;
  for (let proto: unknown = Object.getPrototypeOf(value); proto !== null && typeof proto === 'object'; proto = Object.getPrototypeOf(proto)) {
    if (Object.hasOwn(proto, 'constructor') && brandOf((proto as { constructor: unknown }).constructor) === brand) return true;
  }
  return false;
}

function brandOf(cls: unknown): string | undefined {
  return typeof cls === 'function' && Object.hasOwn(cls, BRAND) ? (cls as unknown as Record<typeof BRAND, string>)[BRAND] : undefined;
}

/** Every `code` an MqttError can carry; each subclass narrows it to its own (see docs/client.md). */
export type ErrorCode =
  | ProtocolErrorCode
  | 'INVALID_ARGUMENT'
  | 'CONNECTION_REFUSED'
  | 'TIMEOUT'
  | 'SUBSCRIBE_REFUSED'
  | 'PUBLISH_REFUSED'
  | 'SERVER_DISCONNECT'
  | 'MESSAGE_EXPIRED'
  | 'CONNECTION_CLOSED'
  | 'CLIENT_CLOSED'
  | 'ABORTED'
  | 'QUEUE_FULL'
  | 'NO_PACKET_ID'
  | 'SUBSCRIPTION_ABANDONED'
  | TransportErrorCode
  | AuthenticationErrorCode;

/** A socket that could not be opened or broke; TLS_ERROR is never retried. */
export type TransportErrorCode = 'TRANSPORT_ERROR' | 'CONNECTION_REFUSED_BY_HOST' | 'TLS_ERROR';

/** Codes a malformed or unexpected packet can carry. */
export type ProtocolErrorCode =
  | 'MALFORMED_LENGTH'
  | 'RESERVED_FLAGS'
  | 'INVALID_QOS'
  | 'INVALID_UTF8'
  | 'INVALID_TOPIC'
  | 'INVALID_PACKET_ID'
  | 'INVALID_PROTOCOL'
  | 'INVALID_CONNECT_FLAGS'
  | 'INVALID_RETURN_CODE'
  | 'EMPTY_SUBSCRIPTION'
  | 'PACKET_TOO_LARGE'
  | 'UNKNOWN_TYPE'
  | 'TRUNCATED'
  | 'TRAILING_BYTES'
  | 'STRING_TOO_LONG'
  | 'UNEXPECTED_PACKET'
  | 'DECODER_FAILED'
  // MQTT 5
  | 'INVALID_PROPERTY'
  | 'DUPLICATE_PROPERTY'
  | 'INVALID_PROPERTY_VALUE'
  | 'INVALID_REASON_CODE'
  | 'INVALID_SUBSCRIPTION_OPTIONS'
  // MQTT 5, the broker broke a limit we announced in CONNECT
  | 'RECEIVE_MAXIMUM_EXCEEDED'
  | 'TOPIC_ALIAS_INVALID';

/**
 * The MQTT 5 Reason Code a receiver sends (in CONNACK or DISCONNECT) for a protocol error: 0x81 Malformed
 * Packet, 0x82 Protocol Error, 0x84 Unsupported Protocol Version, 0x93 Receive Maximum exceeded, 0x94 Topic
 * Alias invalid, 0x95 Packet too large.
 */
export type ErrorReasonCode = 0x81 | 0x82 | 0x84 | 0x93 | 0x94 | 0x95;

/**
 * Reason code per error code, where it is not 0x81. The spec's split (section 1.2): a Malformed Packet cannot
 * be parsed (lengths, flags, bad UTF-8, a property not allowed on the packet); a Protocol Error is parsed and
 * then found to break a rule (a duplicate property, a value out of range, a reason code the packet type may
 * not carry, packet id 0, an empty SUBSCRIBE).
 */
const REASON_CODE_OF: Partial<Record<ProtocolErrorCode, ErrorReasonCode>> = {
  INVALID_TOPIC: 0x82,
  INVALID_PACKET_ID: 0x82,
  INVALID_PROTOCOL: 0x84,
  INVALID_RETURN_CODE: 0x82,
  EMPTY_SUBSCRIPTION: 0x82,
  PACKET_TOO_LARGE: 0x95,
  UNEXPECTED_PACKET: 0x82,
  DUPLICATE_PROPERTY: 0x82,
  INVALID_PROPERTY_VALUE: 0x82,
  INVALID_REASON_CODE: 0x82,
  INVALID_SUBSCRIPTION_OPTIONS: 0x82,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
};

/** Bytes on the wire (or a packet given to `encode`) break the rules of MQTT 3.1.1 or 5.0. */
export class MqttProtocolError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'MqttProtocolError';
  /** Which rule the packet broke (listed in docs/codec.md). */
  declare readonly code: ProtocolErrorCode;
  /** The normative statement broken, when the spec has one, e.g. `MQTT-3.3.2-2`. */
  readonly statement: string | undefined;
  /**
   * MQTT 5: the Reason Code to send in the DISCONNECT (or, for a CONNECT, the CONNACK) that answers the bad
   * packet before closing. Set on every protocol error; for one thrown by `encode` it is what the receiver
   * would have answered.
   */
  readonly reasonCode: ErrorReasonCode;
  constructor(code: ProtocolErrorCode, message: string, statement?: string, reasonCode?: ErrorReasonCode) {
    super(code, statement ? `${message} [${statement}]` : message);
    this.statement = statement;
    this.reasonCode = reasonCode ?? REASON_CODE_OF[code] ?? 0x81;
  }
}

/** The application passed something we refuse to send (bad topic, QoS 3, oversize payload...). */
export class InvalidArgumentError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'InvalidArgumentError';
  /** Always `INVALID_ARGUMENT`. */
  declare readonly code: 'INVALID_ARGUMENT';
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

const CONNACK_MEANINGS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/** What an MQTT 5 reason code came with: the name of the code (REASON_CODES) and the server's Reason String. */
export interface ReasonDetails {
  /** The spec's name for the code ("Not authorized"); the caller looks it up, so errors.ts needs no codec table. */
  name?: string | undefined;
  /** The broker's Reason String, when it sent one. */
  reasonString?: string | undefined;
}

/** "Not authorized (CONNACK reason code 0x87): <the server's reason string>". */
function reasonText(code: number, packet: string, d: ReasonDetails | undefined): string {
  const hex = `0x${code.toString(16).padStart(2, '0')}`;
  return `${d?.name ?? 'unknown reason code'} (${packet} reason code ${hex})${d?.reasonString !== undefined ? `: ${quote(d.reasonString)}` : ''}`;
}

/** CONNACK refused the connection: a 3.1.1 return code 1 to 5, or an MQTT 5 reason code of 0x80 or more. */
export class ConnectionRefusedError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'ConnectionRefusedError';
  /** Always `CONNECTION_REFUSED`. */
  declare readonly code: 'CONNECTION_REFUSED';
  /** The CONNACK's code: the 3.1.1 return code (1 protocol level, 2 identifier rejected, 3 server unavailable, 4 bad user name or password, 5 not authorized), or the MQTT 5 reason code (the same number as reasonCode). */
  readonly returnCode: number;
  /** The same as returnCode: MQTT 5 calls it the Connect Reason Code. */
  readonly reasonCode: number;
  /** MQTT 5: the server's Reason String, when it sent one. */
  readonly reasonString: string | undefined;
  /** MQTT 5, 0x9C Use another server / 0x9D Server moved: where the server says to go. */
  readonly serverReference: string | undefined;
  /** `details` is given for an MQTT 5 CONNACK (its code is then 0x80 or more). */
  constructor(returnCode: number, details?: ReasonDetails & { serverReference?: string | undefined }) {
    const meaning = details ? reasonText(returnCode, 'CONNACK', details) : `${CONNACK_MEANINGS[returnCode] ?? 'unknown return code'} (CONNACK return code ${returnCode})`;
    super('CONNECTION_REFUSED', `connection refused: ${meaning}`);
    this.returnCode = returnCode;
    this.reasonCode = returnCode;
    this.reasonString = details?.reasonString;
    this.serverReference = details?.serverReference;
  }
}

/**
 * MQTT 5: the broker refused a QoS 1 or 2 publish (PUBACK or PUBREC with a reason code of 0x80 or
 * more). The message is not sent again: the broker has answered it.
 */
export class PublishError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'PublishError';
  /** Always `PUBLISH_REFUSED`. */
  declare readonly code: 'PUBLISH_REFUSED';
  /** The PUBACK's or PUBREC's reason code (0x80 or more: 0x87 Not authorized, 0x97 Quota exceeded, ...). */
  readonly reasonCode: number;
  /** The broker's Reason String, when it sent one. */
  readonly reasonString: string | undefined;
  /** The topic of the refused publish. */
  readonly topic: string;
  constructor(topic: string, reasonCode: number, details: ReasonDetails) {
    super('PUBLISH_REFUSED', `publish to ${quote(topic)} refused: ${reasonText(reasonCode, 'PUBACK/PUBREC', details)}`);
    this.topic = topic;
    this.reasonCode = reasonCode;
    this.reasonString = details.reasonString;
  }
}

/**
 * MQTT 5: the broker closed the connection with a DISCONNECT (Session taken over, Server shutting down,
 * Use another server, ...). Everything pending on that connection rejects with it, and the status
 * 'disconnected' event carries it.
 */
export class ServerDisconnectError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'ServerDisconnectError';
  /** Always `SERVER_DISCONNECT`. */
  declare readonly code: 'SERVER_DISCONNECT';
  /** The DISCONNECT's reason code (0x8E Session taken over, 0x8B Server shutting down, 0x9C Use another server, ...). */
  readonly reasonCode: number;
  /** The broker's Reason String, when it sent one. */
  readonly reasonString: string | undefined;
  /** 0x9C / 0x9D: where the broker says to go instead. */
  readonly serverReference: string | undefined;
  constructor(reasonCode: number, details: ReasonDetails & { serverReference?: string | undefined }) {
    const where = details.serverReference !== undefined ? ` (server reference ${quote(details.serverReference)})` : '';
    super('SERVER_DISCONNECT', `the broker disconnected: ${reasonText(reasonCode, 'DISCONNECT', details)}${where}`);
    this.reasonCode = reasonCode;
    this.reasonString = details.reasonString;
    this.serverReference = details.serverReference;
  }
}

/** Something we awaited from the broker (CONNACK, SUBACK, PUBACK, ...) did not come in time. */
export class TimeoutError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'TimeoutError';
  /** Always `TIMEOUT`. */
  declare readonly code: 'TIMEOUT';
  constructor(message: string) {
    super('TIMEOUT', message);
  }
}

/** One filter a SUBACK refused, with its reason code (0x80 at 3.1.1) and the spec's name for it. */
export interface SubscribeRefusal {
  /** The refused filter. */
  topicFilter: string;
  /** Its SUBACK reason code (0x80 or more). */
  reasonCode: number;
  /** The spec's name for the code ("Not authorized", "Topic Filter invalid", ...). */
  reason: string;
}

/** The broker refused one or more filters (SUBACK 0x80 at 3.1.1; 0x80 or more, each with its reason, at MQTT 5). */
export class SubscribeError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'SubscribeError';
  /** Always `SUBSCRIBE_REFUSED`. */
  declare readonly code: 'SUBSCRIBE_REFUSED';
  /** The filters the broker refused. */
  readonly refused: string[];
  /**
   * The filters the broker granted in the same SUBSCRIBE, with their granted QoS. They are
   * unsubscribed again (unless another live subscription uses them), both when `subscribe()`
   * rejects with this error and when a re-subscription after a reconnect is refused (a status
   * `error`, and the end of that subscription's iterator): a subscription stands whole or leaves
   * nothing behind.
   */
  readonly granted: {
    /** A filter the broker granted. */
    topicFilter: string;
    /** The QoS it granted. */
    qos: number;
  }[];
  /** Each refused filter with its reason code and reason (in request order, as `refused`). */
  readonly reasons: SubscribeRefusal[];
  constructor(refused: string[], granted: { topicFilter: string; qos: number }[], reasons?: SubscribeRefusal[]) {
    const why = reasons ?? refused.map((topicFilter) => ({ topicFilter, reasonCode: 0x80, reason: 'Failure' }));
    const plain = why.every((r) => r.reasonCode === 0x80);
    const list = plain ? refused.map(quote).join(', ') : why.map((r) => `${quote(r.topicFilter)} (${r.reason}, 0x${r.reasonCode.toString(16)})`).join(', ');
    super('SUBSCRIBE_REFUSED', `subscription refused by the broker for: ${list}`);
    this.refused = refused;
    this.granted = granted;
    this.reasons = why;
  }
}

/** The connection went away (socket closed, reset, keepalive expired). */
export class ConnectionClosedError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'ConnectionClosedError';
  /** Always `CONNECTION_CLOSED`. */
  declare readonly code: 'CONNECTION_CLOSED';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONNECTION_CLOSED', message, options);
  }
}

/** The client was ended or destroyed; the operation cannot go on. */
export class ClientClosedError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'ClientClosedError';
  /** Always `CLIENT_CLOSED`. */
  declare readonly code: 'CLIENT_CLOSED';
  constructor(message = 'the client is closed') {
    super('CLIENT_CLOSED', message);
  }
}

/** An AbortSignal fired before the operation finished. */
export class AbortError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'AbortError';
  /** Always `ABORTED`; the signal's reason is the `cause`. */
  declare readonly code: 'ABORTED';
  constructor(reason?: unknown) {
    super('ABORTED', 'the operation was aborted', { cause: reason });
  }
}

/**
 * A subscription the application never read held the client up for stallTimeout ms, so the client
 * set it aside: it receives nothing more (its filters stay subscribed on the broker; what arrives for
 * them is unrouted), and what it had buffered can still be read before its iterator throws this.
 */
export class AbandonedSubscriptionError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'AbandonedSubscriptionError';
  /** Always `SUBSCRIPTION_ABANDONED`. */
  declare readonly code: 'SUBSCRIPTION_ABANDONED';
  /** Its topic filters. */
  readonly filters: string[];
  /** Messages it held when set aside. */
  readonly buffered: number;
  /** How many of those were QoS 1 or 2 (already acknowledged to the broker). */
  readonly reliable: number;
  constructor(filters: string[], buffered: number, reliable: number, fullFor: number) {
    super(
      'SUBSCRIPTION_ABANDONED',
      `subscription ${JSON.stringify(filters)} was never read and kept the client from reading for ${fullFor} ms: ` +
        `set aside with ${buffered} messages (${reliable} at QoS 1/2) that can still be read from it; ` +
        `messages for its filters now count as unrouted (client.messages())`,
    );
    this.filters = filters;
    this.buffered = buffered;
    this.reliable = reliable;
  }
}

/** A bounded queue was full and its policy is to refuse. */
export class QueueFullError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'QueueFullError';
  /** Always `QUEUE_FULL`. */
  declare readonly code: 'QUEUE_FULL';
  constructor(message: string) {
    super('QUEUE_FULL', message);
  }
}

/** The transport failed to open or broke (DNS, refused port, TLS verification...). */
export class TransportError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'TransportError';
  /** `TLS_ERROR` (never retried), `CONNECTION_REFUSED_BY_HOST` or `TRANSPORT_ERROR`. */
  declare readonly code: TransportErrorCode;
  constructor(message: string, options?: { cause?: unknown; code?: TransportErrorCode }) {
    super(options?.code ?? 'TRANSPORT_ERROR', message, options);
  }
}

/** Codes of an enhanced-authentication exchange that failed on our side (see docs/auth.md). */
export type AuthenticationErrorCode =
  | 'SCRAM_MALFORMED'
  | 'SCRAM_NONCE_MISMATCH'
  | 'SCRAM_ITERATIONS_TOO_LOW'
  | 'SCRAM_ITERATIONS_TOO_HIGH'
  | 'SCRAM_SERVER_ERROR'
  | 'SCRAM_BAD_SERVER_SIGNATURE'
  | 'SCRAM_MISSING_SERVER_FINAL'
  | 'SCRAM_OUT_OF_ORDER'
  | 'WEB_CRYPTO_UNAVAILABLE'
  | 'AUTHENTICATION_FAILED';

/**
 * An authentication exchange (MQTT 5 enhanced authentication, e.g. SCRAM-SHA-256) failed: the
 * server's message was malformed or out of order, it did not prove it knows the password, or it
 * said why it refused us (`serverError`, the value of SCRAM's `e=` attribute).
 */
export class AuthenticationError extends MqttError {
  /** @internal */
  static override readonly [BRAND]: string = 'AuthenticationError';
  /** Which check failed; each is explained in docs/auth.md. */
  declare readonly code: AuthenticationErrorCode;
  /** What the server said went wrong (`e=invalid-proof`, `e=unknown-user`, ...), when it said. */
  readonly serverError: string | undefined;
  constructor(code: AuthenticationErrorCode, message: string, serverError?: string) {
    super(code, message);
    this.serverError = serverError;
  }
}

/** How much of an application's input an error message repeats; the rest is only counted. */
const QUOTE_LIMIT = 64;

/**
 * Application input as an error message shows it: JSON-quoted, and cut after the first 64
 * characters with the total length, so a 70 KB topic makes a one-line message, not a 70 KB one.
 */
export function quote(input: string): string {
  if (input.length <= QUOTE_LIMIT) return JSON.stringify(input);
  return `${JSON.stringify(input.slice(0, QUOTE_LIMIT))}... (${input.length} characters)`;
}

/** What a wrong value was, for "x must be ..., got <this>": a string is said to be one. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${quote(value)}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return `a ${value.constructor.name} of ${value.length} bytes`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  return String(value);
}
