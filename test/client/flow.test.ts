import { describe, expect, it } from 'vitest';
import type { Subscription, TransportFactory } from '../../src/index.js';
import { openTcp } from '../../src/transport/node-tcp.js';
import { PacketType } from '../helpers/fake-broker.js';
import { ackPacket, connackPacket, packetIdOf, publishPacket, subackPacket } from '../helpers/mqtt-bytes.js';
import { expectQuiet, PacketLog, take, tick, track, until, useHarness, within } from './helpers.js';
import { forwarding } from '../helpers/transport.js';

const h = useHarness();

describe('throughput', () => {
  it('a 10,000-message QoS 2 burst (inflightWindow 20, nothing awaited) arrives complete, unique and in order', async () => {
    const b = await h.aedes();
    const subscriber = await h.connected(b.url, { clientId: 'burst-sub' });
    const publisher = await h.connected(b.url, { clientId: 'burst-pub', inflightWindow: 20, ackTimeout: 20_000 });
    const s = await subscriber.subscribe('burst/x', { qos: 2 });
    const N = 10_000;
    const published = Promise.all(Array.from({ length: N }, (_, i) => publisher.publish('burst/x', String(i), { qos: 2 })));
    expect(publisher.stats().inflight).toBeLessThanOrEqual(20);
    const received: number[] = [];
    const reading = (async () => {
      for await (const m of s) {
        received.push(Number(m.text()));
        if (received.length === N) break;
      }
    })();
    await within(Promise.all([published, reading]), 15_000, '10,000 QoS 2 messages');
    expect(received.length).toBe(N);
    expect(new Set(received).size).toBe(N);
    expect(received.every((v, i) => v === i)).toBe(true);
    expect(publisher.stats()).toMatchObject({ inflight: 0, queued: 0, messagesOut: N });
  }, 20_000);

  it('inflightWindow 5: the broker never sees more than 5 unacknowledged PUBLISHes, and order is kept', async () => {
    const fake = await h.fake();
    const c = h.client(fake.url, { inflightWindow: 5 });
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write('20 02 00 00');
    await connecting;
    const N = 12;
    const pubs = Array.from({ length: N }, (_, i) => track(c.publish('win/x', `p${i}`, { qos: 1 })));
    const unacked: number[] = [];
    const order: string[] = [];
    const readPublish = async (): Promise<void> => {
      const p = await conn.expectPacket(PacketType.PUBLISH);
      unacked.push(packetIdOf(p));
      order.push(Buffer.from(p.subarray(2 + 2 + 'win/x'.length + 2)).toString()); // header, topic, id, payload
    };
    for (let i = 0; i < 5; i++) await readPublish();
    await expectQuiet(conn); // the window is full: a 6th must wait
    expect(c.stats()).toMatchObject({ inflight: 5, queued: N - 5 });
    let sent = 5;
    while (unacked.length > 0) {
      conn.write(ackPacket('puback', unacked.shift()!));
      if (sent < N) {
        await readPublish(); // exactly one more per ack, never two
        sent++;
        expect(unacked.length).toBe(5);
        await expectQuiet(conn);
      }
    }
    await until(() => pubs.every((p) => p.status === 'resolved'), 2000, 'all publishes resolved');
    expect(order).toEqual(Array.from({ length: N }, (_, i) => `p${i}`));
    expect(c.stats()).toMatchObject({ inflight: 0, queued: 0 });
  });
});

