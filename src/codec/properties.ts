/**
 * MQTT 5 properties (section 2.2.2): one table of identifier, name, data type and the packets that may carry
 * it (Table 2-4), read by the decoder and the encoder alike.
 *
 * Decoding is strict where the spec is: an identifier unknown or not allowed on the packet is a Malformed
 * Packet (2.2.2.2), and so is a value that runs past the Property Length; a property given twice where only
 * User Property (and, on PUBLISH, Subscription Identifier) may repeat, and the values the spec calls a
 * Protocol Error (Receive Maximum 0, a byte flag other than 0 or 1, ...) are Protocol Errors (0x82). Nothing
 * else is judged here: whether a property fits the session (a Topic Alias above our maximum, a Subscription
 * Identifier from a client) is for the session to decide.
 */
import { MqttProtocolError, type ErrorReasonCode, type ProtocolErrorCode } from '../errors.js';
import type { Properties } from './packets.js';
import { MAX_REMAINING_LENGTH, TYPE_NAMES, varintLength, writeVarint } from './fixed-header.js';
import { fieldEnd, fieldEndAt, readVarint, truncated, u16 } from './read-fields.js';
import { checkTopicName, topicBytesHaveWildcard } from './topics.js';
import { decodeUtf8 } from './utf8.js';
import { bytesLength, stringLength, writeBytes, writeString, writeU16 } from './write-fields.js';
import { protocolError5 } from './v5-errors.js';

/** Where a property set is found: a packet type number (1 CONNECT ... 15 AUTH), or WILL for the Will Properties. */
export const WILL = 0;

// Data types (section 2.2.2.2), with the value rules that come with some properties.
const FLAG = 0; // Byte 0 or 1, as a boolean
const QOS01 = 1; // Byte 0 or 1, as a number (Maximum QoS)
const U16 = 2;
const U16_NONZERO = 3;
const U32 = 4;
const U32_NONZERO = 5;
const VARINT = 6; // Variable Byte Integer 1..268,435,455
const VARINT_LIST = 7; // the same, repeatable (PUBLISH Subscription Identifiers)
const STRING = 8;
const TOPIC = 9; // UTF-8 string that must be a topic name (Response Topic)
const BINARY = 10;
const PAIRS = 11; // UTF-8 string pairs, repeatable (User Property)

const bit = (...types: number[]): number => types.reduce((m, t) => m | (1 << t), 0);
const MESSAGE = bit(3, WILL);
const ACKS = bit(4, 5, 6, 7, 9, 11);

interface Definition {
  id: number;
  name: keyof Properties;
  kind: number;
  /** Bit n set: allowed where the set is for packet type n (bit 0: Will Properties). */
  where: number;
}

const DEFINITIONS: Definition[] = (
  [
    [0x01, 'payloadFormatIndicator', FLAG, MESSAGE],
    [0x02, 'messageExpiryInterval', U32, MESSAGE],
    [0x03, 'contentType', STRING, MESSAGE],
    [0x08, 'responseTopic', TOPIC, MESSAGE],
    [0x09, 'correlationData', BINARY, MESSAGE],
    [0x0b, 'subscriptionIdentifiers', VARINT_LIST, bit(3)],
    [0x0b, 'subscriptionIdentifier', VARINT, bit(8)],
    [0x11, 'sessionExpiryInterval', U32, bit(1, 2, 14)],
    [0x12, 'assignedClientIdentifier', STRING, bit(2)],
    [0x13, 'serverKeepAlive', U16, bit(2)],
    [0x15, 'authenticationMethod', STRING, bit(1, 2, 15)],
    [0x16, 'authenticationData', BINARY, bit(1, 2, 15)],
    [0x17, 'requestProblemInformation', FLAG, bit(1)],
    [0x18, 'willDelayInterval', U32, bit(WILL)],
    [0x19, 'requestResponseInformation', FLAG, bit(1)],
    [0x1a, 'responseInformation', STRING, bit(2)],
    [0x1c, 'serverReference', STRING, bit(2, 14)],
    [0x1f, 'reasonString', STRING, bit(2, 14, 15) | ACKS],
    [0x21, 'receiveMaximum', U16_NONZERO, bit(1, 2)],
    [0x22, 'topicAliasMaximum', U16, bit(1, 2)],
    [0x23, 'topicAlias', U16_NONZERO, bit(3)],
    [0x24, 'maximumQoS', QOS01, bit(2)],
    [0x25, 'retainAvailable', FLAG, bit(2)],
    [0x26, 'userProperties', PAIRS, bit(1, 2, 8, 10, 14, 15) | MESSAGE | ACKS],
    [0x27, 'maximumPacketSize', U32_NONZERO, bit(1, 2)],
    [0x28, 'wildcardSubscriptionAvailable', FLAG, bit(2)],
    [0x29, 'subscriptionIdentifiersAvailable', FLAG, bit(2)],
    [0x2a, 'sharedSubscriptionAvailable', FLAG, bit(2)],
  ] as const
).map(([id, name, kind, where]) => ({ id, name, kind, where }));

