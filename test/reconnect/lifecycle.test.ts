/**
 * The reconnect life cycle, byte-exact on a fake broker with a hand-driven clock: what ends it
 * (end, destroy, CONNACK refusals), what triggers it (socket close, dead keepalive, protocol error),
 * how the backoff grows and resets, and how calls made while reconnecting behave.
 */
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  ClientClosedError,
  ConnectionClosedError,
  ConnectionRefusedError,
  MqttProtocolError,
  QueueFullError,
  TimeoutError,
  type TransportFactory,
} from '../../src/index.js';
import { openTcp } from '../../src/transport/node-tcp.js';
import { PacketType, toHex } from '../helpers/fake-broker.js';
import { ackPacket, connackPacket, packetIdOf, PINGREQ, PINGRESP, publishPacket, subackPacket, subscribePacket, unsubscribePacket } from '../helpers/mqtt-bytes.js';
import { expectQuiet, ManualTimers, rejection, take, tick, track, useHarness, within } from '../client/helpers.js';
import { connectFakeReconnecting, reconnectFake, StatusRecorder, type FakeSetup, type StatusOf } from './helpers.js';

const h = useHarness();

/** Drops the connection from the broker side and waits until the client has scheduled its reconnect. */
async function lose(s: FakeSetup): Promise<void> {
  s.conn.destroy();
  await s.status.next('disconnected');
  expect(s.c.state).toBe('reconnecting');
}

