/**
 * Parses MQTT 5 packet bodies (the decoder at protocol level 5; CONNECT is parse.ts's, at any level). As in
 * parse.ts, the decoder has checked the first byte and the fixed sizes; here every field is checked against
 * the Remaining Length, properties against the table in properties.ts, and reason codes against the packet
 * type's own (reason-codes.ts).
 *
 * Where the spec lets a sender leave out a reason code (0x00) or the Property Length (acks, DISCONNECT, AUTH),
 * the decoded packet has `reasonCode: 0` and no `properties`, as if they had been sent.
 */
import type {
  AuthPacket,
  ConnackPacket,
  DisconnectPacket,
  Packet,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
} from './packets.js';
import { TYPE_NAMES } from './fixed-header.js';
import { fieldEnd, fieldEndAt, readTopicFilter, requiredId, trailing, truncated } from './read-fields.js';
import { propertiesEnd, readProperties } from './properties.js';
import { checkReasonCode } from './reason-codes.js';
import { isSharedFilter, topicBytesHaveWildcard } from './topics.js';
import { decodeUtf8 } from './utf8.js';
import { protocolError5 } from './v5-errors.js';

/** Every packet type but CONNECT, in both directions. */
export function parseBody5(first: number, buf: Uint8Array, start: number, end: number): Packet {
  switch (first >> 4) {
    case 8:
      return parseSubscribe(buf, start, end);
    case 10:
      return parseUnsubscribe(buf, start, end);
    case 12:
      return { type: 'pingreq' };
    default:
      return parseFromServer5(first, buf, start, end);
  }
}

/** What a server may send a client: the client's decoder carries no SUBSCRIBE or UNSUBSCRIBE parser. */
export function parseFromServer5(first: number, buf: Uint8Array, start: number, end: number): Packet {
  const type = first >> 4;
  switch (type) {
    case 3:
      return parsePublish(first, buf, start, end);
    case 4:
    case 5:
    case 6:
    case 7:
      return parseAck(type, buf, start, end);
    case 2:
      return parseConnack(buf, start, end);
    case 9:
    case 11:
      return parseSubackOrUnsuback(type, buf, start, end);
    case 13:
      return { type: 'pingresp' };
    case 14:
    case 15:
      return parseDisconnectOrAuth(type, buf, start, end);
    default:
      throw protocolError5('UNEXPECTED_PACKET', `a server must not send ${TYPE_NAMES[type]}`);
  }
}

