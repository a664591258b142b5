/**
 * What goes on the wire after a reconnect, byte for byte (fake broker, hand-driven clock). When the
 * broker has no session (session present 0): re-subscriptions first, then every unacknowledged
 * PUBLISH again as a new message (new id, DUP 0), in the original order, then what was queued.
 * When it resumed ours: the unacknowledged PUBLISHes with DUP set and their original ids, PUBRELs
 * for QoS 2 flows past PUBREC, in the original order, then what was queued. And incoming QoS 2
 * de-duplication across the reconnect.
 */
import { describe, expect, it } from 'vitest';
import { SubscribeError, TimeoutError, type Subscription } from '../../src/index.js';
import { PacketType, toHex, type FakeConnection } from '../helpers/fake-broker.js';
import { ackPacket, connackPacket, packetIdOf, publishPacket, subackPacket, subscribePacket, unsubscribePacket } from '../helpers/mqtt-bytes.js';
import { expectQuiet, take, tick, track, useHarness, within, type Tracked } from '../client/helpers.js';
import { connectFakeReconnecting, reconnectFake, type FakeSetup } from './helpers.js';

const h = useHarness();

async function expectBytes(conn: FakeConnection, type: number, expected: Uint8Array, what: string): Promise<void> {
  const p = await conn.expectPacket(type);
  expect(toHex(p), what).toBe(toHex(expected));
}

/**
 * On the first connection: a live subscription `live/#` (QoS 1, id 1), then
 *   A QoS 1 (id 2, no PUBACK), B QoS 2 (id 3, PUBREC received -> PUBREL sent, no PUBCOMP),
 *   C QoS 2 (id 4, no PUBREC), D QoS 1 (id 5, no PUBACK).
 */
async function midFlow(s: FakeSetup): Promise<{ sub: Subscription; pubs: Tracked<void>[] }> {
  const subscribing = s.c.subscribe('live/#', { qos: 1 });
  await expectBytes(s.conn, PacketType.SUBSCRIBE, subscribePacket(1, [['live/#', 1]]), 'SUBSCRIBE');
  s.conn.write(subackPacket(1, [1]));
  const sub = await subscribing;
  const pubs = [
    track(s.c.publish('t/a', 'A', { qos: 1 })),
    track(s.c.publish('t/b', 'B', { qos: 2 })),
    track(s.c.publish('t/c', 'C', { qos: 2 })),
    track(s.c.publish('t/d', 'D', { qos: 1 })),
  ];
  await expectBytes(s.conn, PacketType.PUBLISH, publishPacket({ topic: 't/a', payload: 'A', qos: 1, packetId: 2 }), 'A');
  await expectBytes(s.conn, PacketType.PUBLISH, publishPacket({ topic: 't/b', payload: 'B', qos: 2, packetId: 3 }), 'B');
  await expectBytes(s.conn, PacketType.PUBLISH, publishPacket({ topic: 't/c', payload: 'C', qos: 2, packetId: 4 }), 'C');
  await expectBytes(s.conn, PacketType.PUBLISH, publishPacket({ topic: 't/d', payload: 'D', qos: 1, packetId: 5 }), 'D');
  s.conn.write(ackPacket('pubrec', 3));
  await expectBytes(s.conn, PacketType.PUBREL, ackPacket('pubrel', 3), 'PUBREL 3');
  expect(s.c.stats()).toMatchObject({ inflight: 4, queued: 0 });
  return { sub, pubs };
}

/** The retransmissions of midFlow(), in order. */
async function expectRetransmits(conn: FakeConnection): Promise<void> {
  await expectBytes(conn, PacketType.PUBLISH, publishPacket({ topic: 't/a', payload: 'A', qos: 1, packetId: 2, dup: true }), 'A again, DUP');
  await expectBytes(conn, PacketType.PUBREL, ackPacket('pubrel', 3), 'PUBREL 3 again');
  await expectBytes(conn, PacketType.PUBLISH, publishPacket({ topic: 't/c', payload: 'C', qos: 2, packetId: 4, dup: true }), 'C again, DUP');
  await expectBytes(conn, PacketType.PUBLISH, publishPacket({ topic: 't/d', payload: 'D', qos: 1, packetId: 5, dup: true }), 'D again, DUP');
}

