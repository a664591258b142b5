// MQTT 5: every malformed or forbidden input is an MqttProtocolError with a stable code, the MQTT 5 statement
// where the spec numbers the rule, and the reason code the receiver sends (0x81 Malformed Packet, 0x82 Protocol
// Error, 0x84, 0x94, 0x95), whole or split anywhere; encode refuses what a sender must not send.
import { describe, expect, it } from 'vitest';
import {
  encode,
  encodedLength,
  encodeInto,
  MqttProtocolError,
  PacketDecoder,
  type ErrorReasonCode,
  type Packet,
  type ProtocolErrorCode,
} from '../../src/codec/index.js';
import { FrameDecoder } from '../../src/codec/decoder.js';
import { parseFromServer } from '../../src/codec/parse.js';
import { fromHex, utf8 } from './arbitraries.js';
import { mqtt5StatementIds } from './statements.js';

const MQTT5 = '00 04 4d 51 54 54 05';

function caught(fn: () => unknown): MqttProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MqttProtocolError) return err;
    throw new Error(`expected an MqttProtocolError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected an MqttProtocolError, nothing was thrown');
}

interface Case {
  name: string;
  hex: string;
  code: ProtocolErrorCode;
  reason: ErrorReasonCode;
  statement?: string;
  maxPacketSize?: number;
}

const CASES: Case[] = [
  // Properties (2.2.2.2): an identifier not valid for the packet, or a value not of its type, is malformed.
  { name: 'PUBLISH with Session Expiry Interval (0x11)', hex: '30 0a 00 01 61 05 11 00 00 00 01 78', code: 'INVALID_PROPERTY', reason: 0x81 },
  { name: 'PUBLISH with unknown property 0x7e', hex: '30 07 00 01 61 02 7e 00 78', code: 'INVALID_PROPERTY', reason: 0x81 },
  { name: 'PUBLISH with property id 0x00', hex: '30 07 00 01 61 02 00 00 78', code: 'INVALID_PROPERTY', reason: 0x81 },
  { name: 'PUBACK with Topic Alias', hex: '40 07 00 01 00 03 23 00 01', code: 'INVALID_PROPERTY', reason: 0x81 },
  { name: 'CONNACK with Will Delay Interval', hex: '20 08 00 00 05 18 00 00 00 01', code: 'INVALID_PROPERTY', reason: 0x81 },
  { name: 'SUBACK with Subscription Identifier', hex: '90 06 00 01 02 0b 01 00', code: 'INVALID_PROPERTY', reason: 0x81 },
  { name: 'UNSUBSCRIBE with Reason String', hex: 'a2 09 00 01 03 1f 00 00 00 01 61', code: 'INVALID_PROPERTY', reason: 0x81 },
  { name: 'DISCONNECT with Authentication Method', hex: 'e0 05 00 03 15 00 00', code: 'INVALID_PROPERTY', reason: 0x81 },
  { name: 'AUTH with Server Reference', hex: 'f0 05 18 03 1c 00 00', code: 'INVALID_PROPERTY', reason: 0x81 },
  // Repeated where the spec says "It is a Protocol Error to include ... more than once".
  { name: 'PUBLISH Content Type twice', hex: '30 0b 00 01 61 06 03 00 00 03 00 00 78', code: 'DUPLICATE_PROPERTY', reason: 0x82 },
  { name: 'PUBLISH Topic Alias twice', hex: '30 0b 00 01 61 06 23 00 01 23 00 01 78', code: 'DUPLICATE_PROPERTY', reason: 0x82 },
  { name: 'SUBSCRIBE Subscription Identifier twice (3.8.2.1.2)', hex: '82 0b 00 01 04 0b 01 0b 02 00 01 61 00', code: 'DUPLICATE_PROPERTY', reason: 0x82 },
  { name: 'CONNACK Maximum Packet Size twice', hex: '20 0d 00 00 0a 27 00 00 00 10 27 00 00 00 10', code: 'DUPLICATE_PROPERTY', reason: 0x82 },
  // Lengths (1.5.5, 2.2.2.1)
  { name: 'Property value past the Property Length', hex: '30 07 00 01 61 02 02 00 78', code: 'TRUNCATED', reason: 0x81 },
  { name: 'Property Length past the Remaining Length', hex: '30 05 00 01 61 05 01', code: 'TRUNCATED', reason: 0x81 },
  { name: 'PUBLISH without a Property Length', hex: '30 03 00 01 61', code: 'TRUNCATED', reason: 0x81 },
  { name: 'User Property without its value', hex: '30 0a 00 01 61 05 26 00 01 6b 00 78', code: 'TRUNCATED', reason: 0x81 },
  { name: 'Property Length 0x80 0x00, not the shortest form', hex: '30 06 00 01 61 80 00 78', code: 'MALFORMED_LENGTH', reason: 0x81, statement: 'MQTT-1.5.5-1' },
  { name: 'Property Length of 5 bytes', hex: '30 08 00 01 61 ff ff ff ff 7f', code: 'MALFORMED_LENGTH', reason: 0x81 },
  { name: 'Subscription Identifier 0x81 0x00, not the shortest form', hex: '30 08 00 01 61 03 0b 81 00 78', code: 'MALFORMED_LENGTH', reason: 0x81, statement: 'MQTT-1.5.5-1' },
  { name: 'Remaining Length 0x82 0x00, not the shortest form', hex: '40 82 00 00 01', code: 'MALFORMED_LENGTH', reason: 0x81, statement: 'MQTT-1.5.5-1' },
  // Property values the spec calls a Protocol Error
  { name: 'Subscription Identifier 0 (3.3.2.3.8)', hex: '30 07 00 01 61 02 0b 00 78', code: 'INVALID_PROPERTY_VALUE', reason: 0x82 },
  { name: 'Topic Alias 0: 0x94 Topic Alias invalid', hex: '30 08 00 01 61 03 23 00 00 78', code: 'INVALID_PROPERTY_VALUE', reason: 0x94, statement: 'MQTT-3.3.2-8' },
  { name: 'Receive Maximum 0 (3.2.2.3.3)', hex: '20 06 00 00 03 21 00 00', code: 'INVALID_PROPERTY_VALUE', reason: 0x82 },
  { name: 'Maximum Packet Size 0 (3.2.2.3.6)', hex: '20 08 00 00 05 27 00 00 00 00', code: 'INVALID_PROPERTY_VALUE', reason: 0x82 },
  { name: 'Maximum QoS 2 (3.2.2.3.4)', hex: '20 05 00 00 02 24 02', code: 'INVALID_PROPERTY_VALUE', reason: 0x82 },
  { name: 'Retain Available 2 (3.2.2.3.5)', hex: '20 05 00 00 02 25 02', code: 'INVALID_PROPERTY_VALUE', reason: 0x82 },
  { name: 'Payload Format Indicator 2', hex: '30 07 00 01 61 02 01 02 78', code: 'INVALID_PROPERTY_VALUE', reason: 0x82 },
  { name: 'Authentication Data without Authentication Method (3.15.2.2.3)', hex: 'f0 07 18 05 16 00 02 01 02', code: 'INVALID_PROPERTY_VALUE', reason: 0x82 },
  // Strings in properties (1.5.4, 1.5.7)
  { name: 'Content Type with an encoded surrogate [MQTT-3.3.2-19]', hex: '30 0a 00 01 61 05 03 00 02 ed a0 78', code: 'INVALID_UTF8', reason: 0x81, statement: 'MQTT-1.5.4-1' },
  { name: 'User Property value with U+0000', hex: '30 0b 00 01 61 06 26 00 00 00 01 00 78', code: 'INVALID_UTF8', reason: 0x81, statement: 'MQTT-1.5.4-2' },
  { name: 'Response Topic with a wildcard', hex: '30 0a 00 01 61 05 08 00 02 61 23 78', code: 'INVALID_TOPIC', reason: 0x82, statement: 'MQTT-3.3.2-14' },
  { name: 'Response Topic empty', hex: '30 08 00 01 61 03 08 00 00 78', code: 'INVALID_TOPIC', reason: 0x82, statement: 'MQTT-4.7.3-1' },
  // Reason codes not of the packet's own list
  { name: 'PUBACK 0x92', hex: '40 03 00 01 92', code: 'INVALID_REASON_CODE', reason: 0x82, statement: 'MQTT-3.4.2-1' },
  { name: 'PUBREC 0x04', hex: '50 03 00 01 04', code: 'INVALID_REASON_CODE', reason: 0x82, statement: 'MQTT-3.5.2-1' },
  { name: 'PUBREL 0x10', hex: '62 03 00 01 10', code: 'INVALID_REASON_CODE', reason: 0x82, statement: 'MQTT-3.6.2-1' },
  { name: 'PUBCOMP 0x80', hex: '70 03 00 01 80', code: 'INVALID_REASON_CODE', reason: 0x82, statement: 'MQTT-3.7.2-1' },
  { name: 'CONNACK 0x01 with a Property Length', hex: '20 03 00 01 00', code: 'INVALID_REASON_CODE', reason: 0x82, statement: 'MQTT-3.2.2-8' },
  { name: 'SUBACK 0x03', hex: '90 04 00 01 00 03', code: 'INVALID_REASON_CODE', reason: 0x82, statement: 'MQTT-3.9.3-2' },
  { name: 'UNSUBACK 0x02', hex: 'b0 04 00 01 00 02', code: 'INVALID_REASON_CODE', reason: 0x82, statement: 'MQTT-3.11.3-2' },
  { name: 'DISCONNECT 0x01', hex: 'e0 01 01', code: 'INVALID_REASON_CODE', reason: 0x82, statement: 'MQTT-3.14.2-1' },
  { name: 'AUTH 0x17', hex: 'f0 02 17 00', code: 'INVALID_REASON_CODE', reason: 0x82, statement: 'MQTT-3.15.2-1' },
  // CONNACK (3.2.2)
  { name: 'CONNACK refusal with Session Present', hex: '20 03 01 80 00', code: 'INVALID_REASON_CODE', reason: 0x82, statement: 'MQTT-3.2.2-6' },
  { name: 'CONNACK acknowledge flags 0x02', hex: '20 03 02 00 00', code: 'RESERVED_FLAGS', reason: 0x81, statement: 'MQTT-3.2.2-1' },
  { name: 'CONNACK success without Property Length', hex: '20 02 00 00', code: 'TRUNCATED', reason: 0x81 },
  { name: 'CONNACK of 1 byte', hex: '20 01 00', code: 'TRUNCATED', reason: 0x81 },
  { name: 'CONNACK with a byte after the properties', hex: '20 04 00 00 00 00', code: 'TRAILING_BYTES', reason: 0x81 },
  // Fixed header (2.1.3)
  { name: 'PUBACK flags 0010', hex: '42 02 00 01', code: 'RESERVED_FLAGS', reason: 0x81, statement: 'MQTT-2.1.3-1' },
  { name: 'AUTH flags 0001', hex: 'f1 00', code: 'RESERVED_FLAGS', reason: 0x81, statement: 'MQTT-3.15.1-1' },
  { name: 'PUBREL flags 0000', hex: '60 02 00 01', code: 'RESERVED_FLAGS', reason: 0x81, statement: 'MQTT-3.6.1-1' },
  { name: 'PUBLISH QoS 3', hex: '36 05 00 01 61 00 01', code: 'INVALID_QOS', reason: 0x81, statement: 'MQTT-3.3.1-4' },
  { name: 'PINGRESP Remaining Length 1', hex: 'd0 01 00', code: 'TRAILING_BYTES', reason: 0x81 },
  // Acks, DISCONNECT, AUTH lengths (3.4.2, 3.14.2, 3.15.2)
  { name: 'PUBACK of 1 byte', hex: '40 01 00', code: 'TRUNCATED', reason: 0x81 },
  { name: 'PUBACK with a byte after the properties', hex: '40 05 00 01 00 00 00', code: 'TRAILING_BYTES', reason: 0x81 },
  { name: 'AUTH of 1 byte: a reason code without Property Length', hex: 'f0 01 18', code: 'TRUNCATED', reason: 0x81 },
  { name: 'DISCONNECT with a byte after the properties', hex: 'e0 03 00 00 00', code: 'TRAILING_BYTES', reason: 0x81 },
  // Packet identifiers (2.2.1)
  { name: 'PUBLISH QoS 1 id 0', hex: '32 06 00 01 61 00 00 00', code: 'INVALID_PACKET_ID', reason: 0x82, statement: 'MQTT-2.2.1-3' },
  { name: 'PUBACK id 0', hex: '40 02 00 00', code: 'INVALID_PACKET_ID', reason: 0x82, statement: 'MQTT-2.2.1-5' },
  { name: 'SUBACK id 0', hex: '90 04 00 00 00 00', code: 'INVALID_PACKET_ID', reason: 0x82, statement: 'MQTT-2.2.1-6' },
  { name: 'SUBSCRIBE id 0', hex: '82 07 00 00 00 00 01 61 00', code: 'INVALID_PACKET_ID', reason: 0x82, statement: 'MQTT-2.2.1-3' },
  // PUBLISH topic (3.3.2.1, 4.7)
  { name: 'PUBLISH empty topic and no Topic Alias', hex: '30 04 00 00 00 78', code: 'INVALID_TOPIC', reason: 0x82, statement: 'MQTT-4.7.3-1' },
  { name: 'PUBLISH topic with +', hex: '30 06 00 02 61 2b 00 78', code: 'INVALID_TOPIC', reason: 0x82, statement: 'MQTT-3.3.2-2' },
  { name: 'PUBLISH topic with an encoded surrogate [MQTT-3.3.2-1]', hex: '30 07 00 03 ed a0 80 00 78', code: 'INVALID_UTF8', reason: 0x81, statement: 'MQTT-1.5.4-1' },
  { name: 'PUBLISH topic with U+0000', hex: '30 05 00 01 00 00 78', code: 'INVALID_UTF8', reason: 0x81, statement: 'MQTT-1.5.4-2' },
  // SUBSCRIBE (3.8.3) and shared subscriptions (4.8.2)
  { name: 'SUBSCRIBE options reserved bit 6', hex: '82 07 00 01 00 00 01 61 40', code: 'RESERVED_FLAGS', reason: 0x81, statement: 'MQTT-3.8.3-5' },
  { name: 'SUBSCRIBE Retain Handling 3', hex: '82 07 00 01 00 00 01 61 30', code: 'INVALID_SUBSCRIPTION_OPTIONS', reason: 0x82 },
  { name: 'SUBSCRIBE Maximum QoS 3', hex: '82 07 00 01 00 00 01 61 03', code: 'INVALID_QOS', reason: 0x82 },
  {
    name: 'SUBSCRIBE No Local on a shared subscription',
    hex: '82 10 00 01 00 00 0a 24 73 68 61 72 65 2f 67 2f 61 04',
    code: 'INVALID_SUBSCRIPTION_OPTIONS',
    reason: 0x82,
    statement: 'MQTT-3.8.3-4',
  },
  { name: 'SUBSCRIBE $share//a (empty ShareName)', hex: '82 0f 00 01 00 00 09 24 73 68 61 72 65 2f 2f 61 00', code: 'INVALID_TOPIC', reason: 0x82, statement: 'MQTT-4.8.2-1' },
  { name: 'SUBSCRIBE $share/g (no filter)', hex: '82 0e 00 01 00 00 08 24 73 68 61 72 65 2f 67 00', code: 'INVALID_TOPIC', reason: 0x82, statement: 'MQTT-4.8.2-2' },
  { name: 'UNSUBSCRIBE $share/+/a', hex: 'a2 0f 00 01 00 00 0a 24 73 68 61 72 65 2f 2b 2f 61', code: 'INVALID_TOPIC', reason: 0x82, statement: 'MQTT-4.8.2-2' },
  { name: 'SUBSCRIBE filter a/#/b', hex: '82 0b 00 01 00 00 05 61 2f 23 2f 62 00', code: 'INVALID_TOPIC', reason: 0x82, statement: 'MQTT-4.7.1-1' },
  { name: 'SUBSCRIBE filter a+', hex: '82 08 00 01 00 00 02 61 2b 00', code: 'INVALID_TOPIC', reason: 0x82, statement: 'MQTT-4.7.1-2' },
  { name: 'SUBSCRIBE without filters', hex: '82 03 00 01 00', code: 'EMPTY_SUBSCRIPTION', reason: 0x82, statement: 'MQTT-3.8.3-2' },
  { name: 'SUBSCRIBE filter without options', hex: '82 06 00 01 00 00 01 61', code: 'TRUNCATED', reason: 0x81 },
  { name: 'UNSUBSCRIBE without filters', hex: 'a2 03 00 01 00', code: 'EMPTY_SUBSCRIPTION', reason: 0x82, statement: 'MQTT-3.10.3-2' },
  { name: 'SUBACK without reason codes', hex: '90 03 00 01 00', code: 'EMPTY_SUBSCRIPTION', reason: 0x82 },
  { name: 'UNSUBACK without reason codes', hex: 'b0 03 00 01 00', code: 'EMPTY_SUBSCRIPTION', reason: 0x82 },
  { name: 'UNSUBACK without a Property Length (a 3.1.1 UNSUBACK)', hex: 'b0 02 00 01', code: 'TRUNCATED', reason: 0x81 },
  // CONNECT of level 5 (3.1.2, 3.1.3): MQTT 5 statement ids whatever the decoder's level
  { name: 'CONNECT 5 reserved flag', hex: `10 0e ${MQTT5} 03 00 3c 00 00 01 63`, code: 'INVALID_CONNECT_FLAGS', reason: 0x81, statement: 'MQTT-3.1.2-3' },
  { name: 'CONNECT 5 will QoS without will flag', hex: `10 0e ${MQTT5} 0a 00 3c 00 00 01 63`, code: 'INVALID_CONNECT_FLAGS', reason: 0x81, statement: 'MQTT-3.1.2-11' },
  { name: 'CONNECT 5 will QoS 3', hex: `10 0e ${MQTT5} 1e 00 3c 00 00 01 63`, code: 'INVALID_QOS', reason: 0x81, statement: 'MQTT-3.1.2-12' },
  { name: 'CONNECT 5 will retain without will flag', hex: `10 0e ${MQTT5} 22 00 3c 00 00 01 63`, code: 'INVALID_CONNECT_FLAGS', reason: 0x81, statement: 'MQTT-3.1.2-13' },
  { name: 'CONNECT 5 with Topic Alias', hex: `10 11 ${MQTT5} 02 00 3c 03 23 00 01 00 01 63`, code: 'INVALID_PROPERTY', reason: 0x81 },
  {
    name: 'CONNECT 5 Will Properties with Session Expiry Interval',
    hex: `10 1a ${MQTT5} 06 00 3c 00 00 01 63 05 11 00 00 00 0a 00 01 77 00 01 78`,
    code: 'INVALID_PROPERTY',
    reason: 0x81,
  },
  { name: 'CONNECT 5 client id with U+0000', hex: `10 0e ${MQTT5} 02 00 3c 00 00 01 00`, code: 'INVALID_UTF8', reason: 0x81, statement: 'MQTT-1.5.4-2' },
  { name: 'CONNECT 5 without a Property Length', hex: `10 0a ${MQTT5} 02 00 3c`, code: 'TRUNCATED', reason: 0x81 },
  { name: 'CONNECT level 6', hex: '10 0e 00 04 4d 51 54 54 06 02 00 3c 00 00 01 63', code: 'INVALID_PROTOCOL', reason: 0x84, statement: 'MQTT-3.1.2-2' },
  // Each UTF-8 field is a well-formed UTF-8 Encoded String; the error cites the rule for all of them.
  { name: 'Response Topic ill-formed [MQTT-3.3.2-13]', hex: '30 0a 00 01 61 05 08 00 02 c0 af 78', code: 'INVALID_UTF8', reason: 0x81, statement: 'MQTT-1.5.4-1' },
  { name: 'SUBSCRIBE filter ill-formed [MQTT-3.8.3-1]', hex: '82 07 00 01 00 00 01 ff 00', code: 'INVALID_UTF8', reason: 0x81, statement: 'MQTT-1.5.4-1' },
  { name: 'UNSUBSCRIBE filter ill-formed [MQTT-3.10.3-1]', hex: 'a2 06 00 01 00 00 01 ff', code: 'INVALID_UTF8', reason: 0x81, statement: 'MQTT-1.5.4-1' },
  { name: 'CONNECT 5 client id ill-formed [MQTT-3.1.3-4]', hex: `10 0e ${MQTT5} 02 00 3c 00 00 01 ff`, code: 'INVALID_UTF8', reason: 0x81, statement: 'MQTT-1.5.4-1' },
  {
    name: 'CONNECT 5 will topic ill-formed [MQTT-3.1.3-11]',
    hex: `10 15 ${MQTT5} 06 00 3c 00 00 01 63 00 00 01 ff 00 01 78`,
    code: 'INVALID_UTF8',
    reason: 0x81,
    statement: 'MQTT-1.5.4-1',
  },
  { name: 'CONNECT 5 user name ill-formed [MQTT-3.1.3-12]', hex: `10 11 ${MQTT5} 82 00 3c 00 00 01 63 00 01 ff`, code: 'INVALID_UTF8', reason: 0x81, statement: 'MQTT-1.5.4-1' },
  // Fields the flags announce are there [MQTT-3.1.2-9] [MQTT-3.1.2-17] [MQTT-3.1.2-19], and no others.
  { name: 'CONNECT 5 will flag without Will Properties and topic', hex: `10 0e ${MQTT5} 06 00 3c 00 00 01 63`, code: 'TRUNCATED', reason: 0x81 },
  { name: 'CONNECT 5 user name flag without user name', hex: `10 0e ${MQTT5} 82 00 3c 00 00 01 63`, code: 'TRUNCATED', reason: 0x81 },
  { name: 'CONNECT 5 password flag without password', hex: `10 0e ${MQTT5} 42 00 3c 00 00 01 63`, code: 'TRUNCATED', reason: 0x81 },
  { name: 'CONNECT 5 a user name without its flag [MQTT-3.1.2-16]', hex: `10 11 ${MQTT5} 02 00 3c 00 00 01 63 00 01 75`, code: 'TRAILING_BYTES', reason: 0x81 },
  { name: 'CONNECT 5 protocol name MQTX', hex: '10 0e 00 04 4d 51 54 58 05 02 00 3c 00 00 01 63', code: 'INVALID_PROTOCOL', reason: 0x84, statement: 'MQTT-3.1.2-1' },
  { name: 'CONNECT 5 will topic with #', hex: `10 16 ${MQTT5} 06 00 3c 00 00 01 63 00 00 02 61 23 00 01 78`, code: 'INVALID_TOPIC', reason: 0x82, statement: 'MQTT-4.7.0-1' },
  // Fixed-header flags of the types that have their own statement
  { name: 'PUBLISH DUP with QoS 0', hex: '38 05 00 01 61 00 78', code: 'RESERVED_FLAGS', reason: 0x81, statement: 'MQTT-3.3.1-2' },
  { name: 'SUBSCRIBE flags 0000', hex: '80 07 00 01 00 00 01 61 00', code: 'RESERVED_FLAGS', reason: 0x81, statement: 'MQTT-3.8.1-1' },
  { name: 'UNSUBSCRIBE flags 0000', hex: 'a0 06 00 01 00 00 01 61', code: 'RESERVED_FLAGS', reason: 0x81, statement: 'MQTT-3.10.1-1' },
  { name: 'DISCONNECT flags 0001', hex: 'e1 00', code: 'RESERVED_FLAGS', reason: 0x81, statement: 'MQTT-3.14.1-1' },
  // Size
  { name: 'PUBLISH one byte over maxPacketSize: 0x95 Packet too large', hex: '30 05 00 01 61 00 78', code: 'PACKET_TOO_LARGE', reason: 0x95, maxPacketSize: 6 },
];

function firstError(chunks: Uint8Array[], c: Case): { err: MqttProtocolError; decoder: PacketDecoder } {
  const decoder = new PacketDecoder({ protocolLevel: 5, maxPacketSize: c.maxPacketSize ?? 1 << 20 });
  for (const chunk of chunks) {
    try {
      decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof MqttProtocolError)) throw err;
      return { err, decoder };
    }
  }
  throw new Error(`no error for ${c.name}`);
}

describe('MQTT 5 decoder errors', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.code} 0x${c.reason.toString(16)}${c.statement ? ` [${c.statement}]` : ''}`, () => {
      const bytes = fromHex(c.hex);
      const { err, decoder } = firstError([bytes], c);
      expect([err.code, err.statement, err.reasonCode]).toEqual([c.code, c.statement, c.reason]);
      if (c.statement) expect(err.message).toContain(`[${c.statement}]`);
      // The decoder stays failed, and says which reason code the first error called for.
      const again = caught(() => decoder.push(fromHex('d0 00')));
      expect([again.code, again.reasonCode]).toEqual(['DECODER_FAILED', c.reason]);
      // Whatever the split, the same verdict.
      for (let i = 1; i < bytes.length; i++) {
        const split = firstError([bytes.subarray(0, i), bytes.subarray(i)], c).err;
        expect([split.code, split.statement, split.reasonCode], `split at ${i}`).toEqual([c.code, c.statement, c.reason]);
      }
    });
  }

  it('a level-4 decoder reports a level-5 CONNECT with MQTT 5 statement ids, a 3.1.1 one with 3.1.1 ids', () => {
    const v5 = caught(() => new PacketDecoder().push(fromHex(`10 0e ${MQTT5} 0a 00 3c 00 00 01 63`)));
    expect(v5.statement).toBe('MQTT-3.1.2-11');
    const v4 = caught(() => new PacketDecoder().push(fromHex('10 0d 00 04 4d 51 54 54 04 0a 00 3c 00 01 63')));
    expect(v4.statement).toBe('MQTT-3.1.2-13');
  });

  it('a 3.1.1 decoder keeps accepting a padded Remaining Length (3.1.1 has no rule against it)', () => {
    expect(new PacketDecoder().push(fromHex('40 82 00 00 01'))).toEqual([{ type: 'puback', packetId: 1 }]);
  });

  it('the client parser refuses packets only a client sends, at level 5 too', () => {
    for (const h of ['82 07 00 01 00 00 01 61 00', 'a2 06 00 01 00 00 01 61', 'c0 00', `10 0e ${MQTT5} 02 00 3c 00 00 01 63`]) {
      const decoder = new FrameDecoder({ protocolLevel: 5 }, parseFromServer);
      const err = caught(() => decoder.push(fromHex(h)));
      expect([err.code, err.reasonCode], h).toEqual(['UNEXPECTED_PACKET', 0x82]);
    }
    // Positive control: the same decoder reads what a server sends, DISCONNECT and AUTH included.
    const decoder = new FrameDecoder({ protocolLevel: 5 }, parseFromServer);
    expect(decoder.push(fromHex('e0 01 8b f0 00 d0 00')).map((p) => p.type)).toEqual(['disconnect', 'auth', 'pingresp']);
  });

  it('every statement these errors cite is an MQTT 5.0 statement', () => {
    const known = mqtt5StatementIds();
    const unknown = CASES.filter((c) => c.statement !== undefined && !known.has(c.statement)).map((c) => `${c.name}: ${c.statement}`);
    expect(unknown).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// encode(packet, 5)
// ---------------------------------------------------------------------------------------------------------------

const pub = (over: Partial<Extract<Packet, { type: 'publish' }>>): Packet => ({
  type: 'publish', topic: 'a', payload: new Uint8Array(0), qos: 0, retain: false, dup: false, ...over,
});
const conn = (over: Partial<Extract<Packet, { type: 'connect' }>>): Packet => ({
  type: 'connect', protocolName: 'MQTT', protocolLevel: 5, clientId: 'c', clean: true, keepalive: 60, ...over,
});
const sub = (s: Record<string, unknown>): Packet =>
  ({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0, ...s }] }) as Packet;
