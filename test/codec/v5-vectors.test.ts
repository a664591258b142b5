// MQTT 5.0 byte vectors written by hand from the OASIS standard (each names the section it follows): every
// packet type, every property (Table 2-4, section 2.2.2.2) on a packet that may carry it, the forms the spec
// lets a sender shorten, and each vector decoded whole, split at every byte and one byte at a time.
import { describe, expect, it } from 'vitest';
import {
  encode,
  encodedLength,
  encodeInto,
  PacketDecoder,
  REASON_CODES,
  reasonCodeAllowed,
  reasonCodeName,
  type Packet,
} from '../../src/codec/index.js';
import { bytewise, concatBytes, embedded, fromHex, hex, normalize, splitAt, utf8 } from './arbitraries.js';

interface Vector {
  name: string;
  hex: string;
  packet: Packet;
  /** Only decoded: a shortened or padded form that encode writes differently (`encodesAs`). */
  encodesAs?: string;
}

const a = utf8;
const MQTT5 = '00 04 4d 51 54 54 05'; // protocol name "MQTT", level 5 (3.1.2.1, 3.1.2.2)

const pub = (over: Partial<Extract<Packet, { type: 'publish' }>> = {}): Packet => ({
  type: 'publish',
  topic: 'a',
  payload: a('x'),
  qos: 0,
  retain: false,
  dup: false,
  ...over,
});
const connect = (over: Partial<Extract<Packet, { type: 'connect' }>> = {}): Packet => ({
  type: 'connect',
  protocolName: 'MQTT',
  protocolLevel: 5,
  clientId: 'c',
  clean: true,
  keepalive: 60,
  ...over,
});
const connack = (over: Partial<Extract<Packet, { type: 'connack' }>> = {}): Packet => ({
  type: 'connack',
  sessionPresent: false,
  returnCode: 0,
  ...over,
});

