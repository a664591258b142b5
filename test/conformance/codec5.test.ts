/**
 * MQTT 5.0 statements about packet format, checked where the codec decides them: what the encoder writes at
 * level 5 for the packets a client sends (and refuses to write), and what the client's decoder at level 5
 * (FrameDecoder with parseFromServer, as the client will use it) rejects from a server. Expected bytes are
 * worked out by hand from the spec, not produced by our encoder. Every title carries the MQTT 5 mark, so the
 * conformance map counts its ids as MQTT 5.0's.
 */
import { describe, expect, it } from 'vitest';
import { encode, type Packet } from '../../src/codec/index.js';
import { utf8 } from '../helpers/mqtt-bytes.js';
import { codecAt } from './codec-at.js';

const MQTT5 = '00 04 4d 51 54 54 05';

const { decode, rejected, refused, bytesOf, publish, connect, subscribe, unsubscribe, everyClientString } = codecAt(5);

describe('MQTT 5 strings and integers (1.5)', () => {
  it('an unpaired surrogate in any string the client sends is refused; ill-formed UTF-8 from the server is a Malformed Packet [MQTT-1.5.4-1]', () => {
    for (const [field, packet] of everyClientString('\uD800')) expect(refused(packet).statement, field).toBe('MQTT-1.5.4-1');
    for (const topic of ['ed a0 80', 'c0 af', 'ff', 'e2 82']) {
      const n = topic.split(' ').length;
      const err = rejected(`30 ${(n + 5).toString(16).padStart(2, '0')} 00 ${(n + 1).toString(16).padStart(2, '0')} 61 ${topic} 00 78`);
      expect([err.code, err.statement, err.reasonCode], topic).toEqual(['INVALID_UTF8', 'MQTT-1.5.4-1', 0x81]);
    }
    // Control: a surrogate pair is a character, written as 4 bytes.
    expect(bytesOf(publish('\u{1F600}'))).toBe('30 08 00 04 f0 9f 98 80 00 78');
  });

  it('U+0000 in any string the client sends is refused, and from the server a Malformed Packet [MQTT-1.5.4-2]', () => {
    for (const [field, packet] of everyClientString('\u0000')) {
      expect(refused(packet).statement, field).toMatch(/^MQTT-(1\.5\.4-2|4\.7\.3-2)$/);
    }
    const err = rejected('30 0b 00 01 61 06 03 00 03 61 00 62 78'); // Content Type "a\0b"
    expect([err.code, err.statement, err.reasonCode]).toEqual(['INVALID_UTF8', 'MQTT-1.5.4-2', 0x81]);
    expect(decode('30 0b 00 01 61 06 03 00 03 61 01 62 78')).toMatchObject([{ properties: { contentType: 'a\u0001b' } }]);
  });

  it('Variable Byte Integers are written in the fewest bytes, and a longer one from the server is malformed (1.5.5-1 of the spec, folded into this statement in the list) [MQTT-1.5.4-2]', () => {
    // Remaining Length 127 takes one byte, 128 two; a Subscription Identifier of 128 is 80 01.
    expect(bytesOf(publish('a', { payload: new Uint8Array(123) })).slice(0, 5)).toBe('30 7f');
    expect(bytesOf(publish('a', { payload: new Uint8Array(124) })).slice(0, 8)).toBe('30 80 01');
    expect(bytesOf({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0 }], properties: { subscriptionIdentifier: 128 } })).toBe(
      '82 0a 00 01 03 0b 80 01 00 01 61 00',
    );
    for (const padded of ['40 82 00 00 01', '30 06 00 01 61 80 00 78', '30 08 00 01 61 03 0b 81 00 78']) {
      expect([rejected(padded).code, rejected(padded).statement], padded).toEqual(['MALFORMED_LENGTH', 'MQTT-1.5.5-1']);
    }
    expect(decode('40 02 00 01')).toHaveLength(1); // control: the same PUBACK with a one-byte length
  });
});

