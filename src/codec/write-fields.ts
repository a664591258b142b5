/**
 * Checking and writing the fields packets are made of, for the 3.1.1 and the MQTT 5 encoders: every check
 * throws MqttProtocolError (or TypeError for a value of the wrong JavaScript type) before anything is written.
 */
import { MqttProtocolError } from '../errors.js';
import type { PublishPacket, QoS } from './packets.js';
import { MAX_REMAINING_LENGTH } from './fixed-header.js';
import { checkTopicName } from './topics.js';
import { HAS_NUL, LONE_SURROGATE, utf8Bytes, utf8Length, writeUtf8 } from './utf8.js';

export function err(code: ConstructorParameters<typeof MqttProtocolError>[0], message: string, statement?: string): MqttProtocolError {
  return new MqttProtocolError(code, message, statement);
}

export function checkQos(qos: unknown, what: string, statement?: string): asserts qos is QoS {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw err('INVALID_QOS', `${what} QoS must be 0, 1 or 2, got ${String(qos)}`, statement);
}

/** `type`: the packet's name, in any case (upper-cased in the message, so a hot caller need not). */
export function checkPacketId(id: unknown, type: string): asserts id is number {
  if (typeof id !== 'number' || !(id >= 1 && id <= 0xffff) || id % 1 !== 0) {
    throw err('INVALID_PACKET_ID', `${type.toUpperCase()} packet identifier must be an integer 1..65535, got ${String(id)}`, 'MQTT-2.3.1-1');
  }
}

/** UTF-8 length of a length-prefixed string field, validated. */
export function stringLength(s: unknown, what: string): number {
  if (typeof s !== 'string') throw new TypeError(`${what} must be a string`);
  const n = utf8Length(s);
  if (n === HAS_NUL) throw err('INVALID_UTF8', `${what} contains U+0000`, 'MQTT-1.5.3-2');
  if (n === LONE_SURROGATE) throw err('INVALID_UTF8', `${what} contains an unpaired surrogate`, 'MQTT-1.5.3-1');
  if (n > 0xffff) throw err('STRING_TOO_LONG', `${what} is ${n} bytes in UTF-8; the limit is 65535`);
  return n;
}

/** Length of a length-prefixed binary field (will payload, password), validated. */
export function bytesLength(b: unknown, what: string): number {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (b.length > 0xffff) throw err('STRING_TOO_LONG', `${what} is ${b.length} bytes; the limit is 65535`);
  return b.length;
}

export function checkRemaining(remaining: number, type: string): number {
  if (remaining > MAX_REMAINING_LENGTH) {
    throw err('PACKET_TOO_LARGE', `${type} needs a Remaining Length of ${remaining}; the limit is ${MAX_REMAINING_LENGTH}`);
  }
  return remaining;
}

// One-entry cache of the last PUBLISH topic: publishers mostly repeat the same topic, and this skips
// validating and re-encoding it. Strings are immutable, so equality means the cached bytes are right.
let cachedTopic = '';
let cachedTopicBytes: Uint8Array = new Uint8Array(0);

export function publishTopicBytes(topic: string): Uint8Array {
  if (topic === cachedTopic && topic !== '') return cachedTopicBytes;
  const n = checkTopicName(topic, 'MQTT-3.3.2-2');
  cachedTopicBytes = utf8Bytes(topic, n);
  cachedTopic = topic;
  return cachedTopicBytes;
}

/** First byte of each fixed-size-flags packet type: type << 4 | the flags the spec requires (Table 2-2). */
export const FIRST_BYTE = {
  connect: 0x10, connack: 0x20, puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70, subscribe: 0x82,
  suback: 0x90, unsubscribe: 0xa2, unsuback: 0xb0, pingreq: 0xc0, pingresp: 0xd0, disconnect: 0xe0, auth: 0xf0,
} as const;

/** The checks a PUBLISH's fixed header and packet id need, the same at every level. */
export function checkPublish(p: PublishPacket): void {
  const qos = p.qos;
  checkQos(qos, 'PUBLISH', 'MQTT-3.3.1-4');
  if (qos === 0) {
    // A packetId on a QoS 0 PUBLISH is ignored, not written [MQTT-2.3.1-5], so a reused object is harmless.
    if (p.dup) throw err('RESERVED_FLAGS', 'PUBLISH with QoS 0 must not set DUP', 'MQTT-3.3.1-2');
  } else {
    checkPacketId(p.packetId, 'PUBLISH');
  }
  if (!(p.payload instanceof Uint8Array)) throw new TypeError('PUBLISH payload must be a Uint8Array');
}

/** The PUBLISH fixed header's first byte. */
export function publishFirstByte(p: PublishPacket): number {
  return 0x30 | (p.dup ? 0x08 : 0) | (p.qos << 1) | (p.retain ? 0x01 : 0);
}

export function writeU16(buf: Uint8Array, pos: number, v: number): number {
  buf[pos] = v >> 8;
  buf[pos + 1] = v;
  return pos + 2;
}

export function writeString(buf: Uint8Array, pos: number, s: string): number {
  const n = utf8Length(s);
  buf[pos] = n >> 8;
  buf[pos + 1] = n;
  return writeUtf8(buf, pos + 2, s, n);
}

export function writeBytes(buf: Uint8Array, pos: number, b: Uint8Array): number {
  const n = b.length;
  // For a few dozen bytes a plain loop beats the native call set() makes.
  if (n < 48) for (let i = 0; i < n; i++) buf[pos + i] = b[i]!;
  else buf.set(b, pos);
  return pos + n;
}

