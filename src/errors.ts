/**
 * Every error mqttwire raises is an MqttError with a stable `code`, so callers can branch on
 * `err.code` instead of parsing messages. Protocol errors also name the normative statement they
 * break (e.g. `MQTT-2.2.2-2`) where one applies: of MQTT 3.1.1, or of MQTT 5.0 for a packet of
 * protocol level 5.
 */
export class MqttError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

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
  | 'INVALID_SUBSCRIPTION_OPTIONS';

/**
 * The MQTT 5 Reason Code a receiver sends (in CONNACK or DISCONNECT) for a protocol error: 0x81 Malformed
 * Packet, 0x82 Protocol Error, 0x84 Unsupported Protocol Version, 0x94 Topic Alias invalid, 0x95 Packet too
 * large.
 */
export type ErrorReasonCode = 0x81 | 0x82 | 0x84 | 0x94 | 0x95;

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
};

/** Bytes on the wire (or a packet given to `encode`) break the rules of MQTT 3.1.1 or 5.0. */
export class MqttProtocolError extends MqttError {
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

/** CONNACK carried a non-zero return code. */
export class ConnectionRefusedError extends MqttError {
  readonly returnCode: number;
  constructor(returnCode: number) {
    const meaning = CONNACK_MEANINGS[returnCode] ?? 'unknown return code';
    super('CONNECTION_REFUSED', `connection refused: ${meaning} (CONNACK return code ${returnCode})`);
    this.returnCode = returnCode;
  }
}

/** Something we awaited from the broker (CONNACK, SUBACK, PUBACK, ...) did not come in time. */
export class TimeoutError extends MqttError {
  constructor(message: string) {
    super('TIMEOUT', message);
  }
}

/** The broker answered SUBACK 0x80 for one or more filters. */
export class SubscribeError extends MqttError {
  /** The filters the broker refused. */
  readonly refused: string[];
  /** The filters granted in the same request, with their granted QoS (they stay subscribed). */
  readonly granted: { topicFilter: string; qos: number }[];
  constructor(refused: string[], granted: { topicFilter: string; qos: number }[]) {
    super('SUBSCRIBE_REFUSED', `subscription refused by the broker for: ${refused.join(', ')}`);
    this.refused = refused;
    this.granted = granted;
  }
}

/** The connection went away (socket closed, reset, keepalive expired). */
export class ConnectionClosedError extends MqttError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONNECTION_CLOSED', message, options);
  }
}

/** The client was ended or destroyed; the operation cannot go on. */
export class ClientClosedError extends MqttError {
  constructor(message = 'the client is closed') {
    super('CLIENT_CLOSED', message);
  }
}

/** An AbortSignal fired before the operation finished. */
export class AbortError extends MqttError {
  constructor(reason?: unknown) {
    super('ABORTED', 'the operation was aborted', { cause: reason });
  }
}

/** A bounded queue was full and its policy is to refuse. */
export class QueueFullError extends MqttError {
  constructor(message: string) {
    super('QUEUE_FULL', message);
  }
}

/** The transport failed to open or broke (DNS, refused port, TLS verification...). */
export class TransportError extends MqttError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'TRANSPORT_ERROR', message, options);
  }
}
