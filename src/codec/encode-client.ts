/**
 * Packet -> bytes for the packets a client sends: CONNECT, PUBLISH, the four publish acks, SUBSCRIBE,
 * UNSUBSCRIBE, PINGREQ, DISCONNECT and AUTH. The client encodes with `encodeFromClient`, so a client bundle
 * carries no writer for CONNACK, SUBACK, UNSUBACK or PINGRESP; encode.ts adds those for mqttwire/codec and
 * hands every other packet to the functions here (so each packet has one writer, used by both).
 *
 * Each packet is first measured (which also validates every field, so nothing invalid is ever written) and
 * then written into one Uint8Array of exactly the right size.
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

/** Validates a packet and returns its Remaining Length (`v5`: at level 5; `topicAlias`: see encodeFromClient). */
export type Measure = (p: Packet, v5: boolean, topicAlias?: number) => number;
/** Writes the packet just measured at `pos`; returns the offset past it. */
export type Write = (p: Packet, buf: Uint8Array, pos: number, remaining: number, v5: boolean, topicAlias?: number) => number;

/**
 * Encodes one packet a client sends, at `protocolLevel` (as `encode` does; any other packet type is
 * MqttProtocolError UNKNOWN_TYPE).
 *
 * `topicAlias` (level 5, a PUBLISH only; 0: none): a Topic Alias 1..65535 given beside the packet, with
 * WITH_TOPIC set when the topic goes too. The bytes are those of `withTopicAlias(packet, topicAlias)`,
 * without building that copy: a client with aliases sends most publishes this way, and copying the
 * packet cost more than encoding it. The packet must carry no topicAlias of its own (the property would
 * go twice); a client's never do (publish() refuses one, and a requeued packet goes back without it).
 */
export function encodeFromClient(packet: Packet, protocolLevel: ProtocolLevel = 4, topicAlias = 0): Uint8Array {
  return encodeWith(packet, protocolLevel, measureFromClient, writeFromClient as Write, topicAlias);
}