describe('what ends reconnecting', () => {
  it('end({ timeout: 0 }) while waiting to reconnect: everything pending settles, iterators end, no timer is left, no new connection', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'end-backoff' });
    const subscribing = s.c.subscribe('e/#', { qos: 1 });
    expect(toHex(await s.conn.expectPacket(PacketType.SUBSCRIBE))).toBe(toHex(subscribePacket(1, [['e/#', 1]])));
    s.conn.write(subackPacket(1, [1]));
    const sub = await subscribing;
    const reading = track(sub.next());
    const unrouted = track(s.c.messages().next());
    await lose(s);
    await s.status.next('reconnecting');
    const pub = track(s.c.publish('e/x', 'queued', { qos: 1 }));
    const pub0 = track(s.c.publish('e/x', 'queued0', { qos: 0 }));
    const sub2 = track(s.c.subscribe('e2/#'));
    const unsub = track(s.c.unsubscribe('e/#'));
    await tick();
    expect([pub.status, pub0.status, sub2.status, unsub.status, reading.status]).toEqual(['pending', 'pending', 'pending', 'pending', 'pending']);

    // No time to deliver: what was queued is rejected rather than sent (the next test delivers it).
    await within(s.c.end({ timeout: 0 }), 1000, 'end()');
    expect(s.c.state).toBe('closed');
    expect(s.timers.count).toBe(0);
    await tick();
    for (const p of [pub, pub0, sub2, unsub]) {
      expect(p.status).toBe('rejected');
      expect(p.error).toBeInstanceOf(ClientClosedError);
    }
    expect(reading.status).toBe('resolved');
    expect(reading.value).toEqual({ value: undefined, done: true });
    expect(unrouted.value).toEqual({ value: undefined, done: true });
    await expect(s.c.closed).resolves.toBeUndefined();
    await within(s.status.ended, 1000, 'status end');
    expect(s.status.events.at(-1)).toEqual({ type: 'closed' });
    s.timers.advance(60_000);
    await expect(s.fake.nextConnection(100)).rejects.toThrow(/no new connection/);
  });

  it('end() while waiting to reconnect with publishes queued: connects once more at once, delivers them, then DISCONNECTs', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'end-deliver', reconnect: { initialDelay: 60_000, maxDelay: 60_000 } });
    await lose(s);
    await s.status.next('reconnecting');
    expect(s.timers.count).toBeGreaterThan(0); // the backoff timer, which the hand-driven clock never fires here
    const pub1 = track(s.c.publish('e/x', 'one', { qos: 1 }));
    const pub0 = track(s.c.publish('e/x', 'zero', { qos: 0 }));
    const ended = track(s.c.end());
    // No publish, subscribe or unsubscribe is taken once end() was called.
    await expect(s.c.publish('e/x', 'late')).rejects.toThrow(new ClientClosedError('cannot publish: the client is ending'));
    // The backoff timer is not advanced: end() does not wait it out.
    const conn = await s.fake.nextConnection(2000);
    await conn.expectPacket(PacketType.CONNECT);
    conn.write(connackPacket(0));
    const p1 = await conn.expectPacket(PacketType.PUBLISH);
    expect(toHex(p1)).toBe(toHex(publishPacket({ topic: 'e/x', payload: 'one', qos: 1, packetId: packetIdOf(p1) })));
    expect(toHex(await conn.expectPacket(PacketType.PUBLISH))).toBe(toHex(publishPacket({ topic: 'e/x', payload: 'zero' })));
    await tick();
    expect(ended.status).toBe('pending'); // the QoS 1 publish is not acknowledged yet
    conn.write(ackPacket('puback', packetIdOf(p1)));
    await conn.expectPacket(PacketType.DISCONNECT);
    await within(ended.promise, 2000, 'end()');
    expect([pub1.status, pub0.status]).toEqual(['resolved', 'resolved']);
    expect(s.c.state).toBe('closed');
    expect(s.timers.count).toBe(0);
    await expect(s.c.closed).resolves.toBeUndefined();
  });

  it('end() while waiting to reconnect with publishes queued, the broker still down: one attempt, then they reject saying why', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'end-undeliverable', endTimeout: 5000 });
    await lose(s);
    await s.status.next('reconnecting');
    const pub = track(s.c.publish('e/x', 'one', { qos: 1 }));
    const ended = track(s.c.end());
    const conn = await s.fake.nextConnection(2000); // the one last attempt
    await conn.expectPacket(PacketType.CONNECT);
    conn.destroy(); // and it fails
    await within(ended.promise, 2000, 'end()');
    await tick();
    expect(pub.status).toBe('rejected');
    expect(pub.error).toBeInstanceOf(ClientClosedError);
    expect((pub.error as Error).message).toMatch(/^the client was ended while reconnecting, and the broker could not be reached to deliver 1 publishes: /);
    expect(s.c.state).toBe('closed');
    expect(s.timers.count).toBe(0);
    s.timers.advance(60_000);
    await expect(s.fake.nextConnection(100)).rejects.toThrow(/no new connection/);
  });

  it('destroy(err) while waiting to reconnect: closed rejects with err, pending work and iterators get err, no timer is left', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'destroy-backoff' });
    const unrouted = s.c.messages();
    await lose(s);
    await s.status.next('reconnecting');
    const pub = track(s.c.publish('d/x', 'queued', { qos: 2 }));
    const boom = new Error('gone for good');
    s.c.destroy(boom);
    expect(s.c.state).toBe('closed');
    expect(s.timers.count).toBe(0);
    await tick();
    expect(pub.status).toBe('rejected');
    expect(pub.error).toBe(boom);
    await expect(unrouted.next()).rejects.toBe(boom);
    await expect(s.c.closed).rejects.toBe(boom);
    await within(s.status.ended, 1000, 'status end');
    expect(s.status.events.at(-1)).toEqual({ type: 'closed', error: boom });
    s.timers.advance(60_000);
    await expect(s.fake.nextConnection(100)).rejects.toThrow(/no new connection/);
  });

  it('end({ timeout: 0 }) while a reconnect attempt waits for CONNACK: the attempt is dropped, end() resolves, no timer is left', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'end-attempt', connectTimeout: 10_000 });
    await lose(s);
    const r = await s.status.next('reconnecting');
    s.timers.advance(r.delay);
    const conn = await s.fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT); // and no CONNACK
    const pub = track(s.c.publish('e/x', 'queued', { qos: 1 }));
    await within(s.c.end({ timeout: 0 }), 1000, 'end()');
    await tick();
    expect(s.c.state).toBe('closed');
    expect(s.timers.count).toBe(0);
    expect(pub.error).toBeInstanceOf(ClientClosedError);
    await conn.expectClosed(1000);
    await expect(s.c.closed).resolves.toBeUndefined();
    expect(s.status.types().slice(-1)).toEqual(['closed']);
  });

  it('end() while a reconnect attempt is still opening its transport: the opening is aborted and no timer is left', async () => {
    const timers = new ManualTimers();
    const fake = await h.fake();
    let calls = 0;
    let secondSignal: AbortSignal | undefined;
    // The first connection is real; the second never opens (a SYN into the void) unless aborted.
    const transport: TransportFactory = (url, handlers, options) => {
      if (++calls === 1) return openTcp(url, handlers, options);
      secondSignal = options.signal;
      return new Promise((_, reject) => {
        options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
      });
    };
    const c = h.client(fake.url, { clientId: 'end-opening', keepalive: 0, timers, transport, connectTimeout: 30_000, reconnect: { initialDelay: 10, maxDelay: 10 } });
    const st = new StatusRecorder(c);
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write(connackPacket(0));
    await connecting;
    conn.destroy();
    const r = await st.next('reconnecting');
    timers.advance(r.delay);
    await tick();
    expect(calls).toBe(2);
    expect(c.state).toBe('connecting');

    await within(c.end(), 1000, 'end()');
    await tick();
    expect(c.state).toBe('closed');
    // Nothing may keep the process alive after end(): the opening socket must be aborted and
    // the connectTimeout timer of the attempt cleared, not left to fire 30 s later.
    expect.soft(secondSignal?.aborted, 'the opening transport was aborted').toBe(true);
    expect.soft(timers.dueIn, 'pending client timers').toEqual([]);
  });

  it.each([1, 2, 4, 5])('CONNACK refusal %i on a reconnect ends the client with ConnectionRefusedError (no retry)', async (code) => {
    const s = await connectFakeReconnecting(h, { clientId: `refused-${code}` });
    const pub = track(s.c.publish('r/x', 'pending', { qos: 1 }));
    await s.conn.expectPacket(PacketType.PUBLISH);
    await lose(s);
    const r = await s.status.next('reconnecting');
    s.timers.advance(r.delay);
    const conn = await s.fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write(connackPacket(code));
    const err = await rejection(s.c.closed);
    expect(err).toBeInstanceOf(ConnectionRefusedError);
    expect(err).toMatchObject({ returnCode: code });
    await tick();
    expect(pub.error).toBe(err);
    expect(s.timers.count).toBe(0);
    await within(s.status.ended, 1000, 'status end');
    expect(s.status.types()).toEqual(['connected', 'disconnected', 'offline', 'reconnecting', 'error', 'closed']);
    await conn.expectClosed(1000);
    s.timers.advance(60_000);
    await expect(s.fake.nextConnection(100)).rejects.toThrow(/no new connection/);
  });

  it('CONNACK 3 (server unavailable) is retried; the in-flight publish completes on the connection that is accepted (sent again as a new message: no session)', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'unavailable' });
    const pub = track(s.c.publish('r/x', 'pending', { qos: 1 }));
    await s.conn.expectPacket(PacketType.PUBLISH);
    await lose(s);
    for (let i = 0; i < 2; i++) {
      const r = await s.status.next('reconnecting');
      expect(r.attempt).toBe(i + 1);
      s.timers.advance(r.delay);
      const conn = await s.fake.nextConnection();
      await conn.expectPacket(PacketType.CONNECT);
      conn.write(connackPacket(3));
      const e = await s.status.next('error');
      expect(e.error).toBeInstanceOf(ConnectionRefusedError);
      expect(e.error).toMatchObject({ returnCode: 3 });
    }
    const conn = await reconnectFake(s);
    expect(toHex(await conn.expectPacket(PacketType.PUBLISH))).toBe(toHex(publishPacket({ topic: 'r/x', payload: 'pending', qos: 1, packetId: 2 })));
    conn.write(ackPacket('puback', 2));
    await within(pub.promise, 1000, 'publish');
    expect(s.c.stats().reconnects).toBe(1);
  });

  it('retryRefused: true retries refusal 5 too', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'retry5', reconnect: { initialDelay: 10, maxDelay: 10, retryRefused: true } });
    await lose(s);
    const r = await s.status.next('reconnecting');
    s.timers.advance(r.delay);
    const refused = await s.fake.nextConnection();
    await refused.expectPacket(PacketType.CONNECT);
    refused.write(connackPacket(5));
    expect((await s.status.next('error')).error).toMatchObject({ returnCode: 5 });
    await reconnectFake(s);
    expect(s.c.connected).toBe(true);
    expect(s.status.types()).toEqual(['connected', 'disconnected', 'offline', 'reconnecting', 'error', 'reconnecting', 'connected']);
  });
});