/**
 * midFlow()'s publishes on a broker that has no session for us: each again as a new message, the
 * ids from `firstId` on, DUP 0, in the original order; B too, whose PUBREC came from the session
 * the broker discarded (no PUBREL for it).
 */
async function expectRepublished(conn: FakeConnection, firstId: number): Promise<void> {
  const again = [['t/a', 'A', 1], ['t/b', 'B', 2], ['t/c', 'C', 2], ['t/d', 'D', 1]] as const;
  for (const [i, [topic, payload, qos]] of again.entries()) {
    await expectBytes(conn, PacketType.PUBLISH, publishPacket({ topic, payload, qos, packetId: firstId + i }), `${payload} as a new message, id ${firstId + i}, DUP 0`);
  }
}

/** Completes the flows expectRepublished() started, and checks each promise resolves only then. */
async function completeRepublished(conn: FakeConnection, firstId: number, pubs: Tracked<void>[]): Promise<void> {
  const [a, b, c, d] = [firstId, firstId + 1, firstId + 2, firstId + 3];
  await tick();
  expect(pubs.map((p) => p.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
  conn.write(ackPacket('puback', a));
  conn.write(ackPacket('pubrec', b));
  await expectBytes(conn, PacketType.PUBREL, ackPacket('pubrel', b), `PUBREL ${b}`);
  await tick();
  expect(pubs.map((p) => p.status)).toEqual(['resolved', 'pending', 'pending', 'pending']);
  conn.write(ackPacket('pubcomp', b));
  conn.write(ackPacket('pubrec', c));
  await expectBytes(conn, PacketType.PUBREL, ackPacket('pubrel', c), `PUBREL ${c}`);
  conn.write(ackPacket('pubcomp', c));
  conn.write(ackPacket('puback', d));
  await within(Promise.all(pubs.map((p) => p.promise)), 1000, 'all four publishes');
}

/** Acks midFlow()'s publishes on `conn` and checks each promise resolves only then. */
async function completeFlows(conn: FakeConnection, pubs: Tracked<void>[]): Promise<void> {
  await tick();
  expect(pubs.map((p) => p.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
  conn.write(ackPacket('puback', 2));
  conn.write(ackPacket('pubcomp', 3));
  conn.write(ackPacket('pubrec', 4));
  await expectBytes(conn, PacketType.PUBREL, ackPacket('pubrel', 4), 'PUBREL 4');
  await tick();
  expect(pubs.map((p) => p.status)).toEqual(['resolved', 'resolved', 'pending', 'pending']);
  conn.write(ackPacket('pubcomp', 4));
  conn.write(ackPacket('puback', 5));
  await within(Promise.all(pubs.map((p) => p.promise)), 1000, 'all four publishes');
}

describe('clean session (sessionPresent 0)', () => {
  it('CONNECT, SUBSCRIBE for the live subscription, then A/B/C/D again as new messages (new ids, DUP 0, no PUBREL), in order, then the offline queue; all resolve [MQTT-3.1.2-6]', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'rt-clean' });
    const { sub, pubs } = await midFlow(s);
    s.conn.destroy();
    expect(await s.status.next('offline')).toEqual({ type: 'offline', queued: 4 });
    const e = track(s.c.publish('t/e', 'E', { qos: 1 })); // made while offline
    const conn = await reconnectFake(s);
    await expectBytes(conn, PacketType.SUBSCRIBE, subscribePacket(6, [['live/#', 1]]), 're-SUBSCRIBE first');
    await expectRepublished(conn, 7);
    await expectBytes(conn, PacketType.PUBLISH, publishPacket({ topic: 't/e', payload: 'E', qos: 1, packetId: 11 }), 'E (queued offline), after them');
    await expectQuiet(conn);
    conn.write(subackPacket(6, [1]));
    await completeRepublished(conn, 7, pubs);
    expect(e.status).toBe('pending');
    conn.write(ackPacket('puback', 11));
    await within(e.promise, 1000, 'E');
    expect(s.c.stats()).toMatchObject({ inflight: 0, queued: 0, reconnects: 1 });
    expect(sub.granted).toEqual([1]);
    conn.write(publishPacket({ topic: 'live/x', payload: 'after' }));
    expect((await take(sub, 1)).map((m) => m.text())).toEqual(['after']);
  });

  it('a re-SUBSCRIBE refused with 0x80 ends that subscription with SubscribeError and a status error; the others go on', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'rt-refused' });
    const subscribe = async (filter: string, id: number): Promise<Subscription> => {
      const p = s.c.subscribe(filter, { qos: 1 });
      await expectBytes(s.conn, PacketType.SUBSCRIBE, subscribePacket(id, [[filter, 1]]), `SUBSCRIBE ${filter}`);
      s.conn.write(subackPacket(id, [1]));
      return p;
    };
    const ok = await subscribe('ok/#', 1);
    const denied = await subscribe('deny/#', 2);
    const reading = track(denied.next());
    const unrouted = s.c.messages();
    s.conn.destroy();
    const conn = await reconnectFake(s);
    await expectBytes(conn, PacketType.SUBSCRIBE, subscribePacket(3, [['ok/#', 1]]), 're-SUBSCRIBE ok/#');
    await expectBytes(conn, PacketType.SUBSCRIBE, subscribePacket(4, [['deny/#', 1]]), 're-SUBSCRIBE deny/#');
    conn.write(subackPacket(3, [1]));
    conn.write(subackPacket(4, [0x80]));
    const err = await s.status.next('error');
    expect(err.error).toBeInstanceOf(SubscribeError);
    expect(err.error).toMatchObject({ refused: ['deny/#'], granted: [] });
    await tick();
    expect(reading.status).toBe('rejected');
    expect(reading.error).toBe(err.error);
    conn.write(publishPacket({ topic: 'ok/x', payload: 'fine' }));
    conn.write(publishPacket({ topic: 'deny/x', payload: 'unrouted' }));
    expect((await take(ok, 1)).map((m) => m.text())).toEqual(['fine']);
    expect((await take(unrouted, 1)).map((m) => m.topic)).toEqual(['deny/x']);
    expect(s.c.connected).toBe(true);
  });

  it('a re-SUBSCRIBE refused for one of its filters unsubscribes the granted ones again, as subscribe() does', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'rt-part-refused' });
    const subscribing = s.c.subscribe(['keep/#', 'deny/#'], { qos: 1 });
    await expectBytes(s.conn, PacketType.SUBSCRIBE, subscribePacket(1, [['keep/#', 1], ['deny/#', 1]]), 'SUBSCRIBE');
    s.conn.write(subackPacket(1, [1, 1]));
    const sub = await subscribing;
    s.conn.destroy();
    const conn = await reconnectFake(s);
    await expectBytes(conn, PacketType.SUBSCRIBE, subscribePacket(2, [['keep/#', 1], ['deny/#', 1]]), 're-SUBSCRIBE');
    conn.write(subackPacket(2, [1, 0x80]));
    const err = await s.status.next('error');
    expect(err.error).toMatchObject({ refused: ['deny/#'], granted: [{ topicFilter: 'keep/#', qos: 1 }] });
    // The subscription has ended, so nobody reads keep/#: the broker must stop sending it.
    await expectBytes(conn, PacketType.UNSUBSCRIBE, unsubscribePacket(3, ['keep/#']), 'UNSUBSCRIBE of the granted filter');
    await expect(sub.next()).rejects.toBe(err.error);
  });

  it('a PUBLISH sent again that gets no ack rejects with TimeoutError after ackTimeout (counted from the new send)', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'rt-timeout', ackTimeout: 1000 });
    const pub = track(s.c.publish('t/x', 'x', { qos: 1 }));
    await s.conn.expectPacket(PacketType.PUBLISH);
    s.timers.advance(600);
    s.conn.destroy();
    await s.status.next('disconnected');
    const conn = await reconnectFake(s); // the time offline does not count either
    await expectBytes(conn, PacketType.PUBLISH, publishPacket({ topic: 't/x', payload: 'x', qos: 1, packetId: 2 }), 'again, as a new message');
    s.timers.advance(999);
    await tick();
    expect(pub.status).toBe('pending');
    s.timers.advance(1);
    await tick();
    expect(pub.status).toBe('rejected');
    expect(pub.error).toBeInstanceOf(TimeoutError);
  });

  it('with no subscription and nothing in flight nothing is sent after CONNECT', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'rt-quiet' });
    s.conn.destroy();
    const conn = await reconnectFake(s);
    await expectQuiet(conn);
  });
});

