/**
 * Parses the body (variable header + payload) of one complete packet lying in buf[start, end).
 *
 * The decoder has already checked the first byte (type, flags) and, for the fixed-size packets, that the
 * Remaining Length is the right one, so those are not checked again here. Everything else is: a field that
 * runs past `end` is TRUNCATED, bytes left after the last field are TRAILING_BYTES.
 *
 * One parser for every level: MQTT 5 (level 5) adds properties, reason codes, subscription options, DISCONNECT
 * from a server and AUTH, each a branch where the packets differ. A CONNECT is parsed at the level it names.
 * Where MQTT 5 lets a sender leave out a reason code (0x00) or the Property Length (acks, DISCONNECT, AUTH), the
 * decoded packet has `reasonCode: 0` and no `properties`, as if they had been sent.
 *
 * Byte fields (PUBLISH payload, will payload, password) are subarray views of `buf`, never copies.
 */
import { MqttProtocolError } from '../errors.js';
import type {
  AckProperties,
  ConnackPacket,
  ConnectPacket,
  Packet,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
  WillProperties,
} from './packets.js';
import { TYPE_NAMES } from './fixed-header.js';
import { propertiesEnd, readProperties, WILL } from './properties.js';
import { ackId, fieldEnd, fieldEndAt, readTopicFilter, requiredId, trailing, truncated, u16 } from './read-fields.js';
import { checkReasonCode } from './reason-codes.js';
import { isSharedFilter, topicBytesHaveWildcard } from './topics.js';
import { decodeUtf8 } from './utf8.js';
import { asV5, protocolError5 } from './v5-errors.js';

/** Parses a packet's body, every type in both directions (what `PacketDecoder` does). */
export function parseBody(first: number, buf: Uint8Array, start: number, end: number, level: number): Packet {
  switch (first >> 4) {
    case 1:
      // A CONNECT names its own level (a server learns the level from it).
      return parseConnect(buf, start, end);
    case 8:
      return parseSubscribe(buf, start, end, level === 5);
    case 10:
      return parseUnsubscribe(buf, start, end, level === 5);
    case 12:
      return { type: 'pingreq' };
    case 14:
      // MQTT 5's DISCONNECT has a body and may come from a server: parseFromServer reads it.
      if (level !== 5) return { type: 'disconnect' };
  }
  return parseFromServer(first, buf, start, end, level);
}

/**
 * Parses only what a server may send. The client decodes with this, so a client bundle carries no
 * CONNECT, SUBSCRIBE or UNSUBSCRIBE parser; those packets from a server are protocol errors anyway.
 */
export function parseFromServer(first: number, buf: Uint8Array, start: number, end: number, level: number): Packet {
  const type = first >> 4;
  const v5 = level === 5;
  switch (type) {
    case 3:
      return parsePublish(first, buf, start, end, v5);
    case 4:
      return v5 ? parseReasonCode(4, buf, start, end) : { type: 'puback', packetId: ackId(buf, start, 'MQTT-2.3.1-6') };
    case 5:
      return v5 ? parseReasonCode(5, buf, start, end) : { type: 'pubrec', packetId: ackId(buf, start, 'MQTT-2.3.1-6') };
    case 6:
      return v5 ? parseReasonCode(6, buf, start, end) : { type: 'pubrel', packetId: ackId(buf, start, 'MQTT-2.3.1-6') };
    case 7:
      return v5 ? parseReasonCode(7, buf, start, end) : { type: 'pubcomp', packetId: ackId(buf, start, 'MQTT-2.3.1-6') };
    case 11:
      return v5 ? parseCodes(11, buf, start, end, true) : { type: 'unsuback', packetId: ackId(buf, start, 'MQTT-2.3.1-7') };
    case 13:
      return { type: 'pingresp' };
    case 2:
      return parseConnack(buf, start, end, level);
    case 9:
      return parseCodes(9, buf, start, end, v5);
    case 14:
    case 15:
      // DISCONNECT (from a server) and AUTH exist in MQTT 5 only; type 15 never gets here below level 5.
      if (v5) return parseReasonCode(type, buf, start, end);
  }
  throw new MqttProtocolError('UNEXPECTED_PACKET', `a server must not send ${TYPE_NAMES[type]}`);
}