describe('what triggers reconnecting', () => {
  it('a dead keepalive (no PINGRESP) reconnects instead of closing, and keepalive runs again on the new connection', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'ka', keepalive: 1 });
    s.timers.advance(1000);
    expect(toHex(await s.conn.expectPacket(PacketType.PINGREQ))).toBe(toHex(PINGREQ));
    s.timers.advance(999);
    await tick();
    expect(s.c.connected).toBe(true);
    s.timers.advance(1); // pingTimeout (1000 ms) expires
    const lost = await s.status.next('disconnected');
    expect(lost.reason).toBeInstanceOf(TimeoutError);
    // The loss happened inside advance(): when full jitter drew a 0 ms delay, the same advance()
    // already ran the reconnect timer.
    expect(['reconnecting', 'connecting']).toContain(s.c.state);
    await s.conn.expectClosed(1000);
    const conn = await reconnectFake(s, { keepalive: 1 });
    s.timers.advance(1000);
    expect(toHex(await conn.expectPacket(PacketType.PINGREQ))).toBe(toHex(PINGREQ));
    s.timers.advance(3);
    conn.write(PINGRESP);
    await tick();
    await tick();
    expect(s.c.stats().lastPingRoundTrip).toBe(3);
    expect(s.c.connected).toBe(true);
    expect(s.status.types()).toEqual(['connected', 'disconnected', 'offline', 'reconnecting', 'connected']);
  });

  it('a protocol error from the broker (CONNACK while connected) reconnects', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'proto' });
    s.conn.write(connackPacket(0));
    const lost = await s.status.next('disconnected');
    expect(lost.reason).toBeInstanceOf(MqttProtocolError);
    expect(lost.reason).toMatchObject({ code: 'UNEXPECTED_PACKET' });
    await s.conn.expectClosed(1000);
    await reconnectFake(s);
    expect(s.c.connected).toBe(true);
  });

  it('malformed bytes from the broker reconnect', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'garbage' });
    s.conn.write('00 00'); // packet type 0 is reserved
    const lost = await s.status.next('disconnected');
    expect(lost.reason).toBeInstanceOf(MqttProtocolError);
    await reconnectFake(s);
    expect(s.c.connected).toBe(true);
  });

  it('a TCP reset reconnects; stats count bytes over both connections', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'reset' });
    const before = s.c.stats();
    s.conn.reset();
    const lost = await s.status.next('disconnected');
    expect(lost.reason).toBeInstanceOf(ConnectionClosedError);
    await reconnectFake(s);
    const after = s.c.stats();
    expect(after.bytesOut).toBe(before.bytesOut * 2); // two identical CONNECTs
    expect(after.bytesIn).toBe(before.bytesIn * 2); // two CONNACKs
    expect(after.reconnects).toBe(1);
  });

  it('the first connect() failing does not retry: CONNACK 3 rejects it and closes the client', async () => {
    const timers = new ManualTimers();
    const fake = await h.fake();
    const c = h.client(fake.url, { timers, keepalive: 0, reconnect: { initialDelay: 10, maxDelay: 10 } });
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write(connackPacket(3));
    const err = await rejection(connecting);
    expect(err).toMatchObject({ returnCode: 3 });
    await expect(c.closed).rejects.toBe(err);
    expect(c.state).toBe('closed');
    expect(timers.count).toBe(0);
    await expect(fake.nextConnection(100)).rejects.toThrow(/no new connection/);
  });
});

