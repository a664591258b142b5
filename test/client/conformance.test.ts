/**
 * Every server-to-client byte sequence of mosquitto's v3.1.1 test data, fed to the client by the fake
 * broker after a valid CONNACK. For each case the client must either answer correctly and stay up, or close
 * with an MqttProtocolError of a stable code; never crash, never hang.
 *
 * The file's `expect_disconnect` was written for a broker receiving these packets, so the expectations here
 * are decided from the MQTT 3.1.1 specification, case by case (see test/fixtures/conformance/README.md).
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MqttProtocolError } from '../../src/index.js';
import type { ProtocolErrorCode } from '../../src/errors.js';
import { hex, toHex } from '../helpers/fake-broker.js';
import { connectToFake, expectAlive, expectQuiet, rejection, take, useHarness, watchProcessErrors, within } from './helpers.js';

interface ConformanceCase {
  packet: string;
  group: string;
  name: string;
  expect_disconnect: boolean;
  msgs: Array<{ type: 'send' | 'recv'; payload: string }>;
}

const FILE = new URL('../fixtures/conformance/mosquitto-server-to-client-v311.json', import.meta.url);
const CASES = JSON.parse(fs.readFileSync(FILE, 'utf8')) as ConformanceCase[];

/** The client closes the connection with this MqttProtocolError code. */
interface Fails {
  fails: ProtocolErrorCode;
}
/** The client follows the case's send/recv script and stays connected; `delivers` is the message it hands over. */
interface Works {
  works: true;
  delivers?: { topic: string; payload: string; qos: 0 | 1 | 2; retain: boolean; dup: boolean };
}
type Expectation = Fails | Works;

const ok: Works = { works: true };
const fails = (code: ProtocolErrorCode): Fails => ({ fails: code });
const msg = (topic: string, over: Partial<NonNullable<Works['delivers']>> = {}): Works => ({
  works: true,
  delivers: { topic, payload: 'payload', qos: 0, retain: false, dup: false, ...over },
});

