/**
 * Packet -> bytes. Each packet is first measured (which also validates every field, so nothing invalid is
 * ever written) and then written into one Uint8Array of exactly the right size.
 *
 * One encoder for every level: MQTT 5 (level 5) adds a Property Length and properties to every packet but
 * PINGREQ/PINGRESP, reason codes, subscription options and AUTH, each a branch where the packets differ;
 * levels 3 and 4 write the same packets. A CONNECT is always encoded at the level it names (encode-connect.ts).
 *
 * At level 5, reason codes and properties are left out where the spec lets a sender omit them (3.4.2.1 and its
 * like): an ack with reason code 0 and no properties is 4 bytes as in 3.1.1, a DISCONNECT or AUTH 2.
 */
import { allocate } from './alloc.js';
import { PACKET_TYPE_CODES, type Packet, type ProtocolLevel, type PublishPacket, type QoS, type Subscription } from './packets.js';
import { headerLength, TYPE_NAMES, varintLength, writeHeader } from './fixed-header.js';
import { measureConnect, writeConnect } from './encode-connect.js';
import { measureProperties, writeProperties } from './properties.js';
import { checkReasonCode } from './reason-codes.js';
import { checkTopicFilter, isSharedFilter } from './topics.js';
import { asV5, protocolError5 } from './v5-errors.js';
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
  write(packet, buf, 0, remaining, protocolLevel === 5);
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
export function encodeInto(packet: Packet, buf: Uint8Array, offset = 0, protocolLevel: ProtocolLevel = 4): number {
  const remaining = measureAt(packet, protocolLevel);
  const total = headerLength(remaining) + remaining;
  if (!(offset >= 0) || offset + total > buf.length) {
    throw new RangeError(`packet needs ${total} bytes at offset ${offset}; the buffer has ${buf.length}`);
  }
  return write(packet, buf, offset, remaining, protocolLevel === 5);
}

/** Errors about a level-5 packet cite MQTT 5's statements (v5-errors.ts); a CONNECT's follow its own level. */
function measureAt(packet: Packet, level: ProtocolLevel): number {
  if (level === 4 || level === 3) return measure(packet, false);
  if (level !== 5) throw new RangeError(`protocol level must be 3, 4 or 5, got ${String(level)}`);
  if (packet.type === 'connect') return measureConnect(packet);
  try {
    return measure(packet, true);
  } catch (e) {
    throw asV5(e);
  }
}

// ---------------------------------------------------------------------------------------------------------
// measure: validate and compute the Remaining Length

/** Property Length of the level-5 packet measured last, for write right after. */
let propsLength = 0;

/** `n` bytes of variable header and payload plus the Property Length and the properties (level 5). */
function withProperties(n: number, props: object | undefined, type: number): number {
  propsLength = measureProperties(props, type);
  return checkRemaining(n + varintLength(propsLength) + propsLength, TYPE_NAMES[type]!);
}

