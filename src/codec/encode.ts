/**
 * Packet -> bytes. Each packet is first measured (which also validates every field, so nothing invalid is
 * ever written) and then written into one Uint8Array of exactly the right size.
 */
import { MqttProtocolError } from '../errors.js';
import { allocate } from './alloc.js';
import type { ConnectPacket, Packet, PublishPacket, QoS } from './packets.js';
import { headerLength, MAX_REMAINING_LENGTH, writeHeader } from './fixed-header.js';
import { checkTopicFilter, checkTopicName } from './topics.js';
import { HAS_NUL, LONE_SURROGATE, utf8Bytes, utf8Length, writeUtf8 } from './utf8.js';

/**
 * Encodes one packet. Throws MqttProtocolError if the packet breaks a rule (nothing is written then).
 * The result is yours (the codec never writes it again), but packets up to 32 KiB are views into a shared
 * slab (see alloc.ts): use the view's bytes, not its `.buffer`.
 */
export function encode(packet: Packet): Uint8Array {
  const remaining = measure(packet);
  const buf = allocate(headerLength(remaining) + remaining);
  write(packet, buf, 0, remaining);
  return buf;
}

/** Bytes `encode(packet)` would produce (validating the packet on the way). */
export function encodedLength(packet: Packet): number {
  const remaining = measure(packet);
  return headerLength(remaining) + remaining;
}

/**
 * Bytes of a PUBLISH of `topic` at `qos` with a payload of `payloadLength` bytes, fixed header included,
 * before it has a packet identifier (a client checks this against the largest packet it may send).
 * Validates the topic as `encode` does (MqttProtocolError INVALID_TOPIC), through the same one-topic
 * cache, so encoding the PUBLISH right after does not check the topic again.
 */
export function publishSize(topic: string, qos: QoS, payloadLength: number): number {
  const remaining = 2 + publishTopicBytes(topic).length + (qos === 0 ? 0 : 2) + payloadLength;
  return headerLength(remaining) + remaining;
}

/**
 * Encodes `packet` into `buf` at `offset` and returns the offset just past it, so several packets can be
 * packed into one write buffer without intermediate arrays. Throws RangeError if it does not fit (nothing is
 * written then).
 */
export function encodeInto(packet: Packet, buf: Uint8Array, offset = 0): number {
  const remaining = measure(packet);
  const total = headerLength(remaining) + remaining;
  if (!(offset >= 0) || offset + total > buf.length) {
    throw new RangeError(`packet needs ${total} bytes at offset ${offset}; the buffer has ${buf.length}`);
  }
  return write(packet, buf, offset, remaining);
}

// ---------------------------------------------------------------------------------------------------------
// Validation helpers

function err(code: ConstructorParameters<typeof MqttProtocolError>[0], message: string, statement?: string): MqttProtocolError {
  return new MqttProtocolError(code, message, statement);
}

function checkQos(qos: unknown, what: string, statement?: string): asserts qos is QoS {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw err('INVALID_QOS', `${what} QoS must be 0, 1 or 2, got ${String(qos)}`, statement);
}

function checkPacketId(id: unknown, type: string): asserts id is number {
  if (typeof id !== 'number' || !(id >= 1 && id <= 0xffff) || id % 1 !== 0) {
    throw err('INVALID_PACKET_ID', `${type} packet identifier must be an integer 1..65535, got ${String(id)}`, 'MQTT-2.3.1-1');
  }
}

/** UTF-8 length of a length-prefixed string field, validated. */
function stringLength(s: unknown, what: string): number {
  if (typeof s !== 'string') throw new TypeError(`${what} must be a string`);
  const n = utf8Length(s);
  if (n === HAS_NUL) throw err('INVALID_UTF8', `${what} contains U+0000`, 'MQTT-1.5.3-2');
  if (n === LONE_SURROGATE) throw err('INVALID_UTF8', `${what} contains an unpaired surrogate`, 'MQTT-1.5.3-1');
  if (n > 0xffff) throw err('STRING_TOO_LONG', `${what} is ${n} bytes in UTF-8; the limit is 65535`);
  return n;
}

