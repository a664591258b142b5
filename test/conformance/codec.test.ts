/**
 * MQTT 3.1.1 statements about packet format, checked where they are decided: what the encoder
 * writes for the packets a client sends (and refuses to write), and what the client's decoder
 * (FrameDecoder with parseFromServer, as MqttClient uses it) rejects from a server. That the
 * client then closes the connection is shown in client.test.ts. Expected bytes are worked out by
 * hand from the spec, not produced by our encoder.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectPacket, Packet } from '../../src/codec/index.js';
import { hex, toHex, utf8 } from '../helpers/mqtt-bytes.js';
import { codecAt } from './codec-at.js';

const { decode, rejected, refused, bytesOf, publish, connect, subscribe, unsubscribe, everyClientString } = codecAt(4);

/** A QoS 0 PUBLISH from the server whose topic is `topicHex` (payload 'x'). */
const serverPublish = (topicHex: string): string => {
  const topic = hex(topicHex);
  return toHex(Uint8Array.of(0x30, 2 + topic.length + 1, 0, topic.length, ...topic, 0x78));
};

describe('MQTT 3.1.1 strings (1.5.3)', () => {
  it('an unpaired surrogate in any string the client sends is refused; ill-formed UTF-8 from the server is rejected [MQTT-1.5.3-1]', () => {
    for (const [field, packet] of [...everyClientString('\uD800'), ...everyClientString('\uDFFF')]) {
      expect(refused(packet).statement, field).toBe('MQTT-1.5.3-1');
    }
    // Control: a surrogate pair is a real character and is written as 4 bytes.
    expect(bytesOf(publish('\u{1F600}'))).toBe('30 07 00 04 f0 9f 98 80 78');
    const illFormed = {
      'an encoded surrogate (U+D800)': 'ed a0 80',
      'an encoded surrogate (U+DFFF)': 'ed bf bf',
      'an overlong "/"': 'c0 af',
      'a byte that never occurs (0xFF)': 'ff',
      'a truncated sequence': 'e2 82',
      'a lone continuation byte': '80',
    };
    for (const [what, topic] of Object.entries(illFormed)) {
      const err = rejected(serverPublish(`61 ${topic}`));
      expect([err.code, err.statement], what).toEqual(['INVALID_UTF8', 'MQTT-1.5.3-1']);
    }
    expect(decode(serverPublish('61 e2 82 ac'))).toMatchObject([{ topic: 'a€' }]);
  });

  it('U+0000 in any string the client sends is refused, and in a string from the server rejected [MQTT-1.5.3-2]', () => {
    for (const [field, packet] of everyClientString('\u0000')) {
      expect(refused(packet).statement, field).toMatch(/^MQTT-(1\.5\.3-2|4\.7\.3-2)$/);
    }
    const err = rejected(serverPublish('61 00 62'));
    expect([err.code, err.statement]).toEqual(['INVALID_UTF8', 'MQTT-1.5.3-2']);
    // Control: U+0001 is well-formed and accepted.
    expect(decode(serverPublish('61 01 62'))).toMatchObject([{ topic: 'a\u0001b' }]);
  });
});