const EXPECTATIONS: Record<string, Expectation> = {
  // A second CONNACK after the first is never valid; malformed ones fail in the decoder first.
  'CONNACK | 20 long': fails('TRAILING_BYTES'),
  'CONNACK | 20 short 1': fails('TRUNCATED'),
  'CONNACK | 20 short 0': fails('TRUNCATED'),
  'CONNACK | 20': fails('UNEXPECTED_PACKET'),
  'CONNACK | 21': fails('RESERVED_FLAGS'),
  'CONNACK | 22': fails('RESERVED_FLAGS'),
  'CONNACK | 24': fails('RESERVED_FLAGS'),
  'CONNACK | 28': fails('RESERVED_FLAGS'),
  'CONNACK | issue 2163 v4': fails('RESERVED_FLAGS'),
  'CONNACK | 20 CAF=0x01': fails('UNEXPECTED_PACKET'), // well-formed (session present), but a second CONNACK
  'CONNACK | 20 CAF=0x02': fails('RESERVED_FLAGS'), // 3.2.2.1: bits 7-1 of the acknowledge flags are reserved
  'CONNACK | 20 CAF=0x04': fails('RESERVED_FLAGS'),
  'CONNACK | 20 CAF=0x08': fails('RESERVED_FLAGS'),
  'CONNACK | 20 CAF=0x10': fails('RESERVED_FLAGS'),
  'CONNACK | 20 CAF=0x20': fails('RESERVED_FLAGS'),
  'CONNACK | 20 CAF=0x40': fails('RESERVED_FLAGS'),
  'CONNACK | 20 CAF=0x80': fails('RESERVED_FLAGS'),

  'PUBLISH | 30': msg('topic'),
  'PUBLISH | 31 retain 1': msg('topic', { retain: true }),
  'PUBLISH | 31 retain 1 zero length': msg('topic', { retain: true, payload: '' }),
  'PUBLISH | 30 topic 0': fails('INVALID_TOPIC'), // MQTT-4.7.3-1
  'PUBLISH | 38 QoS 0 Dup 1': fails('RESERVED_FLAGS'), // MQTT-3.3.1-2
  'PUBLISH | 36 QoS 3 (no mid) [MQTT-3.3.1-4]': fails('INVALID_QOS'),
  'PUBLISH | 36 QoS 3 (with mid) [MQTT-3.3.1-4]': fails('INVALID_QOS'),
  'PUBLISH | 32 QoS 1 Mid 0': fails('INVALID_PACKET_ID'), // MQTT-2.3.1-1
  'PUBLISH | 34 QoS 2 Mid 0': fails('INVALID_PACKET_ID'),
  'PUBLISH | 32 QoS 1 Dup 0': msg('topic', { qos: 1 }),
  'PUBLISH | 3A QoS 1 Dup 1': msg('topic', { qos: 1, dup: true }),
  'PUBLISH | 34 QoS 2 Dup 0': msg('topic', { qos: 2 }),
  'PUBLISH | 3C QoS 2 Dup 1': msg('topic', { qos: 2, dup: true }),
  'PUBLISH | 30 topic with 0x0000': fails('INVALID_UTF8'), // MQTT-1.5.3-2
  'PUBLISH | 30 topic with U+D800': fails('INVALID_UTF8'), // MQTT-1.5.3-1
  // Control characters: the spec says SHOULD NOT, and a receiver MAY close (1.5.3). The client accepts them.
  'PUBLISH | 30 topic with U+0001': msg('top\u0001p'),
  'PUBLISH | 30 topic with U+001F': msg('top\u001fp'),
  'PUBLISH | 30 topic with U+007F': msg('top\u007fp'),
  'PUBLISH | 30 topic with U+009F': msg('to\u009fp'),
  // The name says U+FFFF, but ED BF BF encodes U+DFFF, a surrogate: ill-formed UTF-8, MQTT-1.5.3-1.
  'PUBLISH | 30 topic with U+FFFF': fails('INVALID_UTF8'),
  'PUBLISH | 30 topic with U+2A6D4 (section 1.5.3.1)': msg('A\u{2A6D4}'),
  'PUBLISH | 30 topic with + [MQTT-3.3.2-2]': fails('INVALID_TOPIC'),
  'PUBLISH | 30 topic with # [MQTT-3.3.2-2]': fails('INVALID_TOPIC'),

  // Acknowledgements: wrong length or flags are malformed; id 0 is never valid; an unknown id is ignored
  // (PUBACK, PUBCOMP, SUBACK, UNSUBACK) or answered so the broker can finish its flow (PUBREC, PUBREL).
  'PUBACK | 40 unsolicited long': fails('TRAILING_BYTES'),
  'PUBACK | 40 unsolicited mid 0': fails('INVALID_PACKET_ID'),
  'PUBACK | 40 unsolicited short 0': fails('TRUNCATED'),
  'PUBACK | 40 unsolicited short 1': fails('TRUNCATED'),
  'PUBACK | 40 unsolicited': ok,
  'PUBACK | 41 unsolicited': fails('RESERVED_FLAGS'),
  'PUBACK | 42 unsolicited': fails('RESERVED_FLAGS'),
  'PUBACK | 44 unsolicited': fails('RESERVED_FLAGS'),
  'PUBACK | 48 unsolicited': fails('RESERVED_FLAGS'),
  'PUBREC | 50 unsolicited': ok,
  'PUBREC | 50 unsolicited long': fails('TRAILING_BYTES'),
  'PUBREC | 50 unsolicited mid 0': fails('INVALID_PACKET_ID'),
  'PUBREC | 50 unsolicited short 0': fails('TRUNCATED'),
  'PUBREC | 50 unsolicited short 1': fails('TRUNCATED'),
  'PUBREC | 51 unsolicited': fails('RESERVED_FLAGS'),
  'PUBREC | 52 unsolicited': fails('RESERVED_FLAGS'),
  'PUBREC | 54 unsolicited': fails('RESERVED_FLAGS'),
  'PUBREC | 58 unsolicited': fails('RESERVED_FLAGS'),
  'PUBREL | 62 unsolicited': ok,
  'PUBREL | 62 unsolicited long': fails('TRAILING_BYTES'),
  'PUBREL | 62 unsolicited mid 0': fails('INVALID_PACKET_ID'),
  'PUBREL | 62 unsolicited short 0': fails('TRUNCATED'), // the truncated PUBREL that crashes MQTT.js
  'PUBREL | 62 unsolicited short 1': fails('TRUNCATED'),
  'PUBREL | 63 unsolicited [MQTT-3.6.1-1]': fails('RESERVED_FLAGS'),
  'PUBREL | 64 unsolicited [MQTT-3.6.1-1]': fails('RESERVED_FLAGS'),
  'PUBREL | 66 unsolicited [MQTT-3.6.1-1]': fails('RESERVED_FLAGS'),
  'PUBREL | 6A unsolicited [MQTT-3.6.1-1]': fails('RESERVED_FLAGS'),
  'PUBCOMP | 70 unsolicited long': fails('TRAILING_BYTES'),
  'PUBCOMP | 70 unsolicited mid 0': fails('INVALID_PACKET_ID'),
  'PUBCOMP | 70 unsolicited short 0': fails('TRUNCATED'),
  'PUBCOMP | 70 unsolicited short 1': fails('TRUNCATED'),
  'PUBCOMP | 70 unsolicited': ok,
  'PUBCOMP | 71 unsolicited': fails('RESERVED_FLAGS'),
  'PUBCOMP | 72 unsolicited': fails('RESERVED_FLAGS'),
  'PUBCOMP | 74 unsolicited': fails('RESERVED_FLAGS'),
  'PUBCOMP | 78 unsolicited': fails('RESERVED_FLAGS'),
  'SUBACK | 90 mid 0': fails('INVALID_PACKET_ID'), // MQTT-2.3.1-7
  'SUBACK | 90': ok, // well-formed, for no pending SUBSCRIBE
  'SUBACK | 90 short 0': fails('TRUNCATED'),
  'SUBACK | 90 short 1': fails('TRUNCATED'),
  'SUBACK | 90 short 2': fails('EMPTY_SUBSCRIPTION'), // a packet id and no return code
  'SUBACK | 91': fails('RESERVED_FLAGS'),
  'SUBACK | 92': fails('RESERVED_FLAGS'),
  'SUBACK | 94': fails('RESERVED_FLAGS'),
  'SUBACK | 98': fails('RESERVED_FLAGS'),
  'UNSUBACK | B0 long': fails('TRAILING_BYTES'),
  'UNSUBACK | B0 short 0': fails('TRUNCATED'),
  'UNSUBACK | B0 short 1': fails('TRUNCATED'),
  'UNSUBACK | B0': ok,
  'UNSUBACK | B1': fails('RESERVED_FLAGS'),
  'UNSUBACK | B2': fails('RESERVED_FLAGS'),
  'UNSUBACK | B4': fails('RESERVED_FLAGS'),
  'UNSUBACK | B8': fails('RESERVED_FLAGS'),
  'PINGRESP | D0 long': fails('TRAILING_BYTES'),
  'PINGRESP | D0': ok, // unsolicited: nothing to time, nothing to answer
  'PINGRESP | D1': fails('RESERVED_FLAGS'),
  'PINGRESP | D2': fails('RESERVED_FLAGS'),
  'PINGRESP | D4': fails('RESERVED_FLAGS'),
  'PINGRESP | D8': fails('RESERVED_FLAGS'),
  // A 3.1.1 server never sends DISCONNECT.
  'DISCONNECT | E0 long': fails('TRAILING_BYTES'),
  'DISCONNECT | E0 valid': fails('UNEXPECTED_PACKET'),
  'DISCONNECT | E1 [MQTT-3.14.1-1]': fails('RESERVED_FLAGS'),
  'DISCONNECT | E2 [MQTT-3.14.1-1]': fails('RESERVED_FLAGS'),
  'DISCONNECT | E4 [MQTT-3.14.1-1]': fails('RESERVED_FLAGS'),
  'DISCONNECT | E8 [MQTT-3.14.1-1]': fails('RESERVED_FLAGS'),
};