function measure(p: Packet, v5: boolean): number {
  switch (p.type) {
    case 'publish':
      return measurePublish(p, v5);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      checkPacketId(p.packetId, p.type.toUpperCase());
      return v5 ? measureReasonCode(p, 2) : 2;
    case 'disconnect':
      return v5 ? measureReasonCode(p, 0) : 0;
    case 'auth':
      if (v5) return measureReasonCode(p, 0);
      break;
    case 'pingreq':
    case 'pingresp':
      return 0;
    case 'connack': {
      const rc = p.returnCode;
      // 3.1.1: 6..255 are reserved for future use, not forbidden: written as given, like the decoder reads them.
      if (v5) checkReasonCode(rc, 2);
      else if (rc !== (rc & 0xff)) throw err('INVALID_RETURN_CODE', `CONNACK return code must be an integer 0..255, got ${String(rc)}`);
      if (p.sessionPresent && rc !== 0) {
        throw err(v5 ? 'INVALID_REASON_CODE' : 'INVALID_RETURN_CODE', `CONNACK with Session Present must have return code 0, got ${rc}`, 'MQTT-3.2.2-4');
      }
      return v5 ? withProperties(2, p.properties, 2) : 2;
    }
    case 'subscribe': {
      checkPacketId(p.packetId, 'SUBSCRIBE');
      const subs = p.subscriptions;
      if (!Array.isArray(subs) || subs.length === 0) throw err('EMPTY_SUBSCRIPTION', 'SUBSCRIBE needs at least one topic filter', 'MQTT-3.8.3-3');
      let n = 2;
      for (const s of subs) {
        n += 3 + checkTopicFilter(s.topicFilter);
        if (v5) subscriptionOptions(s);
        else checkQos(s.qos, 'SUBSCRIBE requested', 'MQTT-3-8.3-4');
      }
      return v5 ? withProperties(n, p.properties, 8) : checkRemaining(n, 'SUBSCRIBE');
    }
    case 'suback':
    case 'unsuback': {
      const type = PACKET_TYPE_CODES[p.type];
      checkPacketId(p.packetId, TYPE_NAMES[type]!);
      // 3.1.1's UNSUBACK is the packet id alone; MQTT 5 answers each filter with a reason code.
      if (p.type === 'unsuback' && !v5) return 2;
      const codes = p.type === 'suback' ? p.returnCodes : p.reasonCodes;
      if (!Array.isArray(codes) || codes.length === 0) throw err('EMPTY_SUBSCRIPTION', `${TYPE_NAMES[type]} needs a code per topic filter`);
      for (const rc of codes) {
        if (v5) checkReasonCode(rc, type);
        else if (rc !== 0 && rc !== 1 && rc !== 2 && rc !== 0x80) {
          throw err('INVALID_RETURN_CODE', `SUBACK return code must be 0, 1, 2 or 0x80, got ${String(rc)}`, 'MQTT-3.9.3-2');
        }
      }
      return v5 ? withProperties(2 + codes.length, p.properties, type) : checkRemaining(2 + codes.length, 'SUBACK');
    }
    case 'unsubscribe': {
      checkPacketId(p.packetId, 'UNSUBSCRIBE');
      const filters = p.topicFilters;
      if (!Array.isArray(filters) || filters.length === 0) throw err('EMPTY_SUBSCRIPTION', 'UNSUBSCRIBE needs at least one topic filter', 'MQTT-3.10.3-2');
      let n = 2;
      for (const f of filters) {
        n += 2 + checkTopicFilter(f);
        if (v5) isSharedFilter(f);
      }
      return v5 ? withProperties(n, p.properties, 10) : checkRemaining(n, 'UNSUBSCRIBE');
    }
    case 'connect':
      return measureConnect(p);
  }
  throw err('UNKNOWN_TYPE', `cannot encode packet type ${JSON.stringify((p as { type?: unknown }).type)}${v5 ? '' : ' at level 3 or 4'}`);
}

function measurePublish(p: PublishPacket, v5: boolean): number {
  checkPublish(p);
  const n = 2 + (p.qos === 0 ? 0 : 2) + p.payload.length;
  if (!v5) return checkRemaining(n + publishTopicBytes(p.topic).length, 'PUBLISH');
  // With a Topic Alias the topic may be empty: the alias stands for it (section 3.3.2.3.4).
  const props = p.properties;
  const topicLength = p.topic === '' && props?.topicAlias !== undefined ? 0 : publishTopicBytes(p.topic).length;
  return withProperties(n + topicLength, props, 3);
}

/**
 * MQTT 5 acks (`idLength` 2), DISCONNECT and AUTH (0): a reason code, then properties. Both are left out when
 * they say nothing (3.4.2.1, 3.14.2.1, 3.15.2.1); the Property Length alone too, except on AUTH (3.4.2.2,
 * 3.14.2.2: "If the Remaining Length is less than ... there is no Property Length").
 */
function measureReasonCode(p: Extract<Packet, { reasonCode?: number }>, idLength: number): number {
  const type = PACKET_TYPE_CODES[p.type];
  const rc = p.reasonCode ?? 0;
  checkReasonCode(rc, type);
  const n = withProperties(idLength + 1, p.properties, type);
  if (propsLength !== 0) return n;
  if (rc === 0) return idLength;
  return type === 15 ? n : idLength + 1;
}

/** The Subscription Options byte (section 3.8.3.1), validated. */
function subscriptionOptions(s: Subscription): number {
  const { qos, noLocal = false, retainAsPublished = false, retainHandling = 0 } = s;
  if (qos !== 0 && qos !== 1 && qos !== 2) {
    throw protocolError5('INVALID_QOS', `SUBSCRIBE Maximum QoS must be 0, 1 or 2, got ${String(qos)}`, undefined, 0x82);
  }
  if (typeof noLocal !== 'boolean' || typeof retainAsPublished !== 'boolean' || (retainHandling !== 0 && retainHandling !== 1 && retainHandling !== 2)) {
    throw protocolError5('INVALID_SUBSCRIPTION_OPTIONS', 'SUBSCRIBE noLocal and retainAsPublished must be booleans, retainHandling 0, 1 or 2');
  }
  if (isSharedFilter(s.topicFilter) && noLocal) {
    throw protocolError5('INVALID_SUBSCRIPTION_OPTIONS', `SUBSCRIBE noLocal on shared subscription ${JSON.stringify(s.topicFilter)}`, 'MQTT-3.8.3-4');
  }
  return qos | (noLocal ? 0x04 : 0) | (retainAsPublished ? 0x08 : 0) | (retainHandling << 4);
}