const PACKETS: Vector[] = [
  // 3.1 CONNECT: Properties after Keep Alive (3.1.2.11); a password alone is allowed again (3.1.2.9).
  { name: 'CONNECT minimal (3.1.2): no User Name, no Password with their flags 0 [MQTT-3.1.2-16] [MQTT-3.1.2-18]', hex: `10 0e ${MQTT5} 02 00 3c 00 00 01 63`, packet: connect() },
  {
    name: 'CONNECT password without user name (3.1.2.9)',
    hex: `10 11 ${MQTT5} 42 00 3c 00 00 01 63 00 01 70`,
    packet: connect({ password: a('p') }),
  },
  {
    name: 'CONNECT with will, user name and password: Client Identifier first, then Will Properties, Will Topic, Will Payload, User Name, Password, as the flags say [MQTT-3.1.3-1] [MQTT-3.1.3-3] [MQTT-3.1.2-9] [MQTT-3.1.2-17] [MQTT-3.1.2-19]',
    hex: `10 1f ${MQTT5} ee 00 0a 00 00 01 63 00 00 03 77 2f 74 00 03 62 79 65 00 01 75 00 01 70`,
    packet: connect({
      keepalive: 10,
      will: { topic: 'w/t', payload: a('bye'), qos: 1, retain: true },
      username: 'u',
      password: a('p'),
    }),
  },
  // 3.2 CONNACK: flags, Connect Reason Code, Properties (3.2.2).
  { name: 'CONNACK success (3.2.2)', hex: '20 03 00 00 00', packet: connack() },
  { name: 'CONNACK session present', hex: '20 03 01 00 00', packet: connack({ sessionPresent: true }) },
  { name: 'CONNACK 0x87 Not authorized', hex: '20 03 00 87 00', packet: connack({ returnCode: 0x87 }) },
  {
    name: "CONNACK of a 3.1.1 server refusing level 5 (its MQTT-3.1.2-2): 0x84 Unsupported Protocol Version",
    hex: '20 02 00 01',
    packet: connack({ returnCode: 0x84 }),
    encodesAs: '20 03 00 84 00',
  },
  // 3.3 PUBLISH: Topic Name, Packet Identifier, Properties (3.3.2).
  { name: 'PUBLISH QoS 0 (3.3.2): Topic Name first, no Packet Identifier [MQTT-3.3.2-1] [MQTT-2.2.1-2]', hex: '30 05 00 01 61 00 78', packet: pub() },
  {
    name: 'PUBLISH QoS 1 DUP RETAIN id 7',
    hex: '3b 07 00 01 61 00 07 00 78',
    packet: pub({ qos: 1, dup: true, retain: true, packetId: 7 }),
  },
  {
    name: 'PUBLISH QoS 2 with a 200-byte payload (two-byte Remaining Length)',
    hex: `34 ce 01 00 01 61 ff ff 00 ${'ab '.repeat(200)}`,
    packet: pub({ qos: 2, packetId: 65535, payload: new Uint8Array(200).fill(0xab) }),
  },
  // 3.4-3.7: Reason Code and Property Length may be left out (3.4.2.1, 3.4.2.2 and their like).
  { name: 'PUBACK success, reason code left out (3.4.2.1)', hex: '40 02 00 01', packet: { type: 'puback', packetId: 1, reasonCode: 0 } },
  {
    name: 'PUBACK 0x10 No matching subscribers, Property Length left out (3.4.2.2)',
    hex: '40 03 00 01 10',
    packet: { type: 'puback', packetId: 1, reasonCode: 0x10 },
  },
  {
    name: 'PUBACK success with the reason code sent anyway',
    hex: '40 03 00 01 00',
    packet: { type: 'puback', packetId: 1, reasonCode: 0 },
    encodesAs: '40 02 00 01',
  },
  {
    name: 'PUBACK 0x10 with an empty Property Length sent anyway',
    hex: '40 04 00 01 10 00',
    packet: { type: 'puback', packetId: 1, reasonCode: 0x10 },
    encodesAs: '40 03 00 01 10',
  },
  { name: 'PUBREC 0x80 Unspecified error (3.5.2.1)', hex: '50 03 12 34 80', packet: { type: 'pubrec', packetId: 0x1234, reasonCode: 0x80 } },
  {
    name: 'PUBREL 0x92 Packet Identifier not found (3.6.2.1)',
    hex: '62 03 00 07 92',
    packet: { type: 'pubrel', packetId: 7, reasonCode: 0x92 },
  },
  { name: 'PUBCOMP success (3.7.2.1)', hex: '70 02 ff ff', packet: { type: 'pubcomp', packetId: 65535, reasonCode: 0 } },
  // 3.8 SUBSCRIBE: Properties, then filters with Subscription Options (3.8.3.1).
  {
    name: 'SUBSCRIBE with every subscription option set (3.8.3.1): QoS 2, No Local, RAP, Retain Handling 2',
    hex: '82 07 00 01 00 00 01 61 2e',
    packet: {
      type: 'subscribe',
      packetId: 1,
      subscriptions: [{ topicFilter: 'a', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2 }],
    },
  },
  {
    name: 'SUBSCRIBE a shared subscription $share/g/a (4.8.2) and a wildcard filter',
    hex: '82 16 00 02 00 00 0a 24 73 68 61 72 65 2f 67 2f 61 01 00 03 62 2f 23 10',
    packet: {
      type: 'subscribe',
      packetId: 2,
      subscriptions: [
        { topicFilter: '$share/g/a', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { topicFilter: 'b/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 1 },
      ],
    },
  },
  // 3.9 SUBACK: Properties, then one Reason Code per filter (3.9.3).
  {
    name: 'SUBACK granted QoS 0 and 1, 0xA2 Wildcard Subscriptions not supported, in order (3.9.3) [MQTT-3.9.3-1]',
    hex: '90 06 00 01 00 00 01 a2',
    packet: { type: 'suback', packetId: 1, returnCodes: [0, 1, 0xa2] },
  },
  // 3.10 UNSUBSCRIBE, 3.11 UNSUBACK (Reason Codes, new in MQTT 5: 3.11.3).
  { name: 'UNSUBSCRIBE (3.10.2)', hex: 'a2 06 00 01 00 00 01 61', packet: { type: 'unsubscribe', packetId: 1, topicFilters: ['a'] } },
  {
    name: 'UNSUBACK success and 0x11 No subscription existed, in order (3.11.3) [MQTT-3.11.3-1]',
    hex: 'b0 05 00 01 00 00 11',
    packet: { type: 'unsuback', packetId: 1, reasonCodes: [0, 0x11] },
  },
  { name: 'PINGREQ (3.12)', hex: 'c0 00', packet: { type: 'pingreq' } },
  { name: 'PINGRESP (3.13)', hex: 'd0 00', packet: { type: 'pingresp' } },
  // 3.14 DISCONNECT: everything may be left out (3.14.2.1), or just the Property Length (3.14.2.2).
  { name: 'DISCONNECT normal, Remaining Length 0 (3.14.2.1)', hex: 'e0 00', packet: { type: 'disconnect', reasonCode: 0 } },
  {
    name: 'DISCONNECT 0x04 Disconnect with Will Message, no Property Length (3.14.2.2)',
    hex: 'e0 01 04',
    packet: { type: 'disconnect', reasonCode: 4 },
  },
  { name: 'DISCONNECT 0x00 sent in full', hex: 'e0 02 00 00', packet: { type: 'disconnect', reasonCode: 0 }, encodesAs: 'e0 00' },
  { name: 'DISCONNECT 0x00 without Property Length', hex: 'e0 01 00', packet: { type: 'disconnect', reasonCode: 0 }, encodesAs: 'e0 00' },
  // 3.15 AUTH: both left out, or both there (3.15.2.1).
  { name: 'AUTH success, Remaining Length 0 (3.15.2.1)', hex: 'f0 00', packet: { type: 'auth', reasonCode: 0 } },
  { name: 'AUTH 0x19 Re-authenticate, Property Length 0', hex: 'f0 02 19 00', packet: { type: 'auth', reasonCode: 0x19 } },
];

/** Each property (2.2.2.2, Table 2-4) alone on a packet that may carry it; the property's bytes are marked. */
const PROPERTIES: Vector[] = [
  { name: '0x01 Payload Format Indicator (3.3.2.3.2)', hex: '30 07 00 01 61 02 [01 01] 78', packet: pub({ properties: { payloadFormatIndicator: true } }) },
  {
    name: '0x02 Message Expiry Interval, Four Byte Integer (3.3.2.3.3)',
    hex: '30 0a 00 01 61 05 [02 00 00 10 e1] 78',
    packet: pub({ properties: { messageExpiryInterval: 4321 } }),
  },
  {
    name: '0x03 Content Type, UTF-8 string (3.3.2.3.9)',
    hex: '30 0c 00 01 61 07 [03 00 04 6a 73 6f 6e] 78',
    packet: pub({ properties: { contentType: 'json' } }),
  },
  {
    name: '0x08 Response Topic (3.3.2.3.5)',
    hex: '30 0b 00 01 61 06 [08 00 03 72 2f 31] 78',
    packet: pub({ properties: { responseTopic: 'r/1' } }),
  },
  {
    name: '0x09 Correlation Data, Binary Data (3.3.2.3.6)',
    hex: '30 0a 00 01 61 05 [09 00 02 01 02] 78',
    packet: pub({ properties: { correlationData: Uint8Array.of(1, 2) } }),
  },
  {
    name: '0x0B Subscription Identifier, repeated on PUBLISH, Variable Byte Integers 1 and 300 in their shortest form (3.3.2.3.8) [MQTT-1.5.5-1]',
    hex: '30 0a 00 01 61 05 [0b 01] [0b ac 02] 78',
    packet: pub({ properties: { subscriptionIdentifiers: [1, 300] } }),
  },
  {
    name: '0x0B Subscription Identifier 268,435,455 (the largest) on PUBLISH',
    hex: '30 0a 00 01 61 05 [0b ff ff ff 7f] 78',
    packet: pub({ properties: { subscriptionIdentifiers: [268_435_455] } }),
  },
  {
    name: '0x0B Subscription Identifier on SUBSCRIBE (3.8.2.1.2)',
    hex: '82 09 00 01 02 [0b 05] 00 01 61 00',
    packet: {
      type: 'subscribe',
      packetId: 1,
      subscriptions: [{ topicFilter: 'a', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
      properties: { subscriptionIdentifier: 5 },
    },
  },
  {
    name: '0x11 Session Expiry Interval on DISCONNECT (3.14.2.2.2)',
    hex: 'e0 07 00 05 [11 00 00 00 3c]',
    packet: { type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } },
  },
  {
    name: '0x11 Session Expiry Interval 0xFFFFFFFF (never expires) on CONNECT (3.1.2.11.2)',
    hex: `10 13 ${MQTT5} 02 00 3c 05 [11 ff ff ff ff] 00 01 63`,
    packet: connect({ properties: { sessionExpiryInterval: 0xffffffff } }),
  },
  {
    name: '0x12 Assigned Client Identifier (3.2.2.3.7)',
    hex: '20 07 00 00 04 [12 00 01 63]',
    packet: connack({ properties: { assignedClientIdentifier: 'c' } }),
  },
  { name: '0x13 Server Keep Alive, Two Byte Integer (3.2.2.3.14)', hex: '20 06 00 00 03 [13 00 1e]', packet: connack({ properties: { serverKeepAlive: 30 } }) },
  {
    name: '0x15 Authentication Method and 0x16 Authentication Data on AUTH 0x18 (3.15.2.2)',
    hex: 'f0 0f 18 0d [15 00 05 53 43 52 41 4d] [16 00 02 ab cd]',
    packet: { type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM', authenticationData: Uint8Array.of(0xab, 0xcd) } },
  },
  {
    name: '0x17 Request Problem Information and 0x19 Request Response Information (3.1.2.11.6, 3.1.2.11.7)',
    hex: `10 12 ${MQTT5} 02 00 3c 04 [17 00] [19 01] 00 01 63`,
    packet: connect({ properties: { requestProblemInformation: false, requestResponseInformation: true } }),
  },
  {
    name: '0x18 Will Delay Interval in the Will Properties (3.1.3.2.2)',
    hex: `10 1a ${MQTT5} 06 00 3c 00 00 01 63 05 [18 00 00 00 0a] 00 01 77 00 01 78`,
    packet: connect({ will: { topic: 'w', payload: a('x'), qos: 0, retain: false, properties: { willDelayInterval: 10 } } }),
  },
  {
    name: '0x1A Response Information (3.2.2.3.15)',
    hex: '20 07 00 00 04 [1a 00 01 72]',
    packet: connack({ properties: { responseInformation: 'r' } }),
  },
  {
    name: '0x1C Server Reference on DISCONNECT 0x9C Use another server (3.14.2.2.5)',
    hex: 'e0 06 9c 04 [1c 00 01 73]',
    packet: { type: 'disconnect', reasonCode: 0x9c, properties: { serverReference: 's' } },
  },
  {
    name: '0x1F Reason String on PUBACK (3.4.2.2.2)',
    hex: '40 09 00 01 10 05 [1f 00 02 6e 6f]',
    packet: { type: 'puback', packetId: 1, reasonCode: 0x10, properties: { reasonString: 'no' } },
  },
  {
    name: '0x1F Reason String on a PUBACK whose reason code is 0 (written, since properties follow)',
    hex: '40 09 00 01 00 05 [1f 00 02 6f 6b]',
    packet: { type: 'puback', packetId: 1, reasonCode: 0, properties: { reasonString: 'ok' } },
  },
  { name: '0x21 Receive Maximum (3.2.2.3.3)', hex: '20 06 00 00 03 [21 00 14]', packet: connack({ properties: { receiveMaximum: 20 } }) },
  {
    name: '0x22 Topic Alias Maximum (3.1.2.11.5)',
    hex: `10 11 ${MQTT5} 02 00 3c 03 [22 00 0a] 00 01 63`,
    packet: connect({ properties: { topicAliasMaximum: 10 } }),
  },
  {
    name: '0x23 Topic Alias with an empty topic name (3.3.2.3.4)',
    hex: '30 07 00 00 03 [23 00 05] 78',
    packet: pub({ topic: '', properties: { topicAlias: 5 } }),
  },
  { name: '0x24 Maximum QoS (3.2.2.3.4)', hex: '20 05 00 00 02 [24 01]', packet: connack({ properties: { maximumQoS: 1 } }) },
  { name: '0x25 Retain Available (3.2.2.3.5)', hex: '20 05 00 00 02 [25 00]', packet: connack({ properties: { retainAvailable: false } }) },
  {
    name: '0x26 User Property twice with the same name, order kept (3.3.2.3.7)',
    hex: '30 13 00 01 61 0e [26 00 01 6b 00 01 31] [26 00 01 6b 00 01 32] 78',
    packet: pub({ properties: { userProperties: [['k', '1'], ['k', '2']] } }),
  },
  {
    name: '0x27 Maximum Packet Size (3.1.2.11.4)',
    hex: `10 13 ${MQTT5} 02 00 3c 05 [27 00 00 10 00] 00 01 63`,
    packet: connect({ properties: { maximumPacketSize: 4096 } }),
  },
  {
    name: '0x28 Wildcard, 0x29 Subscription Identifiers, 0x2A Shared Subscription Available (3.2.2.3.11-13)',
    hex: '20 09 00 00 06 [28 00] [29 01] [2a 00]',
    packet: connack({
      properties: { wildcardSubscriptionAvailable: false, subscriptionIdentifiersAvailable: true, sharedSubscriptionAvailable: false },
    }),
  },
  {
    name: 'A non-ASCII Reason String (1.5.4) and a User Property of two empty strings (1.5.7)',
    hex: '20 0e 00 00 0b [1f 00 03 c3 a9 74] [26 00 00 00 00]',
    packet: connack({ properties: { reasonString: 'ét', userProperties: [['', '']] } }),
  },
];

const clean = (h: string): string => h.replace(/[[\]]/g, ' ');

function decodeAll(chunks: Uint8Array[], protocolLevel: 3 | 4 | 5 = 5): Packet[] {
  const decoder = new PacketDecoder({ protocolLevel });
  const out: Packet[] = [];
  for (const c of chunks) out.push(...decoder.push(c));
  expect(decoder.bufferedBytes).toBe(0);
  return out;
}

describe('MQTT 5 vectors', () => {
  for (const [group, vectors] of [
    ['packets', PACKETS],
    ['properties', PROPERTIES],
  ] as const) {
    describe(group, () => {
      for (const v of vectors) {
        it(v.name, () => {
          const bytes = fromHex(clean(v.hex));
          const want = normalize([v.packet]);
          expect(normalize(decodeAll([embedded(bytes)])), 'whole').toEqual(want);
          expect(normalize(decodeAll(bytewise(bytes))), 'byte at a time').toEqual(want);
          for (let i = 1; i < bytes.length; i++) expect(normalize(decodeAll(splitAt(bytes, [i]))), `split at ${i}`).toEqual(want);
          const encoded = fromHex(clean(v.encodesAs ?? v.hex));
          expect(hex(encode(v.packet, 5))).toBe(hex(encoded));
          expect(encodedLength(v.packet, 5)).toBe(encoded.length);
        });
      }
    });
  }

  it('decodes every vector back to back as one stream, and encodeInto packs them into one buffer', () => {
    const all = [...PACKETS, ...PROPERTIES];
    const stream = concatBytes(all.map((v) => fromHex(clean(v.hex))));
    const want = normalize(all.map((v) => v.packet));
    expect(normalize(decodeAll([stream]))).toEqual(want);
    expect(normalize(decodeAll(bytewise(stream)))).toEqual(want);
    const written = all.map((v) => fromHex(clean(v.encodesAs ?? v.hex)));
    const buf = new Uint8Array(written.reduce((n, b) => n + b.length, 0) + 3);
    let at = 3;
    for (const v of all) at = encodeInto(v.packet, buf, at, 5);
    expect(at).toBe(buf.length);
    expect(hex(buf.subarray(3))).toBe(hex(concatBytes(written)));
  });

  it('a decoded property value of bytes is a view of the chunk, like a payload', () => {
    const chunk = fromHex('30 0a 00 01 61 05 09 00 02 01 02 78');
    const [p] = new PacketDecoder({ protocolLevel: 5 }).push(chunk);
    const data = (p as Extract<Packet, { type: 'publish' }>).properties!.correlationData!;
    expect(data.buffer).toBe(chunk.buffer);
    expect(data.byteOffset).toBe(9);
  });

  it('no `properties` key when the Property Length is 0 [MQTT-2.2.2-1], and encode writes 0 for an empty object', () => {
    const [p] = decodeAll([fromHex('30 05 00 01 61 00 78')]);
    expect(p).not.toHaveProperty('properties');
    expect(hex(encode(pub({ properties: {} }), 5))).toBe('300500016100' + '78');
    expect(hex(encode(pub({ properties: { contentType: undefined } }), 5))).toBe('30050001610078');
  });
});

describe('MQTT 5 and the other levels', () => {
  it('a level-4 (default) decoder reads a level-5 CONNECT with its properties, and switches to level 5 after it', () => {
    const connectBytes = fromHex(`10 11 ${MQTT5} 02 00 3c 03 22 00 0a 00 01 63`);
    const decoder = new PacketDecoder();
    // CONNECT, then a v5 PUBLISH with properties right behind it in the same chunk, as a client may send.
    const out = decoder.push(concatBytes([connectBytes, fromHex('30 07 00 01 61 02 01 01 78')]));
    expect(normalize(out)).toEqual(normalize([connect({ properties: { topicAliasMaximum: 10 } }), pub({ properties: { payloadFormatIndicator: true } })]));
    expect(decoder.protocolLevel).toBe(5);
    // A 3.1.1 CONNECT switches it back (a new stream after reset, or a proxy reusing it).
    decoder.push(fromHex('10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 63'));
    expect(decoder.protocolLevel).toBe(4);
    // Positive control: the PUBLISH bytes above are not a 3.1.1 PUBLISH of the same meaning.
    expect(normalize(new PacketDecoder().push(fromHex('30 07 00 01 61 02 01 01 78')))).not.toEqual(
      normalize([pub({ properties: { payloadFormatIndicator: true } })]),
    );
  });

  it('a CONNECT is encoded at the level it names, whatever level encode is asked for', () => {
    const v5 = connect();
    const v4 = connect({ protocolLevel: 4, properties: { sessionExpiryInterval: 1 } });
    expect(hex(encode(v5))).toBe(hex(encode(v5, 5)));
    // At level 4 the CONNECT has no Property Length: the properties of a level-4 CONNECT are not written.
    expect(hex(encode(v4, 5))).toBe('100d00044d515454040200' + '3c00' + '0163');
  });

  it('the same packet is written differently at levels 4 and 5; MQTT 5 fields are ignored at level 4', () => {
    const p: Packet = { type: 'puback', packetId: 1, reasonCode: 0x10, properties: { reasonString: 'r' } };
    expect(hex(encode(p))).toBe('40020001');
    expect(hex(encode(p, 5))).toBe('4008000110041f000172');
    expect(hex(encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 1, noLocal: true }] }))).toBe('8206000100016101');
    expect(() => encode({ type: 'auth', reasonCode: 0 })).toThrow(/level 3 or 4/);
    expect(() => encode({ type: 'pingreq' }, 6 as 5)).toThrow(RangeError);
  });
});