describe('MQTT 3.1.1 fixed-header flags (2.2.2)', () => {
  it('every packet the client sends carries the flags of Table 2.2: 0010 for PUBREL, SUBSCRIBE and UNSUBSCRIBE, 0000 for the others [MQTT-2.2.2-1] [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]', () => {
    expect(bytesOf(connect())).toBe('10 0d 00 04 4d 51 54 54 04 02 00 00 00 01 63');
    expect(bytesOf({ type: 'puback', packetId: 7 })).toBe('40 02 00 07');
    expect(bytesOf({ type: 'pubrec', packetId: 7 })).toBe('50 02 00 07');
    expect(bytesOf({ type: 'pubrel', packetId: 7 })).toBe('62 02 00 07');
    expect(bytesOf({ type: 'pubcomp', packetId: 7 })).toBe('70 02 00 07');
    expect(bytesOf(subscribe('a'))).toBe('82 06 00 01 00 01 61 00');
    expect(bytesOf(unsubscribe('a'))).toBe('a2 05 00 01 00 01 61');
    expect(bytesOf({ type: 'pingreq' })).toBe('c0 00');
    expect(bytesOf({ type: 'disconnect' })).toBe('e0 00');
  });

  it('a server packet with any other flag bits is malformed [MQTT-2.2.2-2] [MQTT-3.6.1-1]', () => {
    const serverPackets: [string, number, string][] = [
      ['CONNACK', 0x20, '02 00 00'],
      ['PUBACK', 0x40, '02 00 01'],
      ['PUBREC', 0x50, '02 00 01'],
      ['PUBREL', 0x62, '02 00 01'],
      ['PUBCOMP', 0x70, '02 00 01'],
      ['SUBACK', 0x90, '03 00 01 00'],
      ['UNSUBACK', 0xb0, '02 00 01'],
      ['PINGRESP', 0xd0, '00'],
    ];
    for (const [name, first, rest] of serverPackets) {
      expect(decode(`${first.toString(16)} ${rest}`), `${name} with its own flags`).toHaveLength(1);
      for (let flags = 0; flags < 16; flags++) {
        const byte = (first & 0xf0) | flags;
        if (byte === first) continue;
        const err = rejected(`${byte.toString(16)} ${rest}`);
        expect(err.code, `${name} flags ${flags.toString(2)}`).toBe('RESERVED_FLAGS');
        expect(err.statement, `${name} flags ${flags.toString(2)}`).toBe(name === 'PUBREL' ? 'MQTT-3.6.1-1' : 'MQTT-2.2.2-2');
      }
    }
  });
});

describe('MQTT 3.1.1 packet identifiers (2.3.1)', () => {
  it('a QoS 0 PUBLISH is written without a packet identifier, even from an object that has one; from the server, what follows its topic is payload [MQTT-2.3.1-5]', () => {
    expect(bytesOf(publish('t', { packetId: 7 }))).toBe('30 04 00 01 74 78');
    const [p] = decode('30 05 00 01 74 00 07');
    expect(p).toStrictEqual({ type: 'publish', topic: 't', payload: Uint8Array.of(0, 7), qos: 0, retain: false, dup: false });
    // Control: at QoS 1 the same two bytes are the packet identifier.
    expect(decode('32 05 00 01 74 00 07')).toMatchObject([{ packetId: 7, payload: new Uint8Array(0) }]);
  });
});