describe('persistent session (clean: false, sessionPresent 1)', () => {
  it('no SUBSCRIBE: the first packets after CONNECT are the DUP PUBLISHes and PUBREL, with the original ids, in order; all resolve', async () => {
    const opts = { clientId: 'rt-persistent', clean: false };
    const s = await connectFakeReconnecting(h, opts);
    const { sub, pubs } = await midFlow(s);
    s.conn.destroy();
    const conn = await reconnectFake(s, opts, connackPacket(0, true));
    expect(s.status.events.at(-1)).toEqual({ type: 'connected', sessionPresent: true, url: s.fake.url });
    await expectRetransmits(conn);
    await expectQuiet(conn);
    await completeFlows(conn, pubs);
    conn.write(publishPacket({ topic: 'live/x', payload: 'kept', qos: 1, packetId: 9 }));
    await expectBytes(conn, PacketType.PUBACK, ackPacket('puback', 9), 'PUBACK 9');
    expect((await take(sub, 1)).map((m) => m.text())).toEqual(['kept']);
  });

  it('clean: false but the broker lost the session (sessionPresent 0): re-SUBSCRIBE, then A/B/C/D again as new messages, as with a clean session [MQTT-3.1.2-6]', async () => {
    const opts = { clientId: 'rt-lost-session', clean: false };
    const s = await connectFakeReconnecting(h, opts);
    const { pubs } = await midFlow(s);
    s.conn.destroy();
    const conn = await reconnectFake(s, opts, connackPacket(0, false));
    await expectBytes(conn, PacketType.SUBSCRIBE, subscribePacket(6, [['live/#', 1]]), 're-SUBSCRIBE');
    await expectRepublished(conn, 7);
    await expectQuiet(conn);
    conn.write(subackPacket(6, [1]));
    await completeRepublished(conn, 7, pubs);
  });
});