/** Measure, allocate, write: `encode` with the packet types `measure` and `write` know. */
export function encodeWith(packet: Packet, protocolLevel: ProtocolLevel, measure: Measure, write: Write, topicAlias = 0): Uint8Array {
  const remaining = measureAt(packet, protocolLevel, measure, topicAlias);
  const buf = allocate(headerLength(remaining) + remaining);
  const v5 = protocolLevel === 5;
  write(packet, buf, 0, remaining, v5, v5 ? topicAlias : 0);
  return buf;
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
 * Flag on a topic alias given to the encoder beside a PUBLISH: the topic goes with the alias (the alias
 * takes this topic now). Without it the topic is left out: the broker already knows what the alias stands for.
 */
export const WITH_TOPIC = 0x1_0000;

/** The PUBLISH the encoder writes for `packet` with `topicAlias` beside it, as a packet (for the debug log and tests). */
export function withTopicAlias(packet: PublishPacket, topicAlias: number): PublishPacket {
  return { ...packet, topic: topicAlias & WITH_TOPIC ? packet.topic : '', properties: { ...packet.properties, topicAlias: topicAlias & 0xffff } };
}

/**
 * The Remaining Length at `level`, checked by `measure`. Errors about a level-5 packet cite MQTT 5's
 * statements (v5-errors.ts); a CONNECT's follow its own level.
 */
export function measureAt(packet: Packet, level: ProtocolLevel, measure: Measure, topicAlias = 0): number {
  if (level === 4 || level === 3) return measure(packet, false);
  if (level !== 5) throw new RangeError(`protocol level must be 3, 4 or 5, got ${String(level)}`);
  if (packet.type === 'connect') return measureConnect(packet);
  try {
    return measure(packet, true, topicAlias);
  } catch (e) {
    throw asV5(e);
  }
}

// ---------------------------------------------------------------------------------------------------------
// measure: validate and compute the Remaining Length

/** Property Length of the level-5 packet measured last, for write right after. */
export let propsLength = 0;

/** `n` bytes of variable header and payload plus the Property Length and the properties, and `extra` property bytes (level 5). */
export function withProperties(n: number, props: object | undefined, type: number, extra = 0): number {
  propsLength = measureProperties(props, type) + extra;
  return checkRemaining(n + varintLength(propsLength) + propsLength, TYPE_NAMES[type]!);
}

/** The packets a client sends (and DISCONNECT and AUTH, which a server sends too); UNKNOWN_TYPE for any other. */
export function measureFromClient(p: Packet, v5: boolean, topicAlias = 0): number {
  switch (p.type) {
    case 'publish':
      return measurePublish(p, v5, topicAlias);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      checkPacketId(p.packetId, p.type);
      // At level 5 an ack with reason code 0 and no properties is the 3.1.1 ack (3.4.2.1): no more work.
      return v5 && (p.properties || (p.reasonCode ?? 0) !== 0) ? measureReasonCode(p, 2) : 2;
    case 'disconnect':
      return v5 ? measureReasonCode(p, 0) : 0;
    case 'auth':
      if (v5) return measureReasonCode(p, 0);
      break;
    case 'pingreq':
      return 0;
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

function measurePublish(p: PublishPacket, v5: boolean, topicAlias: number): number {
  checkPublish(p);
  const n = 2 + (p.qos === 0 ? 0 : 2) + p.payload.length;
  if (!v5) return checkRemaining(n + publishTopicBytes(p.topic).length, 'PUBLISH');
  const props = p.properties;
  // With a Topic Alias the topic may be empty: the alias stands for it (section 3.3.2.3.4). An alias
  // given beside the packet leaves it out unless the alias takes it now, and adds its 3 property bytes.
  const topicLength = (topicAlias === 0 ? p.topic === '' && props?.topicAlias !== undefined : !(topicAlias & WITH_TOPIC)) ? 0 : publishTopicBytes(p.topic).length;
  return withProperties(n + topicLength, props, 3, topicAlias ? 3 : 0);
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

/** The packets measureFromClient measured. */
type FromClient = Extract<Packet, { type: 'connect' | 'publish' | 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'subscribe' | 'unsubscribe' | 'pingreq' | 'disconnect' | 'auth' }>;

export function writeFromClient(p: FromClient, buf: Uint8Array, pos: number, remaining: number, v5: boolean, topicAlias = 0): number {
  switch (p.type) {
    case 'publish':
      return writePublish(p, buf, pos, remaining, v5, topicAlias);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      if (remaining === 2) {
        // 3.1.1, or MQTT 5 with the reason code and properties left out: the same four bytes.
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
      buf[pos] = 0xc0;
      buf[pos + 1] = 0;
      return pos + 2;
    case 'subscribe':
      pos = writeU16(buf, writeHeader(buf, pos, 0x82, remaining), p.packetId);
      if (v5) pos = writeProperties(buf, pos, p.properties, propsLength);
      for (const s of p.subscriptions) {
        pos = writeString(buf, pos, s.topicFilter);
        buf[pos++] = v5 ? subscriptionOptions(s) : s.qos;
      }
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

function writePublish(p: PublishPacket, buf: Uint8Array, pos: number, remaining: number, v5: boolean, topicAlias: number): number {
  pos = writeHeader(buf, pos, publishFirstByte(p), remaining);
  if (p.topic === '' || (topicAlias !== 0 && !(topicAlias & WITH_TOPIC))) {
    pos = writeU16(buf, pos, 0); // level 5 with a Topic Alias (measure refused it otherwise)
  } else {
    const topic = publishTopicBytes(p.topic);
    pos = writeBytes(buf, writeU16(buf, pos, topic.length), topic);
  }
  if (p.qos !== 0) pos = writeU16(buf, pos, p.packetId!);
  if (v5) {
    // The Property Length counts an alias given beside the packet: it goes after the packet's own properties.
    pos = writeProperties(buf, pos, p.properties, propsLength);
    if (topicAlias !== 0) {
      buf[pos] = 0x23; // Topic Alias
      pos = writeU16(buf, pos + 1, topicAlias); // a byte array keeps the low 16 bits: WITH_TOPIC falls off
    }
  }
  return writeBytes(buf, pos, p.payload);
}

/** The reason code and properties measureReasonCode kept, in the `left` bytes after the packet id. */
function writeReasonCode(buf: Uint8Array, pos: number, p: Extract<Packet, { reasonCode?: number }>, left: number): number {
  if (left === 0) return pos;
  buf[pos] = p.reasonCode ?? 0;
  return left === 1 ? pos + 1 : writeProperties(buf, pos + 1, p.properties, propsLength);
}