describe('MQTT 5 fixed header (2.1.3)', () => {
  it('every packet the client sends carries the flags of Table 2-2, AUTH included [MQTT-2.1.3-1] [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1] [MQTT-3.14.1-1] [MQTT-3.15.1-1]', () => {
    expect(bytesOf(connect())).toBe(`10 0e ${MQTT5} 02 00 00 00 00 01 63`);
    expect(bytesOf({ type: 'puback', packetId: 7 })).toBe('40 02 00 07');
    expect(bytesOf({ type: 'pubrec', packetId: 7, reasonCode: 0x80 })).toBe('50 03 00 07 80');
    expect(bytesOf({ type: 'pubrel', packetId: 7 })).toBe('62 02 00 07');
    expect(bytesOf({ type: 'pubcomp', packetId: 7 })).toBe('70 02 00 07');
    expect(bytesOf(subscribe('a'))).toBe('82 07 00 01 00 00 01 61 00');
    expect(bytesOf(unsubscribe('a'))).toBe('a2 06 00 01 00 00 01 61');
    expect(bytesOf({ type: 'pingreq' })).toBe('c0 00');
    expect(bytesOf({ type: 'disconnect', reasonCode: 4 })).toBe('e0 01 04');
    expect(bytesOf({ type: 'auth', reasonCode: 0x19 })).toBe('f0 02 19 00');
  });

  it('a server packet with other flag bits is a Malformed Packet [MQTT-2.1.3-1] [MQTT-3.6.1-1] [MQTT-3.14.1-1] [MQTT-3.15.1-1]', () => {
    const packets: [string, number, string, string][] = [
      ['CONNACK', 0x20, '03 00 00 00', 'MQTT-2.1.3-1'],
      ['PUBACK', 0x40, '02 00 01', 'MQTT-2.1.3-1'],
      ['PUBREL', 0x62, '02 00 01', 'MQTT-3.6.1-1'],
      ['SUBACK', 0x90, '04 00 01 00 00', 'MQTT-2.1.3-1'],
      ['UNSUBACK', 0xb0, '04 00 01 00 00', 'MQTT-2.1.3-1'],
      ['DISCONNECT', 0xe0, '01 8b', 'MQTT-3.14.1-1'],
      ['AUTH', 0xf0, '02 18 00', 'MQTT-3.15.1-1'],
    ];
    for (const [name, first, rest, statement] of packets) {
      expect(decode(`${first.toString(16)} ${rest}`), `${name} with its own flags`).toHaveLength(1);
      for (const bit of [1, 2, 4, 8]) {
        const err = rejected(`${(first ^ bit).toString(16)} ${rest}`);
        expect([err.code, err.statement, err.reasonCode], `${name} flags ^ ${bit}`).toEqual(['RESERVED_FLAGS', statement, 0x81]);
      }
    }
  });
});

describe('MQTT 5 packet identifiers and properties (2.2)', () => {
  it('a QoS 0 PUBLISH is written without a Packet Identifier, even if the object has one [MQTT-2.2.1-2]', () => {
    expect(bytesOf(publish('a', { packetId: 5 }))).toBe('30 05 00 01 61 00 78');
    expect(bytesOf(publish('a', { qos: 1, packetId: 5 }))).toBe('32 07 00 01 61 00 05 00 78');
  });

  it('a packet without properties carries Property Length 0 [MQTT-2.2.2-1]', () => {
    expect(bytesOf(publish('a', { properties: {} }))).toBe('30 05 00 01 61 00 78');
    expect(bytesOf(subscribe('a'))).toBe('82 07 00 01 00 00 01 61 00');
    expect(bytesOf(connect({ will: { topic: 'w', payload: utf8('x'), qos: 0, retain: false } }))).toBe(
      `10 15 ${MQTT5} 06 00 00 00 00 01 63 00 00 01 77 00 01 78`,
    );
  });
});

