import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError } from '../../src/errors.js';
import { Keepalive } from '../../src/session/keepalive.js';
import { connectedSession, incoming, makeSession, pub, publishTracked, settle, track } from './host.js';
import { ManualTimers } from '../helpers/manual-timers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const PINGREQ = { type: 'pingreq' } as const;

describe('keepalive (MQTT-3.1.2-23)', () => {
  it('with keepalive 10 s, PINGREQ is written after 10 s without an outgoing packet, and again every 10 s', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    vi.advanceTimersByTime(9_999);
    expect(host.take()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(host.take()).toStrictEqual([PINGREQ]);
    vi.advanceTimersByTime(500);
    session.receive({ type: 'pingresp' });
    vi.advanceTimersByTime(9_499);
    expect(host.take()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(host.take()).toStrictEqual([PINGREQ]);
    expect(host.failures).toEqual([]);
    session.close();
  });

  it('the idle clock starts with CONNECT, not CONNACK: a slow CONNACK does not stretch the first interval', async () => {
    // CONNECT at t=0, CONNACK at t=4 s, keepalive 10 s: nothing was sent since CONNECT, so PINGREQ is due at t=10 s.
    const { session, host } = makeSession({ keepalive: 10, pingTimeout: 3000 });
    track(session.start());
    vi.advanceTimersByTime(4_000);
    session.receive({ type: 'connack', sessionPresent: false, returnCode: 0 });
    expect(host.take().map((p) => p.type)).toEqual(['connect']);
    vi.advanceTimersByTime(6_000);
    expect(host.take()).toStrictEqual([PINGREQ]);
    session.close();
  });

  it('outgoing packets postpone PINGREQ: it comes keepalive after the last packet sent', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    vi.advanceTimersByTime(6_000);
    publishTracked(session, pub('a', 0));
    vi.advanceTimersByTime(3_000);
    session.receive(incoming('in', 1, 5)); // our PUBACK is an outgoing packet too
    expect(host.take().map((p) => p.type)).toEqual(['publish', 'puback']);
    // Last packet at t=9 s: PINGREQ due at t=19 s.
    vi.advanceTimersByTime(9_999);
    expect(host.take()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(host.take()).toStrictEqual([PINGREQ]);
    session.close();
  });

  it('incoming packets do not postpone PINGREQ (only what the client sends counts)', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    for (let i = 1; i <= 9; i++) {
      vi.advanceTimersByTime(1_000);
      session.receive(incoming('qos0', 0));
    }
    expect(host.take()).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(host.take()).toStrictEqual([PINGREQ]);
    session.close();
  });

  it('PINGRESP cancels the dead-connection timer and records lastPingRoundTrip', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    expect(session.lastPingRoundTrip).toBeUndefined();
    vi.advanceTimersByTime(10_000);
    expect(host.take()).toStrictEqual([PINGREQ]);
    expect(vi.getTimerCount()).toBe(2); // next check + PINGRESP deadline
    vi.advanceTimersByTime(250);
    session.receive({ type: 'pingresp' });
    expect(session.lastPingRoundTrip).toBe(250);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(5_000);
    expect(host.failures).toEqual([]);
    session.close();
  });

  it('a PINGRESP nobody asked for is ignored', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    expect(() => session.receive({ type: 'pingresp' })).not.toThrow();
    expect(session.lastPingRoundTrip).toBeUndefined();
    expect(host.take()).toEqual([]);
    session.close();
  });

  it('no PINGRESP within pingTimeout: host.fail(TimeoutError), once', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    vi.advanceTimersByTime(10_000);
    expect(host.take()).toStrictEqual([PINGREQ]);
    vi.advanceTimersByTime(2_999);
    expect(host.failures).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(host.failures).toHaveLength(1);
    expect(host.failures[0]).toBeInstanceOf(TimeoutError);
    expect(host.failures[0]?.code).toBe('TIMEOUT');
    expect(host.failures[0]?.message).toContain('PINGRESP');
    // Even if the owner is slow to tear down: no second failure and no second PINGREQ while one is unanswered.
    vi.advanceTimersByTime(60_000);
    expect(host.failures).toHaveLength(1);
    expect(host.take()).toEqual([]);
    session.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('pingTimeout longer than the keepalive interval: one PINGREQ outstanding at a time', async () => {
    const { session, host } = await connectedSession({ keepalive: 1, pingTimeout: 5000 });
    vi.advanceTimersByTime(1_000);
    expect(host.take()).toStrictEqual([PINGREQ]);
    vi.advanceTimersByTime(4_999); // checks at 2 s .. 5 s find a PINGREQ outstanding
    expect(host.take()).toEqual([]);
    expect(host.failures).toEqual([]);
    vi.advanceTimersByTime(1); // 5 s after the PINGREQ
    expect(host.failures).toHaveLength(1);
    session.close();
  });

  it('keepalive 0 sends nothing ever and arms no timer', async () => {
    const { session, host } = await connectedSession({ keepalive: 0, pingTimeout: 3000 });
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(24 * 3600 * 1000);
    expect(host.take()).toEqual([]);
    expect(host.failures).toEqual([]);
    session.close();
  });

  it('keepalive does not run before CONNACK or after a refused CONNACK', async () => {
    const { session, host } = makeSession({ keepalive: 1, pingTimeout: 1000 });
    const t = track(session.start());
    host.take();
    expect(vi.getTimerCount()).toBe(0);
    session.receive({ type: 'connack', sessionPresent: false, returnCode: 3 });
    await settle();
    expect(t.status).toBe('rejected');
    vi.advanceTimersByTime(10_000);
    expect(host.take()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('after close() no timer is pending, whatever was running', async () => {
    const { session } = await connectedSession({ keepalive: 10, pingTimeout: 3000, ackTimeout: 1000 });
    vi.advanceTimersByTime(10_000); // PINGREQ out, PINGRESP deadline armed
    publishTracked(session, pub('a', 1)); // ack deadline armed
    void session.subscribe([{ topicFilter: 's', qos: 0 }]).catch(() => {});
    expect(vi.getTimerCount()).toBe(4);
    session.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('disconnect() writes DISCONNECT and stops keepalive: no PINGREQ after it', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    vi.advanceTimersByTime(5_000);
    session.disconnect();
    expect(host.take()).toStrictEqual([{ type: 'disconnect' }]);
    expect(session.state).toBe('closing');
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(host.take()).toEqual([]);
    session.close();
  });

  it('uses only the injected Timers (a hand-made clock), never the global ones', async () => {
    const clock = new ManualTimers(0);
    const { session, host } = await connectedSession({ keepalive: 2, pingTimeout: 500, ackTimeout: 700 }, clock);
    const a = publishTracked(session, pub('a', 1));
    expect(vi.getTimerCount()).toBe(0);
    expect(clock.count).toBe(2);
    clock.advance(700);
    await settle();
    expect(a.error).toBeInstanceOf(TimeoutError);
    clock.advance(1_300); // t = 2 s: 2 s after the PUBLISH at t=0
    expect(host.take()).toStrictEqual([expect.objectContaining({ type: 'publish', packetId: 1 }), PINGREQ]);
    clock.advance(100);
    session.receive({ type: 'pingresp' });
    expect(session.lastPingRoundTrip).toBe(100);
    clock.advance(500);
    expect(host.failures).toEqual([]);
    session.close();
    expect(clock.count).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Keepalive on its own', () => {
  it('stop() with a PINGREQ outstanding clears both timers: neither a ping nor a death comes afterwards', () => {
    const clock = new ManualTimers(0);
    const pings: number[] = [];
    const dead: number[] = [];
    const ka = new Keepalive(clock, 1000, 300, () => {
      pings.push(clock.now());
      ka.packetSent();
    }, () => dead.push(clock.now()));
    ka.start();
    clock.advance(1000);
    expect(pings).toEqual([1000]);
    expect(clock.count).toBe(2);
    ka.stop();
    expect(clock.count).toBe(0);
    clock.advance(10_000);
    expect(pings).toEqual([1000]);
    expect(dead).toEqual([]);
  });

  it('start() twice does not double the timers', () => {
    const clock = new ManualTimers(0);
    const ka = new Keepalive(clock, 1000, 300, () => {}, () => {});
    ka.start();
    ka.start();
    expect(clock.count).toBe(1);
    ka.stop();
  });
});