describe('MQTT 5 reason codes table (2.4)', () => {
  it('holds the 43 codes of Table 2-6 with names per packet type', () => {
    expect(new Set(REASON_CODES.map(([code]) => code)).size).toBe(43);
    expect(reasonCodeName(0x00, 'disconnect')).toBe('Normal disconnection');
    expect(reasonCodeName(0x00, 'suback')).toBe('Granted QoS 0');
    expect(reasonCodeName(0x00, 'pubrel')).toBe('Success');
    expect(reasonCodeName(0x92, 'pubcomp')).toBe('Packet Identifier not found');
    expect(reasonCodeName(0x92, 'puback')).toBeUndefined();
    expect(reasonCodeName(0x99, 'connack')).toBe('Payload format invalid');
  });

  it('per packet type, exactly the codes the packet sections list [MQTT-3.2.2-8] [MQTT-3.4.2-1] [MQTT-3.5.2-1] [MQTT-3.6.2-1] [MQTT-3.7.2-1] [MQTT-3.9.3-2] [MQTT-3.11.3-2] [MQTT-3.14.2-1] [MQTT-3.15.2-1]', () => {
    // Sections 3.2.2.2, 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1, 3.9.3, 3.11.3, 3.14.2.1, 3.15.2.1.
    const lists: Record<number, number[]> = {
      2: [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f],
      4: [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
      5: [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
      6: [0x00, 0x92],
      7: [0x00, 0x92],
      9: [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
      11: [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91],
      14: [
        0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
        0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
      ],
      15: [0x00, 0x18, 0x19],
    };
    for (const [type, codes] of Object.entries(lists)) {
      const allowed = [];
      for (let code = 0; code < 256; code++) if (reasonCodeAllowed(code, Number(type))) allowed.push(code);
      expect(allowed, `type ${type}`).toEqual(codes);
    }
    expect(reasonCodeAllowed(1.5, 9)).toBe(false);
    expect(reasonCodeAllowed(256, 14)).toBe(false);
  });
});
