/**
 * Parses the body (variable header + payload) of one complete packet lying in buf[start, end).
 *
 * The decoder has already checked the first byte (type, flags) and, for the fixed-size packets, that the
 * Remaining Length is the right one, so those are not checked again here. Everything else is: a field that
 * runs past `end` is TRUNCATED, bytes left after the last field are TRAILING_BYTES.
 *
 * At protocol level 5 the MQTT 5 parsers (parse-v5.ts) take over, except for CONNECT, which is parsed here at
 * the level it names.
 *
 * Byte fields (PUBLISH payload, will payload, password) are subarray views of `buf`, never copies.
 */
import { MqttProtocolError } from '../errors.js';
import type {
  ConnackPacket,
  ConnectPacket,
  Packet,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubscribePacket,
  WillProperties,
} from './packets.js';
import { TYPE_NAMES } from './fixed-header.js';
import { parseBody5, parseFromServer5 } from './parse-v5.js';
import { propertiesEnd, readProperties, WILL } from './properties.js';
import { asV5 } from './v5-errors.js';
import { ackId, fieldEnd, fieldEndAt, readTopicFilter, requiredId, trailing, truncated, u16 } from './read-fields.js';
import { topicBytesHaveWildcard } from './topics.js';
import { decodeUtf8 } from './utf8.js';

/** Parses a packet's body, every type in both directions (what `PacketDecoder` does). */
export function parseBody(first: number, buf: Uint8Array, start: number, end: number, level: number): Packet {
  const type = first >> 4;
  // A CONNECT names its own level (a server learns the level from it).
  if (type === 1) return parseConnect(buf, start, end);
  if (level === 5) return parseBody5(first, buf, start, end);
  switch (type) {
    case 8:
      return parseSubscribe(buf, start, end);
    case 10:
      return parseUnsubscribe(buf, start, end);
    case 12:
      return { type: 'pingreq' };
    case 14:
      return { type: 'disconnect' };
    default:
      return parseFromServer(first, buf, start, end, level);
  }
}

/**
 * Parses only what a server may send. The client decodes with this, so a client bundle carries no
 * CONNECT, SUBSCRIBE or UNSUBSCRIBE parser; those packets from a server are protocol errors anyway.
 */
export function parseFromServer(first: number, buf: Uint8Array, start: number, end: number, level: number): Packet {
  if (level === 5) return parseFromServer5(first, buf, start, end);
  switch (first >> 4) {
    case 3:
      return parsePublish(first, buf, start, end);
    case 4:
      return { type: 'puback', packetId: ackId(buf, start, 'MQTT-2.3.1-6') };
    case 5:
      return { type: 'pubrec', packetId: ackId(buf, start, 'MQTT-2.3.1-6') };
    case 6:
      return { type: 'pubrel', packetId: ackId(buf, start, 'MQTT-2.3.1-6') };
    case 7:
      return { type: 'pubcomp', packetId: ackId(buf, start, 'MQTT-2.3.1-6') };
    case 11:
      return { type: 'unsuback', packetId: ackId(buf, start, 'MQTT-2.3.1-7') };
    case 13:
      return { type: 'pingresp' };
    case 2:
      return parseConnack(buf, start, level);
    case 9:
      return parseSuback(buf, start, end);
    default:
      // Types 0 and 15 never get here (checkFirstByte rejected them): these are client-to-server packets.
      throw new MqttProtocolError('UNEXPECTED_PACKET', `a server must not send ${TYPE_NAMES[first >> 4]}`);
  }
}

function parsePublish(first: number, buf: Uint8Array, start: number, end: number): PublishPacket {
  const tend = fieldEnd(buf, start, end, 'topic name', 3);
  const tstart = start + 2;
  if (tend === tstart) throw new MqttProtocolError('INVALID_TOPIC', 'PUBLISH with an empty topic name', 'MQTT-4.7.3-1');
  const topic = decodeUtf8(buf, tstart, tend);
  if (topicBytesHaveWildcard(buf, tstart, tend)) {
    throw new MqttProtocolError('INVALID_TOPIC', `PUBLISH topic name ${JSON.stringify(topic)} contains a wildcard`, 'MQTT-3.3.2-2');
  }
  const qos = ((first >> 1) & 3) as QoS;
  const retain = (first & 1) !== 0;
  const dup = (first & 8) !== 0;
  if (qos === 0) return { type: 'publish', topic, payload: buf.subarray(tend, end), qos, retain, dup };
  const packetId = requiredId(buf, tend, end, 3);
  return { type: 'publish', topic, payload: buf.subarray(tend + 2, end), qos, retain, dup, packetId };
}

