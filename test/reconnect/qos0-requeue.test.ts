/**
 * QoS 0 publishes caught by a broken connection (issue 15, item 3), on a fake broker and a
 * hand-driven clock. The rule (docs/client.md, "When QoS 0 can be lost"): a QoS 0 PUBLISH still in
 * the write batch, never handed to the transport, certainly did not reach the broker, so with
 * `queueQoS0` (the default) it goes out on the next connection, in order, ahead of what was
 * published after it, and its promise resolves then. One already handed to the transport may have
 * arrived: it is never sent again (QoS 0 is at most once), and its promise rejects.
 */
import { describe, expect, it, vi } from 'vitest';
import { ConnectionClosedError, TimeoutError, type ClientOptions, type MqttClient } from '../../src/index.js';
import { openTcp } from '../../src/transport/node-tcp.js';
import type { TransportFactory } from '../../src/transport/transport.js';
import { PacketType, toHex, type FakeConnection } from '../helpers/fake-broker.js';
import { publishPacket } from '../helpers/mqtt-bytes.js';
import { expectQuiet, tick, track, useHarness, within, type Tracked } from '../client/helpers.js';
import { connectToFake5, next5, send5 } from '../helpers/fake-broker-v5.js';
import { connectFakeReconnecting, reconnectFake, StatusRecorder, type FakeSetup } from './helpers.js';
import { forwarding } from '../helpers/transport.js';

const h = useHarness();

async function expectPublish(conn: FakeConnection, topic: string, payload: string, what: string): Promise<void> {
  const p = await conn.expectPacket(PacketType.PUBLISH);
  expect(toHex(p), what).toBe(toHex(publishPacket({ topic, payload })));
}

const KEEPALIVE = { keepalive: 10, pingTimeout: 1000 } satisfies ClientOptions;

/**
 * Brings the connection to the edge of its keepalive deadline (PINGREQ sent, no PINGRESP), then in
 * one tick runs `publish` and lets the deadline pass: the connection breaks while the publishes of
 * that tick are still in the write batch, before it is handed to the transport.
 */
async function breakMidBatch<T>(s: FakeSetup, publish: () => T): Promise<T> {
  s.timers.advance(10_000);
  await s.conn.expectPacket(PacketType.PINGREQ);
  const out = publish();
  s.timers.advance(1000); // no PINGRESP: the connection is dead, in this same tick
  const lost = await s.status.next('disconnected');
  expect(lost.reason).toBeInstanceOf(TimeoutError);
  return out;
}

describe('a QoS 0 publish whose write batch was never handed over', () => {
  it('goes out first on the next connection, in order with those queued offline, and its promise resolves only then', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'q0-requeue', ...KEEPALIVE });
    const withSignal = new AbortController().signal; // takes the queued path, not the fast path
    const caught = await breakMidBatch(s, () => [
      track(s.c.publish('q/a', 'A')),
      track(s.c.publish('q/b', 'B', { signal: withSignal })),
      track(s.c.publish('q/c', 'C')),
    ]);
    await tick();
    expect(caught.map((p) => p.status)).toEqual(['pending', 'pending', 'pending']);
    expect(s.c.stats()).toMatchObject({ queued: 3, inflight: 0 });
    const offline = track(s.c.publish('q/d', 'D')); // published while offline: after A, B, C
    const conn = await reconnectFake(s, KEEPALIVE);
    await expectPublish(conn, 'q/a', 'A', 'A, first');
    await expectPublish(conn, 'q/b', 'B', 'B');
    await expectPublish(conn, 'q/c', 'C', 'C');
    await expectPublish(conn, 'q/d', 'D', 'D, queued offline, last');
    await expectQuiet(conn);
    await within(Promise.all([...caught, offline].map((p) => p.promise)), 1000, 'all four publishes');
    expect(s.c.stats()).toMatchObject({ queued: 0, inflight: 0 });
  });

  it('rejects with the error that closed the client when there is no next connection', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'q0-requeue-end', ...KEEPALIVE, reconnect: false });
    s.timers.advance(10_000);
    await s.conn.expectPacket(PacketType.PINGREQ);
    const a = track(s.c.publish('q/a', 'A'));
    s.timers.advance(1000);
    await expect(within(s.c.closed, 1000, 'closed')).rejects.toBeInstanceOf(TimeoutError);
    await tick();
    expect(a.status).toBe('rejected');
    expect(a.error).toBeInstanceOf(TimeoutError);
  });

  it('with queueQoS0: false it rejects with the connection\'s error and is not sent again', async () => {
    const opts = { clientId: 'q0-no-queue', ...KEEPALIVE, queueQoS0: false };
    const s = await connectFakeReconnecting(h, opts);
    const [a] = await breakMidBatch(s, () => [track(s.c.publish('q/a', 'A'))]) as [Tracked<unknown>];
    await tick();
    expect(a.status).toBe('rejected');
    expect(a.error).toBeInstanceOf(TimeoutError);
    const conn = await reconnectFake(s, opts);
    await expectQuiet(conn);
  });
});

