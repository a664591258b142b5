/**
 * What a real broker will not do on demand: stay silent, refuse, answer late, send unknown or duplicate
 * acknowledgements. The fake broker speaks raw bytes; time is the injected ManualTimers clock.
 */
import { describe, expect, it } from 'vitest';
import { AbortError, ConnectionClosedError, MqttProtocolError, SubscribeError, TimeoutError, type ClientOptions } from '../../src/index.js';
import { PacketType, toHex } from '../helpers/fake-broker.js';
import { ackPacket, packetIdOf, publishPacket, subackPacket } from '../helpers/mqtt-bytes.js';
import { connectToFake, expectAlive, expectQuiet, rejection, take, tick, track, useHarness, watchProcessErrors, within, writtenDuring } from './helpers.js';

const h = useHarness();

/** A client connected to a fresh fake broker (CONNACK 0 sent), on a manual clock. */
const fakeSession = (options: ClientOptions = {}): ReturnType<typeof connectToFake> => connectToFake(h, options);

describe('keepalive (MQTT-3.1.2-23)', () => {
  it('sends PINGREQ after keepalive seconds of silence; no PINGRESP within pingTimeout closes with TimeoutError', async () => {
    const { c, conn, timers } = await fakeSession({ keepalive: 1 });
    expect(await writtenDuring(c, () => timers.advance(999))).toBe(0);
    expect(await writtenDuring(c, () => timers.advance(1))).toBe(2); // the same kind of window sees the PINGREQ
    await conn.expectPacket(PacketType.PINGREQ, 500);
    timers.advance(999); // pingTimeout defaults to the keepalive interval
    await tick();
    expect(c.connected).toBe(true);
    timers.advance(1);
    const err = await rejection(c.closed, 500);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    expect((err as Error).message).toMatch(/PINGRESP/);
    expect(c.state).toBe('closed');
    expect(timers.count).toBe(0);
    await conn.expectClosed(1000);
  });

  it('a PINGRESP keeps the connection: PINGREQ again after the next idle interval; the round trip is recorded', async () => {
    const { c, conn, timers } = await fakeSession({ keepalive: 2 });
    timers.advance(2000);
    await conn.expectPacket(PacketType.PINGREQ, 500);
    timers.advance(250);
    conn.write('d0 00');
    // The client reads in order: once it has answered a probe sent after the PINGRESP, it has read the PINGRESP.
    const probe = publishPacket({ topic: 'probe', payload: 'p', qos: 1, packetId: 0x0777 });
    conn.write(probe);
    expect(toHex(await conn.expectPacket(PacketType.PUBACK, 1000))).toBe(toHex(ackPacket('puback', 0x0777)));
    expect(c.stats().lastPingRoundTrip).toBe(250);
    // 1999 ms since the first PINGREQ (the PUBACK above went out at 2250): at 2000 its pingTimeout would fire had the PINGRESP not cleared it.
    timers.advance(1749);
    expect(c.connected).toBe(true);
    expect(await writtenDuring(c, () => timers.advance(1))).toBe(0);
    expect(c.connected).toBe(true);
    // The next PINGREQ is due keepalive after the PUBACK, the last packet sent.
    expect(await writtenDuring(c, () => timers.advance(249))).toBe(0);
    expect(await writtenDuring(c, () => timers.advance(1))).toBe(2);
    await conn.expectPacket(PacketType.PINGREQ, 500);
    expect(c.connected).toBe(true);
  });

  it('any packet the client sends resets the idle clock', async () => {
    const { c, conn, timers } = await fakeSession({ keepalive: 1 });
    timers.advance(600);
    await c.publish('idle/reset', 'x');
    await conn.expectPacket(PacketType.PUBLISH, 500);
    expect(await writtenDuring(c, () => timers.advance(400))).toBe(0); // 1000 since CONNACK, 400 since the PUBLISH
    expect(await writtenDuring(c, () => timers.advance(600))).toBe(2);
    await conn.expectPacket(PacketType.PINGREQ, 500);
  });

  it('keepalive 0 turns it off: no timer, no PINGREQ ever', async () => {
    const { c, conn, timers } = await fakeSession({ keepalive: 0 });
    expect(timers.count).toBe(0);
    timers.advance(3_600_000);
    await expectQuiet(conn);
    expect(c.connected).toBe(true);
  });
});