describe('MQTT 5 CONNECT (3.1)', () => {
  it('the protocol name is MQTT and the level 5 [MQTT-3.1.2-1]', () => {
    expect(bytesOf(connect()).slice(6, 26)).toBe(MQTT5);
    expect(refused(connect({ protocolName: 'MQIsdp' })).statement).toBe('MQTT-3.1.2-1');
  });

  it('with a will, user name and password: Client Identifier first, then Will Properties, Will Topic, Will Payload, User Name, Password, each as its flag says [MQTT-3.1.2-9] [MQTT-3.1.2-17] [MQTT-3.1.2-19] [MQTT-3.1.3-1] [MQTT-3.1.3-3]', () => {
    const p = connect({
      keepalive: 10,
      will: { topic: 'w/t', payload: utf8('bye'), qos: 1, retain: true, properties: { willDelayInterval: 10 } },
      username: 'u',
      password: utf8('p'),
    });
    expect(bytesOf(p)).toBe(`10 24 ${MQTT5} ee 00 0a 00 00 01 63 05 18 00 00 00 0a 00 03 77 2f 74 00 03 62 79 65 00 01 75 00 01 70`);
    // A password alone is allowed again in MQTT 5 (3.1.2.9).
    expect(bytesOf(connect({ password: utf8('p') }))).toBe(`10 11 ${MQTT5} 42 00 00 00 00 01 63 00 01 70`);
  });

  it('without a will, user name or password: Will QoS and Will Retain 0 and no such fields [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-16] [MQTT-3.1.2-18]', () => {
    expect(bytesOf(connect({ clean: false }))).toBe(`10 0e ${MQTT5} 00 00 00 00 00 01 63`);
  });

  it('Will QoS 3 is refused [MQTT-3.1.2-12]', () => {
    const err = refused(connect({ will: { topic: 'w', payload: utf8('x'), qos: 3 as 2, retain: false } }));
    expect([err.code, err.statement]).toEqual(['INVALID_QOS', 'MQTT-3.1.2-12']);
  });

  it('Client Identifier, Will Topic and User Name are UTF-8 strings; ones that cannot be are refused [MQTT-3.1.3-4] [MQTT-3.1.3-11] [MQTT-3.1.3-12]', () => {
    expect(refused(connect({ clientId: '\uDC00' })).statement).toBe('MQTT-1.5.4-1');
    expect(refused(connect({ username: 'a\u0000' })).statement).toBe('MQTT-1.5.4-2');
    expect(refused(connect({ will: { topic: 'w/#', payload: utf8('x'), qos: 0, retain: false } })).statement).toBe('MQTT-4.7.0-1');
    expect(bytesOf(connect({ clientId: 'é' }))).toBe(`10 0f ${MQTT5} 02 00 00 00 00 02 c3 a9`);
  });
});

describe('MQTT 5 CONNACK (3.2)', () => {
  it('acknowledge flags with bits 7-1 set are a Malformed Packet [MQTT-3.2.2-1]', () => {
    expect(decode('20 03 01 00 00')).toEqual([{ type: 'connack', sessionPresent: true, returnCode: 0 }]);
    for (const flags of ['02', '80', 'ff']) {
      const err = rejected(`20 03 ${flags} 00 00`);
      expect([err.code, err.statement, err.reasonCode], flags).toEqual(['RESERVED_FLAGS', 'MQTT-3.2.2-1', 0x81]);
    }
  });

  it('a refusal (non-zero Reason Code) with Session Present 1 is a Protocol Error; Session Present 1 with 0x00 is read [MQTT-3.2.2-6]', () => {
    expect(decode('20 03 01 00 00')).toEqual([{ type: 'connack', sessionPresent: true, returnCode: 0 }]);
    expect(decode('20 03 00 80 00')).toEqual([{ type: 'connack', sessionPresent: false, returnCode: 0x80 }]);
    for (const rc of ['80', '87', '9f']) {
      const err = rejected(`20 03 01 ${rc} 00`);
      expect([err.code, err.statement, err.reasonCode], rc).toEqual(['INVALID_REASON_CODE', 'MQTT-3.2.2-6', 0x82]);
    }
  });

  it('a reason code outside the Connect Reason Code table is a Protocol Error [MQTT-3.2.2-8]', () => {
    expect(decode('20 03 00 87 00')).toEqual([{ type: 'connack', sessionPresent: false, returnCode: 0x87 }]);
    for (const rc of ['01', '05', '10', '8b', 'a0', 'ff']) {
      const err = rejected(`20 03 00 ${rc} 00`);
      expect([err.code, err.statement, err.reasonCode], rc).toEqual(['INVALID_REASON_CODE', 'MQTT-3.2.2-8', 0x82]);
    }
  });
});

