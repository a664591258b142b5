/**
 * The MQTT 5 cases of mqtt-packet 9.0.2's fixtures (test/fixtures/conformance/mqtt-packet-fixtures.json, the
 * 59 with protocolVersion 5 or properties), through our codec at protocol level 5.
 *
 * Where mqtt-packet and the MQTT 5.0 specification disagree, the specification wins: each such fixture is
 * listed below by name with the section that decides it, and the test asserts the specification's behaviour.
 * Where both are allowed (a sender may leave out a reason code 0 or an empty Property Length), our encoder
 * writes the shorter form, also listed, and the fixture's longer bytes still decode to the same packet.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encode, MqttProtocolError, PacketDecoder, type Packet } from '../../src/codec/index.js';
import { bytewise, embedded, fromHex, hex, normalize, splitAt } from './arbitraries.js';
import { fixtureBytes, fixtureName, fromMqttPacket, isMqtt5, type Fixture, type FixtureBytes, type MpObject } from './mqtt-packet-fixtures.js';
import { mqtt5StatementIds } from './statements.js';

const all = (
  JSON.parse(readFileSync(new URL('../fixtures/conformance/mqtt-packet-fixtures.json', import.meta.url), 'utf8')) as Fixture[]
).map((f, index) => ({ ...f, index }));
const v5 = all.filter(isMqtt5);

/** mqtt-packet accepts these bytes; MQTT 5 does not. */
const SPEC_REJECTS: Record<string, string> = {
  // 3.2.2: the CONNACK Variable Header is Connect Acknowledge Flags, Connect Reason Code and Properties; unlike
  // the acks (3.4.2.1) and DISCONNECT (3.14.2.1) nothing in it may be left out.
  'Version 5 CONNACK test 1': 'Remaining Length 1: no Connect Reason Code, no Property Length (3.2.2)',
  'Version 5 CONNACK test 2': 'no Property Length (3.2.2.3.1); only a 3.1.1 refusal (return code 1) is read in that form',
  // 3.2.2.3.4: "It is a Protocol Error to include Maximum QoS more than once, or to have a value other than 0 or 1."
  'connack MQTT 5 with properties': 'Maximum QoS 2 (3.2.2.3.4)',
  'connack MQTT 5 with properties and doubled user properties': 'Maximum QoS 2 (3.2.2.3.4)',
};

/** The same packet; our encoder leaves out what the spec lets a sender leave out. */
const SHORTER: Record<string, string> = {
  // 3.14.2.1: "The Reason Code and Property Length can be omitted if the Reason Code is 0x00 ... and there are no Properties."
  'Version 5 DISCONNECT test 3': 'e000',
  'disconnect MQTT 5 with no properties': 'e000',
  // 3.4.2.2: "If the Remaining Length is less than 4 there is no Property Length and the value of 0 is used."
  'puback with reason and no MQTT 5 properties': '4003000210',
};

/**
 * Read differently by design (the spec says nothing): a 3.1.1 server answers a level-5 CONNECT with its own
 * 2-byte CONNACK and return code 1, "unacceptable protocol version" (3.1.1's MQTT-3.1.2-2). mqtt-packet gives
 * reasonCode 1, which is no MQTT 5 CONNACK code; we give the MQTT 5 code that means the same, 0x84 Unsupported
 * Protocol Version, as Mosquitto's client library does.
 */
const OUR_READING: Record<string, Packet> = {
  'Version 4 CONACK in Version 5 mode': { type: 'connack', sessionPresent: false, returnCode: 0x84 },
};

const errors: MqttProtocolError[] = [];

function decode(chunks: Uint8Array[], protocolLevel: 4 | 5 = 5): Packet[] {
  const decoder = new PacketDecoder({ protocolLevel });
  const out: Packet[] = [];
  for (const c of chunks) out.push(...decoder.push(c));
  expect(decoder.bufferedBytes).toBe(0);
  return out;
}

function expectDecodes(bytes: Uint8Array, expected: Packet, where: string): void {
  const want = normalize([expected]);
  expect(normalize(decode([embedded(bytes)])), `${where}: whole`).toEqual(want);
  expect(normalize(decode(bytewise(bytes))), `${where}: byte at a time`).toEqual(want);
  for (let i = 1; i < bytes.length; i++) expect(normalize(decode(splitAt(bytes, [i]))), `${where}: split at ${i}`).toEqual(want);
  // A CONNECT names its level: a 3.1.1 decoder reads it the same.
  if (expected.type === 'connect') expect(normalize(decode([bytes], 4)), `${where}: at level 4`).toEqual(want);
}