// ---------------------------------------------------------------------------------------------------------
// write: the packet was measured (and so validated) just before; write it at `pos`

function write(p: Packet, buf: Uint8Array, pos: number, remaining: number, v5: boolean): number {
  switch (p.type) {
    case 'publish':
      return writePublish(p, buf, pos, remaining, v5);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      if (!v5) {
        buf[pos] = FIRST_BYTE[p.type];
        buf[pos + 1] = 2;
        buf[pos + 2] = p.packetId >> 8;
        buf[pos + 3] = p.packetId;
        return pos + 4;
      }
      return writeReasonCode(buf, writeU16(buf, writeHeader(buf, pos, FIRST_BYTE[p.type], remaining), p.packetId), p, remaining - 2);
    case 'disconnect':
    case 'auth':
      // At level 3/4 a DISCONNECT measured 0, so this writes e0 00 there too.
      return writeReasonCode(buf, writeHeader(buf, pos, FIRST_BYTE[p.type], remaining), p, remaining);
    case 'pingreq':
    case 'pingresp':
      buf[pos] = FIRST_BYTE[p.type];
      buf[pos + 1] = 0;
      return pos + 2;
    case 'connack':
      pos = writeHeader(buf, pos, 0x20, remaining);
      buf[pos] = p.sessionPresent ? 1 : 0;
      buf[pos + 1] = p.returnCode;
      return v5 ? writeProperties(buf, pos + 2, p.properties, propsLength) : pos + 2;
    case 'subscribe':
      pos = writeU16(buf, writeHeader(buf, pos, 0x82, remaining), p.packetId);
      if (v5) pos = writeProperties(buf, pos, p.properties, propsLength);
      for (const s of p.subscriptions) {
        pos = writeString(buf, pos, s.topicFilter);
        buf[pos++] = v5 ? subscriptionOptions(s) : s.qos;
      }
      return pos;
    case 'suback':
    case 'unsuback':
      pos = writeU16(buf, writeHeader(buf, pos, FIRST_BYTE[p.type], remaining), p.packetId);
      if (!v5 && p.type === 'unsuback') return pos;
      if (v5) pos = writeProperties(buf, pos, p.properties, propsLength);
      for (const rc of p.type === 'suback' ? p.returnCodes : p.reasonCodes!) buf[pos++] = rc;
      return pos;
    case 'unsubscribe':
      pos = writeU16(buf, writeHeader(buf, pos, 0xa2, remaining), p.packetId);
      if (v5) pos = writeProperties(buf, pos, p.properties, propsLength);
      for (const f of p.topicFilters) pos = writeString(buf, pos, f);
      return pos;
    case 'connect':
      return writeConnect(p, buf, pos, remaining);
  }
}

function writePublish(p: PublishPacket, buf: Uint8Array, pos: number, remaining: number, v5: boolean): number {
  pos = writeHeader(buf, pos, publishFirstByte(p), remaining);
  if (p.topic === '') {
    pos = writeU16(buf, pos, 0); // level 5 with a Topic Alias (measure refused it otherwise)
  } else {
    const topic = publishTopicBytes(p.topic);
    pos = writeBytes(buf, writeU16(buf, pos, topic.length), topic);
  }
  if (p.qos !== 0) pos = writeU16(buf, pos, p.packetId!);
  if (v5) pos = writeProperties(buf, pos, p.properties, propsLength);
  return writeBytes(buf, pos, p.payload);
}

/** The reason code and properties measureReasonCode kept, in the `left` bytes after the packet id. */
function writeReasonCode(buf: Uint8Array, pos: number, p: Extract<Packet, { reasonCode?: number }>, left: number): number {
  if (left === 0) return pos;
  buf[pos] = p.reasonCode ?? 0;
  return left === 1 ? pos + 1 : writeProperties(buf, pos + 1, p.properties, propsLength);
}