describe('MQTT 5 PUBLISH (3.3)', () => {
  it('DUP is 0 on every QoS 0 PUBLISH, and QoS 3 is refused both ways [MQTT-3.3.1-2] [MQTT-3.3.1-4]', () => {
    expect(refused(publish('a', { dup: true })).statement).toBe('MQTT-3.3.1-2');
    expect(bytesOf(publish('a', { qos: 1, packetId: 1, dup: true }))).toBe('3a 07 00 01 61 00 01 00 78');
    expect(refused(publish('a', { qos: 3 as 2, packetId: 1 })).statement).toBe('MQTT-3.3.1-4');
    expect([rejected('36 07 00 01 61 00 01 00 78').code, rejected('38 05 00 01 61 00 78').code]).toEqual(['INVALID_QOS', 'RESERVED_FLAGS']);
  });

  it('the Topic Name comes first, a UTF-8 string; an empty one is read only with a Topic Alias [MQTT-3.3.2-1] [MQTT-4.7.3-1]', () => {
    expect(decode('30 07 00 00 03 23 00 05 78')).toMatchObject([{ topic: '', properties: { topicAlias: 5 } }]);
    const err = rejected('30 04 00 00 00 78');
    expect([err.code, err.statement, err.reasonCode]).toEqual(['INVALID_TOPIC', 'MQTT-4.7.3-1', 0x82]);
    expect(bytesOf(publish('', { properties: { topicAlias: 5 } }))).toBe('30 07 00 00 03 23 00 05 78');
    expect(refused(publish('')).statement).toBe('MQTT-4.7.3-1');
  });

  it('no wildcards in a Topic Name, refused and rejected [MQTT-3.3.2-2] [MQTT-4.7.0-1]', () => {
    for (const topic of ['a/+', '#', 'a+b']) expect(refused(publish(topic)).statement, topic).toBe('MQTT-3.3.2-2');
    expect(rejected('30 06 00 02 61 23 00 78').statement).toBe('MQTT-3.3.2-2');
  });

  it('the client never writes Topic Alias 0; one from the server is answered with 0x94 [MQTT-3.3.2-8]', () => {
    expect(refused(publish('a', { properties: { topicAlias: 0 } })).statement).toBe('MQTT-3.3.2-8');
    expect(rejected('30 08 00 01 61 03 23 00 00 78').reasonCode).toBe(0x94);
  });

  it('Response Topic and Content Type are UTF-8 strings, and the Response Topic has no wildcards [MQTT-3.3.2-13] [MQTT-3.3.2-14] [MQTT-3.3.2-19]', () => {
    expect(bytesOf(publish('a', { properties: { responseTopic: 'r/1', contentType: 'é' } }))).toBe('30 10 00 01 61 0b 08 00 03 72 2f 31 03 00 02 c3 a9 78');
    expect(refused(publish('a', { properties: { responseTopic: 'r/#' } })).statement).toBe('MQTT-3.3.2-14');
    expect(rejected('30 0a 00 01 61 05 08 00 02 61 2b 78').statement).toBe('MQTT-3.3.2-14');
    expect(rejected('30 0a 00 01 61 05 08 00 02 c0 af 78').statement).toBe('MQTT-1.5.4-1');
    expect(rejected('30 0a 00 01 61 05 03 00 02 c0 af 78').statement).toBe('MQTT-1.5.4-1');
  });
});