function parseConnack(buf: Uint8Array, pos: number, level: number): ConnackPacket {
  const flags = buf[pos]!;
  const returnCode = buf[pos + 1]!;
  // MQTT 3.1 had no Session Present: the byte was reserved and unused, so a level-3 decoder ignores it.
  if (level === 3) return { type: 'connack', sessionPresent: false, returnCode };
  if ((flags & 0xfe) !== 0) {
    // Section 3.2.2.1: bits 7-1 are reserved and MUST be 0 (the spec gives this rule no statement number).
    throw new MqttProtocolError('RESERVED_FLAGS', `CONNACK acknowledge flags 0x${flags.toString(16)} set reserved bits`);
  }
  const sessionPresent = flags === 1;
  if (sessionPresent && returnCode !== 0) {
    throw new MqttProtocolError('INVALID_RETURN_CODE', `CONNACK return code ${returnCode} with Session Present set`, 'MQTT-3.2.2-4');
  }
  // Return codes 6..255 are "reserved for future use" with no MUST attached: they reach the caller, who
  // treats any non-zero code as a refusal.
  return { type: 'connack', sessionPresent, returnCode };
}

function parseSuback(buf: Uint8Array, start: number, end: number): SubackPacket {
  const packetId = requiredId(buf, start, end, 9, 'MQTT-2.3.1-7');
  if (end - start === 2) throw new MqttProtocolError('EMPTY_SUBSCRIPTION', 'SUBACK without any return code');
  const returnCodes: number[] = [];
  for (let pos = start + 2; pos < end; pos++) {
    const rc = buf[pos]!;
    if (rc > 2 && rc !== 0x80) {
      throw new MqttProtocolError('INVALID_RETURN_CODE', `SUBACK return code 0x${rc.toString(16)}`, 'MQTT-3.9.3-2');
    }
    returnCodes.push(rc);
  }
  return { type: 'suback', packetId, returnCodes };
}

function parseSubscribe(buf: Uint8Array, start: number, end: number): SubscribePacket {
  const packetId = requiredId(buf, start, end, 8);
  let pos = start + 2;
  if (pos === end) throw new MqttProtocolError('EMPTY_SUBSCRIPTION', 'SUBSCRIBE without any topic filter', 'MQTT-3.8.3-3');
  const subscriptions: Subscription[] = [];
  while (pos < end) {
    const topicFilter = readTopicFilter(buf, pos, end, 8);
    const fend = fieldEndAt;
    if (fend === end) throw truncated('requested QoS', 8);
    const options = buf[fend]!;
    // The statement id really is spelled MQTT-3-8.3-4 in the specification.
    if (options > 3) throw new MqttProtocolError('RESERVED_FLAGS', `SUBSCRIBE requested-QoS byte 0x${options.toString(16)} sets reserved bits`, 'MQTT-3-8.3-4');
    if (options === 3) throw new MqttProtocolError('INVALID_QOS', 'SUBSCRIBE requests QoS 3', 'MQTT-3-8.3-4');
    subscriptions.push({ topicFilter, qos: options as QoS });
    pos = fend + 1;
  }
  return { type: 'subscribe', packetId, subscriptions };
}

function parseUnsubscribe(buf: Uint8Array, start: number, end: number): UnsubscribePacket {
  const packetId = requiredId(buf, start, end, 10);
  let pos = start + 2;
  if (pos === end) throw new MqttProtocolError('EMPTY_SUBSCRIPTION', 'UNSUBSCRIBE without any topic filter', 'MQTT-3.10.3-2');
  const topicFilters: string[] = [];
  while (pos < end) {
    topicFilters.push(readTopicFilter(buf, pos, end, 10));
    pos = fieldEndAt;
  }
  return { type: 'unsubscribe', packetId, topicFilters };
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
