/**
 * Every error mqttwire raises is an MqttError with a stable `code`, so callers can branch on
 * `err.code` instead of parsing messages. Protocol errors also name the MQTT 3.1.1 normative
 * statement they break (e.g. `MQTT-2.2.2-2`) where one applies.
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
  | 'DECODER_FAILED';

/** Bytes on the wire (or a packet given to `encode`) break the MQTT 3.1.1 rules. */
export class MqttProtocolError extends MqttError {
  declare readonly code: ProtocolErrorCode;
  /** The normative statement broken, when the spec has one, e.g. `MQTT-3.3.2-2`. */
  readonly statement: string | undefined;
  constructor(code: ProtocolErrorCode, message: string, statement?: string) {
    super(code, statement ? `${message} [${statement}]` : message);
    this.statement = statement;
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
  | 'WEB_CRYPTO_UNAVAILABLE';

/**
 * An authentication exchange (MQTT 5 enhanced authentication, e.g. SCRAM-SHA-256) failed: the
 * server's message was malformed or out of order, it did not prove it knows the password, or it
 * said why it refused us (`serverError`, the value of SCRAM's `e=` attribute).
 */
export class AuthenticationError extends MqttError {
  declare readonly code: AuthenticationErrorCode;
  /** What the server said went wrong (`e=invalid-proof`, `e=unknown-user`, ...), when it said. */
  readonly serverError: string | undefined;
  constructor(code: AuthenticationErrorCode, message: string, serverError?: string) {
    super(code, message);
    this.serverError = serverError;
  }
}