describe('SUBACK', () => {
  it('0x80 for the only filter -> SubscribeError (refused, nothing granted), no UNSUBSCRIBE, still connected', async () => {
    const { c, conn } = await fakeSession();
    const p = c.subscribe('x/y', { qos: 1 });
    const sub = await conn.expectPacket(PacketType.SUBSCRIBE);
    conn.write(subackPacket(packetIdOf(sub), [0x80]));
    const err = await rejection(p);
    expect(err).toBeInstanceOf(SubscribeError);
    expect(err).toMatchObject({ code: 'SUBSCRIBE_REFUSED', refused: ['x/y'], granted: [] });
    await expectQuiet(conn);
    await expectAlive(c, conn);
  });

  it('0x80 for one of two filters -> the granted one is unsubscribed (UNSUBSCRIBE bytes checked) before rejecting', async () => {
    const { c, conn } = await fakeSession();
    const p = track(c.subscribe(['a', 'b'], { qos: 1 }));
    const sub = await conn.expectPacket(PacketType.SUBSCRIBE);
    conn.write(subackPacket(packetIdOf(sub), [0x01, 0x80]));
    const unsub = await conn.expectPacket(PacketType.UNSUBSCRIBE);
    const id = packetIdOf(unsub);
    expect(toHex(unsub)).toBe(toHex(Uint8Array.of(0xa2, 0x05, id >> 8, id & 0xff, 0x00, 0x01, 0x61)));
    await tick();
    expect(p.status).toBe('pending'); // waits for the UNSUBACK
    conn.write(ackPacket('unsuback', id));
    const err = await rejection(p.promise);
    expect(err).toMatchObject({ code: 'SUBSCRIBE_REFUSED', refused: ['b'], granted: [{ topicFilter: 'a', qos: 1 }] });
  });

  it('no SUBACK within ackTimeout -> TimeoutError; the client stays connected; a late SUBACK is ignored', async () => {
    const { c, conn, timers } = await fakeSession({ ackTimeout: 3000 });
    const p = track(c.subscribe('late/x', { qos: 1 }));
    const sub = await conn.expectPacket(PacketType.SUBSCRIBE);
    timers.advance(2999);
    await tick();
    expect(p.status).toBe('pending');
    timers.advance(1);
    const err = await rejection(p.promise);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    expect((err as Error).message).toMatch(/SUBACK/);
    conn.write(subackPacket(packetIdOf(sub), [1]));
    await expectAlive(c, conn);
    // The timed-out id is not reused for the next request.
    const next = track(c.subscribe('next/x'));
    const sub2 = await conn.expectPacket(PacketType.SUBSCRIBE);
    expect(packetIdOf(sub2)).not.toBe(packetIdOf(sub));
    conn.write(subackPacket(packetIdOf(sub2), [0]));
    await within(next.promise, 1000, 'second subscribe');
  });

  it('a SUBACK with the wrong number of return codes is a protocol error (MQTT-3.8.4-5)', async () => {
    const { c, conn } = await fakeSession();
    const p = c.subscribe(['a', 'b']);
    const sub = await conn.expectPacket(PacketType.SUBSCRIBE);
    conn.write(subackPacket(packetIdOf(sub), [0]));
    const err = await rejection(p);
    expect(err).toBeInstanceOf(MqttProtocolError);
    expect(err).toMatchObject({ statement: 'MQTT-3.8.4-5' });
    await expect(c.closed).rejects.toBe(err);
    await conn.expectClosed(1000);
  });
});