const props = (p: Record<string, unknown>): Packet => pub({ properties: p as never });

const ENCODE_CASES: [string, Packet, ProtocolErrorCode, string?][] = [
  ['a property the packet may not carry', props({ sessionExpiryInterval: 1 }), 'INVALID_PROPERTY'],
  ['an unknown property name', props({ contentTyp: 'x' }), 'INVALID_PROPERTY'],
  ['a property inherited from Object.prototype by name', props({ constructor: 1 }), 'INVALID_PROPERTY'],
  ['Topic Alias 0', props({ topicAlias: 0 }), 'INVALID_PROPERTY_VALUE', 'MQTT-3.3.2-8'],
  ['Topic Alias -100', props({ topicAlias: -100 }), 'INVALID_PROPERTY_VALUE'],
  ['Topic Alias 65536', props({ topicAlias: 65536 }), 'INVALID_PROPERTY_VALUE'],
  ['Message Expiry Interval -4321', props({ messageExpiryInterval: -4321 }), 'INVALID_PROPERTY_VALUE'],
  ['Message Expiry Interval 2^32', props({ messageExpiryInterval: 2 ** 32 }), 'INVALID_PROPERTY_VALUE'],
  ['Message Expiry Interval 1.5', props({ messageExpiryInterval: 1.5 }), 'INVALID_PROPERTY_VALUE'],
  ['Subscription Identifier 0', props({ subscriptionIdentifiers: [0] }), 'INVALID_PROPERTY_VALUE'],
  ['Subscription Identifier 268,435,456', props({ subscriptionIdentifiers: [268_435_456] }), 'INVALID_PROPERTY_VALUE'],
  ['Subscription Identifiers not an array', props({ subscriptionIdentifiers: 5 }), 'INVALID_PROPERTY_VALUE'],
  ['Payload Format Indicator given as 1', props({ payloadFormatIndicator: 1 }), 'INVALID_PROPERTY_VALUE'],
  ['Content Type with U+0000', props({ contentType: 'a\u0000' }), 'INVALID_UTF8', 'MQTT-1.5.4-2'],
  ['Content Type with a lone surrogate', props({ contentType: '\ud800' }), 'INVALID_UTF8', 'MQTT-1.5.4-1'],
  ['Content Type of 65,536 bytes', props({ contentType: 'a'.repeat(65536) }), 'STRING_TOO_LONG'],
  ['Response Topic with #', props({ responseTopic: 'a/#' }), 'INVALID_TOPIC', 'MQTT-3.3.2-14'],
  ['User Properties not pairs', props({ userProperties: [['a']] }), 'INVALID_PROPERTY_VALUE'],
  ['User Properties as an object', props({ userProperties: { a: 'b' } }), 'INVALID_PROPERTY_VALUE'],
  ['User Property name with U+0000', props({ userProperties: [['\u0000', 'b']] }), 'INVALID_UTF8', 'MQTT-1.5.4-2'],
  ['empty topic without Topic Alias', pub({ topic: '' }), 'INVALID_TOPIC', 'MQTT-4.7.3-1'],
  ['topic with a wildcard', pub({ topic: 'a/+' }), 'INVALID_TOPIC', 'MQTT-3.3.2-2'],
  ['topic with U+0000', pub({ topic: 'a\u0000' }), 'INVALID_TOPIC', 'MQTT-4.7.3-2'],
  ['topic of 65,536 bytes', pub({ topic: 'a'.repeat(65536) }), 'INVALID_TOPIC', 'MQTT-4.7.3-3'],
  ['QoS 0 with DUP', pub({ dup: true }), 'RESERVED_FLAGS', 'MQTT-3.3.1-2'],
  ['QoS 3', pub({ qos: 3 as 2, packetId: 1 }), 'INVALID_QOS', 'MQTT-3.3.1-4'],
  ['PUBLISH packet id 0', pub({ qos: 1, packetId: 0 }), 'INVALID_PACKET_ID', 'MQTT-2.2.1-3'],
  ['PUBACK reason code 0x92', { type: 'puback', packetId: 1, reasonCode: 0x92 }, 'INVALID_REASON_CODE', 'MQTT-3.4.2-1'],
  ['PUBREL reason code 0x10', { type: 'pubrel', packetId: 1, reasonCode: 0x10 }, 'INVALID_REASON_CODE', 'MQTT-3.6.2-1'],
  ['PUBACK reason code "0"', { type: 'puback', packetId: 1, reasonCode: '0' as unknown as number }, 'INVALID_REASON_CODE', 'MQTT-3.4.2-1'],
  ['DISCONNECT reason code 0x01', { type: 'disconnect', reasonCode: 1 }, 'INVALID_REASON_CODE', 'MQTT-3.14.2-1'],
  ['DISCONNECT with Topic Alias', { type: 'disconnect', properties: { topicAlias: 1 } as never }, 'INVALID_PROPERTY'],
  ['AUTH reason code 0x17', { type: 'auth', reasonCode: 0x17 }, 'INVALID_REASON_CODE', 'MQTT-3.15.2-1'],
  ['AUTH data without method', { type: 'auth', reasonCode: 0x18, properties: { authenticationData: new Uint8Array(1) } }, 'INVALID_PROPERTY_VALUE'],
  ['CONNACK return code 0x01 (a 3.1.1 code)', { type: 'connack', sessionPresent: false, returnCode: 1 }, 'INVALID_REASON_CODE', 'MQTT-3.2.2-8'],
  ['CONNACK refusal with Session Present', { type: 'connack', sessionPresent: true, returnCode: 0x80 }, 'INVALID_REASON_CODE', 'MQTT-3.2.2-6'],
  ['CONNACK Maximum QoS 2', { type: 'connack', sessionPresent: false, returnCode: 0, properties: { maximumQoS: 2 as 1 } }, 'INVALID_PROPERTY_VALUE'],
  ['CONNACK Receive Maximum 0', { type: 'connack', sessionPresent: false, returnCode: 0, properties: { receiveMaximum: 0 } }, 'INVALID_PROPERTY_VALUE'],
  ['SUBACK reason code 3', { type: 'suback', packetId: 1, returnCodes: [3] }, 'INVALID_REASON_CODE', 'MQTT-3.9.3-2'],
  ['UNSUBACK without reason codes', { type: 'unsuback', packetId: 1 }, 'EMPTY_SUBSCRIPTION'],
  ['UNSUBACK reason code 0x84', { type: 'unsuback', packetId: 1, reasonCodes: [0x84] }, 'INVALID_REASON_CODE', 'MQTT-3.11.3-2'],
  ['SUBSCRIBE Retain Handling 3', sub({ retainHandling: 3 }), 'INVALID_SUBSCRIPTION_OPTIONS'],
  ['SUBSCRIBE No Local "yes"', sub({ noLocal: 'yes' }), 'INVALID_SUBSCRIPTION_OPTIONS'],
  ['SUBSCRIBE QoS 3', sub({ qos: 3 }), 'INVALID_QOS'],
  ['SUBSCRIBE No Local on a shared subscription', sub({ topicFilter: '$share/g/a', noLocal: true }), 'INVALID_SUBSCRIPTION_OPTIONS', 'MQTT-3.8.3-4'],
  ['SUBSCRIBE $share/g/ (no filter)', sub({ topicFilter: '$share/g/' }), 'INVALID_TOPIC', 'MQTT-4.8.2-2'],
  ['SUBSCRIBE filter a/#/b', sub({ topicFilter: 'a/#/b' }), 'INVALID_TOPIC', 'MQTT-4.7.1-1'],
  ['SUBSCRIBE without filters', { type: 'subscribe', packetId: 1, subscriptions: [] }, 'EMPTY_SUBSCRIPTION', 'MQTT-3.8.3-2'],
  ['SUBSCRIBE two Subscription Identifiers', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0 }], properties: { subscriptionIdentifiers: [1, 2] } as never }, 'INVALID_PROPERTY'],
  ['UNSUBSCRIBE $share//a', { type: 'unsubscribe', packetId: 1, topicFilters: ['$share//a'] }, 'INVALID_TOPIC', 'MQTT-4.8.2-1'],
  ['CONNECT 5 with Topic Alias', conn({ properties: { topicAlias: 1 } as never }), 'INVALID_PROPERTY'],
  ['CONNECT 5 Authentication Data without Method', conn({ properties: { authenticationData: new Uint8Array(1) } }), 'INVALID_PROPERTY_VALUE'],
  ['CONNECT 5 will QoS 3', conn({ will: { topic: 'w', payload: new Uint8Array(0), qos: 3 as 2, retain: false } }), 'INVALID_QOS', 'MQTT-3.1.2-12'],
  ['CONNECT 5 will topic with +', conn({ will: { topic: 'w/+', payload: new Uint8Array(0), qos: 0, retain: false } }), 'INVALID_TOPIC', 'MQTT-4.7.0-1'],
  ['CONNECT 5 Will Properties with Receive Maximum', conn({ will: { topic: 'w', payload: new Uint8Array(0), qos: 0, retain: false, properties: { receiveMaximum: 1 } as never } }), 'INVALID_PROPERTY'],
  ['CONNECT 5 client id with a lone surrogate', conn({ clientId: '\udfff' }), 'INVALID_UTF8', 'MQTT-1.5.4-1'],
];