describe('MQTT 5 [v5]', () => {
  it('a QoS 0 publish caught in the write batch goes out on the next connection with its properties', async () => {
    const { c, conn, timers, fake } = await connectToFake5(h, { clientId: 'q0-requeue-v5', ...KEEPALIVE, reconnect: { initialDelay: 10, maxDelay: 10 } });
    const status = new StatusRecorder(c as unknown as MqttClient); // it reads status() only, the same at both levels
    const properties = { contentType: 'text/plain', userProperties: [['k', 'v']] as [string, string][] };
    timers.advance(10_000);
    await next5(conn, 'pingreq');
    const a = track(c.publish('q/a', 'A', { properties }));
    timers.advance(1000);
    const ev = await status.next('reconnecting');
    await tick();
    expect(a.status).toBe('pending');
    timers.advance(ev.delay);
    const again = await fake.nextConnection();
    await next5(again, 'connect');
    send5(again, { type: 'connack', sessionPresent: false, returnCode: 0 });
    const p = await next5(again, 'publish');
    expect({ topic: p.topic, payload: new TextDecoder().decode(p.payload), qos: p.qos, dup: p.dup, properties: p.properties }).toEqual({ topic: 'q/a', payload: 'A', qos: 0, dup: false, properties });
    await within(a.promise, 1000, 'the publish');
  });

  it('a QoS 0 publish caught in the write batch still expires while it waits: expired, it is not sent (counted); the other goes', async () => {
    // A backoff of about 3 s (the jitter held near its top): q/short's 2 s run out while the client waits to reconnect.
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    h.defer(() => vi.restoreAllMocks());
    const { c, conn, timers, fake } = await connectToFake5(h, { clientId: 'q0-requeue-expiry', ...KEEPALIVE, reconnect: { initialDelay: 3000, maxDelay: 3000 } });
    const status = new StatusRecorder(c as unknown as MqttClient);
    timers.advance(10_000);
    await next5(conn, 'pingreq');
    const a = track(c.publish('q/short', 'S', { properties: { messageExpiryInterval: 2 } }));
    void c.publish('q/long', 'L', { properties: { messageExpiryInterval: 100 } });
    timers.advance(1000);
    const ev = await status.next('reconnecting');
    expect(ev.delay).toBeGreaterThan(2000);
    timers.advance(ev.delay);
    const again = await fake.nextConnection();
    await next5(again, 'connect');
    send5(again, { type: 'connack', sessionPresent: false, returnCode: 0 });
    const p = await next5(again, 'publish');
    expect(p.topic).toBe('q/long');
    expect(p.properties?.messageExpiryInterval).toBe(Math.ceil(100 - ev.delay / 1000));
    await within(a.promise, 1000, 'the batch');
    expect(c.stats().expired).toBe(1);
  });

  it('publishes written with this connection\'s topic aliases go out with their full topics on the next one', async () => {
    const { c, conn, timers, fake } = await connectToFake5(h, { clientId: 'q0-requeue-alias', ...KEEPALIVE, reconnect: { initialDelay: 10, maxDelay: 10 } }, { topicAliasMaximum: 4 });
    const status = new StatusRecorder(c as unknown as MqttClient);
    // Two publishes to one topic on the first connection: the second takes alias 1 (topic + alias).
    for (const payload of ['0', '1']) await c.publish('q/hot', payload);
    expect((await next5(conn, 'publish')).properties?.topicAlias).toBeUndefined();
    const aliased = await next5(conn, 'publish');
    expect({ topic: aliased.topic, alias: aliased.properties?.topicAlias }).toEqual({ topic: 'q/hot', alias: 1 });
    timers.advance(10_000);
    await next5(conn, 'pingreq');
    // The batch that breaks: alias only (empty topic), then another topic.
    const a = track(c.publish('q/hot', 'A'));
    const b = track(c.publish('q/cold', 'B'));
    timers.advance(1000);
    const ev = await status.next('reconnecting');
    timers.advance(ev.delay);
    const again = await fake.nextConnection();
    await next5(again, 'connect');
    send5(again, { type: 'connack', sessionPresent: false, returnCode: 0 }); // no aliases on this one
    const sent = [await next5(again, 'publish'), await next5(again, 'publish')];
    expect(sent.map((p) => ({ topic: p.topic, payload: new TextDecoder().decode(p.payload), alias: p.properties?.topicAlias }))).toEqual([
      { topic: 'q/hot', payload: 'A', alias: undefined },
      { topic: 'q/cold', payload: 'B', alias: undefined },
    ]);
    await within(Promise.all([a.promise, b.promise]), 1000, 'the publishes');
  });
});

describe('a QoS 0 publish handed to the transport, its drain still pending', () => {
  it('is not sent again (it may have arrived: here it did) and its promise rejects with CONNECTION_CLOSED', async () => {
    // A transport that takes the bytes (they reach the broker) but reports itself full and never drains.
    let congested = true;
    const transport: TransportFactory = async (url, handlers, options) => {
      const t = await openTcp(url, { ...handlers, onDrain: () => (congested ? undefined : handlers.onDrain()) }, options);
      return forwarding(t, { write: (data) => t.write(data) && !congested });
    };
    const opts = { clientId: 'q0-handed-over', transport };
    const s = await connectFakeReconnecting(h, opts);
    const a = track(s.c.publish('q/a', 'A'));
    await expectPublish(s.conn, 'q/a', 'A', 'A reached the broker');
    await tick();
    expect(a.status).toBe('pending'); // waiting for a drain
    congested = false;
    s.conn.destroy();
    await s.status.next('disconnected');
    await tick();
    expect(a.status).toBe('rejected');
    expect(a.error).toBeInstanceOf(ConnectionClosedError);
    expect((a.error as ConnectionClosedError).code).toBe('CONNECTION_CLOSED');
    const conn = await reconnectFake(s, opts);
    await expectQuiet(conn);
  });
});