function parsePublish(first: number, buf: Uint8Array, start: number, end: number): PublishPacket {
  const tend = fieldEnd(buf, start, end, 'topic name', 3);
  const tstart = start + 2;
  const topic = decodeUtf8(buf, tstart, tend);
  if (topicBytesHaveWildcard(buf, tstart, tend)) {
    throw protocolError5('INVALID_TOPIC', `PUBLISH topic name ${JSON.stringify(topic)} contains a wildcard`, 'MQTT-3.3.2-2');
  }
  const qos = ((first >> 1) & 3) as QoS;
  let pos = tend;
  let packetId = 0;
  if (qos !== 0) {
    packetId = requiredId(buf, pos, end, 3);
    pos += 2;
  }
  const properties = readProperties(buf, pos, end, 3);
  // An empty topic stands for the one a Topic Alias names (section 3.3.2.3.4); without one it is an error.
  if (tend === tstart && properties?.topicAlias === undefined) {
    throw protocolError5('INVALID_TOPIC', 'PUBLISH with an empty topic name and no Topic Alias', 'MQTT-4.7.3-1');
  }
  const packet: PublishPacket = {
    type: 'publish',
    topic,
    payload: buf.subarray(propertiesEnd, end),
    qos,
    retain: (first & 1) !== 0,
    dup: (first & 8) !== 0,
  };
  if (qos !== 0) packet.packetId = packetId;
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

const ACK_NAMES = ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const;
type AckPacket = Extract<Packet, { type: (typeof ACK_NAMES)[number] }>;

/** PUBACK, PUBREC, PUBREL, PUBCOMP: id, then reason code and properties unless left out (section 3.4.2). */
function parseAck(type: number, buf: Uint8Array, start: number, end: number): Packet {
  const packetId = requiredId(buf, start, end, type, 'MQTT-2.3.1-6');
  const ack: AckPacket = { type: ACK_NAMES[type - 4]!, packetId, reasonCode: 0 };
  if (end - start === 2) return ack;
  // "If the Remaining Length is less than 4 there is no Property Length" (3.4.2.2).
  const properties = reasonAndProperties(type, buf, start + 2, end, ack);
  if (properties !== undefined) ack.properties = properties;
  return ack;
}

/** DISCONNECT and AUTH: everything may be left out (Remaining Length 0); DISCONNECT also just the properties. */
function parseDisconnectOrAuth(type: number, buf: Uint8Array, start: number, end: number): DisconnectPacket | AuthPacket {
  const packet: DisconnectPacket | AuthPacket = { type: type === 14 ? 'disconnect' : 'auth', reasonCode: 0 };
  if (end === start) return packet;
  // AUTH may leave out both or neither (3.15.2.1); a DISCONNECT of 1 byte is a reason code (3.14.2.2).
  if (end - start === 1 && type === 15) throw truncated('Property Length', type);
  const properties = reasonAndProperties(type, buf, start, end, packet);
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/**
 * Reads the reason code at `pos` into `packet`, then the properties if the Remaining Length leaves room for
 * them (a reason code alone is the end of the packet), and checks nothing follows.
 */
function reasonAndProperties(type: number, buf: Uint8Array, pos: number, end: number, packet: { reasonCode?: number }): object | undefined {
  const reasonCode = buf[pos]!;
  checkReasonCode(reasonCode, type);
  packet.reasonCode = reasonCode;
  if (pos + 1 === end) return undefined;
  const properties = readProperties(buf, pos + 1, end, type);
  if (propertiesEnd !== end) throw trailing(propertiesEnd, end, type);
  return properties;
}

function parseConnack(buf: Uint8Array, start: number, end: number): ConnackPacket {
  if (end - start < 2) throw truncated('variable header', 2);
  const flags = buf[start]!;
  const returnCode = buf[start + 1]!;
  if (end - start === 2) {
    // A server that does not speak MQTT 5 answers a level-5 CONNECT with its own CONNACK, return code 0x01
    // "unacceptable protocol version" (MQTT 3.1.1's MQTT-3.1.2-2): that is reason code 0x84 here.
    if (flags === 0 && returnCode === 1) return { type: 'connack', sessionPresent: false, returnCode: 0x84 };
    throw truncated('Property Length', 2);
  }
  if ((flags & 0xfe) !== 0) {
    throw protocolError5('RESERVED_FLAGS', `CONNACK acknowledge flags 0x${flags.toString(16)} set reserved bits`, 'MQTT-3.2.2-1');
  }
  checkReasonCode(returnCode, 2);
  const sessionPresent = flags === 1;
  if (sessionPresent && returnCode !== 0) {
    throw protocolError5('INVALID_REASON_CODE', `CONNACK reason code 0x${returnCode.toString(16)} with Session Present set`, 'MQTT-3.2.2-6');
  }
  const packet: ConnackPacket = { type: 'connack', sessionPresent, returnCode };
  const properties = readProperties(buf, start + 2, end, 2);
  if (propertiesEnd !== end) throw trailing(propertiesEnd, end, 2);
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** SUBACK, UNSUBACK: id, properties, then one reason code per filter of the request. */
function parseSubackOrUnsuback(type: number, buf: Uint8Array, start: number, end: number): SubackPacket | UnsubackPacket {
  const packetId = requiredId(buf, start, end, type, 'MQTT-2.3.1-7');
  const properties = readProperties(buf, start + 2, end, type);
  let pos = propertiesEnd;
  // One code per filter, and a request has at least one [MQTT-3.8.3-2] [MQTT-3.10.3-2].
  if (pos === end) throw protocolError5('EMPTY_SUBSCRIPTION', `${TYPE_NAMES[type]} without any reason code`);
  const codes: number[] = [];
  for (; pos < end; pos++) {
    const rc = buf[pos]!;
    checkReasonCode(rc, type);
    codes.push(rc);
  }
  const packet: SubackPacket | UnsubackPacket =
    type === 9 ? { type: 'suback', packetId, returnCodes: codes } : { type: 'unsuback', packetId, reasonCodes: codes };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function parseSubscribe(buf: Uint8Array, start: number, end: number): SubscribePacket {
  const packetId = requiredId(buf, start, end, 8);
  const properties = readProperties(buf, start + 2, end, 8);
  let pos = propertiesEnd;
  if (pos === end) throw protocolError5('EMPTY_SUBSCRIPTION', 'SUBSCRIBE without any topic filter', 'MQTT-3.8.3-2');
  const subscriptions: Subscription[] = [];
  while (pos < end) {
    const topicFilter = readTopicFilter(buf, pos, end, 8);
    pos = fieldEndAt;
    if (pos === end) throw truncated('subscription options', 8);
    subscriptions.push(subscription(topicFilter, buf[pos++]!));
  }
  const packet: SubscribePacket = { type: 'subscribe', packetId, subscriptions };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** A filter with its Subscription Options byte (section 3.8.3.1). */
function subscription(topicFilter: string, options: number): Subscription {
  if (options > 0x3f) {
    throw protocolError5('RESERVED_FLAGS', `SUBSCRIBE options 0x${options.toString(16)} set reserved bits 6-7`, 'MQTT-3.8.3-5');
  }
  const qos = options & 3;
  const retainHandling = options >> 4;
  const noLocal = (options & 0x04) !== 0;
  if (qos === 3) throw protocolError5('INVALID_QOS', 'SUBSCRIBE Maximum QoS 3', undefined, 0x82);
  if (retainHandling === 3) throw protocolError5('INVALID_SUBSCRIPTION_OPTIONS', 'SUBSCRIBE Retain Handling 3');
  if (isSharedFilter(topicFilter) && noLocal) {
    throw protocolError5('INVALID_SUBSCRIPTION_OPTIONS', `SUBSCRIBE No Local on shared subscription ${JSON.stringify(topicFilter)}`, 'MQTT-3.8.3-4');
  }
  return {
    topicFilter,
    qos: qos as QoS,
    noLocal,
    retainAsPublished: (options & 0x08) !== 0,
    retainHandling: retainHandling as 0 | 1 | 2,
  };
}

function parseUnsubscribe(buf: Uint8Array, start: number, end: number): UnsubscribePacket {
  const packetId = requiredId(buf, start, end, 10);
  const properties = readProperties(buf, start + 2, end, 10);
  let pos = propertiesEnd;
  if (pos === end) throw protocolError5('EMPTY_SUBSCRIPTION', 'UNSUBSCRIBE without any topic filter', 'MQTT-3.10.3-2');
  const topicFilters: string[] = [];
  while (pos < end) {
    const filter = readTopicFilter(buf, pos, end, 10);
    isSharedFilter(filter);
    topicFilters.push(filter);
    pos = fieldEndAt;
  }
  const packet: UnsubscribePacket = { type: 'unsubscribe', packetId, topicFilters };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}
