// Hand-written byte vectors from the MQTT 3.1.1 specification (sections 2 and 3): every packet type both
// ways, MQTT 3.1 CONNECT, Remaining Length boundaries, and every vector fed split at each byte boundary.
import { describe, it, expect } from 'vitest';
import {
  encode,
  encodedLength,
  encodeInto,
  PacketDecoder,
  topicMatches,
  isValidTopicFilter,
  isValidTopicName,
  MAX_PACKET_SIZE,
  MAX_REMAINING_LENGTH,
  type Packet,
} from '../../src/codec/index.js';

const hex = (s: string): Uint8Array => {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
};
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Packets with their byte fields as hex strings: toEqual walks a Uint8Array element by element, far too
 * slowly for the megabyte payloads below, and this also checks the bytes' content, not their container.
 */
function norm(packets: Packet[]): unknown[] {
  const h = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
  return packets.map((p) => {
    if (p.type === 'publish') return { ...p, payload: h(p.payload) };
    if (p.type === 'connect') {
      return { ...p, ...(p.password && { password: h(p.password) }), ...(p.will && { will: { ...p.will, payload: h(p.will.payload) } }) };
    }
    return p;
  });
}

/** Decodes the chunks pushed in order (normalised by `norm`), asserting the decoder holds nothing afterwards. */
function decodeChunks(chunks: Uint8Array[], options?: ConstructorParameters<typeof PacketDecoder>[0]): unknown[] {
  const decoder = new PacketDecoder(options);
  const out: Packet[] = [];
  for (const c of chunks) for (const p of decoder.push(c)) out.push(p);
  expect(decoder.bufferedBytes).toBe(0);
  return norm(out);
}

function splitAt(bytes: Uint8Array, i: number): Uint8Array[] {
  return [bytes.slice(0, i), bytes.slice(i)];
}

function oneByteAtATime(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (b) => Uint8Array.of(b));
}

interface Vector {
  name: string;
  hex: string;
  packet: Packet;
  /** Decoder protocol level, when the vector needs 3. */
  level?: 3 | 4;
  /** Only decoded (encode would normalise it differently). */
  decodeOnly?: boolean;
}

