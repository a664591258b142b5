/**
 * MQTT 5 limits, both ways (issue 14, item 3). The broker's CONNACK limits are honoured (Receive
 * Maximum caps the window; Maximum QoS, Retain Available, Maximum Packet Size, wildcard and shared
 * subscription availability refuse at the call with nothing sent); ours are enforced on the broker
 * (DISCONNECT 0x93, 0x95, 0x94, then the connection closes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, MqttProtocolError } from '../../src/index.js';
import { encode } from '../../src/codec/index.js';
import { FAST, rejection, take, until, useHarness, within } from '../client/helpers.js';
import { client5, connectToFake5, expectQuiet5, next5, send5 } from '../helpers/fake-broker-v5.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';

const h = useHarness();


describe('MQTT 5: the broker\'s limits are honoured [v5]', () => {
  it('Receive Maximum 2 caps the in-flight window below inflightWindow 20 (MQTT-3.3.4-7)', async () => {
    const { c, conn } = await connectToFake5(h, { inflightWindow: 20 }, { receiveMaximum: 2 });
    expect(c.limits.receiveMaximum).toBe(2);
    const pubs = [1, 2, 3, 4].map((i) => c.publish(`w/${i}`, 'x', { qos: 1 }));
    const a = await next5(conn, 'publish');
    const b = await next5(conn, 'publish');
    await expectQuiet5(conn); // the third waits for a slot
    expect(c.stats()).toMatchObject({ inflight: 2, queued: 2 });
    send5(conn, { type: 'puback', packetId: a.packetId! });
    expect((await next5(conn, 'publish')).topic).toBe('w/3');
    send5(conn, { type: 'puback', packetId: b.packetId! });
    expect((await next5(conn, 'publish')).topic).toBe('w/4');
    void Promise.allSettled(pubs);
  });

  it('Maximum QoS 1 and Retain Available 0: such a publish is refused at the call and nothing is sent (MQTT-3.2.2-11, MQTT-3.2.2-14)', async () => {
    const { c, conn } = await connectToFake5(h, {}, { maximumQoS: 1, retainAvailable: false });
    const q2 = await rejection(c.publish('t', 'x', { qos: 2 }));
    expect(q2).toBeInstanceOf(InvalidArgumentError);
    expect((q2 as Error).message).toBe('the broker takes publishes up to QoS 1 (its Maximum QoS), not QoS 2 (MQTT-3.2.2-11)');
    const kept = await rejection(c.publish('t', 'x', { retain: true }));
    expect((kept as Error).message).toMatch(/^the broker does not keep retained messages \(Retain Available 0\)/);
    await expectQuiet5(conn);
    // The positive control: QoS 1 without retain goes out.
    const ok = c.publish('t', 'x', { qos: 1 });
    const sent = await next5(conn, 'publish');
    send5(conn, { type: 'puback', packetId: sent.packetId! });
    expect(await ok).toEqual({ reasonCode: 0 });
  });

  it('Maximum Packet Size: a PUBLISH over it, properties counted, is refused at the call (MQTT-3.2.2-15)', async () => {
    const { c, conn } = await connectToFake5(h, {}, { maximumPacketSize: 60 });
    expect(c.limits.maximumPacketSize).toBe(60);
    // 2 (header) + 3 (topic) + 1 (property length) + 54 payload = 60: fits exactly.
    await c.publish('t', 'x'.repeat(54));
    expect((await next5(conn, 'publish')).payload.length).toBe(54);
    expect(encode({ type: 'publish', topic: 't', payload: new Uint8Array(54), qos: 0, retain: false, dup: false }, 5).length).toBe(60);
    const over = await rejection(c.publish('t', 'x'.repeat(55)));
    expect((over as Error).message).toBe("the PUBLISH would be 61 bytes, over the maximum packet size in force, 60 (maxPacketSize or the broker's Maximum Packet Size, MQTT-3.2.2-15)");
    // A content type of 3 bytes (1 + 2 + 3 = 6 property bytes) makes 54 payload bytes too many as well.
    const props = await rejection(c.publish('t', 'x'.repeat(54), { properties: { contentType: 'a/b' } }));
    expect((props as Error).message).toMatch(/^the PUBLISH would be 66 bytes/);
    await expectQuiet5(conn);
  });

  it('wildcard and shared subscriptions the broker does not offer are refused at the call, nothing sent', async () => {
    const { c, conn } = await connectToFake5(h, {}, { wildcardSubscriptionAvailable: false, sharedSubscriptionAvailable: false });
    expect(await rejection(c.subscribe('a/+'))).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'the broker does not support wildcard subscriptions (Wildcard Subscription Available 0): "a/+"' });
    expect(await rejection(c.subscribe('a/#'))).toBeInstanceOf(InvalidArgumentError);
    expect(await rejection(c.subscribe('$share/g/a'))).toMatchObject({ message: 'the broker does not support shared subscriptions (Shared Subscription Available 0): "$share/g/a"' });
    await expectQuiet5(conn);
    // The positive control: a plain filter is subscribed.
    const p = c.subscribe('a/b');
    const s = await next5(conn, 'subscribe');
    send5(conn, { type: 'suback', packetId: s.packetId, returnCodes: [0] });
    await within(p, 2000, 'subscribe');
  });
});

describe('MQTT 5: our limits are enforced on the broker [v5]', () => {
  it('more unacknowledged QoS 2 messages than our Receive Maximum: DISCONNECT 0x93 and the connection closes (MQTT-3.3.4-9)', async () => {
    const { c, conn, connect } = await connectToFake5(h, { receiveMaximum: 2 });
    expect(connect.properties?.receiveMaximum).toBe(2);
    for (const id of [1, 2]) {
      send5(conn, { type: 'publish', topic: 'in', payload: new Uint8Array(1), qos: 2, retain: false, dup: false, packetId: id });
      expect(await next5(conn, 'pubrec')).toMatchObject({ packetId: id });
    }
    // A re-sent one (an id already held) is not a new message: no violation.
    send5(conn, { type: 'publish', topic: 'in', payload: new Uint8Array(1), qos: 2, retain: false, dup: true, packetId: 2 });
    expect(await next5(conn, 'pubrec')).toMatchObject({ packetId: 2 });
    send5(conn, { type: 'publish', topic: 'in', payload: new Uint8Array(1), qos: 2, retain: false, dup: false, packetId: 3 });
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x93 });
    await conn.expectClosed();
    const err = await rejection(c.closed);
    expect(err).toBeInstanceOf(MqttProtocolError);
    expect(err).toMatchObject({ code: 'RECEIVE_MAXIMUM_EXCEEDED', reasonCode: 0x93 });
  });

  it('a packet over our maxPacketSize: DISCONNECT 0x95 (MQTT-3.1.2-24)', async () => {
    const { c, conn } = await connectToFake5(h, { maxPacketSize: 100 });
    send5(conn, { type: 'publish', topic: 'in', payload: new Uint8Array(200), qos: 0, retain: false, dup: false });
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x95 });
    await conn.expectClosed();
    expect(await rejection(c.closed)).toMatchObject({ code: 'PACKET_TOO_LARGE' });
  });

  it('a topic alias above our Topic Alias Maximum (0: none): DISCONNECT 0x94 (MQTT-3.1.2-27)', async () => {
    const { c, conn } = await connectToFake5(h);
    send5(conn, { type: 'publish', topic: 'in', payload: new Uint8Array(1), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x94 });
    await conn.expectClosed();
    expect(await rejection(c.closed)).toMatchObject({ code: 'TOPIC_ALIAS_INVALID', reasonCode: 0x94 });
  });
});

describeMosquitto('MQTT 5 limits with mosquitto [v5]', () => {
  let m: MosquittoHandle;
  beforeAll(async () => {
    m = await startMosquitto({ extraConfig: ['max_qos 1', 'retain_available false'].join('\n') });
  });
  afterAll(() => m?.stop());

  it('mosquitto with max_qos 1 and retain_available false: QoS 2 and retained publishes are refused at the call; QoS 1 goes through', async () => {
    const c = client5(h, m.url, FAST);
    await c.connect();
    expect(c.limits).toMatchObject({ maximumQoS: 1, retainAvailable: false });
    await expect(c.publish('t', 'x', { qos: 2 })).rejects.toThrow(/its Maximum QoS/);
    await expect(c.publish('t', 'x', { qos: 1, retain: true })).rejects.toThrow(/Retain Available 0/);
    expect(await c.publish('t', 'x', { qos: 1 })).toEqual({ reasonCode: 0x10 });
    // Mosquitto saw one PUBLISH from us, the QoS 1 one (logged before its PUBACK, which we have).
    await m.waitForLog(new RegExp(`Received PUBLISH from ${c.clientId}`), 2000);
    expect(m.log().match(new RegExp(`Received PUBLISH from ${c.clientId}`, 'g'))).toHaveLength(1);
    await c.end();
  });
});

describe('MQTT 5: a lower Receive Maximum after a reconnect [v5]', () => {
  it('re-sends only as many in-flight PUBLISHes as the new Receive Maximum allows, the rest as acks make room (MQTT-3.3.4-7)', async () => {
    const { c, conn, fake, timers } = await connectToFake5(h, { clientId: 'rm', clean: false, reconnect: { initialDelay: 10, maxDelay: 10 } });
    const pubs = [1, 2, 3].map((i) => c.publish(`r/${i}`, 'x', { qos: 1 }));
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await next5(conn, 'publish')).packetId!);
    conn.destroy();
    await until(() => c.state === 'reconnecting', 2000, 'reconnecting');
    timers.advance(10);
    const again = await fake.nextConnection();
    await next5(again, 'connect');
    send5(again, { type: 'connack', sessionPresent: true, returnCode: 0, properties: { receiveMaximum: 1 } });
    expect(await next5(again, 'publish')).toMatchObject({ topic: 'r/1', dup: true, packetId: ids[0] });
    await expectQuiet5(again); // r/2 waits for room
    send5(again, { type: 'puback', packetId: ids[0]! });
    expect(await next5(again, 'publish')).toMatchObject({ topic: 'r/2', dup: true, packetId: ids[1] });
    await expectQuiet5(again);
    send5(again, { type: 'puback', packetId: ids[1]! });
    expect(await next5(again, 'publish')).toMatchObject({ topic: 'r/3', dup: true, packetId: ids[2] });
    send5(again, { type: 'puback', packetId: ids[2]! });
    expect(await within(Promise.all(pubs), 2000, 'publishes')).toEqual([{ reasonCode: 0 }, { reasonCode: 0 }, { reasonCode: 0 }]);
  });
});

describe('MQTT 5 incoming topic aliases within our topicAliasMaximum [v5]', () => {
  it('an alias set with a topic stands for it on this connection; an alias never set is a protocol error (0x82)', async () => {
    const { c, conn, connect } = await connectToFake5(h, { topicAliasMaximum: 2 });
    expect(connect.properties?.topicAliasMaximum).toBe(2);
    const inbox = c.messages();
    const pub = (topic: string, alias: number, text: string): void =>
      send5(conn, { type: 'publish', topic, payload: new TextEncoder().encode(text), qos: 0, retain: false, dup: false, properties: { topicAlias: alias } });
    pub('a/b', 1, 'set');
    pub('', 1, 'used');
    const got = await take(inbox, 2);
    expect(got.map((m) => [m.topic, m.text()])).toEqual([['a/b', 'set'], ['a/b', 'used']]);
    expect(got[1]!.properties).toEqual({}); // the alias is the client's business, not the message's
    pub('', 2, 'unknown');
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x82 });
    expect(await rejection(c.closed)).toMatchObject({ code: 'UNEXPECTED_PACKET', reasonCode: 0x82 });
  });
});