describe('MQTT 3.1.1 CONNECT (3.1)', () => {
  it('the payload is Client Identifier first, then Will Topic, Will Message, User Name, Password, each with its flag set [MQTT-3.1.3-1] [MQTT-3.1.3-3] [MQTT-3.1.2-9] [MQTT-3.1.2-19] [MQTT-3.1.2-21]', () => {
    const all = connect({
      clean: false,
      keepalive: 10,
      will: { topic: 'w', payload: utf8('W'), qos: 1, retain: true },
      username: 'u',
      password: utf8('p'),
    });
    // Flags 0xec: user name, password, will retain, will QoS 1, will; CleanSession 0, reserved 0.
    expect(bytesOf(all)).toBe('10 19 00 04 4d 51 54 54 04 ec 00 0a 00 01 63 00 01 77 00 01 57 00 01 75 00 01 70');
    // The client id is written even when empty, still first.
    expect(bytesOf(connect({ clientId: '', username: 'u' }))).toBe('10 0f 00 04 4d 51 54 54 04 82 00 00 00 00 00 01 75');
  });

  it('without a will, the Will Flag, Will QoS and Will Retain are 0 and no will fields are written [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]', () => {
    expect(bytesOf(connect())).toBe('10 0d 00 04 4d 51 54 54 04 02 00 00 00 01 63');
    // Control: a will of QoS 2 with retain sets exactly the will bits (0x04 | 0x10 | 0x20) and adds its fields.
    expect(bytesOf(connect({ will: { topic: 'w', payload: utf8('W'), qos: 2, retain: true } }))).toBe(
      '10 13 00 04 4d 51 54 54 04 36 00 00 00 01 63 00 01 77 00 01 57',
    );
  });

  it('an absent user name or password is not written and its flag is 0; an empty one is written with its flag [MQTT-3.1.2-18] [MQTT-3.1.2-20] [MQTT-3.1.2-19] [MQTT-3.1.2-21]', () => {
    expect(bytesOf(connect({ username: 'u' }))).toBe('10 10 00 04 4d 51 54 54 04 82 00 00 00 01 63 00 01 75');
    expect(bytesOf(connect({ username: '', password: new Uint8Array(0) }))).toBe('10 11 00 04 4d 51 54 54 04 c2 00 00 00 01 63 00 00 00 00');
  });

  it('will QoS 3 is refused [MQTT-3.1.2-14]', () => {
    const err = refused(connect({ will: { topic: 'w', payload: utf8('W'), qos: 3 as never, retain: false } }));
    expect([err.code, err.statement]).toEqual(['INVALID_QOS', 'MQTT-3.1.2-14']);
  });

  it('the client id is written as a UTF-8 string; one with U+0000 or an unpaired surrogate is refused [MQTT-3.1.3-4]', () => {
    expect(bytesOf(connect({ clientId: 'é' }))).toBe('10 0e 00 04 4d 51 54 54 04 02 00 00 00 02 c3 a9');
    expect(refused(connect({ clientId: 'a\u0000' })).code).toBe('INVALID_UTF8');
    expect(refused(connect({ clientId: 'a\uD800' })).code).toBe('INVALID_UTF8');
  });

  it('the will topic is written as a UTF-8 topic name; an empty one, U+0000, an unpaired surrogate or a wildcard is refused [MQTT-3.1.3-10] [MQTT-4.7.1-1]', () => {
    const withWill = (topic: string): ConnectPacket => connect({ will: { topic, payload: new Uint8Array(0), qos: 0, retain: false } });
    expect(bytesOf(withWill('é'))).toBe('10 13 00 04 4d 51 54 54 04 06 00 00 00 01 63 00 02 c3 a9 00 00');
    for (const bad of ['', 'a\u0000', 'a\uD800', 'a/+', 'a/#', '#']) expect(refused(withWill(bad)).code, JSON.stringify(bad)).toBe('INVALID_TOPIC');
    expect(refused(withWill('a/+')).statement).toBe('MQTT-4.7.1-1');
  });

  it('the user name is written as a UTF-8 string; one with U+0000 or an unpaired surrogate is refused [MQTT-3.1.3-11]', () => {
    expect(bytesOf(connect({ username: 'é' }))).toBe('10 11 00 04 4d 51 54 54 04 82 00 00 00 01 63 00 02 c3 a9');
    expect(refused(connect({ username: 'a\u0000' })).code).toBe('INVALID_UTF8');
    expect(refused(connect({ username: '\uDC00a' })).code).toBe('INVALID_UTF8');
  });
});

describe('MQTT 3.1.1 CONNACK (3.2)', () => {
  it('a CONNACK with a non-zero return code and Session Present set is rejected [MQTT-3.2.2-4]', () => {
    for (const rc of [1, 2, 3, 4, 5, 6, 0xff]) {
      const err = rejected(`20 02 01 ${rc.toString(16).padStart(2, '0')}`);
      expect([err.code, err.statement], `return code ${rc}`).toEqual(['INVALID_RETURN_CODE', 'MQTT-3.2.2-4']);
    }
    // Controls: Session Present with 0, and a refusal without Session Present.
    expect(decode('20 02 01 00')).toStrictEqual([{ type: 'connack', sessionPresent: true, returnCode: 0 }]);
    expect(decode('20 02 00 05')).toStrictEqual([{ type: 'connack', sessionPresent: false, returnCode: 5 }]);
  });
});