describe('slow consumers', () => {
  it("highWaterMark 10, 'block': the buffer stays bounded while nobody reads, and nothing is lost", async () => {
    const b = await h.aedes();
    // The subscriber's own TCP transport, watched: its buffer is noted after every chunk it reads, and
    // every pause and resume the client asks for is seen, so no sampling over a time window is needed.
    const seen = { sub: undefined as Subscription | undefined, maxBuffered: 0, paused: false, pauses: 0, chunksWhilePaused: 0 };
    const transport: TransportFactory = async (url, handlers, options) => {
      const t = await openTcp(url, {
        ...handlers,
        onData: (chunk) => {
          if (seen.paused) seen.chunksWhilePaused++;
          handlers.onData(chunk);
          seen.maxBuffered = Math.max(seen.maxBuffered, seen.sub?.buffered ?? 0);
        },
      }, options);
      return forwarding(t, {
        pause: () => {
          seen.paused = true;
          seen.pauses++;
          t.pause();
        },
        resume: () => {
          seen.paused = false;
          t.resume();
        },
      });
    };
    const subscriber = await h.connected(b.url, { clientId: 'slow', transport });
    const publisher = await h.connected(b.url, { clientId: 'fast' });
    const s = await subscriber.subscribe('slow/x', { qos: 1, highWaterMark: 10 });
    seen.sub = s;
    expect(s.highWaterMark).toBe(10);
    expect(s.overflow).toBe('block');
    const N = 1000;
    const payload = (i: number): string => String(i).padStart(6, '0') + '.'.repeat(2000 - 6);
    const packetSize = 2 + 2 + 'slow/x'.length + 2 + 2000 + 1; // fixed header is 3 bytes for this size
    // One socket read (at most 64 KiB) may overshoot the bound by the messages already in it.
    const bound = 10 + Math.ceil(65_536 / packetSize) + 1;
    const published = Promise.all(Array.from({ length: N }, (_, i) => publisher.publish('slow/x', payload(i), { qos: 1 })));
    published.catch(() => {});
    await until(() => seen.paused, 3000, 'the subscriber pausing its reads');
    expect(s.buffered).toBeGreaterThanOrEqual(10); // the consumer really is behind
    expect(subscriber.stats().messagesIn).toBeLessThan(N);
    expect(seen.maxBuffered).toBeLessThanOrEqual(bound);
    const got: number[] = [];
    for await (const m of s) {
      got.push(Number(m.text().slice(0, 6)));
      if (got.length === N) break;
    }
    expect(seen.maxBuffered).toBeLessThanOrEqual(bound);
    expect(seen.chunksWhilePaused).toBe(0);
    expect(seen.pauses).toBeGreaterThan(1); // it paused and resumed as the reader caught up, not just once
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i));
    await within(published, 5000, 'publishes');
  });

  it('subscribe() with a small highWaterMark resolves when more messages than that arrive before its SUBACK (a resumed session)', async () => {
    // The subscription is not the application's until subscribe() resolves, so nobody can read it
    // before then: a full buffer must not stop the client reading the socket, or the SUBACK behind
    // those messages is never read and subscribe() never resolves (a worker restarting into a queue).
    const fake = await h.fake();
    const c = h.client(fake.url, { clientId: 'backlog', clean: false });
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write(connackPacket(0, true));
    await connecting;
    const subscribing = c.subscribe('backlog/#', { qos: 1, highWaterMark: 2 });
    subscribing.catch(() => {}); // awaited below; if the test fails first, teardown rejects it
    const subscribe = await conn.expectPacket(PacketType.SUBSCRIBE);
    // The broker's queue for the session first, in reads of their own, then the SUBACK.
    const N = 6;
    for (let i = 0; i < N; i++) {
      conn.write(publishPacket({ topic: `backlog/${i}`, payload: String(i), qos: 1, packetId: 100 + i }));
      await conn.expectPacket(PacketType.PUBACK); // the client read it (and acknowledged it)
    }
    conn.write(subackPacket(packetIdOf(subscribe), [1]));
    const sub = await within(subscribing, 2000, 'subscribe() with 6 messages ahead of its SUBACK and highWaterMark 2');
    expect((await take(sub, N)).map((m) => Number(m.text()))).toEqual(Array.from({ length: N }, (_, i) => i));

    // The positive control: once subscribe() has resolved, the same bound does stop reading. Two
    // messages fill the buffer (both acknowledged); the third is not read until the application reads.
    for (let i = 0; i < 2; i++) {
      conn.write(publishPacket({ topic: 'backlog/late', payload: `late${i}`, qos: 1, packetId: 200 + i }));
      await conn.expectPacket(PacketType.PUBACK);
    }
    conn.write(publishPacket({ topic: 'backlog/late', payload: 'late2', qos: 1, packetId: 202 }));
    await expect(conn.expectPacket(PacketType.PUBACK, 300)).rejects.toThrow(/no packet from client within 300 ms/);
    expect((await take(sub, 3)).map((m) => m.text())).toEqual(['late0', 'late1', 'late2']);
    expect(packetIdOf(await conn.expectPacket(PacketType.PUBACK))).toBe(202);
  });

  it("'drop-newest' with QoS 0: keeps the first highWaterMark messages, counts the rest in `dropped`, keeps reading", async () => {
    const b = await h.aedes();
    const subscriber = await h.connected(b.url);
    const publisher = await h.connected(b.url);
    const s = await subscriber.subscribe('dn/x', { qos: 0, highWaterMark: 10, overflow: 'drop-newest' });
    const other = await subscriber.subscribe('dn/other', { qos: 0 });
    for (let i = 0; i < 30; i++) await publisher.publish('dn/x', String(i));
    await until(() => subscriber.stats().messagesIn === 30, 2000, '30 messages in');
    expect(s.buffered).toBe(10);
    expect(s.dropped).toBe(20);
    // Dropping is what lets the client keep reading: a second batch and another subscription still flow.
    for (let i = 30; i < 60; i++) await publisher.publish('dn/x', String(i));
    await publisher.publish('dn/other', 'still flowing');
    await until(
      () => subscriber.stats().messagesIn === 61,
      2000,
      () => `61 messages in (got ${subscriber.stats().messagesIn}): the client must keep reading while a drop-policy subscription is full;`,
    );
    const [o] = await take(other, 1, 2000);
    expect(o!.text()).toBe('still flowing');
    expect(subscriber.stats().messagesIn).toBe(61);
    expect(s.dropped).toBe(50);
    const kept = await take(s, 10);
    expect(kept.map((m) => Number(m.text()))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.buffered).toBe(0);
  });

  it("'drop-oldest' with QoS 0: keeps the newest highWaterMark messages, counts the rest in `dropped`", async () => {
    const b = await h.aedes();
    const subscriber = await h.connected(b.url);
    const publisher = await h.connected(b.url);
    const s = await subscriber.subscribe('do/x', { qos: 0, highWaterMark: 10, overflow: 'drop-oldest' });
    const other = await subscriber.subscribe('do/other', { qos: 0 });
    for (let i = 0; i < 30; i++) await publisher.publish('do/x', String(i));
    await until(() => subscriber.stats().messagesIn === 30, 2000, '30 messages in');
    expect(s.buffered).toBe(10);
    expect(s.dropped).toBe(20);
    for (let i = 30; i < 60; i++) await publisher.publish('do/x', String(i));
    await publisher.publish('do/other', 'still flowing');
    await until(
      () => subscriber.stats().messagesIn === 61,
      2000,
      () => `61 messages in (got ${subscriber.stats().messagesIn}): the client must keep reading while a drop-policy subscription is full;`,
    );
    const [o] = await take(other, 1, 2000);
    expect(o!.text()).toBe('still flowing');
    expect(s.dropped).toBe(50);
    const kept = await take(s, 10);
    expect(kept.map((m) => Number(m.text()))).toEqual([50, 51, 52, 53, 54, 55, 56, 57, 58, 59]);
  });

  it("drop policies never drop QoS 1 messages: they are all delivered", async () => {
    const b = await h.aedes();
    const subscriber = await h.connected(b.url);
    const publisher = await h.connected(b.url);
    const s = await subscriber.subscribe('dq/x', { qos: 1, highWaterMark: 5, overflow: 'drop-newest' });
    const published = Promise.all(Array.from({ length: 50 }, (_, i) => publisher.publish('dq/x', String(i), { qos: 1 })));
    await until(() => s.buffered >= 5, 2000, 'buffer at the high-water mark');
    const got = await take(s, 50);
    expect(got.map((m) => Number(m.text()))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(s.dropped).toBe(0);
    await within(published, 2000, 'publishes');
  });
});