const VECTORS: Vector[] = [
  {
    name: 'CONNECT 3.1.1 minimal (clean, keepalive 60, client id "test")',
    hex: '10 10 00 04 4d 51 54 54 04 02 00 3c 00 04 74 65 73 74',
    packet: { type: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'test', clean: true, keepalive: 60 },
  },
  {
    name: 'CONNECT 3.1.1 with will (QoS 1, retain), user name and password',
    hex: '10 1d 00 04 4d 51 54 54 04 ee 00 0a 00 01 63 00 03 77 2f 74 00 03 62 79 65 00 01 75 00 01 70',
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolLevel: 4,
      clientId: 'c',
      clean: true,
      keepalive: 10,
      will: { topic: 'w/t', payload: ascii('bye'), qos: 1, retain: true },
      username: 'u',
      password: ascii('p'),
    },
  },
  {
    name: 'CONNECT 3.1.1 empty client id with clean session, will QoS 2 with an empty message',
    hex: '10 13 00 04 4d 51 54 54 04 16 ff ff 00 00 00 03 61 2f 62 00 00',
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolLevel: 4,
      clientId: '',
      clean: true,
      keepalive: 65535,
      will: { topic: 'a/b', payload: new Uint8Array(0), qos: 2, retain: false },
    },
  },
  {
    name: 'CONNECT 3.1 (MQIsdp, level 3), not clean, keepalive 30',
    hex: '10 12 00 06 4d 51 49 73 64 70 03 00 00 1e 00 04 74 65 73 74',
    packet: { type: 'connect', protocolName: 'MQIsdp', protocolLevel: 3, clientId: 'test', clean: false, keepalive: 30 },
  },
  {
    name: 'CONNECT 3.1 with password and no user name (allowed before 3.1.1)',
    hex: '10 13 00 06 4d 51 49 73 64 70 03 42 00 1e 00 01 78 00 02 70 77',
    packet: { type: 'connect', protocolName: 'MQIsdp', protocolLevel: 3, clientId: 'x', clean: true, keepalive: 30, password: ascii('pw') },
  },
  { name: 'CONNACK accepted', hex: '20 02 00 00', packet: { type: 'connack', sessionPresent: false, returnCode: 0 } },
  { name: 'CONNACK session present', hex: '20 02 01 00', packet: { type: 'connack', sessionPresent: true, returnCode: 0 } },
  { name: 'CONNACK not authorized', hex: '20 02 00 05', packet: { type: 'connack', sessionPresent: false, returnCode: 5 } },
  {
    name: 'CONNACK at level 3 ignores the unused flags byte',
    hex: '20 02 01 02',
    packet: { type: 'connack', sessionPresent: false, returnCode: 2 },
    level: 3,
    decodeOnly: true,
  },
  {
    name: 'PUBLISH QoS 0',
    hex: '30 07 00 03 61 2f 62 68 69',
    packet: { type: 'publish', topic: 'a/b', payload: ascii('hi'), qos: 0, retain: false, dup: false },
  },
  {
    name: 'PUBLISH QoS 1 DUP RETAIN id 10',
    hex: '3b 09 00 03 61 2f 62 00 0a 68 69',
    packet: { type: 'publish', topic: 'a/b', payload: ascii('hi'), qos: 1, retain: true, dup: true, packetId: 10 },
  },
  {
    name: 'PUBLISH QoS 2 id 65535, empty payload',
    hex: '34 07 00 03 61 2f 62 ff ff',
    packet: { type: 'publish', topic: 'a/b', payload: new Uint8Array(0), qos: 2, retain: false, dup: false, packetId: 65535 },
  },
  {
    name: 'PUBLISH non-ASCII topic',
    hex: '30 07 00 05 c3 a9 2f c3 bc',
    packet: { type: 'publish', topic: 'é/ü', payload: new Uint8Array(0), qos: 0, retain: false, dup: false },
  },
  {
    name: 'PUBLISH topic with a 4-byte character (U+1D11E)',
    hex: '31 06 00 04 f0 9d 84 9e',
    packet: { type: 'publish', topic: '\u{1d11e}', payload: new Uint8Array(0), qos: 0, retain: true, dup: false },
  },
  {
    name: 'PUBLISH topic starting with U+FEFF keeps it [MQTT-1.5.3-3]',
    hex: '30 06 00 04 ef bb bf 61',
    packet: { type: 'publish', topic: '\ufeffa', payload: new Uint8Array(0), qos: 0, retain: false, dup: false },
  },
  { name: 'PUBACK', hex: '40 02 00 01', packet: { type: 'puback', packetId: 1 } },
  { name: 'PUBREC', hex: '50 02 12 34', packet: { type: 'pubrec', packetId: 0x1234 } },
  { name: 'PUBREL (flags 0010)', hex: '62 02 00 07', packet: { type: 'pubrel', packetId: 7 } },
  { name: 'PUBCOMP', hex: '70 02 ff ff', packet: { type: 'pubcomp', packetId: 65535 } },
  {
    name: 'SUBSCRIBE (flags 0010) two filters',
    hex: '82 0c 00 01 00 03 61 2f 2b 01 00 01 23 02',
    packet: {
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topicFilter: 'a/+', qos: 1 },
        { topicFilter: '#', qos: 2 },
      ],
    },
  },
  {
    name: 'SUBACK with every valid return code',
    hex: '90 06 00 01 01 80 00 02',
    packet: { type: 'suback', packetId: 1, returnCodes: [1, 0x80, 0, 2] },
  },
  {
    name: 'UNSUBSCRIBE (flags 0010) two filters',
    hex: 'a2 0a 00 02 00 03 61 2f 2b 00 01 62',
    packet: { type: 'unsubscribe', packetId: 2, topicFilters: ['a/+', 'b'] },
  },
  { name: 'UNSUBACK', hex: 'b0 02 00 02', packet: { type: 'unsuback', packetId: 2 } },
  { name: 'PINGREQ (Remaining Length 0)', hex: 'c0 00', packet: { type: 'pingreq' } },
  { name: 'PINGRESP', hex: 'd0 00', packet: { type: 'pingresp' } },
  { name: 'DISCONNECT', hex: 'e0 00', packet: { type: 'disconnect' } },
];