describe('on or off', () => {
  it('reconnect is on by default (initialDelay 1000): a loss schedules attempt 1 within [0, 1000] ms', async () => {
    const timers = new ManualTimers();
    const fake = await h.fake();
    const c = h.client(fake.url, { keepalive: 0, timers, reconnect: undefined });
    const st = new StatusRecorder(c);
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write(connackPacket(0));
    await connecting;
    conn.destroy();
    const r = await st.next('reconnecting');
    expect(r.attempt).toBe(1);
    expect(r.delay).toBeLessThanOrEqual(1000);
    expect(timers.dueIn).toEqual([r.delay]);
    expect(c.state).toBe('reconnecting');
  });

  it('reconnect: false: a loss closes the client with ConnectionClosedError and rejects what is pending', async () => {
    const timers = new ManualTimers();
    const fake = await h.fake();
    const c = h.client(fake.url, { keepalive: 0, timers, reconnect: false });
    const st = new StatusRecorder(c);
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write(connackPacket(0));
    await connecting;
    const pub = track(c.publish('x', 'y', { qos: 1 }));
    await conn.expectPacket(PacketType.PUBLISH);
    conn.destroy();
    const err = await rejection(c.closed);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    await tick();
    expect(pub.error).toBe(err);
    await within(st.ended, 1000, 'status end');
    expect(st.types()).not.toContain('reconnecting');
    expect(st.events.at(-1)).toEqual({ type: 'closed', error: err });
    expect(timers.count).toBe(0);
  });
});