const key = (c: ConformanceCase): string => `${c.packet} | ${c.name}`;

const h = useHarness();

describe('mosquitto server-to-client v3.1.1 cases', () => {
  it('the data file has the 105 cases, each with an expectation here', () => {
    expect(CASES).toHaveLength(105);
    expect(CASES.map(key).filter((k) => !(k in EXPECTATIONS))).toEqual([]);
    expect(Object.keys(EXPECTATIONS).filter((k) => !CASES.some((c) => key(c) === k))).toEqual([]);
  });

  it.each(CASES.map((c) => [key(c), c] as const))('%s', async (_name, tc) => {
    const expectation = EXPECTATIONS[key(tc)];
    if (!expectation) throw new Error(`no expectation for ${key(tc)}`);
    const watch = watchProcessErrors();
    h.defer(() => watch.stop());
    const { c, conn } = await connectToFake(h);
    const unrouted = c.messages();

    if ('fails' in expectation) {
      expect(tc.msgs.map((m) => m.type)).toEqual(['send']);
      conn.write(hex(tc.msgs[0]!.payload));
      const err = await rejection(c.closed, 1000);
      expect(err).toBeInstanceOf(MqttProtocolError);
      expect({ code: (err as MqttProtocolError).code }).toEqual({ code: expectation.fails });
      await conn.expectClosed(1000);
      await expect(unrouted.next()).rejects.toBe(err);
      expect(c.stats().messagesIn).toBe(0);
    } else {
      const script = (async () => {
        for (const m of tc.msgs) {
          if (m.type === 'send') conn.write(hex(m.payload));
          else expect(toHex(await conn.nextPacket(1000))).toBe(toHex(hex(m.payload)));
        }
      })();
      await within(script, 2000, 'the case script');
      if (expectation.delivers) {
        const [m] = await take(unrouted, 1, 1000);
        expect({ topic: m!.topic, payload: m!.text(), qos: m!.qos, retain: m!.retain, dup: m!.dup }).toEqual(expectation.delivers);
      }
      await expectAlive(c, conn);
      const [probe] = await take(unrouted, 1, 1000);
      expect(probe!.topic).toBe('probe'); // nothing else was delivered
      await expectQuiet(conn);
    }
    expect(watch.errors).toEqual([]);
  });
});