describe('spec vectors', () => {
  for (const v of VECTORS) {
    describe(v.name, () => {
      const bytes = hex(v.hex);
      const options = v.level ? { protocolLevel: v.level } : undefined;

      if (!v.decodeOnly) {
        it('encodes to the exact bytes', () => {
          expect(toHex(encode(v.packet))).toBe(toHex(bytes));
          expect(encodedLength(v.packet)).toBe(bytes.length);
        });
      }

      it('decodes whole', () => {
        expect(decodeChunks([bytes], options)).toEqual(norm([v.packet]));
      });

      it('decodes split at every byte boundary', () => {
        for (let i = 1; i < bytes.length; i++) expect(decodeChunks(splitAt(bytes, i), options)).toEqual(norm([v.packet]));
      });

      it('decodes one byte at a time', () => {
        expect(decodeChunks(oneByteAtATime(bytes), options)).toEqual(norm([v.packet]));
      });
    });
  }

  it('decodes all vectors back to back as one stream, whole, split and byte by byte', () => {
    const level4 = VECTORS.filter((v) => !v.level);
    const stream = new Uint8Array(level4.reduce((n, v) => n + hex(v.hex).length, 0));
    let o = 0;
    for (const v of level4) {
      stream.set(hex(v.hex), o);
      o += hex(v.hex).length;
    }
    const expected = norm(level4.map((v) => v.packet));
    expect(decodeChunks([stream])).toEqual(expected);
    expect(decodeChunks(oneByteAtATime(stream))).toEqual(expected);
    for (let i = 1; i < stream.length; i += 7) {
      expect(decodeChunks([stream.subarray(0, i), stream.subarray(i, i + 13), stream.subarray(i + 13)])).toEqual(expected);
    }
  });

  it('encodeInto packs packets into one caller buffer', () => {
    const packets = VECTORS.filter((v) => !v.decodeOnly);
    const total = packets.reduce((n, v) => n + encodedLength(v.packet), 0);
    const buf = new Uint8Array(total + 3);
    let o = 3;
    for (const v of packets) o = encodeInto(v.packet, buf, o);
    expect(o).toBe(total + 3);
    expect(toHex(buf.subarray(3))).toBe(packets.map((v) => toHex(hex(v.hex))).join(' '));
  });

  it('a QoS 0 PUBLISH has no packetId property, a QoS 1 one has', () => {
    const [p0] = decodeChunks([hex('30 07 00 03 61 2f 62 68 69')]);
    expect(p0).not.toHaveProperty('packetId');
    const [p1] = decodeChunks([hex('32 09 00 03 61 2f 62 00 0a 68 69')]);
    expect(p1).toHaveProperty('packetId', 10);
  });
});

describe('payload ownership', () => {
  it('a packet inside one chunk gets a view of that chunk, not a copy', () => {
    const chunk = hex('30 07 00 03 61 2f 62 68 69 e0 00');
    const [p] = new PacketDecoder().push(chunk);
    expect(p?.type).toBe('publish');
    const payload = (p as { payload: Uint8Array }).payload;
    expect(payload.buffer).toBe(chunk.buffer);
    expect(payload.byteOffset).toBe(7);
  });

  it('a packet assembled from several chunks gets its own buffer', () => {
    const bytes = hex('30 07 00 03 61 2f 62 68 69');
    const decoder = new PacketDecoder();
    const first = bytes.slice(0, 5);
    expect(decoder.push(first)).toEqual([]);
    first.fill(0xee); // the caller reuses its chunk: the decoder copied what it kept
    const second = bytes.slice(5);
    const [p] = decoder.push(second);
    const payload = (p as { payload: Uint8Array }).payload;
    expect(payload).toEqual(ascii('hi'));
    expect(payload.buffer).not.toBe(second.buffer);
  });

  it('encode results are independent even when they share a pool', () => {
    const a = encode({ type: 'puback', packetId: 1 });
    const b = encode({ type: 'puback', packetId: 2 });
    a.fill(0xff);
    expect(toHex(b)).toBe('40 02 00 02');
    const big = encode({ type: 'publish', topic: 't', payload: new Uint8Array(20000).fill(1), qos: 0, retain: false, dup: false });
    const big2 = encode({ type: 'publish', topic: 't', payload: new Uint8Array(20000).fill(2), qos: 0, retain: false, dup: false });
    expect(big[big.length - 1]).toBe(1);
    expect(big2[big2.length - 1]).toBe(2);
  });

  it('encode keeps working after a caller transfers (detaches) the pool buffer', () => {
    const a = encode({ type: 'pingreq' });
    structuredClone(a.buffer, { transfer: [a.buffer] });
    expect(toHex(encode({ type: 'pingresp' }))).toBe('d0 00');
  });

  it('keeps only the bytes of the incomplete packet', () => {
    const decoder = new PacketDecoder();
    expect(decoder.push(hex('e0 00 c0 00 30 07 00 03'))).toEqual([{ type: 'disconnect' }, { type: 'pingreq' }]);
    expect(decoder.bufferedBytes).toBe(2); // the two body bytes; the header is already consumed
  });
});

/** A QoS 0 PUBLISH to topic "t" whose Remaining Length is `remaining` (payload = remaining - 3 bytes). */
function publishWithRemaining(remaining: number): Packet {
  const payload = new Uint8Array(remaining - 3);
  for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
  return { type: 'publish', topic: 't', payload, qos: 0, retain: false, dup: false };
}

