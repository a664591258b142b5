/**
 * Reading the fields packets are made of (section 1.5 of both specs), for the 3.1.1 and the MQTT 5 parsers.
 * Every reader checks the Remaining Length: a field running past `end` is TRUNCATED.
 */
import { MqttProtocolError } from '../errors.js';
import { TYPE_NAMES } from './fixed-header.js';
import { checkTopicFilter } from './topics.js';
import { decodeUtf8 } from './utf8.js';

export function truncated(what: string, type: number): MqttProtocolError {
  return new MqttProtocolError('TRUNCATED', `${TYPE_NAMES[type]}: ${what} runs past the Remaining Length`);
}

export function trailing(pos: number, end: number, type: number): MqttProtocolError {
  return new MqttProtocolError('TRAILING_BYTES', `${TYPE_NAMES[type]}: ${end - pos} byte(s) left after the last field`);
}

export function u16(buf: Uint8Array, pos: number): number {
  return (buf[pos]! << 8) | buf[pos + 1]!;
}

export function ackId(buf: Uint8Array, pos: number, statement: string): number {
  const id = u16(buf, pos);
  if (id === 0) throw new MqttProtocolError('INVALID_PACKET_ID', 'packet identifier 0 in an acknowledgement', statement);
  return id;
}

/** Reads a packet identifier that SUBSCRIBE, UNSUBSCRIBE, SUBACK or a QoS>0 PUBLISH must carry. */
export function requiredId(buf: Uint8Array, pos: number, end: number, type: number, statement = 'MQTT-2.3.1-1'): number {
  if (end - pos < 2) throw truncated('packet identifier', type);
  const id = u16(buf, pos);
  if (id === 0) throw new MqttProtocolError('INVALID_PACKET_ID', `${TYPE_NAMES[type]} with packet identifier 0`, statement);
  return id;
}

/** End of a length-prefixed field starting at `pos` (its bytes start at pos + 2). */
export function fieldEnd(buf: Uint8Array, pos: number, end: number, what: string, type: number): number {
  if (end - pos < 2) throw truncated(`${what} length`, type);
  const fend = pos + 2 + u16(buf, pos);
  if (fend > end) throw truncated(what, type);
  return fend;
}

/** Reads the topic filter whose length prefix starts at `pos`, checked (section 4.7); sets `fieldEndAt`. */
export function readTopicFilter(buf: Uint8Array, pos: number, end: number, type: number): string {
  const fend = fieldEnd(buf, pos, end, 'topic filter', type);
  const filter = decodeUtf8(buf, pos + 2, fend);
  checkTopicFilter(filter);
  fieldEndAt = fend;
  return filter;
}

/** Where the field read last by readTopicFilter or readVarint ended (saves returning a pair). */
export let fieldEndAt = 0;

/**
 * Reads a Variable Byte Integer (MQTT 5 section 1.5.5) at `pos`: at most 4 bytes, and the fewest that hold
 * the value [MQTT-1.5.5-1]. Sets `fieldEndAt`.
 */
export function readVarint(buf: Uint8Array, pos: number, end: number, what: string, type: number): number {
  let value = 0;
  let mul = 1;
  let b: number;
  let i = pos;
  do {
    if (mul === 0x10000000) throw new MqttProtocolError('MALFORMED_LENGTH', `${TYPE_NAMES[type]}: ${what} is longer than 4 bytes`);
    if (i === end) throw truncated(what, type);
    b = buf[i++]!;
    value += (b & 0x7f) * mul;
    mul *= 0x80;
  } while (b >= 0x80);
  if (b === 0 && i - pos > 1) {
    throw new MqttProtocolError('MALFORMED_LENGTH', `${TYPE_NAMES[type]}: ${what} is not in its shortest form`, 'MQTT-1.5.5-1');
  }
  fieldEndAt = i;
  return value;
}