/** Length of a length-prefixed binary field (will payload, password), validated. */
function bytesLength(b: unknown, what: string): number {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (b.length > 0xffff) throw err('STRING_TOO_LONG', `${what} is ${b.length} bytes; the limit is 65535`);
  return b.length;
}

function checkRemaining(remaining: number, type: string): number {
  if (remaining > MAX_REMAINING_LENGTH) {
    throw err('PACKET_TOO_LARGE', `${type} needs a Remaining Length of ${remaining}; the limit is ${MAX_REMAINING_LENGTH}`);
  }
  return remaining;
}

// One-entry cache of the last PUBLISH topic: publishers mostly repeat the same topic, and this skips
// validating and re-encoding it. Strings are immutable, so equality means the cached bytes are right.
let cachedTopic = '';
let cachedTopicBytes: Uint8Array = new Uint8Array(0);

function publishTopicBytes(topic: string): Uint8Array {
  if (topic === cachedTopic && topic !== '') return cachedTopicBytes;
  const n = checkTopicName(topic, 'MQTT-3.3.2-2');
  cachedTopicBytes = utf8Bytes(topic, n);
  cachedTopic = topic;
  return cachedTopicBytes;
}

// ---------------------------------------------------------------------------------------------------------
// measure: validate and compute the Remaining Length

function measure(p: Packet): number {
  switch (p.type) {
    case 'publish':
      return measurePublish(p);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'unsuback':
      checkPacketId(p.packetId, p.type.toUpperCase());
      return 2;
    case 'pingreq':
    case 'pingresp':
    case 'disconnect':
      return 0;
    case 'connack':
      // 6..255 are reserved for future use, not forbidden: written as given, like the decoder reads them.
      if (p.returnCode !== (p.returnCode & 0xff)) {
        throw err('INVALID_RETURN_CODE', `CONNACK return code must be an integer 0..255, got ${String(p.returnCode)}`);
      }
      if (p.sessionPresent && p.returnCode !== 0) {
        throw err('INVALID_RETURN_CODE', `CONNACK with Session Present must have return code 0, got ${p.returnCode}`, 'MQTT-3.2.2-4');
      }
      return 2;
    case 'subscribe': {
      checkPacketId(p.packetId, 'SUBSCRIBE');
      const subs = p.subscriptions;
      if (!Array.isArray(subs) || subs.length === 0) throw err('EMPTY_SUBSCRIPTION', 'SUBSCRIBE needs at least one topic filter', 'MQTT-3.8.3-3');
      let n = 2;
      for (const s of subs) {
        checkQos(s.qos, 'SUBSCRIBE requested', 'MQTT-3-8.3-4');
        n += 3 + checkTopicFilter(s.topicFilter);
      }
      return checkRemaining(n, 'SUBSCRIBE');
    }
    case 'suback': {
      checkPacketId(p.packetId, 'SUBACK');
      const codes = p.returnCodes;
      if (!Array.isArray(codes) || codes.length === 0) throw err('EMPTY_SUBSCRIPTION', 'SUBACK needs at least one return code');
      for (const rc of codes) {
        if (rc !== 0 && rc !== 1 && rc !== 2 && rc !== 0x80) {
          throw err('INVALID_RETURN_CODE', `SUBACK return code must be 0, 1, 2 or 0x80, got ${String(rc)}`, 'MQTT-3.9.3-2');
        }
      }
      return checkRemaining(2 + codes.length, 'SUBACK');
    }
    case 'unsubscribe': {
      checkPacketId(p.packetId, 'UNSUBSCRIBE');
      const filters = p.topicFilters;
      if (!Array.isArray(filters) || filters.length === 0) throw err('EMPTY_SUBSCRIPTION', 'UNSUBSCRIBE needs at least one topic filter', 'MQTT-3.10.3-2');
      let n = 2;
      for (const f of filters) n += 2 + checkTopicFilter(f);
      return checkRemaining(n, 'UNSUBSCRIBE');
    }
    case 'connect':
      return measureConnect(p);
    default:
      throw err('UNKNOWN_TYPE', `cannot encode packet type ${JSON.stringify((p as { type?: unknown }).type)}`);
  }
}