/** By identifier; 0x0B is the SUBSCRIBE one here, PUBLISH's is SUBSCRIPTION_IDS. */
const BY_ID: (Definition | undefined)[] = [];
const BY_NAME = new Map<string, Definition>();
for (const d of DEFINITIONS) {
  BY_NAME.set(d.name, d);
  if (d.kind !== VARINT_LIST) BY_ID[d.id] = d;
}
const SUBSCRIPTION_IDS = BY_NAME.get('subscriptionIdentifiers')!;

/** The name of a property set in messages. */
const setName = (type: number): string => (type === WILL ? 'Will' : TYPE_NAMES[type]!);

function fail(code: ProtocolErrorCode, type: number, message: string, statement?: string, reasonCode?: ErrorReasonCode): MqttProtocolError {
  return protocolError5(code, `${setName(type)} ${message}`, statement, reasonCode);
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

/** Where the properties read last by readProperties ended. */
export let propertiesEnd = 0;

/**
 * Reads the Property Length at `pos` and the properties after it, for a set of `type` (a packet type number
 * or WILL). Returns them, or undefined when the length is 0 [MQTT-2.2.2-1]; sets `propertiesEnd`. String and
 * binary values are decoded / viewed in place (binary data is a view of `buf`, like a payload).
 */
export function readProperties(buf: Uint8Array, pos: number, end: number, type: number): Properties | undefined {
  const length = readVarint(buf, pos, end, 'Property Length', type);
  pos = fieldEndAt;
  const pend = pos + length;
  if (pend > end) throw truncated('properties', type);
  propertiesEnd = pend;
  if (length === 0) return undefined;
  const mask = 1 << type;
  const props: Record<string, unknown> = {};
  while (pos < pend) {
    const id = buf[pos++]!;
    let d = BY_ID[id];
    if (id === 0x0b && type === 3) d = SUBSCRIPTION_IDS;
    if (d === undefined || (d.where & mask) === 0) {
      throw fail('INVALID_PROPERTY', type, `may not carry property 0x${id.toString(16).padStart(2, '0')}${d ? ` (${d.name})` : ''}`);
    }
    let value: unknown;
    const kind = d.kind;
    if (kind <= VARINT_LIST) {
      // The numbers: a byte 0 or 1, two or four bytes, a Variable Byte Integer; some may not be 0.
      let n: number;
      if (kind >= VARINT) {
        n = readVarint(buf, pos, pend, d.name, type);
        pos = fieldEndAt;
      } else {
        const size = kind <= QOS01 ? 1 : kind <= U16_NONZERO ? 2 : 4;
        if (pend - pos < size) throw truncated(d.name, type);
        n = size === 1 ? buf[pos]! : size === 2 ? u16(buf, pos) : ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (u16(buf, pos + 2))) >>> 0;
        pos += size;
      }
      if (n < MIN[kind]! || n > MAX[kind]!) throw badValue(d, type, n);
      value = kind === FLAG ? n === 1 : n;
    } else if (kind === BINARY) {
      const fend = fieldEnd(buf, pos, pend, d.name, type);
      value = buf.subarray(pos + 2, fend);
      pos = fend;
    } else {
      let fend = fieldEnd(buf, pos, pend, d.name, type);
      const s = decodeUtf8(buf, pos + 2, fend);
      if (kind === TOPIC) checkReceivedTopic(buf, pos + 2, fend, s, type);
      if (kind === PAIRS) {
        pos = fend;
        fend = fieldEnd(buf, pos, pend, d.name, type);
        value = [s, decodeUtf8(buf, pos + 2, fend)];
      } else {
        value = s;
      }
      pos = fend;
    }
    const name = d.name;
    const had = props[name];
    if (kind === PAIRS || kind === VARINT_LIST) {
      if (had === undefined) props[name] = [value];
      else (had as unknown[]).push(value);
    } else if (had !== undefined) {
      throw fail('DUPLICATE_PROPERTY', type, `carries ${name} (0x${id.toString(16).padStart(2, '0')}) more than once`);
    } else {
      props[name] = value;
    }
  }
  if (props.authenticationData !== undefined && props.authenticationMethod === undefined) throw dataWithoutMethod(type);
  return props as Properties;
}