describe('bounds on a reconnect attempt', () => {
  it('connectTimeout bounds each attempt: no CONNACK -> error TimeoutError, the connection is dropped, the next attempt follows', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'slow-connack', connectTimeout: 500 });
    await lose(s);
    const r = await s.status.next('reconnecting');
    s.timers.advance(r.delay);
    const silent = await s.fake.nextConnection();
    await silent.expectPacket(PacketType.CONNECT);
    s.timers.advance(499);
    await tick();
    expect(s.c.state).toBe('connecting');
    s.timers.advance(1);
    const e = await s.status.next('error');
    expect(e.error).toBeInstanceOf(TimeoutError);
    await silent.expectClosed(1000);
    const r2 = await s.status.next('reconnecting');
    expect(r2.attempt).toBe(2);
    // reconnectFake consumes the next 'reconnecting' itself: rewind by firing this one by hand.
    s.timers.advance(r2.delay);
    const conn = await s.fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write(connackPacket(0));
    await s.status.next('connected');
    expect(s.c.stats().reconnects).toBe(1);
  });

  it('options.signal aborted while reconnecting destroys the client: closed rejects with AbortError, no timer is left', async () => {
    const ac = new AbortController();
    const s = await connectFakeReconnecting(h, { clientId: 'abort-offline', signal: ac.signal });
    await lose(s);
    await s.status.next('reconnecting');
    ac.abort(new Error('stop'));
    const err = await rejection(s.c.closed);
    expect(err).toBeInstanceOf(AbortError);
    expect(s.timers.count).toBe(0);
  });
});