function measurePublish(p: PublishPacket): number {
  const qos = p.qos;
  checkQos(qos, 'PUBLISH', 'MQTT-3.3.1-4');
  if (qos === 0) {
    // A packetId on a QoS 0 PUBLISH is ignored, not written [MQTT-2.3.1-5], so a reused object is harmless.
    if (p.dup) throw err('RESERVED_FLAGS', 'PUBLISH with QoS 0 must not set DUP', 'MQTT-3.3.1-2');
  } else {
    checkPacketId(p.packetId, 'PUBLISH');
  }
  const payload = p.payload;
  if (!(payload instanceof Uint8Array)) throw new TypeError('PUBLISH payload must be a Uint8Array');
  const n = 2 + publishTopicBytes(p.topic).length + (qos === 0 ? 0 : 2) + payload.length;
  return checkRemaining(n, 'PUBLISH');
}

/** Protocol name each supported level must carry. */
function protocolNameFor(level: number): string {
  if (level === 4) return 'MQTT';
  if (level === 3) return 'MQIsdp';
  throw err('INVALID_PROTOCOL', `protocol level must be 4 (MQTT 3.1.1) or 3 (MQTT 3.1), got ${String(level)}`, 'MQTT-3.1.2-2');
}

function measureConnect(p: ConnectPacket): number {
  const level = p.protocolLevel ?? 4;
  const name = protocolNameFor(level);
  if (p.protocolName !== undefined && p.protocolName !== name) {
    throw err('INVALID_PROTOCOL', `protocol level ${level} is named ${JSON.stringify(name)}, not ${JSON.stringify(p.protocolName)}`, 'MQTT-3.1.2-1');
  }
  const k = p.keepalive;
  if (typeof k !== 'number' || !(k >= 0 && k <= 0xffff) || k % 1 !== 0) {
    throw err('INVALID_CONNECT_FLAGS', `keepalive must be an integer 0..65535 seconds, got ${String(k)}`);
  }
  // The client id is checked as a string only. An empty id without CleanSession [MQTT-3.1.3-7], or a 3.1 id
  // outside 1..23 bytes, is a well-formed packet the server refuses with CONNACK 0x02, so the codec writes
  // it (as it decodes it); keeping a client from sending one is the session's job.
  const idLen = stringLength(p.clientId, 'client identifier');
  let n = 2 + name.length + 1 + 1 + 2 + 2 + idLen;
  const will = p.will;
  if (will != null) {
    n += 2 + checkTopicName(will.topic) + 2 + bytesLength(will.payload, 'will payload');
    checkQos(will.qos, 'will', 'MQTT-3.1.2-14');
  }
  if (p.username != null) n += 2 + stringLength(p.username, 'user name');
  if (p.password != null) {
    if (level === 4 && p.username == null) throw err('INVALID_CONNECT_FLAGS', 'a password requires a user name in MQTT 3.1.1', 'MQTT-3.1.2-22');
    n += 2 + bytesLength(p.password, 'password');
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------
// write: the packet was measured (and so validated) just before; write it at `pos`

const FIRST_BYTE = {
  connect: 0x10, connack: 0x20, puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70, subscribe: 0x82,
  suback: 0x90, unsubscribe: 0xa2, unsuback: 0xb0, pingreq: 0xc0, pingresp: 0xd0, disconnect: 0xe0,
} as const;

function write(p: Packet, buf: Uint8Array, pos: number, remaining: number): number {
  switch (p.type) {
    case 'publish':
      return writePublish(p, buf, pos, remaining);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'unsuback':
      buf[pos] = FIRST_BYTE[p.type];
      buf[pos + 1] = 2;
      buf[pos + 2] = p.packetId >> 8;
      buf[pos + 3] = p.packetId;
      return pos + 4;
    case 'pingreq':
    case 'pingresp':
    case 'disconnect':
      buf[pos] = FIRST_BYTE[p.type];
      buf[pos + 1] = 0;
      return pos + 2;
    case 'connack':
      buf[pos] = 0x20;
      buf[pos + 1] = 2;
      buf[pos + 2] = p.sessionPresent ? 1 : 0;
      buf[pos + 3] = p.returnCode;
      return pos + 4;
    case 'subscribe':
      pos = writeHeader(buf, pos, 0x82, remaining);
      pos = writeU16(buf, pos, p.packetId);
      for (const s of p.subscriptions) {
        pos = writeString(buf, pos, s.topicFilter);
        buf[pos++] = s.qos;
      }
      return pos;
    case 'suback':
      pos = writeHeader(buf, pos, 0x90, remaining);
      pos = writeU16(buf, pos, p.packetId);
      for (const rc of p.returnCodes) buf[pos++] = rc;
      return pos;
    case 'unsubscribe':
      pos = writeHeader(buf, pos, 0xa2, remaining);
      pos = writeU16(buf, pos, p.packetId);
      for (const f of p.topicFilters) pos = writeString(buf, pos, f);
      return pos;
    case 'connect':
      return writeConnect(p, buf, pos, remaining);
  }
}

function writeU16(buf: Uint8Array, pos: number, v: number): number {
  buf[pos] = v >> 8;
  buf[pos + 1] = v;
  return pos + 2;
}

function writeString(buf: Uint8Array, pos: number, s: string): number {
  const n = utf8Length(s);
  buf[pos] = n >> 8;
  buf[pos + 1] = n;
  return writeUtf8(buf, pos + 2, s, n);
}

function writeBytes(buf: Uint8Array, pos: number, b: Uint8Array): number {
  const n = b.length;
  // For a few dozen bytes a plain loop beats the native call set() makes.
  if (n < 48) for (let i = 0; i < n; i++) buf[pos + i] = b[i]!;
  else buf.set(b, pos);
  return pos + n;
}

function writePublish(p: PublishPacket, buf: Uint8Array, pos: number, remaining: number): number {
  const qos = p.qos;
  const first = 0x30 | (p.dup ? 0x08 : 0) | (qos << 1) | (p.retain ? 0x01 : 0);
  pos = writeHeader(buf, pos, first, remaining);
  const topic = publishTopicBytes(p.topic);
  pos = writeU16(buf, pos, topic.length);
  pos = writeBytes(buf, pos, topic);
  if (qos !== 0) pos = writeU16(buf, pos, p.packetId!);
  return writeBytes(buf, pos, p.payload);
}

function writeConnect(p: ConnectPacket, buf: Uint8Array, pos: number, remaining: number): number {
  const level = p.protocolLevel ?? 4;
  pos = writeHeader(buf, pos, 0x10, remaining);
  pos = writeString(buf, pos, protocolNameFor(level));
  buf[pos++] = level;
  const will = p.will;
  let flags = p.clean ? 0x02 : 0;
  if (will != null) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password != null) flags |= 0x40;
  if (p.username != null) flags |= 0x80;
  buf[pos++] = flags;
  pos = writeU16(buf, pos, p.keepalive);
  pos = writeString(buf, pos, p.clientId);
  if (will != null) {
    pos = writeString(buf, pos, will.topic);
    pos = writeU16(buf, pos, will.payload.length);
    pos = writeBytes(buf, pos, will.payload);
  }
  if (p.username != null) pos = writeString(buf, pos, p.username);
  if (p.password != null) {
    pos = writeU16(buf, pos, p.password.length);
    pos = writeBytes(buf, pos, p.password);
  }
  return pos;
}