function parsePublish(first: number, buf: Uint8Array, start: number, end: number, v5: boolean): PublishPacket {
  const tend = fieldEnd(buf, start, end, 'topic name', 3);
  const tstart = start + 2;
  // MQTT 5: an empty topic stands for the one a Topic Alias names (3.3.2.3.4); checked with the properties.
  if (tend === tstart && !v5) throw new MqttProtocolError('INVALID_TOPIC', 'PUBLISH with an empty topic name', 'MQTT-4.7.3-1');
  const topic = decodeUtf8(buf, tstart, tend);
  if (topicBytesHaveWildcard(buf, tstart, tend)) {
    throw new MqttProtocolError('INVALID_TOPIC', `PUBLISH topic name ${JSON.stringify(topic)} contains a wildcard`, 'MQTT-3.3.2-2');
  }
  const qos = ((first >> 1) & 3) as QoS;
  const retain = (first & 1) !== 0;
  const dup = (first & 8) !== 0;
  if (!v5) {
    if (qos === 0) return { type: 'publish', topic, payload: buf.subarray(tend, end), qos, retain, dup };
    const packetId = requiredId(buf, tend, end, 3);
    return { type: 'publish', topic, payload: buf.subarray(tend + 2, end), qos, retain, dup, packetId };
  }
  const packetId = qos === 0 ? 0 : requiredId(buf, tend, end, 3);
  const properties = readProperties(buf, qos === 0 ? tend : tend + 2, end, 3);
  if (tend === tstart && properties?.topicAlias === undefined) {
    throw new MqttProtocolError('INVALID_TOPIC', 'PUBLISH with an empty topic name and no Topic Alias', 'MQTT-4.7.3-1');
  }
  const packet: PublishPacket = { type: 'publish', topic, payload: buf.subarray(propertiesEnd, end), qos, retain, dup };
  if (qos !== 0) packet.packetId = packetId;
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

const NAMES = TYPE_NAMES.map((n) => n.toLowerCase()) as Packet['type'][];

/**
 * MQTT 5 PUBACK, PUBREC, PUBREL, PUBCOMP (packet id first), DISCONNECT and AUTH: a reason code and properties,
 * each left out when it says nothing (3.4.2.1, 3.14.2.1); the decoded packet has reasonCode 0 then. AUTH may
 * leave out both or neither (3.15.2.1).
 */
function parseReasonCode(type: number, buf: Uint8Array, start: number, end: number): Packet {
  const packet = (type < 8 ? { type: NAMES[type], packetId: requiredId(buf, start, end, type, 'MQTT-2.3.1-6'), reasonCode: 0 } : { type: NAMES[type], reasonCode: 0 }) as Extract<Packet, { reasonCode?: number }>;
  let pos = type < 8 ? start + 2 : start;
  if (pos === end) return packet;
  if (type === 15 && end - pos === 1) throw truncated('Property Length', type);
  const reasonCode = buf[pos++]!;
  checkReasonCode(reasonCode, type);
  packet.reasonCode = reasonCode;
  // "If the Remaining Length is less than 4 [2 for DISCONNECT] there is no Property Length" (3.4.2.2).
  if (pos === end) return packet;
  const properties = readProperties(buf, pos, end, type);
  if (propertiesEnd !== end) throw trailing(propertiesEnd, end, type);
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function parseConnack(buf: Uint8Array, start: number, end: number, level: number): ConnackPacket {
  // The decoder checked the Remaining Length is 2 at levels 3 and 4; at level 5 it is at least 3.
  if (end - start < 2) throw truncated('variable header', 2);
  const flags = buf[start]!;
  const returnCode = buf[start + 1]!;
  // MQTT 3.1 had no Session Present: the byte was reserved and unused, so a level-3 decoder ignores it.
  if (level === 3) return { type: 'connack', sessionPresent: false, returnCode };
  const v5 = level === 5;
  if (v5 && end - start === 2) {
    // A server that does not speak MQTT 5 answers a level-5 CONNECT with its own CONNACK, return code 0x01
    // "unacceptable protocol version" (3.1.1's MQTT-3.1.2-2): that is reason code 0x84 here.
    if (flags === 0 && returnCode === 1) return { type: 'connack', sessionPresent: false, returnCode: 0x84 };
    throw truncated('Property Length', 2);
  }
  if ((flags & 0xfe) !== 0) {
    // Section 3.2.2.1: bits 7-1 are reserved and MUST be 0 (3.1.1 gives this rule no statement number).
    throw new MqttProtocolError('RESERVED_FLAGS', `CONNACK acknowledge flags 0x${flags.toString(16)} set reserved bits`, v5 ? 'MQTT-3.2.2-1' : undefined);
  }
  if (v5) checkReasonCode(returnCode, 2);
  const sessionPresent = flags === 1;
  if (sessionPresent && returnCode !== 0) {
    throw new MqttProtocolError(v5 ? 'INVALID_REASON_CODE' : 'INVALID_RETURN_CODE', `CONNACK return code ${returnCode} with Session Present set`, v5 ? 'MQTT-3.2.2-6' : 'MQTT-3.2.2-4');
  }
  // 3.1.1: return codes 6..255 are "reserved for future use" with no MUST attached: they reach the caller, who
  // treats any non-zero code as a refusal.
  const packet: ConnackPacket = { type: 'connack', sessionPresent, returnCode };
  if (!v5) return packet;
  const properties = readProperties(buf, start + 2, end, 2);
  if (propertiesEnd !== end) throw trailing(propertiesEnd, end, 2);
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** SUBACK (either level) and MQTT 5's UNSUBACK: packet id, properties (level 5), one code per filter. */
function parseCodes(type: 9 | 11, buf: Uint8Array, start: number, end: number, v5: boolean): SubackPacket | UnsubackPacket {
  const packetId = requiredId(buf, start, end, type, 'MQTT-2.3.1-7');
  let pos = start + 2;
  let properties: AckProperties | undefined;
  if (v5) {
    properties = readProperties(buf, pos, end, type);
    pos = propertiesEnd;
  }
  // One code per filter, and a request has at least one [MQTT-3.8.3-3] [MQTT-3.10.3-2].
  if (pos === end) throw new MqttProtocolError('EMPTY_SUBSCRIPTION', `${TYPE_NAMES[type]} without any return code`);
  const codes: number[] = [];
  for (; pos < end; pos++) {
    const rc = buf[pos]!;
    if (v5) checkReasonCode(rc, type);
    else if (rc > 2 && rc !== 0x80) throw new MqttProtocolError('INVALID_RETURN_CODE', `SUBACK return code 0x${rc.toString(16)}`, 'MQTT-3.9.3-2');
    codes.push(rc);
  }
  const packet: SubackPacket | UnsubackPacket =
    type === 9 ? { type: 'suback', packetId, returnCodes: codes } : { type: 'unsuback', packetId, reasonCodes: codes };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function parseSubscribe(buf: Uint8Array, start: number, end: number, v5: boolean): SubscribePacket {
  const packetId = requiredId(buf, start, end, 8);
  let pos = start + 2;
  const properties = v5 ? readProperties(buf, pos, end, 8) : undefined;
  if (v5) pos = propertiesEnd;
  if (pos === end) throw new MqttProtocolError('EMPTY_SUBSCRIPTION', 'SUBSCRIBE without any topic filter', 'MQTT-3.8.3-3');
  const subscriptions: Subscription[] = [];
  while (pos < end) {
    const topicFilter = readTopicFilter(buf, pos, end, 8);
    const fend = fieldEndAt;
    if (fend === end) throw truncated('requested QoS', 8);
    const options = buf[fend]!;
    if (v5) {
      subscriptions.push(subscription(topicFilter, options));
    } else {
      // The statement id really is spelled MQTT-3-8.3-4 in the specification.
      if (options > 3) throw new MqttProtocolError('RESERVED_FLAGS', `SUBSCRIBE requested-QoS byte 0x${options.toString(16)} sets reserved bits`, 'MQTT-3-8.3-4');
      if (options === 3) throw new MqttProtocolError('INVALID_QOS', 'SUBSCRIBE requests QoS 3', 'MQTT-3-8.3-4');
      subscriptions.push({ topicFilter, qos: options as QoS });
    }
    pos = fend + 1;
  }
  const packet: SubscribePacket = { type: 'subscribe', packetId, subscriptions };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** MQTT 5: a filter with its Subscription Options byte (section 3.8.3.1). */
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
  return { topicFilter, qos: qos as QoS, noLocal, retainAsPublished: (options & 0x08) !== 0, retainHandling: retainHandling as 0 | 1 | 2 };
}

function parseUnsubscribe(buf: Uint8Array, start: number, end: number, v5: boolean): UnsubscribePacket {
  const packetId = requiredId(buf, start, end, 10);
  let pos = start + 2;
  const properties = v5 ? readProperties(buf, pos, end, 10) : undefined;
  if (v5) pos = propertiesEnd;
  if (pos === end) throw new MqttProtocolError('EMPTY_SUBSCRIPTION', 'UNSUBSCRIBE without any topic filter', 'MQTT-3.10.3-2');
  const topicFilters: string[] = [];
  while (pos < end) {
    const filter = readTopicFilter(buf, pos, end, 10);
    if (v5) isSharedFilter(filter);
    topicFilters.push(filter);
    pos = fieldEndAt;
  }
  const packet: UnsubscribePacket = { type: 'unsubscribe', packetId, topicFilters };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

const CONNECT_RESERVED = 0x01;
const CONNECT_CLEAN = 0x02;
const CONNECT_WILL = 0x04;
const CONNECT_WILL_QOS = 0x18;
const CONNECT_WILL_RETAIN = 0x20;
const CONNECT_PASSWORD = 0x40;
const CONNECT_USERNAME = 0x80;

/**
 * A CONNECT of level 5 or 4 ('MQTT') or level 3 ('MQIsdp') decodes whatever level the decoder was set to:
 * the packet names its own level. Client id length is not policed (MQTT 3.1's 1..23 bytes, 3.1.1's empty id
 * with CleanSession 0): the spec has the server answer those with CONNACK 0x02, not drop the connection.
 * A level-5 CONNECT carries CONNECT and Will Properties; its errors cite MQTT 5's statements.
 */
function parseConnect(buf: Uint8Array, start: number, end: number): ConnectPacket {
  const fend = fieldEnd(buf, start, end, 'protocol name', 1);
  const protocolName = decodeUtf8(buf, start + 2, fend);
  if (end - fend < 4) throw truncated('variable header', 1);
  const protocolLevel = buf[fend]!;
  if (protocolName === 'MQTT') {
    if (protocolLevel !== 4 && protocolLevel !== 5) {
      throw new MqttProtocolError('INVALID_PROTOCOL', `unsupported protocol level ${protocolLevel} for 'MQTT'`, 'MQTT-3.1.2-2');
    }
  } else if (protocolName === 'MQIsdp') {
    if (protocolLevel !== 3) {
      throw new MqttProtocolError('INVALID_PROTOCOL', `unsupported protocol level ${protocolLevel} for 'MQIsdp'`, 'MQTT-3.1.2-2');
    }
  } else {
    throw new MqttProtocolError('INVALID_PROTOCOL', `unknown protocol name ${JSON.stringify(protocolName)}`, 'MQTT-3.1.2-1');
  }
  if (protocolLevel !== 5) return parseConnectRest(buf, fend + 1, end, protocolName, protocolLevel);
  try {
    return parseConnectRest(buf, fend + 1, end, protocolName, protocolLevel);
  } catch (e) {
    throw asV5(e);
  }
}

/** The CONNECT from its Connect Flags (at `pos`) on. */
function parseConnectRest(buf: Uint8Array, pos: number, end: number, protocolName: string, protocolLevel: number): ConnectPacket {
  const flags = buf[pos]!;
  checkConnectFlags(flags, protocolLevel);
  const keepalive = u16(buf, pos + 1);
  pos += 3;
  const v5 = protocolLevel === 5;
  let properties: ConnectPacket['properties'];
  if (v5) {
    properties = readProperties(buf, pos, end, 1);
    pos = propertiesEnd;
  }
  let fend = fieldEnd(buf, pos, end, 'client identifier', 1);
  const clientId = decodeUtf8(buf, pos + 2, fend);
  pos = fend;
  const packet: ConnectPacket = {
    type: 'connect',
    protocolName,
    protocolLevel,
    clientId,
    clean: (flags & CONNECT_CLEAN) !== 0,
    keepalive,
  };
  if (properties !== undefined) packet.properties = properties;
  if ((flags & CONNECT_WILL) !== 0) {
    let willProperties: WillProperties | undefined;
    if (v5) {
      willProperties = readProperties(buf, pos, end, WILL);
      pos = propertiesEnd;
    }
    fend = fieldEnd(buf, pos, end, 'will topic', 1);
    const topic = decodeUtf8(buf, pos + 2, fend);
    if (fend === pos + 2) throw new MqttProtocolError('INVALID_TOPIC', 'CONNECT will topic is empty', 'MQTT-4.7.3-1');
    if (topicBytesHaveWildcard(buf, pos + 2, fend)) {
      throw new MqttProtocolError('INVALID_TOPIC', `CONNECT will topic ${JSON.stringify(topic)} contains a wildcard`, 'MQTT-4.7.1-1');
    }
    pos = fend;
    fend = fieldEnd(buf, pos, end, 'will message', 1);
    packet.will = {
      topic,
      payload: buf.subarray(pos + 2, fend),
      qos: ((flags & CONNECT_WILL_QOS) >> 3) as QoS,
      retain: (flags & CONNECT_WILL_RETAIN) !== 0,
    };
    if (willProperties !== undefined) packet.will.properties = willProperties;
    pos = fend;
  }
  if ((flags & CONNECT_USERNAME) !== 0) {
    fend = fieldEnd(buf, pos, end, 'user name', 1);
    packet.username = decodeUtf8(buf, pos + 2, fend);
    pos = fend;
  }
  if ((flags & CONNECT_PASSWORD) !== 0) {
    fend = fieldEnd(buf, pos, end, 'password', 1);
    packet.password = buf.subarray(pos + 2, fend);
    pos = fend;
  }
  if (pos !== end) throw trailing(pos, end, 1);
  return packet;
}

function checkConnectFlags(flags: number, level: number): void {
  if ((flags & CONNECT_RESERVED) !== 0) {
    throw new MqttProtocolError('INVALID_CONNECT_FLAGS', 'CONNECT reserved flag bit 0 is set', 'MQTT-3.1.2-3');
  }
  const willQos = (flags & CONNECT_WILL_QOS) >> 3;
  if ((flags & CONNECT_WILL) === 0) {
    if (willQos !== 0) throw new MqttProtocolError('INVALID_CONNECT_FLAGS', `CONNECT will QoS ${willQos} without the will flag`, 'MQTT-3.1.2-13');
    if ((flags & CONNECT_WILL_RETAIN) !== 0) {
      throw new MqttProtocolError('INVALID_CONNECT_FLAGS', 'CONNECT will retain without the will flag', 'MQTT-3.1.2-15');
    }
  } else if (willQos === 3) {
    throw new MqttProtocolError('INVALID_QOS', 'CONNECT will QoS 3', 'MQTT-3.1.2-14');
  }
  // MQTT 3.1 did not forbid a password without a user name; 3.1.1 does.
  if (level === 4 && (flags & (CONNECT_USERNAME | CONNECT_PASSWORD)) === CONNECT_PASSWORD) {
    throw new MqttProtocolError('INVALID_CONNECT_FLAGS', 'CONNECT password flag set without the user name flag', 'MQTT-3.1.2-22');
  }
}