describe('leaving a subscription while offline', () => {
  it('persistent session: the broker still has the filter, so the client UNSUBSCRIBEs it after reconnecting', async () => {
    const opts = { clientId: 'rt-leave-offline', clean: false };
    const s = await connectFakeReconnecting(h, opts);
    const subscribing = s.c.subscribe('gone/#', { qos: 1 });
    await expectBytes(s.conn, PacketType.SUBSCRIBE, subscribePacket(1, [['gone/#', 1]]), 'SUBSCRIBE');
    s.conn.write(subackPacket(1, [1]));
    const sub = await subscribing;
    s.conn.destroy();
    await s.status.next('disconnected');
    const leaving = track(sub.unsubscribe()); // e.g. a for-await loop left with break while offline
    const conn = await reconnectFake(s, opts, connackPacket(0, true));
    // Without an UNSUBSCRIBE the broker keeps sending gone/# messages for the rest of the session.
    const p = await conn.nextPacket(300).catch(() => undefined);
    expect(p, 'an UNSUBSCRIBE for gone/# after CONNACK, got nothing').toBeDefined();
    const id = packetIdOf(p as Uint8Array);
    expect(toHex(p as Uint8Array)).toBe(toHex(unsubscribePacket(id, ['gone/#'])));
    conn.write(ackPacket('unsuback', id));
    await within(leaving.promise, 1000, 'sub.unsubscribe()');
  });

  it('clean session: nothing to undo, and the left filter is not subscribed again', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'rt-leave-clean' });
    const subscribing = s.c.subscribe('gone/#', { qos: 1 });
    await expectBytes(s.conn, PacketType.SUBSCRIBE, subscribePacket(1, [['gone/#', 1]]), 'SUBSCRIBE');
    s.conn.write(subackPacket(1, [1]));
    const sub = await subscribing;
    s.conn.destroy();
    await s.status.next('disconnected');
    await within(sub.unsubscribe(), 1000, 'sub.unsubscribe()');
    const conn = await reconnectFake(s);
    await expectQuiet(conn);
  });
});

