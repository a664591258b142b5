/**
 * The pure topic-alias tables (src/session/topic-aliases.ts): the broker's aliases resolved and checked,
 * and the outgoing policy. fast-check drives the policy through any sequence of topics with a receiver
 * (an IncomingAliases as the broker would keep it) that must recover every topic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PublishPacket } from '../../src/codec/packets.js';
import { withTopicAlias } from '../../src/codec/encode-client.js';
import { MqttProtocolError } from '../../src/errors.js';
import { IncomingAliases, OutgoingAliases } from '../../src/session/topic-aliases.js';

function pub(topic: string, topicAlias?: number): PublishPacket {
  const p: PublishPacket = { type: 'publish', topic, payload: new Uint8Array(0), qos: 0, retain: false, dup: false };
  if (topicAlias !== undefined) p.properties = { topicAlias };
  return p;
}

/** What goes on the wire for `packet`: the policy's decision applied as the encoder applies it. */
function send(out: OutgoingAliases, packet: PublishPacket): PublishPacket {
  const alias = out.apply(packet);
  return alias === 0 ? packet : withTopicAlias(packet, alias);
}

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('MQTT 5 incoming topic aliases [v5]', () => {
  it('a topic with an alias records it; an empty topic with that alias gets it back; a new topic for the alias replaces it (MQTT-3.3.2-10)', () => {
    const t = new IncomingAliases(5);
    const first = pub('a/b', 5);
    t.resolve(first, 5);
    expect(first.topic).toBe('a/b');
    const second = pub('', 5);
    t.resolve(second, 5);
    expect(second.topic).toBe('a/b');
    t.resolve(pub('c/d', 5), 5);
    const third = pub('', 5);
    t.resolve(third, 5);
    expect(third.topic).toBe('c/d');
  });

  it('an alias above our Topic Alias Maximum is TOPIC_ALIAS_INVALID with reason code 0x94 (MQTT-3.3.2-11)', () => {
    const err = thrown(() => new IncomingAliases(2).resolve(pub('x', 3), 3));
    expect(err).toBeInstanceOf(MqttProtocolError);
    expect(err).toMatchObject({ code: 'TOPIC_ALIAS_INVALID', reasonCode: 0x94 });
    expect((err as Error).message).toBe('the broker sent topic alias 3; our Topic Alias Maximum is 2 [MQTT-3.3.2-11]');
    // Maximum 0 (the default): every alias is over it. The positive control: 2 is within a maximum of 2.
    expect(thrown(() => new IncomingAliases(0).resolve(pub('x', 1), 1))).toMatchObject({ reasonCode: 0x94 });
    const ok = pub('x', 2);
    new IncomingAliases(2).resolve(ok, 2);
    expect(ok.topic).toBe('x');
  });

  it('an empty topic with an alias that names no topic yet is a Protocol Error, 0x82', () => {
    const err = thrown(() => new IncomingAliases(5).resolve(pub('', 1), 1));
    expect(err).toMatchObject({ code: 'UNEXPECTED_PACKET', reasonCode: 0x82 });
    expect((err as Error).message).toBe('the broker sent topic alias 1 with an empty topic before it said which topic the alias stands for');
  });
});

/** What the broker does with our aliases: its own table, which must give back every topic. */
function receiver(max: number): (p: PublishPacket) => string {
  const table = new IncomingAliases(max);
  return (p) => {
    const copy = { ...p };
    const alias = p.properties?.topicAlias;
    if (alias !== undefined) table.resolve(copy, alias);
    return copy.topic;
  };
}

describe('MQTT 5 outgoing topic aliases [v5]', () => {
  it('any sequence of topics: every alias is 1..the broker\'s maximum, the broker recovers every topic, our packet is never changed (MQTT-3.2.2-17, MQTT-3.3.2-8, MQTT-3.3.2-9)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 400 }), (max, picks) => {
        const out = new OutgoingAliases(max);
        const broker = receiver(max);
        for (const i of picks) {
          const packet = pub(`topic/${i}`);
          const wire = send(out, packet);
          const alias = wire.properties?.topicAlias;
          if (alias !== undefined && (alias < 1 || alias > max)) return false;
          if (broker(wire) !== `topic/${i}`) return false;
          if (packet.topic !== `topic/${i}` || packet.properties !== undefined) return false;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('a topic\'s first use goes out as it is; from the second, topic + alias once, then the alias and an empty topic', () => {
    const out = new OutgoingAliases(3);
    const once = pub('one/off');
    expect(out.apply(once)).toBe(0);
    const first = send(out, pub('one/off'));
    expect(first).toMatchObject({ topic: 'one/off', properties: { topicAlias: 1 } });
    expect(send(out, pub('one/off'))).toMatchObject({ topic: '', properties: { topicAlias: 1 } });
  });

  it('a broker maximum of 0 aliases nothing; topics under 3 characters are never aliased', () => {
    const none = new OutgoingAliases(0);
    for (let i = 0; i < 5; i++) expect(send(none, pub('some/topic')).properties).toBeUndefined();
    const out = new OutgoingAliases(5);
    for (let i = 0; i < 5; i++) expect(send(out, pub('ab')).properties).toBeUndefined();
    // The positive control: a longer topic on the same table does get one.
    out.apply(pub('abc'));
    expect(send(out, pub('abc')).properties).toEqual({ topicAlias: 1 });
  });

  it('more hot topics than aliases, used evenly: no alias changes hands after they are handed out (no thrashing)', () => {
    const out = new OutgoingAliases(4);
    const broker = receiver(4);
    let aliased = 0;
    for (let round = 0; round < 500; round++) {
      for (let i = 0; i < 10; i++) {
        const wire = send(out, pub(`hot/${i}`));
        if (wire.properties?.topicAlias !== undefined) aliased++;
        expect(broker(wire)).toBe(`hot/${i}`);
      }
    }
    expect(out.replacements).toBe(0);
    // Four of the ten topics hold the four aliases all along (each send after the second uses one).
    expect(aliased).toBe(4 * 499);
  });

  // 50,000 rounds: 100,000 publishes, past where the weights would overflow a double without their rescaling.
  it.each([20, 50_000])('a topic that becomes clearly hotter takes the alias of the coldest holder, after %i rounds of two holders (the positive control of the test above)', (rounds) => {
    const out = new OutgoingAliases(2);
    for (let i = 0; i < rounds; i++) {
      out.apply(pub('old/a'));
      out.apply(pub('old/b'));
    }
    expect(out.replacements).toBe(0);
    let got: PublishPacket | undefined;
    for (let i = 0; i < 400 && got === undefined; i++) {
      const wire = send(out, pub('new/hot'));
      if (wire.properties?.topicAlias !== undefined) got = wire;
      out.apply(pub('old/a'));
    }
    expect(got).toMatchObject({ topic: 'new/hot', properties: { topicAlias: 2 } }); // old/b, unused since, lost alias 2
    expect(out.replacements).toBe(1);
    expect(send(out, pub('old/a'))).toMatchObject({ topic: '', properties: { topicAlias: 1 } });
  });

  it('the table of topics seen stays bounded: a stream of one-off topics does not grow it without end', () => {
    const out = new OutgoingAliases(2);
    for (let i = 0; i < 10_000; i++) out.apply(pub(`unique/${i}`));
    expect((out as unknown as { seen: Map<string, unknown> }).seen.size).toBeLessThanOrEqual(256);
    // Aliases are still handed out afterwards.
    out.apply(pub('again/x'));
    expect(send(out, pub('again/x')).properties).toEqual({ topicAlias: 1 });
  });
});