describe('MQTT 5 encode validation', () => {
  for (const [name, p, code, statement] of ENCODE_CASES) {
    it(`${name}: ${code}${statement ? ` [${statement}]` : ''}`, () => {
      const err = caught(() => encode(p, 5));
      expect([err.code, err.statement]).toEqual([code, statement]);
      expect(caught(() => encodedLength(p, 5)).code).toBe(code);
      const buf = new Uint8Array(256);
      expect(caught(() => encodeInto(p, buf, 0, 5)).code).toBe(code);
      expect(buf, 'nothing written').toEqual(new Uint8Array(256));
    });
  }

  it('accepts the limits and the forms MQTT 5 allows again', () => {
    expect(() => encode(props({ topicAlias: 65535, messageExpiryInterval: 0xffffffff, subscriptionIdentifiers: [1, 268_435_455] }), 5)).not.toThrow();
    expect(() => encode(pub({ topic: '', properties: { topicAlias: 1 } }), 5)).not.toThrow();
    expect(() => encode(conn({ password: utf8('p') }), 5)).not.toThrow(); // MQTT 3.1.1 refuses this (MQTT-3.1.2-22)
    expect(() => encode(sub({ topicFilter: '$share/g/a/#', retainHandling: 2 }), 5)).not.toThrow();
    expect(() => encode(props({ userProperties: [] }), 5)).not.toThrow();
    expect(() => encode(props({ contentType: 'a'.repeat(65535) }), 5)).not.toThrow();
  });

  it('every statement cited here is an MQTT 5.0 statement', () => {
    const known = mqtt5StatementIds();
    expect(ENCODE_CASES.filter(([, , , s]) => s !== undefined && !known.has(s)).map(([n, , , s]) => `${n}: ${s}`)).toEqual([]);
  });
});