describe('client.messages()', () => {
  it('messages that match no subscription (a kept session) reach client.messages()', async () => {
    const b = await h.aedes();
    const first = await h.connected(b.url, { clientId: 'offline', clean: false });
    await first.subscribe('off/#', { qos: 1 });
    await first.end();
    const publisher = await h.connected(b.url);
    for (let i = 0; i < 3; i++) await publisher.publish('off/x', `q${i}`, { qos: 1 });
    const again = h.client(b.url, { clientId: 'offline', clean: false });
    const unrouted = again.messages(); // before connect: queued messages may come with the CONNACK
    await expect(again.connect()).resolves.toEqual({ sessionPresent: true, properties: {} });
    const got = await take(unrouted, 3);
    expect(got.map((m) => [m.topic, m.text(), m.qos])).toEqual([
      ['off/x', 'q0', 1],
      ['off/x', 'q1', 1],
      ['off/x', 'q2', 1],
    ]);
    expect(again.stats().unroutedDropped).toBe(0);
    expect(again.messages()).toBe(unrouted);
  });

  it('without anyone iterating messages(), unrouted messages are counted in stats().unroutedDropped (and acknowledged)', async () => {
    const b = await h.aedes();
    const first = await h.connected(b.url, { clientId: 'dropper', clean: false });
    await first.subscribe('drop/#', { qos: 1 });
    await first.end();
    const publisher = await h.connected(b.url);
    for (let i = 0; i < 4; i++) await publisher.publish('drop/x', `d${i}`, { qos: 1 });
    const log = new PacketLog();
    const again = await h.connected(b.url, { clientId: 'dropper', clean: false, logger: log.logger });
    await until(() => again.stats().messagesIn === 4, 2000, '4 messages in');
    // Held until the application has set itself up (a resumed session delivers before it could
    // subscribe again); once its first subscribe() succeeds, what nobody claimed is counted and dropped.
    expect(again.stats().unroutedDropped).toBe(0);
    await again.subscribe('unrelated/topic');
    expect(again.stats().unroutedDropped).toBe(4);
    await until(() => log.out('PUBACK').length === 4, 2000, '4 PUBACKs');
    // Acknowledged: a reconnect gets nothing again.
    await again.end();
    const third = h.client(b.url, { clientId: 'dropper', clean: false });
    const unrouted = third.messages();
    await third.connect();
    const marker = await third.subscribe('drop/marker', { qos: 1 });
    await publisher.publish('drop/marker', 'm', { qos: 1 });
    await take(marker, 1);
    expect(unrouted.buffered).toBe(0);
  });

  it('a resumed session delivers before the application subscribes: messages() and a later subscribe() still get them', async () => {
    const b = await h.aedes();
    const first = await h.connected(b.url, { clientId: 'resumer', clean: false });
    await first.subscribe(['held/a', 'held/b'], { qos: 1 });
    await first.end();
    const publisher = await h.connected(b.url);
    await publisher.publish('held/a', 'a1', { qos: 1 });
    await publisher.publish('held/b', 'b1', { qos: 1 });
    const again = await h.connected(b.url, { clientId: 'resumer', clean: false });
    await until(() => again.stats().messagesIn === 2, 2000, '2 messages in');
    // The subscription made after connect() receives what arrived for its filter before it existed.
    const subA = await again.subscribe('held/a', { qos: 1 });
    expect((await take(subA, 1)).map((m) => m.text())).toEqual(['a1']);
    expect(again.stats().unroutedDropped).toBe(1);
  });

  it('messages() called after connect() of a resumed session still gets what arrived first', async () => {
    const b = await h.aedes();
    const first = await h.connected(b.url, { clientId: 'resumer2', clean: false });
    await first.subscribe('held2/#', { qos: 1 });
    await first.end();
    const publisher = await h.connected(b.url);
    for (let i = 0; i < 3; i++) await publisher.publish('held2/x', `m${i}`, { qos: 1 });
    const again = await h.connected(b.url, { clientId: 'resumer2', clean: false });
    await until(() => again.stats().messagesIn === 3, 2000, '3 messages in');
    expect((await take(again.messages(), 3)).map((m) => m.text())).toEqual(['m0', 'm1', 'm2']);
    expect(again.stats().unroutedDropped).toBe(0);
  });

  it('a routed message does not also go to messages()', async () => {
    const b = await h.aedes();
    const c = h.client(b.url);
    const unrouted = c.messages();
    await c.connect();
    const s = await c.subscribe('rt/x', { qos: 1 });
    const publisher = await h.connected(b.url);
    await publisher.publish('rt/x', 'routed', { qos: 1 });
    const [m] = await take(s, 1);
    expect(m!.text()).toBe('routed');
    await tick();
    expect(unrouted.buffered).toBe(0);
    expect(c.stats().unroutedDropped).toBe(0);
  });
});
