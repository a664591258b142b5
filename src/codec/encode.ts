/**
 * Packet -> bytes. Each packet is first measured (which also validates every field, so nothing invalid is
 * ever written) and then written into one Uint8Array of exactly the right size.
 *
 * The protocol level (4 by default; 3 encodes the same packets) picks the wire format: at level 5 the MQTT 5
 * encoder in encode-v5.ts does the work. A CONNECT is always encoded at the level it names.
 */
import { allocate } from './alloc.js';
import type { Packet, ProtocolLevel, PublishPacket } from './packets.js';
import { headerLength, writeHeader } from './fixed-header.js';
import { measureConnect, writeConnect } from './encode-connect.js';
import { measure5, write5 } from './encode-v5.js';
import { checkTopicFilter } from './topics.js';
import {
  checkPacketId,
  checkPublish,
  checkQos,
  checkRemaining,
  err,
  FIRST_BYTE,
  publishFirstByte,
  publishTopicBytes,
  writeBytes,
  writeString,
  writeU16,
} from './write-fields.js';

/**
 * Encodes one packet for a connection at `protocolLevel` (4: MQTT 3.1.1, the default; 3: MQTT 3.1; 5: MQTT
 * 5.0). Throws MqttProtocolError if the packet breaks a rule (nothing is written then). The result is yours
 * (the codec never writes it again), but packets up to 32 KiB are views into a shared slab (see alloc.ts):
 * use the view's bytes, not its `.buffer`.
 */
export function encode(packet: Packet, protocolLevel: ProtocolLevel = 4): Uint8Array {
  const remaining = measureAt(packet, protocolLevel);
  const buf = allocate(headerLength(remaining) + remaining);
  if (protocolLevel === 5) write5(packet, buf, 0, remaining);
  else write(packet, buf, 0, remaining);
  return buf;
}

/**
 * Bytes `encode(packet, protocolLevel)` would produce (validating the packet on the way): what to compare
 * with the peer's Maximum Packet Size before sending.
 */
export function encodedLength(packet: Packet, protocolLevel: ProtocolLevel = 4): number {
  const remaining = measureAt(packet, protocolLevel);
  return headerLength(remaining) + remaining;
}

/**
 * Encodes `packet` into `buf` at `offset` and returns the offset just past it, so several packets can be
 * packed into one write buffer without intermediate arrays. Throws RangeError if it does not fit (nothing is
 * written then).
 */
export function encodeInto(packet: Packet, buf: Uint8Array, offset = 0, protocolLevel: ProtocolLevel = 4): number {
  const remaining = measureAt(packet, protocolLevel);
  const total = headerLength(remaining) + remaining;
  if (!(offset >= 0) || offset + total > buf.length) {
    throw new RangeError(`packet needs ${total} bytes at offset ${offset}; the buffer has ${buf.length}`);
  }
  return protocolLevel === 5 ? write5(packet, buf, offset, remaining) : write(packet, buf, offset, remaining);
}

function measureAt(packet: Packet, level: ProtocolLevel): number {
  if (level === 4 || level === 3) return measure(packet);
  if (level === 5) return measure5(packet);
  throw new RangeError(`protocol level must be 3, 4 or 5, got ${String(level)}`);
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
      // AUTH is MQTT 5 only.
      throw err('UNKNOWN_TYPE', `cannot encode packet type ${JSON.stringify((p as { type?: unknown }).type)} at level 3 or 4`);
  }
}

function measurePublish(p: PublishPacket): number {
  checkPublish(p);
  const n = 2 + publishTopicBytes(p.topic).length + (p.qos === 0 ? 0 : 2) + p.payload.length;
  return checkRemaining(n, 'PUBLISH');
}

// ---------------------------------------------------------------------------------------------------------
// write: the packet was measured (and so validated) just before; write it at `pos`

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
    case 'auth':
      return pos; // never measured at this level
  }
}

function writePublish(p: PublishPacket, buf: Uint8Array, pos: number, remaining: number): number {
  pos = writeHeader(buf, pos, publishFirstByte(p), remaining);
  const topic = publishTopicBytes(p.topic);
  pos = writeU16(buf, pos, topic.length);
  pos = writeBytes(buf, pos, topic);
  if (p.qos !== 0) pos = writeU16(buf, pos, p.packetId!);
  return writeBytes(buf, pos, p.payload);
}
