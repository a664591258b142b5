/**
 * docs/client.md against the types (issue 11, item 8): every error code and every connection
 * state the types allow is documented, and each error class's `code` is narrowed to its own.
 * The lists below are checked against the types by the compiler (`satisfies Record<...>`), so a
 * code or state added to the types fails `npm run typecheck` here until it is added, and then
 * this test until the docs have it too.
 */
import fs from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  AbortError,
  ClientClosedError,
  ConnectionClosedError,
  ConnectionRefusedError,
  ConnectionState,
  ErrorCode,
  InvalidArgumentError,
  MqttError,
  ProtocolErrorCode,
  QueueFullError,
  SubscribeError,
  TimeoutError,
  TransportError,
  TransportErrorCode,
} from '../../src/index.js';

const DOC = fs.readFileSync(new URL('../../docs/client.md', import.meta.url), 'utf8');

const PROTOCOL_CODES = {
  MALFORMED_LENGTH: true, RESERVED_FLAGS: true, INVALID_QOS: true, INVALID_UTF8: true, INVALID_TOPIC: true,
  INVALID_PACKET_ID: true, INVALID_PROTOCOL: true, INVALID_CONNECT_FLAGS: true, INVALID_RETURN_CODE: true,
  EMPTY_SUBSCRIPTION: true, PACKET_TOO_LARGE: true, UNKNOWN_TYPE: true, TRUNCATED: true, TRAILING_BYTES: true,
  STRING_TOO_LONG: true, UNEXPECTED_PACKET: true, DECODER_FAILED: true, INVALID_PROPERTY: true,
  DUPLICATE_PROPERTY: true, INVALID_PROPERTY_VALUE: true, INVALID_REASON_CODE: true, INVALID_SUBSCRIPTION_OPTIONS: true,
  RECEIVE_MAXIMUM_EXCEEDED: true, TOPIC_ALIAS_INVALID: true,
} satisfies Record<ProtocolErrorCode, true>;

const CLIENT_CODES = {
  INVALID_ARGUMENT: true, CONNECTION_REFUSED: true, TIMEOUT: true, SUBSCRIBE_REFUSED: true, PUBLISH_REFUSED: true, SERVER_DISCONNECT: true, MESSAGE_EXPIRED: true, CONNECTION_CLOSED: true,
  CLIENT_CLOSED: true, ABORTED: true, QUEUE_FULL: true, NO_PACKET_ID: true, SUBSCRIPTION_ABANDONED: true,
  TRANSPORT_ERROR: true, CONNECTION_REFUSED_BY_HOST: true, TLS_ERROR: true, SCRAM_MALFORMED: true,
  SCRAM_NONCE_MISMATCH: true, SCRAM_ITERATIONS_TOO_LOW: true, SCRAM_ITERATIONS_TOO_HIGH: true, SCRAM_SERVER_ERROR: true,
  SCRAM_BAD_SERVER_SIGNATURE: true, SCRAM_MISSING_SERVER_FINAL: true, SCRAM_OUT_OF_ORDER: true, WEB_CRYPTO_UNAVAILABLE: true,
  AUTHENTICATION_FAILED: true,
} satisfies Record<Exclude<ErrorCode, ProtocolErrorCode>, true>;

const STATES = { new: true, connecting: true, connected: true, reconnecting: true, closing: true, closed: true } satisfies Record<ConnectionState, true>;

describe('docs/client.md matches the types', () => {
  it('the errors table documents every client code; docs/client.md or docs/codec.md every protocol code', () => {
    const table = DOC.slice(DOC.indexOf('## Errors'), DOC.indexOf('## Connection state'));
    expect(Object.keys(CLIENT_CODES).filter((c) => !table.includes(`\`${c}\``))).toEqual([]);
    const codecDoc = fs.readFileSync(new URL('../../docs/codec.md', import.meta.url), 'utf8');
    expect(Object.keys(PROTOCOL_CODES).filter((c) => !table.includes(`\`${c}\``) && !codecDoc.includes(`\`${c}\``))).toEqual([]);
  });

  it('the connection states are the ones client.state can take, reconnecting included', () => {
    const line = /`client\.state` is one of ([^;(]+)/.exec(DOC)?.[1] ?? '';
    const documented = [...line.matchAll(/`([a-z]+)`/g)].map((m) => m[1]);
    expect(documented).toEqual(Object.keys(STATES));
  });

  it('SubscribeError.granted: the docs say granted filters of a refused subscribe() are unsubscribed again', () => {
    expect(DOC).toMatch(/the filters granted in the\s+same call are unsubscribed again/);
  });

  it('MqttError.code is the ErrorCode union, and each class narrows it', () => {
    expectTypeOf<MqttError['code']>().toEqualTypeOf<ErrorCode>();
    expectTypeOf<InvalidArgumentError['code']>().toEqualTypeOf<'INVALID_ARGUMENT'>();
    expectTypeOf<ConnectionRefusedError['code']>().toEqualTypeOf<'CONNECTION_REFUSED'>();
    expectTypeOf<TimeoutError['code']>().toEqualTypeOf<'TIMEOUT'>();
    expectTypeOf<SubscribeError['code']>().toEqualTypeOf<'SUBSCRIBE_REFUSED'>();
    expectTypeOf<ConnectionClosedError['code']>().toEqualTypeOf<'CONNECTION_CLOSED'>();
    expectTypeOf<ClientClosedError['code']>().toEqualTypeOf<'CLIENT_CLOSED'>();
    expectTypeOf<AbortError['code']>().toEqualTypeOf<'ABORTED'>();
    expectTypeOf<QueueFullError['code']>().toEqualTypeOf<'QUEUE_FULL'>();
    expectTypeOf<TransportError['code']>().toEqualTypeOf<TransportErrorCode>();
    expectTypeOf<string>().not.toMatchTypeOf<ErrorCode>();
  });
});
