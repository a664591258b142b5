/**
 * encodeFromClient with a Topic Alias given beside a level-5 PUBLISH (src/codec/encode-client.ts, how the
 * session sends its aliases): byte for byte the PUBLISH that carries the alias in its properties, measured
 * alike, and the packet itself never changed (the session re-sends it with its full topic on the next
 * connection).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFromClient, measureFromClient, WITH_TOPIC, withTopicAlias } from '../../src/codec/encode-client.js';
import { headerLength } from '../../src/codec/fixed-header.js';
import { PacketDecoder, type Packet, type PublishPacket } from '../../src/codec/index.js';
import { MqttProtocolError } from '../../src/errors.js';
import { publish5Arb } from './arbitraries-v5.js';
import { hex, utf8 } from './arbitraries.js';

/** The arbitrary PUBLISHes a client may send: a topic, and no topicAlias of their own. */
const ownPublishArb = publish5Arb.map((p) => {
  const packet = { ...(p as PublishPacket) };
  if (packet.properties) {
    const { topicAlias: _, ...rest } = packet.properties;
    if (Object.keys(rest).length > 0) packet.properties = rest;
    else delete packet.properties;
  }
  if (packet.topic === '') packet.topic = 'x';
  return packet;
});
const aliasArb = fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.boolean()).map(([alias, withTopic]) => (withTopic ? alias | WITH_TOPIC : alias));

/** Hex as written here (spaced by byte), as hex() gives it (no spaces). */
const spaced = (s: string): string => s.replace(/ /g, '');

function decode5(bytes: Uint8Array): Packet[] {
  return new PacketDecoder({ maxPacketSize: 1 << 28, protocolLevel: 5 }).push(bytes);
}

describe('a PUBLISH with its topic alias given beside it [v5]', () => {
  it('is written as the same PUBLISH with the alias in its properties, measured as such, and the packet is left as it was', () => {
    fc.assert(
      fc.property(ownPublishArb, aliasArb, (packet, alias) => {
        const before = structuredClone(packet);
        const bytes = encodeFromClient(packet, 5, alias);
        expect(hex(bytes)).toBe(hex(encodeFromClient(withTopicAlias(packet, alias), 5)));
        const remaining = measureFromClient(packet, true, alias);
        expect(headerLength(remaining) + remaining).toBe(bytes.length);
        expect(packet).toEqual(before);
        const [decoded] = decode5(bytes) as [PublishPacket];
        expect(decoded.topic).toBe(alias & WITH_TOPIC ? packet.topic : '');
        expect(decoded.properties?.topicAlias).toBe(alias & 0xffff);
      }),
      { numRuns: 300 },
    );
  });

  it("by hand: alias 1 with the topic, then alias 1 alone, then after the packet's own property (3.3.2.3.4)", () => {
    const p: PublishPacket = { type: 'publish', topic: 'a/b', payload: utf8('x'), qos: 0, retain: false, dup: false };
    // 30 rl | 00 03 "a/b" | Property Length 3: 23 00 01 | "x"
    expect(hex(encodeFromClient(p, 5, 1 | WITH_TOPIC))).toBe(spaced('30 0a 00 03 61 2f 62 03 23 00 01 78'));
    // 30 rl | 00 00 | Property Length 3: 23 00 01 | "x"
    expect(hex(encodeFromClient(p, 5, 1))).toBe(spaced('30 07 00 00 03 23 00 01 78'));
    // QoS 1, id 7, Content Type "t" (03 00 01 74), then alias 0x0102
    const q: PublishPacket = { ...p, qos: 1, packetId: 7, properties: { contentType: 't' } };
    expect(hex(encodeFromClient(q, 5, 0x0102))).toBe(spaced('32 0d 00 00 00 07 07 03 00 01 74 23 01 02 78'));
    // Empty properties are none.
    expect(hex(encodeFromClient({ ...p, properties: {} }, 5, 1))).toBe(spaced('30 07 00 00 03 23 00 01 78'));
  });

  it('the packet is validated as without an alias: a bad QoS is refused with the same MQTT 5 error', () => {
    const bad = { type: 'publish', topic: 'a', payload: utf8('x'), qos: 3, retain: false, dup: false } as unknown as PublishPacket;
    const thrown = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      throw new Error('expected a throw');
    };
    const beside = thrown(() => encodeFromClient(bad, 5, 1));
    expect(beside).toBeInstanceOf(MqttProtocolError);
    expect(beside).toEqual(thrown(() => encodeFromClient(withTopicAlias(bad, 1), 5)));
    expect((beside as Error).message).toMatch(/^PUBLISH QoS must be 0, 1 or 2, got 3/);
  });
});