describe('MQTT 3.1.1 PUBLISH (3.3)', () => {
  it('DUP is never set on QoS 0: the encoder refuses it, the decoder rejects it [MQTT-3.3.1-2]', () => {
    expect(refused(publish('t', { dup: true })).statement).toBe('MQTT-3.3.1-2');
    const err = rejected('38 04 00 01 74 78');
    expect([err.code, err.statement]).toEqual(['RESERVED_FLAGS', 'MQTT-3.3.1-2']);
    // Controls: DUP on QoS 1 is written and read.
    expect(bytesOf(publish('t', { qos: 1, dup: true, packetId: 1 }))).toBe('3a 06 00 01 74 00 01 78');
    expect(decode('3a 06 00 01 74 00 01 78')).toMatchObject([{ qos: 1, dup: true }]);
  });

  it('QoS 3 is refused by the encoder and both QoS bits set is rejected by the decoder [MQTT-3.3.1-4]', () => {
    expect(refused(publish('t', { qos: 3 as never, packetId: 1 })).statement).toBe('MQTT-3.3.1-4');
    for (const first of ['36', '37', '3e', '3f']) {
      const err = rejected(`${first} 06 00 01 74 00 01 78`);
      expect([err.code, err.statement], first).toEqual(['INVALID_QOS', 'MQTT-3.3.1-4']);
    }
    expect(decode('34 06 00 01 74 00 01 78')).toMatchObject([{ qos: 2, packetId: 1 }]);
  });

  it('the topic name is the first field, a UTF-8 string, written and read as such [MQTT-3.3.2-1]', () => {
    const p = publish('é/1', { qos: 1, packetId: 0x1234 });
    expect(bytesOf(p)).toBe('32 09 00 04 c3 a9 2f 31 12 34 78');
    expect(decode('32 09 00 04 c3 a9 2f 31 12 34 78')).toStrictEqual([p]);
    expect(rejected(serverPublish('c3')).code).toBe('INVALID_UTF8');
  });

  it('a topic name with + or # is refused by the encoder and rejected from the server [MQTT-3.3.2-2] [MQTT-4.7.1-1]', () => {
    for (const topic of ['+', '#', 'a/+', 'a/#', 'a+', '#a', 'a/+/b']) {
      expect(refused(publish(topic)).statement, topic).toBe('MQTT-3.3.2-2');
      const err = rejected(serverPublish(toHex(utf8(topic))));
      expect([err.code, err.statement], topic).toEqual(['INVALID_TOPIC', 'MQTT-3.3.2-2']);
    }
    expect(decode(serverPublish(toHex(utf8('a/b$c'))))).toMatchObject([{ topic: 'a/b$c' }]);
  });
});

