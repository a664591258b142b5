// Every malformed input is a MqttProtocolError with a stable code (and the spec statement where one
// applies), whole or split anywhere; the decoder stays failed afterwards; encode refuses invalid packets.
import { describe, it, expect } from 'vitest';
import {
  encode,
  encodedLength,
  encodeInto,
  PacketDecoder,
  MqttProtocolError,
  validateTopicFilter,
  validateTopicName,
  type Packet,
  type ProtocolErrorCode,
} from '../../src/codec/index.js';

const hex = (s: string): Uint8Array => {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
};
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Hex of a length-prefixed field holding `bytes` (given as hex). */
const field = (bytesHex: string): string => {
  const n = bytesHex.replace(/\s+/g, '').length / 2;
  return `${(n >> 8).toString(16).padStart(2, '0')} ${(n & 0xff).toString(16).padStart(2, '0')} ${bytesHex}`;
};
/** A whole packet: first byte + Remaining Length (< 128) computed from the body hex. */
const packet = (first: number, bodyHex: string): string => {
  const n = bodyHex.replace(/\s+/g, '').length / 2;
  return `${first.toString(16).padStart(2, '0')} ${n.toString(16).padStart(2, '0')} ${bodyHex}`;
};
const MQTT = '00 04 4d 51 54 54 04';
const MQISDP = '00 06 4d 51 49 73 64 70 03';
/** A level-4 CONNECT with the given flags byte and payload (keepalive 60). */
const connect = (flags: number, payloadHex: string, header = MQTT) =>
  packet(0x10, `${header} ${flags.toString(16).padStart(2, '0')} 00 3c ${payloadHex}`);

function caught(fn: () => unknown): MqttProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MqttProtocolError);
    return err as MqttProtocolError;
  }
  throw new Error('expected a MqttProtocolError, nothing was thrown');
}

interface Case {
  name: string;
  hex: string;
  code: ProtocolErrorCode;
  statement?: string;
  level?: 3 | 4;
  maxPacketSize?: number;
}