function expectRejected(bytes: Uint8Array, where: string): MqttProtocolError {
  let first: MqttProtocolError | undefined;
  for (const chunks of [[bytes], bytewise(bytes), ...Array.from({ length: bytes.length - 1 }, (_, i) => splitAt(bytes, [i + 1]))]) {
    let err: unknown;
    try {
      decode(chunks);
    } catch (e) {
      err = e;
    }
    expect(err, `${where}: expected a protocol error`).toBeInstanceOf(MqttProtocolError);
    const e = err as MqttProtocolError;
    first ??= e;
    expect([e.code, e.statement, e.reasonCode], `${where}: same error however split`).toEqual([first.code, first.statement, first.reasonCode]);
  }
  errors.push(first!);
  return first!;
}

const counts = { parseGenerate: 0, parseOnly: 0, parseError: 0, generateError: 0, specRejects: 0 };

describe('mqtt-packet 9.0.2 fixtures, MQTT 5 cases', () => {
  it('has the 59 MQTT 5 fixtures', () => expect(v5.length).toBe(59));

  for (const f of v5.filter((x) => ['testParseGenerate', 'testParseAndGenerate', 'testParseGenerateDefaults', 'testParseOnly'].includes(x.kind))) {
    const name = String(f.args[0]);
    const object = (f.kind === 'testParseGenerateDefaults' ? f.args[3] : f.args[1]) as MpObject;
    const bytes = fixtureBytes(f.args[2] as FixtureBytes);
    const expected = OUR_READING[name] ?? fromMqttPacket(object, true);

    if (SPEC_REJECTS[name]) {
      it(`spec over fixture: ${fixtureName(f)} is refused: ${SPEC_REJECTS[name]}`, () => {
        expectRejected(bytes, name);
        // encode refuses the fixture's object too where it can be expressed (Maximum QoS 2).
        if (name.startsWith('connack MQTT 5')) {
          expect(() => encode(expected, 5)).toThrow(MqttProtocolError);
          // Positive control: the same packet with Maximum QoS 1 is fine, both ways, byte for byte.
          const fixed = { ...expected, properties: { ...(expected as Extract<Packet, { type: 'connack' }>).properties, maximumQoS: 1 } } as Packet;
          const fixedBytes = fromHex(hex(bytes).replace('240225', '240125'));
          expectDecodes(fixedBytes, fixed, `${name} with Maximum QoS 1`);
          expect(hex(encode(fixed, 5))).toBe(hex(fixedBytes));
        }
        counts.specRejects++;
      });
      continue;
    }

    it(`${f.kind === 'testParseOnly' ? 'parse' : 'parse+generate'} ${fixtureName(f)}`, () => {
      expectDecodes(bytes, expected, name);
      if (f.kind === 'testParseOnly') {
        counts.parseOnly++;
        return;
      }
      expect(hex(encode(expected, 5)), `${name}: encode`).toBe(SHORTER[name] ?? hex(bytes));
      counts.parseGenerate++;
    });
  }

  for (const f of v5.filter((x) => x.kind === 'testParseError')) {
    it(`parse error ${fixtureName(f)}`, () => {
      expectRejected(fixtureBytes(f.args[1] as FixtureBytes), fixtureName(f));
      counts.parseError++;
    });
  }

  for (const f of v5.filter((x) => x.kind === 'testGenerateError')) {
    it(`generate error ${fixtureName(f)}`, () => {
      let err: unknown;
      try {
        encode(fromMqttPacket(f.args[1] as MpObject, true), 5);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MqttProtocolError);
      expect((err as MqttProtocolError).code).toBe('INVALID_PROPERTY_VALUE');
      errors.push(err as MqttProtocolError);
      counts.generateError++;
    });
  }

  it('checked every MQTT 5 fixture (no silent skipping), and every statement cited is an MQTT 5 one', () => {
    // 30 parse+generate (4 refused by the spec), 9 parse only (2 refused), 16 parse errors, 4 generate errors.
    expect(counts).toEqual({ parseGenerate: 28, parseOnly: 7, parseError: 16, generateError: 4, specRejects: 4 });
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(59);
    const known = mqtt5StatementIds();
    expect(errors.filter((e) => e.statement !== undefined && !known.has(e.statement)).map((e) => e.message)).toEqual([]);
  });
});
