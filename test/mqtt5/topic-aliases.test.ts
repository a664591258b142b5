/**
 * MQTT 5 topic aliases (issue 14, item 8) through the client: a hostile broker on the byte-level fake
 * (alias 0, over our maximum, an unknown alias with an empty topic, reuse, an alias from an earlier
 * connection) and the outgoing policy on the wire; Mosquitto shows a real broker takes our aliases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, MqttProtocolError, type Message } from '../../src/index.js';
import { FAST, PacketLog, rejection, take, useHarness, within } from '../client/helpers.js';
import { hex } from '../helpers/fake-broker.js';
import { connectToFake5, next5, send5 } from '../helpers/fake-broker-v5.js';
import { dropAndReconnect, nextStatus } from '../helpers/reconnect-fake5.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';

const h = useHarness();
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('MQTT 5 incoming topic aliases from a hostile broker [v5]', () => {
  it('aliases within our topicAliasMaximum resolve, and a new topic for a known alias replaces it (MQTT-3.3.2-10)', async () => {
    const { c, conn } = await connectToFake5(h, { topicAliasMaximum: 3 });
    const sub = c.messages();
    send5(conn, { type: 'publish', topic: 'a/1', payload: bytes('1'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
    send5(conn, { type: 'publish', topic: '', payload: bytes('2'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
    send5(conn, { type: 'publish', topic: 'b/2', payload: bytes('3'), qos: 1, packetId: 7, retain: false, dup: false, properties: { topicAlias: 3 } });
    send5(conn, { type: 'publish', topic: '', payload: bytes('4'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
    const got = await take(sub, 4);
    expect(got.map((m: Message) => [m.topic, m.text()])).toEqual([['a/1', '1'], ['a/1', '2'], ['b/2', '3'], ['b/2', '4']]);
    expect((await next5(conn, 'puback')).packetId).toBe(7);
    expect(c.connected).toBe(true);
  });

  it('alias 0: DISCONNECT 0x94 Topic Alias invalid, and pending operations reject with the protocol error, never a crash (MQTT-3.3.2-8)', async () => {
    const { c, conn } = await connectToFake5(h, { topicAliasMaximum: 3 });
    const closed = c.closed.then(() => undefined, (e: unknown) => e);
    const pending = rejection(c.publish('waiting/for/ack', 'x', { qos: 1 }));
    await next5(conn, 'publish');
    // The codec cannot encode alias 0, so the bytes by hand: PUBLISH QoS 0, topic "t", properties [0x23 0x0000], payload "x".
    conn.write(hex('30 08 00 01 74 03 23 00 00 78'));
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x94 });
    const err = await pending;
    expect(err).toBeInstanceOf(MqttProtocolError);
    expect(err).toMatchObject({ code: 'INVALID_PROPERTY_VALUE', reasonCode: 0x94 });
    expect(await closed).toBe(err);
  });

  it('an alias above our topicAliasMaximum: DISCONNECT 0x94 and TOPIC_ALIAS_INVALID (MQTT-3.3.2-11)', async () => {
    const { c, conn } = await connectToFake5(h, { topicAliasMaximum: 3 });
    const closed = c.closed.then(() => undefined, (e: unknown) => e);
    const pending = rejection(c.publish('waiting', 'x', { qos: 1 }));
    await next5(conn, 'publish');
    send5(conn, { type: 'publish', topic: 'x', payload: bytes(''), qos: 0, retain: false, dup: false, properties: { topicAlias: 4 } });
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x94 });
    const err = await pending;
    expect(err).toMatchObject({ code: 'TOPIC_ALIAS_INVALID', reasonCode: 0x94, message: 'the broker sent topic alias 4; our Topic Alias Maximum is 3 [MQTT-3.3.2-11]' });
    expect(await closed).toBe(err);
  });

  it('the default topicAliasMaximum is 0: any alias is refused with 0x94 (MQTT-3.1.2-27 binds the broker)', async () => {
    const { c, conn, connect: sent } = await connectToFake5(h);
    expect(sent.properties?.topicAliasMaximum).toBeUndefined();
    send5(conn, { type: 'publish', topic: 'x', payload: bytes(''), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x94 });
    await expect(c.closed).rejects.toMatchObject({ code: 'TOPIC_ALIAS_INVALID' });
  });

  it('an unknown alias with an empty topic: DISCONNECT 0x82 Protocol Error', async () => {
    const { c, conn } = await connectToFake5(h, { topicAliasMaximum: 3 });
    send5(conn, { type: 'publish', topic: '', payload: bytes(''), qos: 0, retain: false, dup: false, properties: { topicAlias: 2 } });
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x82 });
    await expect(c.closed).rejects.toMatchObject({ code: 'UNEXPECTED_PACKET', reasonCode: 0x82 });
  });

  it('a mapping does not outlive its connection: after a reconnect the old alias with an empty topic is 0x82 (MQTT-3.3.2-7)', async () => {
    const { c, conn, timers, fake } = await connectToFake5(h, { topicAliasMaximum: 3, reconnect: { initialDelay: 10, maxDelay: 10 } });
    const sub = c.messages();
    send5(conn, { type: 'publish', topic: 'kept/before', payload: bytes('1'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    send5(conn, { type: 'publish', topic: '', payload: bytes('2'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    expect((await take(sub, 2)).map((m) => m.topic)).toEqual(['kept/before', 'kept/before']);
    const again = await dropAndReconnect(c, conn, timers, fake);
    await next5(again, 'connect');
    const connected = nextStatus(c, 'connected');
    send5(again, { type: 'connack', sessionPresent: false, returnCode: 0 });
    await connected;
    send5(again, { type: 'publish', topic: '', payload: bytes('3'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    expect(await next5(again, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x82 });
  });
});

describe('MQTT 5 outgoing topic aliases on the wire [v5]', () => {
  it("'auto' (the default) within the broker's maximum: first use as is, then topic + alias, then alias alone (MQTT-3.2.2-17, MQTT-3.3.2-9)", async () => {
    const { c, conn } = await connectToFake5(h, {}, { topicAliasMaximum: 1 });
    const wire = [];
    for (const topic of ['sensors/kitchen', 'sensors/kitchen', 'sensors/kitchen', 'sensors/hall', 'sensors/hall']) {
      void c.publish(topic, 'v');
      const p = await next5(conn, 'publish');
      wire.push([p.topic, p.properties?.topicAlias]);
    }
    // sensors/hall is as hot as sensors/kitchen, not twice as hot: the one alias stays where it is.
    expect(wire).toEqual([
      ['sensors/kitchen', undefined],
      ['sensors/kitchen', 1],
      ['', 1],
      ['sensors/hall', undefined],
      ['sensors/hall', undefined],
    ]);
  });

  it('a publish with properties of its own: they go beside the alias, as given', async () => {
    const { c, conn } = await connectToFake5(h, {}, { topicAliasMaximum: 1 });
    const properties = { contentType: 'text/plain', userProperties: [['k', 'v']] as [string, string][] };
    const wire = [];
    for (let i = 0; i < 3; i++) {
      void c.publish('props/topic', 'v', { properties });
      const p = await next5(conn, 'publish');
      wire.push([p.topic, p.properties]);
    }
    expect(wire).toEqual([
      ['props/topic', properties],
      ['props/topic', { ...properties, topicAlias: 1 }],
      ['', { ...properties, topicAlias: 1 }],
    ]);
  });

  it('no Topic Alias Maximum in CONNACK, or topicAliases: "off": never an alias (MQTT-3.2.2-18)', async () => {
    for (const [options, props] of [[{}, undefined], [{ topicAliases: 'off' as const }, { topicAliasMaximum: 5 }]] as const) {
      const { c, conn } = await connectToFake5(h, options, props);
      for (let i = 0; i < 3; i++) {
        void c.publish('some/topic', 'v');
        const p = await next5(conn, 'publish');
        expect(p.topic).toBe('some/topic');
        expect(p.properties?.topicAlias).toBeUndefined();
      }
    }
  });

  it("no alias where its 3 bytes would take the PUBLISH over the broker's Maximum Packet Size (MQTT-3.2.2-17)", async () => {
    // 'size/topic' with payload 'x' at QoS 0 and level 5: 2 + 10 + 1 (no properties) + 1 = 14, 16 bytes on the wire.
    const { c, conn } = await connectToFake5(h, {}, { topicAliasMaximum: 2, maximumPacketSize: 18 });
    for (let i = 0; i < 3; i++) {
      void c.publish('size/topic', 'x');
      const p = await next5(conn, 'publish');
      expect([p.topic, p.properties?.topicAlias]).toEqual(['size/topic', undefined]);
    }
    // The positive control: a topic one byte shorter fits with its alias (15 + 3 = 18).
    for (const expected of [[ 'size/topi', undefined ], ['size/topi', 1], ['', 1]]) {
      void c.publish('size/topi', 'x');
      const p = await next5(conn, 'publish');
      expect([p.topic, p.properties?.topicAlias]).toEqual(expected);
    }
  });

  it('a publish re-sent after a reconnect carries its full topic (MQTT-3.3.2-7)', async () => {
    const { c, conn, timers, fake } = await connectToFake5(h, { clean: false, reconnect: { initialDelay: 10, maxDelay: 10 } }, { topicAliasMaximum: 2 });
    void c.publish('fleet/truck/1', 'a', { qos: 1 });
    const first = await next5(conn, 'publish');
    send5(conn, { type: 'puback', packetId: first.packetId! });
    const unacked = c.publish('fleet/truck/1', 'b', { qos: 1 });
    const second = await next5(conn, 'publish');
    expect([second.topic, second.properties?.topicAlias]).toEqual(['fleet/truck/1', 1]);
    const third = c.publish('fleet/truck/1', 'c', { qos: 1 });
    expect(await next5(conn, 'publish')).toMatchObject({ topic: '', properties: { topicAlias: 1 } });
    const again = await dropAndReconnect(c, conn, timers, fake);
    await next5(again, 'connect');
    send5(again, { type: 'connack', sessionPresent: true, returnCode: 0, properties: { topicAliasMaximum: 2 } });
    const resent = [await next5(again, 'publish'), await next5(again, 'publish')];
    // Both unacknowledged publishes go again with DUP and the full topic (the second, this connection's
    // second use of the topic, with a new alias): never an empty topic with an alias of the old connection.
    expect(resent.map((p) => [p.topic, p.properties?.topicAlias, p.dup, new TextDecoder().decode(p.payload)])).toEqual([
      ['fleet/truck/1', undefined, true, 'b'],
      ['fleet/truck/1', 1, true, 'c'],
    ]);
    for (const p of resent) send5(again, { type: 'puback', packetId: p.packetId! });
    await within(Promise.all([unacked, third]), 2000, 'acks');
  });
});

describeMosquitto('MQTT 5 topic aliases against mosquitto [v5]', () => {
  let m: MosquittoHandle;
  beforeAll(async () => {
    m = await startMosquitto({ extraConfig: 'max_topic_alias 2' });
  });
  afterAll(() => m?.stop());

  it('outgoing aliases: mosquitto takes them and delivers the right topics to another client', async () => {
    const log = new PacketLog();
    const sender = await connect(m.url, { ...FAST, protocolVersion: 5, clientId: 'alias-out', logger: log.logger });
    const reader = await connect(m.url, { ...FAST, protocolVersion: 5, clientId: 'alias-in', topicAliasMaximum: 5 });
    try {
      expect(sender.limits.topicAliasMaximum).toBe(2);
      const sub = await reader.subscribe('alias/#', { qos: 1 });
      const topics = ['alias/a', 'alias/b', 'alias/c'];
      const sent: string[] = [];
      for (let i = 0; i < 6; i++) {
        for (const t of topics) {
          await sender.publish(t, `${t}#${i}`, { qos: 1 });
          sent.push(`${t}#${i}`);
        }
      }
      const got = await take(sub, sent.length);
      expect(got.map((msg) => `${msg.topic}#${msg.text().split('#')[1]}`)).toEqual(sent);
      // The aliases were really used: after each topic's first two sends, all but the first went with an empty topic.
      const empty = log.out('PUBLISH').filter((l) => l.startsWith('> PUBLISH topic=""')).length;
      expect(empty).toBeGreaterThanOrEqual(2 * 4);
    } finally {
      await Promise.all([sender.end(), reader.end()]);
    }
  });
});