const CASES: Case[] = [
  // Remaining Length
  { name: 'Remaining Length of 5 bytes', hex: '10 ff ff ff ff 7f', code: 'MALFORMED_LENGTH' },
  { name: 'Remaining Length whose 4th byte continues', hex: '30 80 80 80 80 01', code: 'MALFORMED_LENGTH' },

  // Fixed-header flags (table 2.2), one per type; all combinations are checked further down.
  { name: 'CONNECT flags 0001', hex: '11 00', code: 'RESERVED_FLAGS', statement: 'MQTT-2.2.2-2' },
  { name: 'CONNACK flags 0001', hex: '21 02 00 00', code: 'RESERVED_FLAGS', statement: 'MQTT-2.2.2-2' },
  { name: 'PUBACK flags 0010', hex: '42 02 00 01', code: 'RESERVED_FLAGS', statement: 'MQTT-2.2.2-2' },
  { name: 'PUBREC flags 1000', hex: '58 02 00 01', code: 'RESERVED_FLAGS', statement: 'MQTT-2.2.2-2' },
  { name: 'PUBREL flags 0000', hex: '60 02 00 01', code: 'RESERVED_FLAGS', statement: 'MQTT-3.6.1-1' },
  { name: 'PUBREL flags 0011', hex: '63 02 00 01', code: 'RESERVED_FLAGS', statement: 'MQTT-3.6.1-1' },
  { name: 'PUBCOMP flags 0100', hex: '74 02 00 01', code: 'RESERVED_FLAGS', statement: 'MQTT-2.2.2-2' },
  { name: 'SUBSCRIBE flags 0000', hex: '80 06 00 01 00 01 61 00', code: 'RESERVED_FLAGS', statement: 'MQTT-3.8.1-1' },
  { name: 'SUBACK flags 0010', hex: '92 03 00 01 00', code: 'RESERVED_FLAGS', statement: 'MQTT-2.2.2-2' },
  { name: 'UNSUBSCRIBE flags 0000', hex: 'a0 05 00 01 00 01 61', code: 'RESERVED_FLAGS', statement: 'MQTT-3.10.1-1' },
  { name: 'UNSUBACK flags 0001', hex: 'b1 02 00 01', code: 'RESERVED_FLAGS', statement: 'MQTT-2.2.2-2' },
  { name: 'PINGREQ flags 0010', hex: 'c2 00', code: 'RESERVED_FLAGS', statement: 'MQTT-2.2.2-2' },
  { name: 'PINGRESP flags 0100', hex: 'd4 00', code: 'RESERVED_FLAGS', statement: 'MQTT-2.2.2-2' },
  { name: 'DISCONNECT flags 0001', hex: 'e1 00', code: 'RESERVED_FLAGS', statement: 'MQTT-3.14.1-1' },
  { name: 'PUBLISH DUP with QoS 0', hex: '38 05 00 03 61 2f 62', code: 'RESERVED_FLAGS', statement: 'MQTT-3.3.1-2' },

  // Unknown types
  { name: 'type 0', hex: '00 00', code: 'UNKNOWN_TYPE' },
  { name: 'type 15', hex: 'f0 00', code: 'UNKNOWN_TYPE' },

  // QoS 3
  { name: 'PUBLISH QoS 3', hex: '36 07 00 03 61 2f 62 00 01', code: 'INVALID_QOS', statement: 'MQTT-3.3.1-4' },
  { name: 'SUBSCRIBE requested QoS 3', hex: '82 06 00 01 00 01 61 03', code: 'INVALID_QOS', statement: 'MQTT-3-8.3-4' },
  { name: 'SUBSCRIBE requested-QoS reserved bits', hex: '82 06 00 01 00 01 61 04', code: 'RESERVED_FLAGS', statement: 'MQTT-3-8.3-4' },
  { name: 'SUBSCRIBE requested-QoS 0x81', hex: '82 06 00 01 00 01 61 81', code: 'RESERVED_FLAGS', statement: 'MQTT-3-8.3-4' },
  { name: 'CONNECT will QoS 3', hex: connect(0x1e, `${field('63')} ${field('74')} ${field('')}`), code: 'INVALID_QOS', statement: 'MQTT-3.1.2-14' },

  // UTF-8 (section 1.5.3)
  { name: 'topic with encoded surrogate U+D800', hex: '30 07 00 05 74 6f ed a0 80', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-1' },
  { name: 'topic with encoded surrogate U+DFFF', hex: '30 07 00 05 74 6f ed bf bf', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-1' },
  { name: 'topic with overlong "/" (c0 af)', hex: '30 04 00 02 c0 af', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-1' },
  { name: 'topic with overlong e0 80 af', hex: '30 05 00 03 e0 80 af', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-1' },
  { name: 'topic with overlong NUL (c0 80)', hex: '30 04 00 02 c0 80', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-1' },
  { name: 'topic above U+10FFFF', hex: '30 06 00 04 f4 90 80 80', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-1' },
  { name: 'topic with a lone continuation byte', hex: '30 04 00 02 61 80', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-1' },
  { name: 'topic ending inside a sequence', hex: '30 04 00 02 61 c3', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-1' },
  { name: 'topic with byte 0xff', hex: '30 03 00 01 ff', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-1' },
  { name: 'topic with U+0000', hex: '30 07 00 05 74 6f 70 00 00', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-2' },
  { name: 'non-ASCII topic with U+0000', hex: '30 05 00 03 c3 a9 00', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-2' },
  { name: 'long (60-byte) topic with U+0000 at the end', hex: packet(0x30, field(`${'61 '.repeat(59)}00`)), code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-2' },
  { name: 'long (60-byte) topic with a surrogate', hex: packet(0x30, field(`${'61 '.repeat(57)}ed b0 80`)), code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-1' },
  { name: 'CONNECT client id with U+0000', hex: connect(0x02, field('61 00')), code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-2' },
  { name: 'CONNECT user name ill-formed', hex: connect(0x82, `${field('61')} ${field('e0 80 80')}`), code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-1' },
  { name: 'SUBSCRIBE filter ill-formed', hex: '82 06 00 01 00 01 80 00', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-1' },
  { name: 'UNSUBSCRIBE filter with U+0000', hex: 'a2 05 00 01 00 01 00', code: 'INVALID_UTF8', statement: 'MQTT-1.5.3-2' },

  // Topics (section 4.7)
  { name: 'PUBLISH topic with +', hex: '30 05 00 03 61 2f 2b', code: 'INVALID_TOPIC', statement: 'MQTT-3.3.2-2' },
  { name: 'PUBLISH topic with #', hex: '30 03 00 01 23', code: 'INVALID_TOPIC', statement: 'MQTT-3.3.2-2' },
  { name: 'PUBLISH topic with + inside a level', hex: '30 04 00 02 61 2b', code: 'INVALID_TOPIC', statement: 'MQTT-3.3.2-2' },
  { name: 'PUBLISH empty topic', hex: '30 02 00 00', code: 'INVALID_TOPIC', statement: 'MQTT-4.7.3-1' },
  { name: 'PUBLISH empty topic with payload', hex: '30 09 00 00 70 61 79 6c 6f 61 64', code: 'INVALID_TOPIC', statement: 'MQTT-4.7.3-1' },
  { name: 'SUBSCRIBE empty filter', hex: '82 05 00 01 00 00 00', code: 'INVALID_TOPIC', statement: 'MQTT-4.7.3-1' },
  { name: 'SUBSCRIBE filter a/#/b', hex: '82 0a 00 01 00 05 61 2f 23 2f 62 00', code: 'INVALID_TOPIC', statement: 'MQTT-4.7.1-2' },
  { name: 'SUBSCRIBE filter a#', hex: '82 07 00 01 00 02 61 23 00', code: 'INVALID_TOPIC', statement: 'MQTT-4.7.1-2' },
  { name: 'SUBSCRIBE filter a+/b', hex: '82 09 00 01 00 04 61 2b 2f 62 00', code: 'INVALID_TOPIC', statement: 'MQTT-4.7.1-3' },
  { name: 'UNSUBSCRIBE filter +a', hex: 'a2 06 00 01 00 02 2b 61', code: 'INVALID_TOPIC', statement: 'MQTT-4.7.1-3' },
  { name: 'CONNECT will topic with #', hex: connect(0x06, `${field('63')} ${field('61 2f 23')} ${field('')}`), code: 'INVALID_TOPIC', statement: 'MQTT-4.7.1-1' },
  { name: 'CONNECT empty will topic', hex: connect(0x06, `${field('63')} ${field('')} ${field('')}`), code: 'INVALID_TOPIC', statement: 'MQTT-4.7.3-1' },

  // Empty SUBSCRIBE / UNSUBSCRIBE / SUBACK
  { name: 'SUBSCRIBE without filters', hex: '82 02 00 01', code: 'EMPTY_SUBSCRIPTION', statement: 'MQTT-3.8.3-3' },
  { name: 'UNSUBSCRIBE without filters', hex: 'a2 02 00 01', code: 'EMPTY_SUBSCRIPTION', statement: 'MQTT-3.10.3-2' },
  { name: 'SUBACK without return codes', hex: '90 02 00 01', code: 'EMPTY_SUBSCRIPTION' },

  // Return codes
  { name: 'SUBACK return code 3', hex: '90 03 00 01 03', code: 'INVALID_RETURN_CODE', statement: 'MQTT-3.9.3-2' },
  { name: 'SUBACK return code 0x81', hex: '90 04 00 01 00 81', code: 'INVALID_RETURN_CODE', statement: 'MQTT-3.9.3-2' },
  { name: 'SUBACK return code 0xff', hex: '90 03 00 01 ff', code: 'INVALID_RETURN_CODE', statement: 'MQTT-3.9.3-2' },
  { name: 'CONNACK refused with Session Present', hex: '20 02 01 05', code: 'INVALID_RETURN_CODE', statement: 'MQTT-3.2.2-4' },
  // CONNACK acknowledge flags bits 7-1 are reserved (section 3.2.2.1, a MUST without a statement number).
  ...[0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x03].map(
    (f): Case => ({ name: `CONNACK acknowledge flags 0x${f.toString(16)}`, hex: `20 02 ${f.toString(16).padStart(2, '0')} 00`, code: 'RESERVED_FLAGS' }),
  ),

  // CONNECT (sections 3.1.2, 3.1.3)
  { name: 'CONNECT protocol name MQTX', hex: connect(0x02, field('63'), '00 04 4d 51 54 58 04'), code: 'INVALID_PROTOCOL', statement: 'MQTT-3.1.2-1' },
  { name: 'CONNECT protocol name mqtt (case)', hex: connect(0x02, field('63'), '00 04 6d 71 74 74 04'), code: 'INVALID_PROTOCOL', statement: 'MQTT-3.1.2-1' },
  { name: 'CONNECT MQTT level 6', hex: connect(0x02, field('63'), '00 04 4d 51 54 54 06'), code: 'INVALID_PROTOCOL', statement: 'MQTT-3.1.2-2' },
  { name: 'CONNECT MQTT level 3', hex: connect(0x02, field('63'), '00 04 4d 51 54 54 03'), code: 'INVALID_PROTOCOL', statement: 'MQTT-3.1.2-2' },
  { name: 'CONNECT MQIsdp level 4', hex: connect(0x02, field('63'), '00 06 4d 51 49 73 64 70 04'), code: 'INVALID_PROTOCOL', statement: 'MQTT-3.1.2-2' },
  { name: 'CONNECT reserved flag', hex: connect(0x03, field('63')), code: 'INVALID_CONNECT_FLAGS', statement: 'MQTT-3.1.2-3' },
  { name: 'CONNECT will QoS 1 without will flag', hex: connect(0x0a, field('63')), code: 'INVALID_CONNECT_FLAGS', statement: 'MQTT-3.1.2-13' },
  { name: 'CONNECT will QoS 3 without will flag', hex: connect(0x1a, field('63')), code: 'INVALID_CONNECT_FLAGS', statement: 'MQTT-3.1.2-13' },
  { name: 'CONNECT will retain without will flag', hex: connect(0x22, field('63')), code: 'INVALID_CONNECT_FLAGS', statement: 'MQTT-3.1.2-15' },
  { name: 'CONNECT password without user name', hex: connect(0x42, `${field('63')} ${field('70')}`), code: 'INVALID_CONNECT_FLAGS', statement: 'MQTT-3.1.2-22' },
  { name: 'CONNECT 3.1 reserved flag', hex: connect(0x03, field('63'), MQISDP), code: 'INVALID_CONNECT_FLAGS', statement: 'MQTT-3.1.2-3' },

  // Packet identifier 0
  { name: 'PUBLISH QoS 1 id 0', hex: '32 07 00 03 61 2f 62 00 00', code: 'INVALID_PACKET_ID', statement: 'MQTT-2.3.1-1' },
  { name: 'PUBLISH QoS 2 id 0', hex: '34 09 00 03 61 2f 62 00 00 68 69', code: 'INVALID_PACKET_ID', statement: 'MQTT-2.3.1-1' },
  { name: 'SUBSCRIBE id 0', hex: '82 06 00 00 00 01 61 00', code: 'INVALID_PACKET_ID', statement: 'MQTT-2.3.1-1' },
  { name: 'UNSUBSCRIBE id 0', hex: 'a2 05 00 00 00 01 61', code: 'INVALID_PACKET_ID', statement: 'MQTT-2.3.1-1' },
  { name: 'PUBACK id 0', hex: '40 02 00 00', code: 'INVALID_PACKET_ID', statement: 'MQTT-2.3.1-6' },
  { name: 'PUBREC id 0', hex: '50 02 00 00', code: 'INVALID_PACKET_ID', statement: 'MQTT-2.3.1-6' },
  { name: 'PUBREL id 0', hex: '62 02 00 00', code: 'INVALID_PACKET_ID', statement: 'MQTT-2.3.1-6' },
  { name: 'PUBCOMP id 0', hex: '70 02 00 00', code: 'INVALID_PACKET_ID', statement: 'MQTT-2.3.1-6' },
  { name: 'SUBACK id 0', hex: '90 03 00 00 00', code: 'INVALID_PACKET_ID', statement: 'MQTT-2.3.1-7' },
  { name: 'UNSUBACK id 0', hex: 'b0 02 00 00', code: 'INVALID_PACKET_ID', statement: 'MQTT-2.3.1-7' },

  // Fields overrunning the Remaining Length
  { name: 'PUBLISH without room for the topic length', hex: '30 01 00', code: 'TRUNCATED' },
  { name: 'PUBLISH Remaining Length 0', hex: '30 00', code: 'TRUNCATED' },
  { name: 'PUBLISH topic overruns', hex: '30 03 00 05 61', code: 'TRUNCATED' },
  { name: 'PUBLISH QoS 1 without packet id', hex: '32 05 00 03 61 2f 62', code: 'TRUNCATED' },
  { name: 'PUBLISH QoS 1 with half a packet id', hex: '32 06 00 03 61 2f 62 00', code: 'TRUNCATED' },
  { name: 'SUBSCRIBE filter without requested QoS', hex: '82 05 00 01 00 01 61', code: 'TRUNCATED' },
  { name: 'SUBSCRIBE half a packet id', hex: '82 01 00', code: 'TRUNCATED' },
  { name: 'SUBSCRIBE second filter overruns', hex: '82 09 00 01 00 01 61 00 00 05 62', code: 'TRUNCATED' },
  { name: 'UNSUBSCRIBE half a filter length', hex: 'a2 03 00 01 00', code: 'TRUNCATED' },
  { name: 'SUBACK half a packet id', hex: '90 01 01', code: 'TRUNCATED' },
  { name: 'CONNECT empty', hex: '10 00', code: 'TRUNCATED' },
  { name: 'CONNECT protocol name overruns', hex: '10 04 00 04 4d 51', code: 'TRUNCATED' },
  { name: 'CONNECT without keepalive', hex: packet(0x10, `${MQTT} 02 00`), code: 'TRUNCATED' },
  { name: 'CONNECT without client id', hex: packet(0x10, `${MQTT} 02 00 3c`), code: 'TRUNCATED' },
  { name: 'CONNECT will flag without will topic', hex: connect(0x06, field('63')), code: 'TRUNCATED' },
  { name: 'CONNECT will flag without will message', hex: connect(0x06, `${field('63')} ${field('74')}`), code: 'TRUNCATED' },
  { name: 'CONNECT user name flag without user name', hex: connect(0x82, field('63')), code: 'TRUNCATED' },
  { name: 'CONNECT password flag without password', hex: connect(0xc2, `${field('63')} ${field('75')}`), code: 'TRUNCATED' },
  { name: 'CONNECT password overruns', hex: connect(0xc2, `${field('63')} ${field('75')} 00 05 70`), code: 'TRUNCATED' },
  { name: 'CONNACK Remaining Length 1', hex: '20 01 00', code: 'TRUNCATED' },
  { name: 'CONNACK Remaining Length 0', hex: '20 00', code: 'TRUNCATED' },
  { name: 'PUBACK Remaining Length 0', hex: '40 00', code: 'TRUNCATED' },
  { name: 'PUBREL Remaining Length 1', hex: '62 01 01', code: 'TRUNCATED' },
  { name: 'UNSUBACK Remaining Length 1', hex: 'b0 01 01', code: 'TRUNCATED' },

  // Remaining Length longer than the fields
  { name: 'CONNACK Remaining Length 3', hex: '20 03 00 00 00', code: 'TRAILING_BYTES' },
  { name: 'PUBACK Remaining Length 3', hex: '40 03 00 01 00', code: 'TRAILING_BYTES' },
  { name: 'PUBREC Remaining Length 3', hex: '50 03 00 01 00', code: 'TRAILING_BYTES' },
  { name: 'PUBREL Remaining Length 3', hex: '62 03 00 01 00', code: 'TRAILING_BYTES' },
  { name: 'PUBCOMP Remaining Length 3', hex: '70 03 00 01 00', code: 'TRAILING_BYTES' },
  { name: 'UNSUBACK Remaining Length 3', hex: 'b0 03 00 01 00', code: 'TRAILING_BYTES' },
  { name: 'PINGREQ Remaining Length 1', hex: 'c0 01 00', code: 'TRAILING_BYTES' },
  { name: 'PINGRESP Remaining Length 1', hex: 'd0 01 00', code: 'TRAILING_BYTES' },
  { name: 'DISCONNECT Remaining Length 1', hex: 'e0 01 00', code: 'TRAILING_BYTES' },
  { name: 'CONNECT with a byte after the client id', hex: connect(0x02, `${field('63')} 00`), code: 'TRAILING_BYTES' },
  { name: 'CONNECT with a byte after the password', hex: connect(0xc2, `${field('63')} ${field('75')} ${field('70')} ff`), code: 'TRAILING_BYTES' },

  // maxPacketSize counts the whole packet
  { name: 'PUBLISH one byte over maxPacketSize', hex: '30 07 00 03 61 2f 62 68 69', code: 'PACKET_TOO_LARGE', maxPacketSize: 8 },
];

/** Pushes the chunks in order, returning the first error (after which no further chunk is pushed). */
function firstError(chunks: Uint8Array[], c: Case): { err: MqttProtocolError; decoder: PacketDecoder } {
  const decoder = new PacketDecoder({ protocolLevel: c.level ?? 4, maxPacketSize: c.maxPacketSize ?? 1 << 20 });
  for (const chunk of chunks) {
    try {
      decoder.push(chunk);
    } catch (err) {
      expect(err).toBeInstanceOf(MqttProtocolError);
      return { err: err as MqttProtocolError, decoder };
    }
  }
  throw new Error(`no error for ${c.name}`);
}

describe('decoder errors', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.code}${c.statement ? ` [${c.statement}]` : ''}`, () => {
      const bytes = hex(c.hex);
      const { err, decoder } = firstError([bytes], c);
      expect(err.code).toBe(c.code);
      expect(err.statement).toBe(c.statement);
      if (c.statement) expect(err.message).toContain(c.statement);

      // The decoder stays failed: later pushes, even of valid bytes, throw DECODER_FAILED.
      expect(decoder.failure).toBe(err);
      expect(caught(() => decoder.push(hex('d0 00'))).code).toBe('DECODER_FAILED');
      expect(caught(() => decoder.push(new Uint8Array(0))).code).toBe('DECODER_FAILED');
      // reset() makes it usable for a new stream.
      decoder.reset();
      expect(decoder.push(hex('d0 00'))).toEqual([{ type: 'pingresp' }]);

      // The same error whatever the split: one byte at a time, and at every boundary.
      expect(firstError(Array.from(bytes, (b) => Uint8Array.of(b)), c).err.code).toBe(c.code);
      for (let i = 1; i < bytes.length; i++) {
        expect(firstError([bytes.slice(0, i), bytes.slice(i)], c).err.code).toBe(c.code);
      }
    });
  }

  it('rejects every reserved fixed-header flag combination from the first byte alone', () => {
    const required: Record<number, number> = { 1: 0, 2: 0, 4: 0, 5: 0, 6: 2, 7: 0, 8: 2, 9: 0, 10: 2, 11: 0, 12: 0, 13: 0, 14: 0 };
    for (const [type, flags] of Object.entries(required)) {
      for (let f = 0; f < 16; f++) {
        const first = (Number(type) << 4) | f;
        const decoder = new PacketDecoder();
        if (f === flags) {
          expect(decoder.push(Uint8Array.of(first))).toEqual([]);
        } else {
          expect(caught(() => decoder.push(Uint8Array.of(first))).code).toBe('RESERVED_FLAGS');
        }
      }
    }
  });

  it('an error after good packets in the same chunk throws; the good ones are lost with the stream', () => {
    const decoder = new PacketDecoder();
    expect(caught(() => decoder.push(hex('d0 00 d0 00 40 02 00 00'))).code).toBe('INVALID_PACKET_ID');
    expect(caught(() => decoder.push(hex('d0 00'))).code).toBe('DECODER_FAILED');
  });

  it('fails on a 200 MB header at once with maxPacketSize 1 MiB, buffering nothing', () => {
    const decoder = new PacketDecoder({ maxPacketSize: 1 << 20 });
    const n = 200 * 1024 * 1024;
    const header = Uint8Array.of(0x30, (n & 0x7f) | 0x80, ((n >> 7) & 0x7f) | 0x80, ((n >> 14) & 0x7f) | 0x80, n >> 21);
    const err = caught(() => decoder.push(header));
    expect(err.code).toBe('PACKET_TOO_LARGE');
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('accepts a packet of exactly maxPacketSize', () => {
    const decoder = new PacketDecoder({ maxPacketSize: 9 });
    expect(decoder.push(hex('30 07 00 03 61 2f 62 68 69'))).toHaveLength(1);
  });

  it('a large announced body is not allocated up front (buffer grows with the data)', () => {
    const decoder = new PacketDecoder();
    expect(decoder.push(hex('30 ff ff ff 7f 00 01 74'))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(3);
  });

  it('does not police MQTT 3.1 client id length when decoding (the server answers CONNACK 0x02)', () => {
    const id = '61 '.repeat(30);
    const decoder = new PacketDecoder({ protocolLevel: 3 });
    const [p] = decoder.push(hex(connect(0x02, field(id), MQISDP)));
    expect(p).toMatchObject({ type: 'connect', protocolLevel: 3, clientId: 'a'.repeat(30) });
  });

  it('accepts CONNACK return codes reserved for future use (the caller treats them as refusals)', () => {
    expect(new PacketDecoder().push(hex('20 02 00 06'))).toEqual([{ type: 'connack', sessionPresent: false, returnCode: 6 }]);
  });

  it('rejects bad options', () => {
    expect(() => new PacketDecoder({ maxPacketSize: 1 })).toThrow(RangeError);
    expect(() => new PacketDecoder({ protocolLevel: 6 as 4 })).toThrow(RangeError);
  });
});

/** A payload-like Uint8Array claiming `length` bytes without allocating them (encode only measures it). */
function fakeBytes(length: number): Uint8Array {
  const b = Object.create(Uint8Array.prototype) as Uint8Array;
  Object.defineProperty(b, 'length', { value: length });
  return b;
}

const pub = (over: Partial<Extract<Packet, { type: 'publish' }>>): Packet => ({
  type: 'publish', topic: 'a/b', payload: new Uint8Array(0), qos: 0, retain: false, dup: false, ...over,
});
const conn = (over: Partial<Extract<Packet, { type: 'connect' }>>): Packet => ({
  type: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c', clean: true, keepalive: 60, ...over,
});
const conn3 = (over: Partial<Extract<Packet, { type: 'connect' }>>): Packet => conn({ protocolName: 'MQIsdp', protocolLevel: 3, ...over });

const ENCODE_CASES: [string, Packet, ProtocolErrorCode, string?][] = [
  ['PUBLISH topic with +', pub({ topic: 'a/+' }), 'INVALID_TOPIC', 'MQTT-3.3.2-2'],
  ['PUBLISH topic with #', pub({ topic: 'a/#' }), 'INVALID_TOPIC', 'MQTT-3.3.2-2'],
  ['PUBLISH empty topic', pub({ topic: '' }), 'INVALID_TOPIC', 'MQTT-4.7.3-1'],
  ['PUBLISH topic with U+0000', pub({ topic: 'a\u0000' }), 'INVALID_TOPIC', 'MQTT-4.7.3-2'],
  ['PUBLISH topic with a lone surrogate', pub({ topic: 'a\ud800' }), 'INVALID_TOPIC', 'MQTT-1.5.3-1'],
  ['PUBLISH topic with a reversed surrogate pair', pub({ topic: '\udc00\ud800' }), 'INVALID_TOPIC', 'MQTT-1.5.3-1'],
  ['PUBLISH topic of 65536 bytes', pub({ topic: 'a'.repeat(65536) }), 'INVALID_TOPIC', 'MQTT-4.7.3-3'],
  ['PUBLISH topic of 65535 bytes in 3-byte chars + 1', pub({ topic: '€'.repeat(21845) + 'a' }), 'INVALID_TOPIC', 'MQTT-4.7.3-3'],
  ['PUBLISH QoS 3', pub({ qos: 3 as 2, packetId: 1 }), 'INVALID_QOS', 'MQTT-3.3.1-4'],
  ['PUBLISH QoS 1 without packet id', pub({ qos: 1 }), 'INVALID_PACKET_ID', 'MQTT-2.3.1-1'],
  ['PUBLISH QoS 1 packet id 0', pub({ qos: 1, packetId: 0 }), 'INVALID_PACKET_ID', 'MQTT-2.3.1-1'],
  ['PUBLISH QoS 2 packet id 65536', pub({ qos: 2, packetId: 65536 }), 'INVALID_PACKET_ID', 'MQTT-2.3.1-1'],
  ['PUBLISH QoS 1 packet id 1.5', pub({ qos: 1, packetId: 1.5 }), 'INVALID_PACKET_ID', 'MQTT-2.3.1-1'],
  ['PUBLISH DUP with QoS 0', pub({ dup: true }), 'RESERVED_FLAGS', 'MQTT-3.3.1-2'],
  ['PUBLISH payload over the Remaining Length limit', pub({ topic: 't', payload: fakeBytes(268435455 - 3 + 1) }), 'PACKET_TOO_LARGE'],
  ['PUBACK packet id 0', { type: 'puback', packetId: 0 }, 'INVALID_PACKET_ID', 'MQTT-2.3.1-1'],
  ['PUBREL packet id -1', { type: 'pubrel', packetId: -1 }, 'INVALID_PACKET_ID', 'MQTT-2.3.1-1'],
  ['UNSUBACK packet id 70000', { type: 'unsuback', packetId: 70000 }, 'INVALID_PACKET_ID', 'MQTT-2.3.1-1'],
  ['SUBSCRIBE without subscriptions', { type: 'subscribe', packetId: 1, subscriptions: [] }, 'EMPTY_SUBSCRIPTION', 'MQTT-3.8.3-3'],
  ['SUBSCRIBE packet id 0', { type: 'subscribe', packetId: 0, subscriptions: [{ topicFilter: 'a', qos: 0 }] }, 'INVALID_PACKET_ID', 'MQTT-2.3.1-1'],
  ['SUBSCRIBE filter a/#/b', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/#/b', qos: 0 }] }, 'INVALID_TOPIC', 'MQTT-4.7.1-2'],
  ['SUBSCRIBE filter a+', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a+', qos: 0 }] }, 'INVALID_TOPIC', 'MQTT-4.7.1-3'],
  ['SUBSCRIBE empty filter', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '', qos: 0 }] }, 'INVALID_TOPIC', 'MQTT-4.7.3-1'],
  ['SUBSCRIBE QoS 3', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 3 as 2 }] }, 'INVALID_QOS', 'MQTT-3-8.3-4'],
  ['UNSUBSCRIBE without filters', { type: 'unsubscribe', packetId: 1, topicFilters: [] }, 'EMPTY_SUBSCRIPTION', 'MQTT-3.10.3-2'],
  ['UNSUBSCRIBE filter #/a', { type: 'unsubscribe', packetId: 1, topicFilters: ['#/a'] }, 'INVALID_TOPIC', 'MQTT-4.7.1-2'],
  ['SUBACK without return codes', { type: 'suback', packetId: 1, returnCodes: [] }, 'EMPTY_SUBSCRIPTION'],
  ['CONNACK return code 256', { type: 'connack', sessionPresent: false, returnCode: 256 }, 'INVALID_RETURN_CODE'],
  ['CONNACK return code -1', { type: 'connack', sessionPresent: false, returnCode: -1 }, 'INVALID_RETURN_CODE'],
  ['SUBACK return code 3', { type: 'suback', packetId: 1, returnCodes: [0, 3] }, 'INVALID_RETURN_CODE', 'MQTT-3.9.3-2'],
  ['CONNACK Session Present with a refusal', { type: 'connack', sessionPresent: true, returnCode: 4 }, 'INVALID_RETURN_CODE', 'MQTT-3.2.2-4'],
  ['CONNECT password without user name', conn({ password: ascii('p') }), 'INVALID_CONNECT_FLAGS', 'MQTT-3.1.2-22'],
  ['CONNECT keepalive 65536', conn({ keepalive: 65536 }), 'INVALID_CONNECT_FLAGS'],
  ['CONNECT will QoS 3', conn({ will: { topic: 'w', payload: new Uint8Array(0), qos: 3 as 2, retain: false } }), 'INVALID_QOS', 'MQTT-3.1.2-14'],
  ['CONNECT will topic with +', conn({ will: { topic: 'w/+', payload: new Uint8Array(0), qos: 0, retain: false } }), 'INVALID_TOPIC', 'MQTT-4.7.1-1'],
  ['CONNECT empty will topic', conn({ will: { topic: '', payload: new Uint8Array(0), qos: 0, retain: false } }), 'INVALID_TOPIC', 'MQTT-4.7.3-1'],
  ['CONNECT will payload of 65536 bytes', conn({ will: { topic: 'w', payload: new Uint8Array(65536), qos: 0, retain: false } }), 'STRING_TOO_LONG'],
  ['CONNECT client id with U+0000', conn({ clientId: 'a\u0000' }), 'INVALID_UTF8', 'MQTT-1.5.3-2'],
  ['CONNECT client id with a lone surrogate', conn({ clientId: '\udfff' }), 'INVALID_UTF8', 'MQTT-1.5.3-1'],
  ['CONNECT client id of 65536 bytes', conn({ clientId: 'a'.repeat(65536) }), 'STRING_TOO_LONG'],
  ['CONNECT user name of 65536 bytes', conn({ username: 'é'.repeat(32768) }), 'STRING_TOO_LONG'],
  ['CONNECT password of 65536 bytes', conn({ username: 'u', password: new Uint8Array(65536) }), 'STRING_TOO_LONG'],
  ['CONNECT protocol level 6', conn({ protocolLevel: 6 }), 'INVALID_PROTOCOL', 'MQTT-3.1.2-2'],
  ['CONNECT level 4 named MQIsdp', conn({ protocolName: 'MQIsdp' }), 'INVALID_PROTOCOL', 'MQTT-3.1.2-1'],
  ['unknown packet type', { type: 'auth' } as unknown as Packet, 'UNKNOWN_TYPE'],
];

describe('encode validation', () => {
  for (const [name, p, code, statement] of ENCODE_CASES) {
    it(`${name}: ${code}${statement ? ` [${statement}]` : ''}`, () => {
      const err = caught(() => encode(p));
      expect(err.code).toBe(code);
      expect(err.statement).toBe(statement);
      // Every entry point validates the same way.
      expect(caught(() => encodedLength(p)).code).toBe(code);
      expect(caught(() => encodeInto(p, new Uint8Array(1 << 20))).code).toBe(code);
    });
  }

  it('accepts the limits themselves', () => {
    expect(() => encode(pub({ topic: 'a'.repeat(65535) }))).not.toThrow();
    expect(() => encode(pub({ topic: '€'.repeat(21845) }))).not.toThrow();
    expect(() => encode(pub({ qos: 1, packetId: 65535 }))).not.toThrow();
    expect(() => encode(conn({ clientId: '', clean: true }))).not.toThrow();
    expect(() => encode(conn({ keepalive: 65535 }))).not.toThrow();
    expect(() => encode(conn3({ clientId: 'a'.repeat(23) }))).not.toThrow();
    // Well-formed packets a server refuses with CONNACK 0x02, not malformed ones: encoded as the decoder reads them.
    expect(() => encode(conn({ clientId: '', clean: false }))).not.toThrow();
    expect(() => encode(conn3({ clientId: '' }))).not.toThrow();
    expect(() => encode(conn3({ clientId: 'a'.repeat(24) }))).not.toThrow();
    expect(() => encode({ type: 'connack', sessionPresent: false, returnCode: 255 })).not.toThrow();
    expect(() => encode(conn3({ password: ascii('p') }))).not.toThrow(); // 3.1 allowed it
    expect(() => encode(conn({ username: 'u', password: new Uint8Array(65535) }))).not.toThrow();
    expect(encodedLength(pub({ topic: 't', payload: fakeBytes(268435455 - 3) }))).toBe(268435460);
  });

  it('encodeInto refuses a buffer too small, writing nothing', () => {
    const buf = new Uint8Array(3);
    expect(() => encodeInto({ type: 'puback', packetId: 1 }, buf)).toThrow(RangeError);
    expect(() => encodeInto({ type: 'pingreq' }, buf, 2)).toThrow(RangeError);
    expect(buf).toEqual(new Uint8Array(3));
  });

  it('rejects a payload that is not a Uint8Array with a TypeError', () => {
    expect(() => encode(pub({ payload: 'hi' as unknown as Uint8Array }))).toThrow(TypeError);
  });
});

describe('topic validation helpers', () => {
  it('validateTopicName throws INVALID_TOPIC', () => {
    expect(caught(() => validateTopicName('')).statement).toBe('MQTT-4.7.3-1');
    expect(caught(() => validateTopicName('a/+')).statement).toBe('MQTT-4.7.1-1');
    expect(caught(() => validateTopicName('#')).code).toBe('INVALID_TOPIC');
    expect(caught(() => validateTopicName('a\u0000b')).statement).toBe('MQTT-4.7.3-2');
    expect(() => validateTopicName('a/b')).not.toThrow();
  });

  it('validateTopicFilter throws INVALID_TOPIC', () => {
    expect(caught(() => validateTopicFilter('')).statement).toBe('MQTT-4.7.3-1');
    expect(caught(() => validateTopicFilter('a/#/')).statement).toBe('MQTT-4.7.1-2');
    expect(caught(() => validateTopicFilter('a/b+')).statement).toBe('MQTT-4.7.1-3');
    expect(caught(() => validateTopicFilter('a'.repeat(65536))).statement).toBe('MQTT-4.7.3-3');
    expect(() => validateTopicFilter('+/a/#')).not.toThrow();
  });
});