/** Per data type: the values allowed (the numbers), and what the encoder expects, for messages. */
const MIN = [0, 0, 0, 1, 0, 1, 1, 1];
const MAX = [1, 1, 0xffff, 0xffff, 0xffffffff, 0xffffffff, MAX_REMAINING_LENGTH, MAX_REMAINING_LENGTH];
const EXPECTED = ['a boolean', '0 or 1', 'an integer 0..65535', 'an integer 1..65535', 'an integer 0..4294967295',
  'an integer 1..4294967295', 'an integer 1..268435455', 'an array of integers 1..268435455', 'a string', 'a topic name',
  'a Uint8Array', 'an array of [name, value] string pairs'];

/**
 * INVALID_PROPERTY_VALUE, a Protocol Error. A Topic Alias of 0 is answered with 0x94 Topic Alias invalid (its
 * sender broke MQTT-3.3.2-8).
 */
function badValue(d: Definition, type: number, v: unknown): MqttProtocolError {
  const shown = typeof v === 'string' ? JSON.stringify(v) : String(v);
  const alias0 = d.id === 0x23 && v === 0;
  return fail('INVALID_PROPERTY_VALUE', type, `${d.name} must be ${EXPECTED[d.kind]}, got ${shown}`, alias0 ? 'MQTT-3.3.2-8' : undefined, alias0 ? 0x94 : undefined);
}

function dataWithoutMethod(type: number): MqttProtocolError {
  return fail('INVALID_PROPERTY_VALUE', type, 'carries authenticationData without authenticationMethod');
}