describe('incoming QoS 2 across a reconnect', () => {
  /** The broker sends QoS 2 id 7 and gets PUBREC, then the connection drops before PUBREL. */
  async function receivedBeforeDrop(opts: { clientId: string; clean: boolean }): Promise<{ s: FakeSetup; messages: Subscription }> {
    const s = await connectFakeReconnecting(h, opts);
    const messages = s.c.messages();
    s.conn.write(publishPacket({ topic: 'in/x', payload: 'first', qos: 2, packetId: 7 }));
    await expectBytes(s.conn, PacketType.PUBREC, ackPacket('pubrec', 7), 'PUBREC 7');
    expect((await take(messages, 1)).map((m) => m.text())).toEqual(['first']);
    s.conn.destroy();
    return { s, messages };
  }

  it('sessionPresent 1: the re-sent PUBLISH (DUP, same id) is acknowledged but not delivered again', async () => {
    const opts = { clientId: 'in-q2-kept', clean: false };
    const { s, messages } = await receivedBeforeDrop(opts);
    const conn = await reconnectFake(s, opts, connackPacket(0, true));
    conn.write(publishPacket({ topic: 'in/x', payload: 'first', qos: 2, packetId: 7, dup: true }));
    await expectBytes(conn, PacketType.PUBREC, ackPacket('pubrec', 7), 'PUBREC 7 again');
    conn.write(ackPacket('pubrel', 7));
    await expectBytes(conn, PacketType.PUBCOMP, ackPacket('pubcomp', 7), 'PUBCOMP 7');
    conn.write(publishPacket({ topic: 'in/marker', payload: 'marker' }));
    // The next message is the marker: the duplicate never reached the application.
    expect((await take(messages, 1)).map((m) => m.text())).toEqual(['marker']);
    // Released: the id is free again, a new message with it is delivered.
    conn.write(publishPacket({ topic: 'in/x', payload: 'second', qos: 2, packetId: 7 }));
    await expectBytes(conn, PacketType.PUBREC, ackPacket('pubrec', 7), 'PUBREC 7 (new message)');
    expect((await take(messages, 1)).map((m) => m.text())).toEqual(['second']);
  });

  it('sessionPresent 0: the id is forgotten, a new message with the same id is delivered', async () => {
    const opts = { clientId: 'in-q2-forgotten', clean: true };
    const { s, messages } = await receivedBeforeDrop(opts);
    const conn = await reconnectFake(s, opts, connackPacket(0, false));
    conn.write(publishPacket({ topic: 'in/x', payload: 'new session', qos: 2, packetId: 7 }));
    await expectBytes(conn, PacketType.PUBREC, ackPacket('pubrec', 7), 'PUBREC 7');
    expect((await take(messages, 1)).map((m) => m.text())).toEqual(['new session']);
  });
});