describe('acknowledgements', () => {
  it('a PUBACK for an unknown packet id is ignored', async () => {
    const { c, conn } = await fakeSession();
    conn.write('40 02 00 07');
    await expectQuiet(conn);
    await expectAlive(c, conn);
  });

  it('a PUBACK arriving after ackTimeout still completes the flow (the id stays reserved until then)', async () => {
    const { c, conn, timers } = await fakeSession({ ackTimeout: 1000 });
    const p = track(c.publish('slow/ack', 'x', { qos: 1 }));
    const pub = await conn.expectPacket(PacketType.PUBLISH);
    timers.advance(1000);
    const err = await rejection(p.promise);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/PUBACK/);
    expect(c.stats().inflight).toBe(1);
    const p2 = track(c.publish('slow/ack', 'y', { qos: 1 }));
    const pub2 = await conn.expectPacket(PacketType.PUBLISH);
    expect(packetIdOf(pub2)).not.toBe(packetIdOf(pub));
    conn.write(ackPacket('puback', packetIdOf(pub)));
    conn.write(ackPacket('puback', packetIdOf(pub2)));
    await within(p2.promise, 1000, 'second publish');
    expect(c.stats().inflight).toBe(0);
  });

  it('a PUBREL for an unknown packet id is answered with PUBCOMP', async () => {
    const { c, conn } = await fakeSession();
    conn.write(ackPacket('pubrel', 0x1234));
    expect(toHex(await conn.expectPacket(PacketType.PUBCOMP))).toBe('70 02 12 34');
    await expectAlive(c, conn);
  });

  it('outgoing QoS 2: PUBLISH, PUBREC -> PUBREL, PUBCOMP resolves', async () => {
    const { c, conn } = await fakeSession();
    const p = track(c.publish('q2/out', 'x', { qos: 2 }));
    const pub = await conn.expectPacket(PacketType.PUBLISH);
    expect(pub[0]).toBe(0x34);
    const id = packetIdOf(pub);
    conn.write(ackPacket('pubrec', id));
    expect(toHex(await conn.expectPacket(PacketType.PUBREL))).toBe(toHex(ackPacket('pubrel', id)));
    await tick();
    expect(p.status).toBe('pending');
    conn.write(ackPacket('pubcomp', id));
    await within(p.promise, 1000, 'QoS 2 publish');
  });

  it('incoming QoS 2 re-sent before PUBREL is not delivered twice; after PUBREL the id is a new message', async () => {
    const { c, conn } = await fakeSession();
    const unrouted = c.messages();
    conn.write(publishPacket({ topic: 'q2/in', payload: 'first', qos: 2, packetId: 5 }));
    expect(toHex(await conn.expectPacket(PacketType.PUBREC))).toBe('50 02 00 05');
    conn.write(publishPacket({ topic: 'q2/in', payload: 'first', qos: 2, packetId: 5, dup: true }));
    expect(toHex(await conn.expectPacket(PacketType.PUBREC))).toBe('50 02 00 05');
    conn.write(ackPacket('pubrel', 5));
    expect(toHex(await conn.expectPacket(PacketType.PUBCOMP))).toBe('70 02 00 05');
    conn.write(publishPacket({ topic: 'q2/in', payload: 'second', qos: 2, packetId: 5 }));
    expect(toHex(await conn.expectPacket(PacketType.PUBREC))).toBe('50 02 00 05');
    const got = await take(unrouted, 2);
    expect(got.map((m) => [m.text(), m.qos, m.dup])).toEqual([
      ['first', 2, false],
      ['second', 2, false],
    ]);
    expect(unrouted.buffered).toBe(0);
    expect(c.stats().messagesIn).toBe(2);
  });

  it('a PUBLISH split byte by byte is delivered once, intact', async () => {
    const { c, conn } = await fakeSession();
    const s = c.messages();
    const bytes = publishPacket({ topic: 'split/x', payload: 'fragmented', qos: 1, packetId: 9 });
    for (const b of bytes) {
      conn.write(Uint8Array.of(b));
      await new Promise((r) => setTimeout(r, 1));
    }
    const [m] = await take(s, 1);
    expect(m).toMatchObject({ topic: 'split/x', qos: 1 });
    expect(m!.text()).toBe('fragmented');
    expect(toHex(await conn.expectPacket(PacketType.PUBACK))).toBe('40 02 00 09');
  });
});

