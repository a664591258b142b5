/**
 * MQTT 5 packets -> bytes: what `encode(packet, 5)` runs. The same two passes as the 3.1.1 encoder (measure,
 * which validates everything, then write) and the same field writers; what MQTT 5 adds is a Property Length
 * and properties in every packet but PINGREQ/PINGRESP, reason codes, subscription options and AUTH.
 *
 * Reason codes and properties are left out where the spec lets a sender omit them (section 3.4.2.1 and its
 * like): an ack with reason code 0 and no properties is 4 bytes, as in 3.1.1; a DISCONNECT or AUTH with
 * reason code 0 and no properties is 2.
 */
import type { Packet, PublishPacket, SubackPacket, Subscription, UnsubackPacket } from './packets.js';
import { TYPE_NAMES, varintLength, writeHeader } from './fixed-header.js';
import { measureConnect, writeConnect } from './encode-connect.js';
import { measureProperties, writeProperties } from './properties.js';
import { checkReasonCode } from './reason-codes.js';
import { checkTopicFilter, isSharedFilter } from './topics.js';
import { asV5, protocolError5 } from './v5-errors.js';
import {
  checkPacketId,
  checkPublish,
  checkRemaining,
  err,
  FIRST_BYTE,
  publishFirstByte,
  publishTopicBytes,
  writeBytes,
  writeString,
  writeU16,
} from './write-fields.js';

/** Property Length of the packet measured last, for write5 right after. */
let propsLength = 0;

/** Validates a packet for a level-5 connection and returns its Remaining Length. */
export function measure5(p: Packet): number {
  // A CONNECT is encoded at the level it names.
  if (p.type === 'connect') return measureConnect(p);
  try {
    return measureBody(p);
  } catch (e) {
    throw asV5(e);
  }
}

/** The Remaining Length of a packet whose variable header is `fixed` bytes and then the properties. */
function withProperties(fixed: number, props: object | undefined, type: number, rest = 0): number {
  propsLength = measureProperties(props, type);
  return checkRemaining(fixed + varintLength(propsLength) + propsLength + rest, TYPE_NAMES[type]!);
}

const ACK_TYPE = { puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7 } as const;

function measureBody(p: Packet): number {
  switch (p.type) {
    case 'publish':
      return measurePublish(p);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      const type = ACK_TYPE[p.type];
      checkPacketId(p.packetId, TYPE_NAMES[type]!);
      const rc = p.reasonCode ?? 0;
      checkReasonCode(rc, type);
      // Reason code and properties are left out when they say nothing (section 3.4.2.1).
      const n = withProperties(3, p.properties, type);
      return propsLength === 0 ? (rc === 0 ? 2 : 3) : n;
    }
    case 'disconnect':
    case 'auth': {
      const type = p.type === 'auth' ? 15 : 14;
      const rc = p.reasonCode ?? 0;
      checkReasonCode(rc, type);
      const n = withProperties(1, p.properties, type);
      // DISCONNECT may leave out the Property Length alone (3.14.2.2); AUTH only both (3.15.2.1).
      if (propsLength === 0 && rc === 0) return 0;
      return propsLength === 0 && type === 14 ? 1 : n;
    }
    case 'connack':
      checkReasonCode(p.returnCode, 2);
      if (p.sessionPresent && p.returnCode !== 0) {
        throw protocolError5('INVALID_REASON_CODE', `CONNACK with Session Present must have reason code 0, got 0x${p.returnCode.toString(16)}`, 'MQTT-3.2.2-6');
      }
      return withProperties(2, p.properties, 2);
    case 'subscribe': {
      checkPacketId(p.packetId, 'SUBSCRIBE');
      const subs = p.subscriptions;
      if (!Array.isArray(subs) || subs.length === 0) throw err('EMPTY_SUBSCRIPTION', 'SUBSCRIBE needs at least one topic filter', 'MQTT-3.8.3-3');
      let n = 0;
      for (const s of subs) {
        n += 3 + checkTopicFilter(s.topicFilter);
        subscriptionOptions(s);
      }
      return withProperties(2, p.properties, 8, n);
    }
    case 'suback':
      checkPacketId(p.packetId, 'SUBACK');
      return withProperties(2, p.properties, 9, checkCodes(p.returnCodes, 9));
    case 'unsubscribe': {
      checkPacketId(p.packetId, 'UNSUBSCRIBE');
      const filters = p.topicFilters;
      if (!Array.isArray(filters) || filters.length === 0) throw err('EMPTY_SUBSCRIPTION', 'UNSUBSCRIBE needs at least one topic filter', 'MQTT-3.10.3-2');
      let n = 0;
      for (const f of filters) {
        n += 2 + checkTopicFilter(f);
        isSharedFilter(f);
      }
      return withProperties(2, p.properties, 10, n);
    }
    case 'unsuback':
      checkPacketId(p.packetId, 'UNSUBACK');
      return withProperties(2, p.properties, 11, checkCodes(p.reasonCodes, 11));
    case 'pingreq':
    case 'pingresp':
      return 0;
    default:
      throw err('UNKNOWN_TYPE', `cannot encode packet type ${JSON.stringify((p as { type?: unknown }).type)}`);
  }
}