describe('backoff over successive losses', () => {
  it('failed attempts double the cap up to maxDelay; attempts count up', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'caps', reconnect: { initialDelay: 100, maxDelay: 500 } });
    await lose(s);
    const caps = [100, 200, 400, 500, 500, 500];
    for (let i = 0; i < caps.length; i++) {
      const r = await s.status.next('reconnecting');
      expect(r.attempt).toBe(i + 1);
      expect(r.delay).toBeGreaterThanOrEqual(0);
      expect(r.delay).toBeLessThanOrEqual(caps[i] as number);
      expect(s.timers.dueIn).toEqual([r.delay]);
      s.timers.advance(r.delay);
      const conn = await s.fake.nextConnection();
      await conn.expectPacket(PacketType.CONNECT);
      conn.write(connackPacket(3));
      await s.status.next('error');
    }
    await reconnectFake(s);
    expect(s.c.stats().reconnects).toBe(1);
  });

  it('the delay starts again from initialDelay only after a connection stayed up resetAfter ms', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'reset-after', reconnect: { initialDelay: 100, maxDelay: 100_000, resetAfter: 5000 } });
    const attempts: number[] = [];
    const cycle = async (upFor: number): Promise<void> => {
      s.timers.advance(upFor);
      s.conn.destroy();
      s.conn = await reconnectFake(s);
      const r = s.status.events.filter((e) => e.type === 'reconnecting').at(-1) as StatusOf<'reconnecting'>;
      attempts.push(r.attempt);
      expect(r.delay).toBeLessThanOrEqual(100 * 2 ** (r.attempt - 1));
    };
    await cycle(0); // 1: first loss
    await cycle(0); // 2: up for 0 ms: no reset
    await cycle(4999); // 3: up for 4999 ms: no reset
    await cycle(5000); // reset: 1 again
    await cycle(10); // 2
    expect(attempts).toEqual([1, 2, 3, 1, 2]);
    expect(s.c.stats().reconnects).toBe(5);
  });
});

describe('calls made while reconnecting', () => {
  it('subscribe() waits for the connection; its SUBSCRIBE is the first packet after CONNECT', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'sub-wait' });
    await lose(s);
    const sub = track(s.c.subscribe('w/#', { qos: 1 }));
    await tick();
    expect(sub.status).toBe('pending');
    const conn = await reconnectFake(s);
    expect(toHex(await conn.expectPacket(PacketType.SUBSCRIBE))).toBe(toHex(subscribePacket(1, [['w/#', 1]])));
    conn.write(subackPacket(1, [1]));
    const live = await within(sub.promise, 1000, 'subscribe');
    expect(live.granted).toEqual([1]);
    conn.write(publishPacket({ topic: 'w/x', payload: 'hi' }));
    expect((await take(live, 1)).map((m) => m.text())).toEqual(['hi']);
  });

  it('subscribe() and unsubscribe() while reconnecting are bounded by ackTimeout (TimeoutError); nothing is sent for them later', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'sub-timeout', ackTimeout: 1000, connectTimeout: 10_000 });
    await lose(s);
    const r = await s.status.next('reconnecting');
    s.timers.advance(r.delay);
    const conn = await s.fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT); // the broker is slow to answer
    const sub = track(s.c.subscribe('t/#'));
    const unsub = track(s.c.unsubscribe('t/#'));
    await tick();
    s.timers.advance(999);
    await tick();
    expect([sub.status, unsub.status]).toEqual(['pending', 'pending']);
    s.timers.advance(1);
    await tick();
    expect(sub.error).toBeInstanceOf(TimeoutError);
    expect(unsub.error).toBeInstanceOf(TimeoutError);
    conn.write(connackPacket(0));
    await s.status.next('connected');
    await expectQuiet(conn);
  });

  it('a SUBACK and an UNSUBACK pending when the connection drops reject with ConnectionClosedError; only live subscriptions are re-subscribed', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'ack-lost' });
    const subscribeAcked = async (filter: string, qos: 0 | 1 | 2, id: number) => {
      const p = s.c.subscribe(filter, { qos });
      expect(toHex(await s.conn.expectPacket(PacketType.SUBSCRIBE))).toBe(toHex(subscribePacket(id, [[filter, qos]])));
      s.conn.write(subackPacket(id, [qos]));
      return p;
    };
    const keep = await subscribeAcked('keep/#', 1, 1);
    const dropped = await subscribeAcked('drop/#', 0, 2);
    const sub = track(s.c.subscribe('lost/#', { qos: 2 }));
    expect(toHex(await s.conn.expectPacket(PacketType.SUBSCRIBE))).toBe(toHex(subscribePacket(3, [['lost/#', 2]])));
    const unsub = track(s.c.unsubscribe('drop/#'));
    expect(toHex(await s.conn.expectPacket(PacketType.UNSUBSCRIBE))).toBe(toHex(unsubscribePacket(4, ['drop/#'])));
    await lose(s);
    await tick();
    expect(sub.error).toBeInstanceOf(ConnectionClosedError);
    expect(unsub.error).toBeInstanceOf(ConnectionClosedError);
    expect((await dropped.next()).done).toBe(true);

    const conn = await reconnectFake(s);
    expect(toHex(await conn.expectPacket(PacketType.SUBSCRIBE))).toBe(toHex(subscribePacket(5, [['keep/#', 1]])));
    conn.write(subackPacket(5, [1]));
    await expectQuiet(conn);
    conn.write(publishPacket({ topic: 'keep/x', payload: 'still here' }));
    expect((await take(keep, 1)).map((m) => m.text())).toEqual(['still here']);
  });
});