describe('broken connections', () => {
  it('an incoming packet over maxPacketSize closes with MqttProtocolError PACKET_TOO_LARGE', async () => {
    const { c, conn } = await fakeSession({ maxPacketSize: 100 });
    const s = c.messages();
    conn.write(publishPacket({ topic: 'big', payload: new Uint8Array(200) }));
    const err = await rejection(c.closed);
    expect(err).toBeInstanceOf(MqttProtocolError);
    expect(err).toMatchObject({ code: 'PACKET_TOO_LARGE' });
    await expect(s.next()).rejects.toBe(err);
    await conn.expectClosed(1000);
  });

  it('the broker resetting the connection rejects pending work with ConnectionClosedError', async () => {
    const { c, conn } = await fakeSession();
    const p = track(c.publish('reset/x', 'x', { qos: 1 }));
    await conn.expectPacket(PacketType.PUBLISH);
    const sub = track(c.subscribe('reset/y'));
    await conn.expectPacket(PacketType.SUBSCRIBE);
    conn.reset();
    const err = await rejection(c.closed);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    await tick();
    expect(p.error).toBe(err);
    expect(sub.error).toBe(err);
  });
});

describe('abort signals on operations', () => {
  it('publish: aborting a queued publish withdraws it (never sent); aborting a sent one only rejects its promise', async () => {
    const { c, conn } = await fakeSession({ inflightWindow: 1 });
    const sentAc = new AbortController();
    const queuedAc = new AbortController();
    const sent = track(c.publish('ab/sent', 'a', { qos: 1, signal: sentAc.signal }));
    const queued = track(c.publish('ab/queued', 'b', { qos: 1, signal: queuedAc.signal }));
    const pub = await conn.expectPacket(PacketType.PUBLISH);
    expect(c.stats()).toMatchObject({ inflight: 1, queued: 1 });
    queuedAc.abort('withdraw');
    sentAc.abort('stop waiting');
    await tick();
    expect(queued.error).toBeInstanceOf(AbortError);
    expect(sent.error).toBeInstanceOf(AbortError);
    expect(sent.error).toMatchObject({ code: 'ABORTED', cause: 'stop waiting' });
    expect(c.stats()).toMatchObject({ inflight: 1, queued: 0 });
    conn.write(ackPacket('puback', packetIdOf(pub))); // the broker still finishes the sent one
    await expectQuiet(conn); // and the withdrawn one never goes out
    expect(c.stats()).toMatchObject({ inflight: 0, queued: 0 });
    await expectAlive(c, conn);
  });

  it('publish with an already aborted signal rejects at once and sends nothing', async () => {
    const { c, conn } = await fakeSession();
    await expect(c.publish('ab/x', 'x', { qos: 1, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    await expectQuiet(conn);
  });

  it('subscribe aborted while waiting for SUBACK rejects with AbortError and undoes what the broker then grants', async () => {
    const { c, conn } = await fakeSession();
    const ac = new AbortController();
    const p = track(c.subscribe('ab/sub', { qos: 1, signal: ac.signal }));
    const sub = await conn.expectPacket(PacketType.SUBSCRIBE);
    ac.abort();
    await tick();
    expect(p.error).toBeInstanceOf(AbortError);
    conn.write(subackPacket(packetIdOf(sub), [1]));
    const unsub = await conn.expectPacket(PacketType.UNSUBSCRIBE);
    expect(toHex(unsub).endsWith(toHex(new TextEncoder().encode('ab/sub')))).toBe(true);
    conn.write(ackPacket('unsuback', packetIdOf(unsub)));
    await expectAlive(c, conn);
  });

  it('unsubscribe with an already aborted signal rejects at once, sends nothing, and leaves no unhandled rejection', async () => {
    const watch = watchProcessErrors();
    h.defer(() => watch.stop());
    const { c, conn } = await fakeSession();
    const err = await rejection(c.unsubscribe('ab/u', { signal: AbortSignal.abort() }));
    expect(err).toBeInstanceOf(AbortError);
    let sentUnsubscribe = false;
    try {
      await expectQuiet(conn);
    } catch {
      sentUnsubscribe = true;
    }
    // If an UNSUBSCRIBE did go out, its promise must not become an unhandled rejection when the
    // connection then breaks.
    conn.reset();
    await rejection(c.closed);
    // Node reports a rejection nobody handled at the end of the event-loop turn that made it (after its
    // microtasks); the client settled everything in the turn that read the reset, so the next turn is late enough.
    await tick();
    await tick();
    expect({ sentUnsubscribe, unhandled: watch.errors }).toEqual({ sentUnsubscribe: false, unhandled: [] });
  });
});