function measurePublish(p: PublishPacket): number {
  checkPublish(p);
  const props = p.properties;
  // With a Topic Alias the topic may be empty: the alias stands for it (section 3.3.2.3.4).
  const topicLength = p.topic === '' && props?.topicAlias !== undefined ? 0 : publishTopicBytes(p.topic).length;
  return withProperties(2 + topicLength + (p.qos === 0 ? 0 : 2), props, 3, p.payload.length);
}

/** SUBACK / UNSUBACK reason codes: at least one (one per filter), each one the packet type may carry. */
function checkCodes(codes: SubackPacket['returnCodes'] | UnsubackPacket['reasonCodes'], type: number): number {
  if (!Array.isArray(codes) || codes.length === 0) throw err('EMPTY_SUBSCRIPTION', `${TYPE_NAMES[type]} needs a reason code per topic filter`);
  for (const rc of codes) checkReasonCode(rc, type);
  return codes.length;
}

/** The Subscription Options byte (section 3.8.3.1), validated. */
function subscriptionOptions(s: Subscription): number {
  if (s.qos !== 0 && s.qos !== 1 && s.qos !== 2) {
    throw protocolError5('INVALID_QOS', `SUBSCRIBE Maximum QoS must be 0, 1 or 2, got ${String(s.qos)}`, undefined, 0x82);
  }
  const { noLocal = false, retainAsPublished = false, retainHandling = 0 } = s;
  if (typeof noLocal !== 'boolean' || typeof retainAsPublished !== 'boolean') {
    throw protocolError5('INVALID_SUBSCRIPTION_OPTIONS', 'SUBSCRIBE noLocal and retainAsPublished must be booleans');
  }
  if (retainHandling !== 0 && retainHandling !== 1 && retainHandling !== 2) {
    throw protocolError5('INVALID_SUBSCRIPTION_OPTIONS', `SUBSCRIBE retainHandling must be 0, 1 or 2, got ${String(retainHandling)}`);
  }
  if (isSharedFilter(s.topicFilter) && noLocal) {
    throw protocolError5('INVALID_SUBSCRIPTION_OPTIONS', `SUBSCRIBE noLocal on shared subscription ${JSON.stringify(s.topicFilter)}`, 'MQTT-3.8.3-4');
  }
  return s.qos | (noLocal ? 0x04 : 0) | (retainAsPublished ? 0x08 : 0) | (retainHandling << 4);
}

/** Writes the packet measure5 measured just before; returns the position after it. */
export function write5(p: Packet, buf: Uint8Array, pos: number, remaining: number): number {
  switch (p.type) {
    case 'connect':
      return writeConnect(p, buf, pos, remaining);
    case 'publish': {
      pos = writeHeader(buf, pos, publishFirstByte(p), remaining);
      if (p.topic === '') {
        pos = writeU16(buf, pos, 0);
      } else {
        const topic = publishTopicBytes(p.topic);
        pos = writeBytes(buf, writeU16(buf, pos, topic.length), topic);
      }
      if (p.qos !== 0) pos = writeU16(buf, pos, p.packetId!);
      pos = writeProperties(buf, pos, p.properties, propsLength);
      return writeBytes(buf, pos, p.payload);
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      pos = writeU16(buf, writeHeader(buf, pos, FIRST_BYTE[p.type], remaining), p.packetId);
      return remaining === 2 ? pos : writeReason(buf, pos, p.reasonCode, p.properties, remaining === 3);
    case 'disconnect':
    case 'auth':
      pos = writeHeader(buf, pos, FIRST_BYTE[p.type], remaining);
      return remaining === 0 ? pos : writeReason(buf, pos, p.reasonCode, p.properties, remaining === 1);
    case 'connack':
      pos = writeHeader(buf, pos, 0x20, remaining);
      buf[pos] = p.sessionPresent ? 1 : 0;
      buf[pos + 1] = p.returnCode;
      return writeProperties(buf, pos + 2, p.properties, propsLength);
    case 'subscribe':
      pos = writeU16(buf, writeHeader(buf, pos, 0x82, remaining), p.packetId);
      pos = writeProperties(buf, pos, p.properties, propsLength);
      for (const s of p.subscriptions) {
        pos = writeString(buf, pos, s.topicFilter);
        buf[pos++] = subscriptionOptions(s);
      }
      return pos;
    case 'suback':
    case 'unsuback': {
      pos = writeU16(buf, writeHeader(buf, pos, FIRST_BYTE[p.type], remaining), p.packetId);
      pos = writeProperties(buf, pos, p.properties, propsLength);
      for (const rc of p.type === 'suback' ? p.returnCodes : p.reasonCodes!) buf[pos++] = rc;
      return pos;
    }
    case 'unsubscribe':
      pos = writeU16(buf, writeHeader(buf, pos, 0xa2, remaining), p.packetId);
      pos = writeProperties(buf, pos, p.properties, propsLength);
      for (const f of p.topicFilters) pos = writeString(buf, pos, f);
      return pos;
    case 'pingreq':
    case 'pingresp':
      return writeHeader(buf, pos, FIRST_BYTE[p.type], 0);
  }
}

/** A reason code, then the properties unless `codeOnly`. */
function writeReason(buf: Uint8Array, pos: number, reasonCode: number | undefined, props: object | undefined, codeOnly: boolean): number {
  buf[pos] = reasonCode ?? 0;
  return codeOnly ? pos + 1 : writeProperties(buf, pos + 1, props, propsLength);
}