describe('Remaining Length boundaries (section 2.2.3)', () => {
  const cases: [number, string][] = [
    [127, '30 7f'],
    [128, '30 80 01'],
    [16383, '30 ff 7f'],
    [16384, '30 80 80 01'],
    [2097151, '30 ff ff 7f'],
    [2097152, '30 80 80 80 01'],
  ];

  it('0: PINGREQ c0 00', () => {
    expect(toHex(encode({ type: 'pingreq' }))).toBe('c0 00');
  });

  for (const [remaining, header] of cases) {
    it(`${remaining}: header ${header}`, () => {
      const packet = publishWithRemaining(remaining);
      const bytes = encode(packet);
      const hl = header.split(' ').length;
      expect(bytes.length).toBe(hl + remaining);
      expect(toHex(bytes.subarray(0, hl + 3))).toBe(`${header} 00 01 74`);
      expect(encodedLength(packet)).toBe(bytes.length);

      expect(decodeChunks([bytes])).toEqual(norm([packet]));
      // Splits inside the header and length bytes, at the topic, in the payload and just before the end.
      for (const i of [1, 2, 3, hl, hl + 1, hl + 2, hl + 3, Math.floor(bytes.length / 2), bytes.length - 1]) {
        expect(decodeChunks(splitAt(bytes, i))).toEqual(norm([packet]));
      }
      // Byte by byte (all of it for the small ones, the header region and a tail for the big ones).
      if (bytes.length <= 20000) {
        expect(decodeChunks(oneByteAtATime(bytes))).toEqual(norm([packet]));
      } else {
        const chunks = [...oneByteAtATime(bytes.subarray(0, 16)), bytes.subarray(16, bytes.length - 16), ...oneByteAtATime(bytes.subarray(bytes.length - 16))];
        expect(decodeChunks(chunks)).toEqual(norm([packet]));
      }
    });
  }

  it('2097152 in 1000-byte chunks', () => {
    const packet = publishWithRemaining(2097152);
    const bytes = encode(packet);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 1000) chunks.push(bytes.subarray(i, i + 1000));
    expect(decodeChunks(chunks)).toEqual(norm([packet]));
  });

  it('268435455: the largest Remaining Length is accepted from its header (ff ff ff 7f)', () => {
    expect(MAX_REMAINING_LENGTH).toBe(268435455);
    expect(MAX_PACKET_SIZE).toBe(268435460);
    const decoder = new PacketDecoder();
    const start = hex('30 ff ff ff 7f 00 01 74 01 02 03');
    expect(decoder.push(start)).toEqual([]);
    expect(decoder.bufferedBytes).toBe(6); // the header is consumed; only body bytes are held
    expect(decoder.failure).toBeUndefined();
  });

  it('268435455: encodedLength of the largest PUBLISH (payload length faked, nothing allocated)', () => {
    const payload = Object.create(Uint8Array.prototype) as Uint8Array;
    Object.defineProperty(payload, 'length', { value: MAX_REMAINING_LENGTH - 3 });
    expect(encodedLength({ type: 'publish', topic: 't', payload, qos: 0, retain: false, dup: false })).toBe(MAX_PACKET_SIZE);
  });
});

describe('topic helpers (section 4.7)', () => {
  const matches: [string, string, boolean][] = [
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['#', 'sport/tennis', true],
    ['#', '/', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['+/#', 'a', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/bc', false],
    ['a/b', 'a', false],
    ['a/#', 'ab', false],
    ['#', '$SYS/x', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['Sport', 'sport', false],
  ];
  for (const [filter, topic, expected] of matches) {
    it(`${JSON.stringify(filter)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () => {
      expect(topicMatches(filter, topic)).toBe(expected);
    });
  }

  it('validity', () => {
    for (const t of ['a', '/', 'a/b', '$SYS/x', 'é', ' ']) expect(isValidTopicName(t)).toBe(true);
    for (const t of ['', 'a/+', '#', 'a\u0000', '\ud800']) expect(isValidTopicName(t)).toBe(false);
    for (const f of ['#', '+', 'a/#', '+/+', '/+/', 'a/+/b/#', '+/tennis/#']) expect(isValidTopicFilter(f)).toBe(true);
    for (const f of ['', 'a#', 'a/#/b', '#/', 'a+', '+a', 'a/b+/c', 'sport/tennis#']) expect(isValidTopicFilter(f)).toBe(false);
  });
});