describe('MQTT 5 reason codes of the acks, DISCONNECT and AUTH', () => {
  const cases: [string, number, string, number[], number[]][] = [
    // name, type number, first byte + id, codes the type has (a sample), codes it does not
    ['PUBACK', 4, '40 03 00 01', [0x00, 0x10, 0x91, 0x99], [0x01, 0x11, 0x92, 0x8f]],
    ['PUBREC', 5, '50 03 00 01', [0x00, 0x10, 0x87, 0x97], [0x04, 0x92, 0xa2]],
    ['PUBREL', 6, '62 03 00 01', [0x00, 0x92], [0x10, 0x80, 0x87]],
    ['PUBCOMP', 7, '70 03 00 01', [0x00, 0x92], [0x10, 0x80, 0x91]],
    ['DISCONNECT', 14, 'e0 01', [0x00, 0x04, 0x8e, 0xa2], [0x01, 0x10, 0x84, 0x91]],
  ];
  it('each carries one of its own reason codes: others are refused and, from the server, a Protocol Error [MQTT-3.4.2-1] [MQTT-3.5.2-1] [MQTT-3.6.2-1] [MQTT-3.7.2-1] [MQTT-3.14.2-1]', () => {
    const statement: Record<number, string> = { 4: 'MQTT-3.4.2-1', 5: 'MQTT-3.5.2-1', 6: 'MQTT-3.6.2-1', 7: 'MQTT-3.7.2-1', 14: 'MQTT-3.14.2-1' };
    for (const [name, type, head, good, bad] of cases) {
      const packet = (reasonCode: number): Packet =>
        (type === 14 ? { type: 'disconnect', reasonCode } : { type: name.toLowerCase(), packetId: 1, reasonCode }) as Packet;
      for (const rc of good) {
        expect(decode(`${head} ${rc.toString(16).padStart(2, '0')}`), `${name} 0x${rc.toString(16)}`).toMatchObject([{ reasonCode: rc }]);
        expect(() => encode(packet(rc), 5)).not.toThrow();
      }
      for (const rc of bad) {
        const err = rejected(`${head} ${rc.toString(16).padStart(2, '0')}`);
        expect([err.code, err.statement, err.reasonCode], `${name} 0x${rc.toString(16)}`).toEqual(['INVALID_REASON_CODE', statement[type], 0x82]);
        expect(refused(packet(rc)).statement).toBe(statement[type]);
      }
    }
  });

  it('AUTH carries 0x00, 0x18 or 0x19; others are refused and rejected [MQTT-3.15.2-1]', () => {
    expect(decode('f0 02 18 00 f0 00')).toEqual([{ type: 'auth', reasonCode: 0x18 }, { type: 'auth', reasonCode: 0 }]);
    for (const rc of [0x01, 0x17, 0x80, 0x87]) {
      expect(rejected(`f0 02 ${rc.toString(16).padStart(2, '0')} 00`).statement).toBe('MQTT-3.15.2-1');
      expect(refused({ type: 'auth', reasonCode: rc }).statement).toBe('MQTT-3.15.2-1');
    }
  });

  it('SUBACK and UNSUBACK codes outside their tables are a Protocol Error: a SUBACK code is a granted QoS (0, 1, 2) or a failure (0x80 and above) [MQTT-3.9.3-2] [MQTT-3.11.3-2] [MQTT-3.8.4-7]', () => {
    expect(decode('90 06 00 01 00 00 02 a2 b0 05 00 01 00 11 8f')).toEqual([
      { type: 'suback', packetId: 1, returnCodes: [0, 2, 0xa2] },
      { type: 'unsuback', packetId: 1, reasonCodes: [0x11, 0x8f] },
    ]);
    expect(rejected('90 05 00 01 00 00 03').statement).toBe('MQTT-3.9.3-2');
    expect(rejected('90 05 00 01 00 00 11').statement).toBe('MQTT-3.9.3-2');
    expect(rejected('b0 04 00 01 00 01').statement).toBe('MQTT-3.11.3-2');
    expect(rejected('b0 04 00 01 00 9e').statement).toBe('MQTT-3.11.3-2');
  });
});