function checkReceivedTopic(buf: Uint8Array, start: number, end: number, topic: string, type: number): void {
  if (start === end) throw fail('INVALID_TOPIC', type, 'responseTopic is empty', 'MQTT-4.7.3-1');
  if (topicBytesHaveWildcard(buf, start, end)) {
    throw fail('INVALID_TOPIC', type, `responseTopic ${JSON.stringify(topic)} contains a wildcard`, 'MQTT-3.3.2-14');
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding: measure (validating every value) then write, in the order of the object's keys

/**
 * Validates a `properties` object for a set of `type` and returns the Property Length it needs (without the
 * length's own bytes). Keys whose value is undefined are skipped; any other key must be a property the
 * set allows.
 */
export function measureProperties(props: object | null | undefined, type: number): number {
  if (props == null) return 0;
  if (typeof props !== 'object') throw new TypeError(`${setName(type)} properties must be an object`);
  let n = 0;
  const mask = 1 << type;
  const values = props as Record<string, unknown>;
  for (const name in values) {
    const v = values[name];
    if (v === undefined) continue;
    const d = BY_NAME.get(name);
    if (d === undefined || (d.where & mask) === 0) {
      throw fail('INVALID_PROPERTY', type, `may not carry property ${JSON.stringify(name)}`);
    }
    n += measureValue(d, v, type);
  }
  if (values.authenticationData !== undefined && values.authenticationMethod === undefined) throw dataWithoutMethod(type);
  if (n > MAX_REMAINING_LENGTH) throw fail('PACKET_TOO_LARGE', type, `properties need ${n} bytes`);
  return n;
}

const isInt = (v: unknown, kind: number): v is number => typeof v === 'number' && v >= MIN[kind]! && v <= MAX[kind]! && v % 1 === 0;

/** Bytes one property takes (identifier included), validated. */
function measureValue(d: Definition, v: unknown, type: number): number {
  const kind = d.kind;
  if (kind === FLAG) {
    if (typeof v === 'boolean') return 2;
  } else if (kind < VARINT_LIST) {
    if (isInt(v, kind)) return kind === QOS01 ? 2 : kind <= U16_NONZERO ? 3 : kind <= U32_NONZERO ? 5 : 1 + varintLength(v);
  } else if (kind === STRING) {
    return 3 + stringLength(v, d.name);
  } else if (kind === TOPIC) {
    if (typeof v === 'string') return 3 + checkTopicName(v, 'MQTT-3.3.2-14');
  } else if (kind === BINARY) {
    return 3 + bytesLength(v, d.name);
  } else if (Array.isArray(v)) {
    // VARINT_LIST, PAIRS: an array, every element valid.
    let n = 0;
    for (const x of v as unknown[]) {
      if (kind === VARINT_LIST) {
        if (!isInt(x, kind)) throw badValue(d, type, v);
        n += 1 + varintLength(x);
      } else {
        if (!Array.isArray(x) || x.length !== 2) throw badValue(d, type, v);
        n += 5 + stringLength(x[0], 'user property name') + stringLength(x[1], 'user property value');
      }
    }
    return n;
  }
  throw badValue(d, type, v);
}

/**
 * Writes the Property Length (`length`, from measureProperties) and the properties at `pos`; returns the
 * position after them. The object was measured, so validated, just before.
 */
export function writeProperties(buf: Uint8Array, pos: number, props: object | null | undefined, length: number): number {
  pos = writeVarint(buf, pos, length);
  if (length === 0) return pos;
  const values = props as Record<string, unknown>;
  for (const name in values) {
    const v = values[name];
    if (v === undefined) continue;
    const d = BY_NAME.get(name)!;
    const kind = d.kind;
    // The repeatable ones: identifier and value once per element.
    if (kind === VARINT_LIST) {
      for (const n of v as number[]) {
        buf[pos] = d.id;
        pos = writeVarint(buf, pos + 1, n);
      }
      continue;
    }
    if (kind === PAIRS) {
      for (const [key, value] of v as [string, string][]) {
        buf[pos] = d.id;
        pos = writeString(buf, writeString(buf, pos + 1, key), value);
      }
      continue;
    }
    buf[pos++] = d.id;
    if (kind <= QOS01) {
      buf[pos++] = Number(v); // true -> 1
    } else if (kind <= U16_NONZERO) {
      pos = writeU16(buf, pos, v as number);
    } else if (kind <= U32_NONZERO) {
      const n = v as number;
      buf[pos] = n >>> 24;
      buf[pos + 1] = n >>> 16;
      buf[pos + 2] = n >>> 8;
      buf[pos + 3] = n;
      pos += 4;
    } else if (kind === VARINT) {
      pos = writeVarint(buf, pos, v as number);
    } else if (kind === BINARY) {
      const b = v as Uint8Array;
      pos = writeBytes(buf, writeU16(buf, pos, b.length), b);
    } else {
      pos = writeString(buf, pos, v as string);
    }
  }
  return pos;
}