describe('MQTT 3.1.1 SUBSCRIBE and UNSUBSCRIBE (3.8, 3.10)', () => {
  it('topic filters are written as UTF-8 strings one after another; U+0000 or an unpaired surrogate is refused [MQTT-3.8.3-1] [MQTT-3.10.3-1]', () => {
    const sub: Packet = { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'é/#', qos: 1 }, { topicFilter: 'b', qos: 2 }] };
    expect(bytesOf(sub)).toBe('82 0d 00 01 00 04 c3 a9 2f 23 01 00 01 62 02');
    expect(bytesOf(unsubscribe('é/#', 'b'))).toBe('a2 0b 00 01 00 04 c3 a9 2f 23 00 01 62');
    for (const bad of ['a\u0000', 'a\uD800']) {
      expect(refused(subscribe(['ok', bad])).code, JSON.stringify(bad)).toBe('INVALID_TOPIC');
      expect(refused(unsubscribe('ok', bad)).code, JSON.stringify(bad)).toBe('INVALID_TOPIC');
    }
  });

  it('a SUBSCRIBE or UNSUBSCRIBE without topic filters is refused [MQTT-3.8.3-3] [MQTT-3.10.3-2]', () => {
    expect(refused({ type: 'subscribe', packetId: 1, subscriptions: [] }).statement).toBe('MQTT-3.8.3-3');
    expect(refused({ type: 'unsubscribe', packetId: 1, topicFilters: [] }).statement).toBe('MQTT-3.10.3-2');
  });

  it('the requested QoS byte is 0, 1 or 2 with its reserved bits 0; anything else is refused [MQTT-3-8.3-4]', () => {
    for (const qos of [0, 1, 2] as const) {
      expect(bytesOf({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos }] })).toBe(`82 06 00 01 00 01 61 0${qos}`);
    }
    for (const qos of [3, 4, 0x80, -1, 1.5]) {
      const err = refused({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos }] });
      expect([err.code, err.statement], String(qos)).toEqual(['INVALID_QOS', 'MQTT-3-8.3-4']);
    }
  });

  it("a '#' not alone or after '/', or not last, is refused in filters [MQTT-4.7.1-2]", () => {
    for (const f of ['#', 'a/#', '/#', '+/#']) expect(bytesOf(subscribe(f)), f).toMatch(/^82 /);
    for (const f of ['a#', 'a/#/b', '#/', '##', 'a/b#']) {
      expect(refused(subscribe(f)).statement, f).toBe('MQTT-4.7.1-2');
      expect(refused(unsubscribe(f)).statement, f).toBe('MQTT-4.7.1-2');
    }
  });

  it("a '+' that does not occupy a whole level is refused in filters [MQTT-4.7.1-3]", () => {
    for (const f of ['+', '+/a', 'a/+', 'a/+/b', '/+', '+/+']) expect(bytesOf(subscribe(f)), f).toMatch(/^82 /);
    for (const f of ['a+', '+a', 'a/+b', 'a/b+/c', '++']) {
      expect(refused(subscribe(f)).statement, f).toBe('MQTT-4.7.1-3');
      expect(refused(unsubscribe(f)).statement, f).toBe('MQTT-4.7.1-3');
    }
  });
});

describe('MQTT 3.1.1 topic names and filters (4.7.3)', () => {
  it('empty topic names and filters are refused; an empty topic from the server is rejected [MQTT-4.7.3-1]', () => {
    expect(refused(publish('')).statement).toBe('MQTT-4.7.3-1');
    expect(refused(subscribe('')).statement).toBe('MQTT-4.7.3-1');
    expect(refused(unsubscribe('')).statement).toBe('MQTT-4.7.3-1');
    const err = rejected('30 03 00 00 78');
    expect([err.code, err.statement]).toEqual(['INVALID_TOPIC', 'MQTT-4.7.3-1']);
    // Control: one character is enough ('/' alone is a valid topic name).
    expect(decode('30 04 00 01 2f 78')).toMatchObject([{ topic: '/' }]);
  });

  it('topic names and filters with U+0000 are refused; one from the server is rejected [MQTT-4.7.3-2]', () => {
    expect(refused(publish('a\u0000b')).statement).toBe('MQTT-4.7.3-2');
    expect(refused(subscribe('a\u0000')).statement).toBe('MQTT-4.7.3-2');
    expect(refused(unsubscribe('\u0000')).statement).toBe('MQTT-4.7.3-2');
    expect(rejected(serverPublish('00')).code).toBe('INVALID_UTF8');
  });
});

describe('MQTT 3.1.1 SUBACK (3.9)', () => {
  it('a SUBACK return code other than 0x00, 0x01, 0x02 or 0x80 is rejected [MQTT-3.9.3-2]', () => {
    for (let rc = 0; rc < 256; rc++) {
      const bytes = `90 04 00 01 00 ${rc.toString(16).padStart(2, '0')}`;
      if (rc <= 2 || rc === 0x80) {
        expect(decode(bytes), `return code ${rc}`).toStrictEqual([{ type: 'suback', packetId: 1, returnCodes: [0, rc] }]);
      } else {
        const err = rejected(bytes);
        expect([err.code, err.statement], `return code ${rc}`).toEqual(['INVALID_RETURN_CODE', 'MQTT-3.9.3-2']);
      }
    }
  });
});