describe('MQTT 5 SUBSCRIBE and UNSUBSCRIBE (3.8, 3.10, 4.7, 4.8)', () => {
  it('filters are UTF-8 strings and there is at least one [MQTT-3.8.3-1] [MQTT-3.8.3-2] [MQTT-3.10.3-1] [MQTT-3.10.3-2]', () => {
    expect(refused(subscribe('a\uD800')).statement).toBe('MQTT-1.5.4-1');
    expect(refused(unsubscribe('a\uD800')).statement).toBe('MQTT-1.5.4-1');
    expect(refused({ type: 'subscribe', packetId: 1, subscriptions: [] }).statement).toBe('MQTT-3.8.3-2');
    expect(refused({ type: 'unsubscribe', packetId: 1, topicFilters: [] }).statement).toBe('MQTT-3.10.3-2');
    expect(bytesOf(unsubscribe('é', '+/#'))).toBe('a2 0c 00 01 00 00 02 c3 a9 00 03 2b 2f 23');
  });

  it('the Subscription Options byte: QoS, No Local, Retain As Published, Retain Handling, reserved bits 0 [MQTT-3.8.3-5]', () => {
    for (let qos = 0; qos < 3; qos++) {
      for (let rh = 0; rh < 3; rh++) {
        for (const nl of [false, true]) {
          for (const rap of [false, true]) {
            const options = qos | (nl ? 4 : 0) | (rap ? 8 : 0) | (rh << 4);
            const bytes = bytesOf(subscribe('a', { qos, noLocal: nl, retainAsPublished: rap, retainHandling: rh }));
            expect(bytes, `options 0x${options.toString(16)}`).toBe(`82 07 00 01 00 00 01 61 ${options.toString(16).padStart(2, '0')}`);
          }
        }
      }
    }
    expect(refused(subscribe('a', { retainHandling: 3 })).code).toBe('INVALID_SUBSCRIPTION_OPTIONS');
  });

  it('No Local is refused on a shared subscription [MQTT-3.8.3-4]', () => {
    expect(refused(subscribe('$share/g/a', { noLocal: true })).statement).toBe('MQTT-3.8.3-4');
    expect(bytesOf(subscribe('$share/g/a'))).toBe('82 10 00 01 00 00 0a 24 73 68 61 72 65 2f 67 2f 61 00');
  });

  it('a shared subscription is $share/, a ShareName of one character or more without / + #, / and a filter [MQTT-4.8.2-1] [MQTT-4.8.2-2]', () => {
    expect(refused(subscribe('$share//a')).statement).toBe('MQTT-4.8.2-1');
    for (const f of ['$share/g', '$share/g/', '$share/+/a', '$share/#']) expect(refused(subscribe(f)).statement, f).toMatch(/^MQTT-4\.(8\.2-2|7\.1-1)$/);
    expect(refused(unsubscribe('$share/g')).statement).toBe('MQTT-4.8.2-2');
    for (const f of ['$share/g/+', '$share/g/a/#', '$sharex/a', '$share']) expect(() => encode(subscribe(f), 5), f).not.toThrow();
  });

  it("'#' alone or after '/' and last, '+' a whole level [MQTT-4.7.1-1] [MQTT-4.7.1-2]", () => {
    for (const f of ['a/#/b', 'a#']) expect(refused(subscribe(f)).statement, f).toBe('MQTT-4.7.1-1');
    for (const f of ['a+', '+a/b']) expect(refused(subscribe(f)).statement, f).toBe('MQTT-4.7.1-2');
    for (const f of ['#', 'a/#', '+', '+/a/+']) expect(() => encode(subscribe(f), 5), f).not.toThrow();
  });

  it('topic names and filters: at least one character, no U+0000, at most 65,535 bytes [MQTT-4.7.3-1] [MQTT-4.7.3-2] [MQTT-4.7.3-3]', () => {
    expect(refused(subscribe('')).statement).toBe('MQTT-4.7.3-1');
    expect(refused(publish('a\u0000')).statement).toBe('MQTT-4.7.3-2');
    expect(refused(subscribe('a'.repeat(65536))).statement).toBe('MQTT-4.7.3-3');
    expect(() => encode(publish('a'.repeat(65535)), 5)).not.toThrow();
  });
});