describe('the offline queue', () => {
  it('offlineQueueLimit: publishes beyond it reject with QueueFullError (QoS 0 too); the queued ones go out in order after reconnecting', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'qfull', offlineQueueLimit: 3 });
    await lose(s);
    const pubs = [1, 2, 3].map((i) => track(s.c.publish('q/x', `m${i}`, { qos: 1 })));
    const full = await rejection(s.c.publish('q/x', 'm4', { qos: 1 }));
    expect(full).toBeInstanceOf(QueueFullError);
    expect(full).toMatchObject({ code: 'QUEUE_FULL' });
    await expect(s.c.publish('q/x', 'm5', { qos: 0 })).rejects.toBeInstanceOf(QueueFullError);
    expect(s.c.stats()).toMatchObject({ queued: 3, inflight: 0 });
    const conn = await reconnectFake(s);
    for (const i of [1, 2, 3]) {
      expect(toHex(await conn.expectPacket(PacketType.PUBLISH))).toBe(toHex(publishPacket({ topic: 'q/x', payload: `m${i}`, qos: 1, packetId: i })));
    }
    await tick();
    expect(pubs.map((p) => p.status)).toEqual(['pending', 'pending', 'pending']); // resolved by PUBACK, not by sending
    for (const i of [1, 2, 3]) conn.write(ackPacket('puback', i));
    await within(Promise.all(pubs.map((p) => p.promise)), 1000, 'publishes');
    await expectQuiet(conn);
  });

  it('offlineQueueLimit does not refuse publishes waiting behind a full in-flight window while connected: they wait their turn', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'qwindow', offlineQueueLimit: 2, inflightWindow: 1 });
    const pubs = [1, 2, 3, 4].map((i) => track(s.c.publish('w/x', `m${i}`, { qos: 1 })));
    for (const i of [1, 2, 3, 4]) {
      const p = await s.conn.expectPacket(PacketType.PUBLISH);
      expect(toHex(p)).toBe(toHex(publishPacket({ topic: 'w/x', payload: `m${i}`, qos: 1, packetId: i })));
      if (i === 1) expect(s.c.stats()).toMatchObject({ inflight: 1, queued: 3 });
      s.conn.write(ackPacket('puback', i));
    }
    await within(Promise.all(pubs.map((p) => p.promise)), 1000, 'publishes');
    // Offline, the same limit refuses: nothing drains that queue.
    await lose(s);
    const queued = [1, 2].map((i) => track(s.c.publish('w/x', `o${i}`, { qos: 1 })));
    await expect(s.c.publish('w/x', 'o3', { qos: 1 })).rejects.toBeInstanceOf(QueueFullError);
    expect(queued.map((p) => p.status)).toEqual(['pending', 'pending']);
  });

  it('aborting a publish queued while offline withdraws it: it is never sent', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'withdraw' });
    await lose(s);
    const ac = new AbortController();
    const withdrawn = track(s.c.publish('a/x', 'withdrawn', { qos: 1, signal: ac.signal }));
    const kept = track(s.c.publish('a/x', 'kept', { qos: 1 }));
    ac.abort();
    await tick();
    expect(withdrawn.error).toBeInstanceOf(AbortError);
    expect(s.c.stats().queued).toBe(1);
    const conn = await reconnectFake(s);
    expect(toHex(await conn.expectPacket(PacketType.PUBLISH))).toBe(toHex(publishPacket({ topic: 'a/x', payload: 'kept', qos: 1, packetId: 1 })));
    conn.write(ackPacket('puback', 1));
    await within(kept.promise, 1000, 'kept');
    await expectQuiet(conn);
  });

  it('queueQoS0: false drops QoS 0 published while offline (resolved, counted in offlineDropped); QoS 1 is still queued', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'noq0', queueQoS0: false });
    await lose(s);
    const q0 = track(s.c.publish('z/0', 'dropped', { qos: 0 }));
    const q1 = track(s.c.publish('z/1', 'kept', { qos: 1 }));
    await tick();
    expect(q0.status).toBe('resolved');
    expect(q1.status).toBe('pending');
    expect(s.c.stats()).toMatchObject({ offlineDropped: 1, queued: 1 });
    const conn = await reconnectFake(s);
    expect(toHex(await conn.expectPacket(PacketType.PUBLISH))).toBe(toHex(publishPacket({ topic: 'z/1', payload: 'kept', qos: 1, packetId: 1 })));
    conn.write(ackPacket('puback', 1));
    await within(q1.promise, 1000, 'QoS 1 publish');
    await expectQuiet(conn);
    // Connected again: QoS 0 is sent as usual.
    await s.c.publish('z/0', 'sent', { qos: 0 });
    expect(toHex(await conn.expectPacket(PacketType.PUBLISH))).toBe(toHex(publishPacket({ topic: 'z/0', payload: 'sent' })));
    expect(s.c.stats().offlineDropped).toBe(1);
  });

  it('the offline event counts what waits: in-flight plus queued', async () => {
    const s = await connectFakeReconnecting(h, { clientId: 'offline-count', inflightWindow: 2 });
    const pubs = [1, 2, 3].map((i) => track(s.c.publish('o/x', `m${i}`, { qos: 1 })));
    await s.conn.expectPacket(PacketType.PUBLISH);
    await s.conn.expectPacket(PacketType.PUBLISH);
    s.conn.destroy();
    expect(await s.status.next('offline')).toEqual({ type: 'offline', queued: 3 });
    const conn = await reconnectFake(s);
    const ids: number[] = [];
    for (let i = 0; i < 2; i++) ids.push(packetIdOf(await conn.expectPacket(PacketType.PUBLISH)));
    expect(ids).toEqual([3, 4]); // no session: sent again as new messages
    for (const id of ids) conn.write(ackPacket('puback', id));
    const third = await conn.expectPacket(PacketType.PUBLISH);
    expect(toHex(third)).toBe(toHex(publishPacket({ topic: 'o/x', payload: 'm3', qos: 1, packetId: 5 })));
    conn.write(ackPacket('puback', 5));
    await within(Promise.all(pubs.map((p) => p.promise)), 1000, 'publishes');
  });
});
