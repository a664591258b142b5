import { describe, expect, it, vi } from 'vitest';
import { TimeoutError } from '../../src/errors.js';
import { Keepalive } from '../../src/session/keepalive.js';
import { connectedSession, incoming, makeSession, pub, publishTracked, settle, track, useClock } from './host.js';
import { ManualTimers } from '../helpers/manual-timers.js';

const clock = useClock();

const PINGREQ = { type: 'pingreq' } as const;

describe('keepalive (MQTT-3.1.2-23)', () => {
  it('with keepalive 10 s, PINGREQ is written after 10 s without an outgoing packet, and again every 10 s', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    clock.advance(9_999);
    expect(host.take()).toEqual([]);
    clock.advance(1);
    expect(host.take()).toStrictEqual([PINGREQ]);
    clock.advance(500);
    session.receive({ type: 'pingresp' });
    clock.advance(9_499);
    expect(host.take()).toEqual([]);
    clock.advance(1);
    expect(host.take()).toStrictEqual([PINGREQ]);
    expect(host.failures).toEqual([]);
    session.close();
  });

  it('the idle clock starts with CONNECT, not CONNACK: a slow CONNACK does not stretch the first interval', async () => {
    // CONNECT at t=0, CONNACK at t=4 s, keepalive 10 s: nothing was sent since CONNECT, so PINGREQ is due at t=10 s.
    const { session, host } = makeSession({ keepalive: 10, pingTimeout: 3000 });
    track(session.start());
    clock.advance(4_000);
    session.receive({ type: 'connack', sessionPresent: false, returnCode: 0 });
    expect(host.take().map((p) => p.type)).toEqual(['connect']);
    clock.advance(6_000);
    expect(host.take()).toStrictEqual([PINGREQ]);
    session.close();
  });

  it('outgoing packets postpone PINGREQ: it comes keepalive after the last packet sent', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    clock.advance(6_000);
    publishTracked(session, pub('a', 0));
    clock.advance(3_000);
    session.receive(incoming('in', 1, 5)); // our PUBACK is an outgoing packet too
    expect(host.take().map((p) => p.type)).toEqual(['publish', 'puback']);
    // Last packet at t=9 s: PINGREQ due at t=19 s.
    clock.advance(9_999);
    expect(host.take()).toEqual([]);
    clock.advance(1);
    expect(host.take()).toStrictEqual([PINGREQ]);
    session.close();
  });

  it('incoming packets do not postpone PINGREQ (only what the client sends counts)', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    for (let i = 1; i <= 9; i++) {
      clock.advance(1_000);
      session.receive(incoming('qos0', 0));
    }
    expect(host.take()).toEqual([]);
    clock.advance(1_000);
    expect(host.take()).toStrictEqual([PINGREQ]);
    session.close();
  });

  it('PINGRESP cancels the dead-connection timer and records lastPingRoundTrip', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    expect(session.lastPingRoundTrip).toBeUndefined();
    clock.advance(10_000);
    expect(host.take()).toStrictEqual([PINGREQ]);
    expect(clock.count).toBe(2); // next check + PINGRESP deadline
    clock.advance(250);
    session.receive({ type: 'pingresp' });
    expect(session.lastPingRoundTrip).toBe(250);
    expect(clock.count).toBe(1);
    clock.advance(5_000);
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
    clock.advance(10_000);
    expect(host.take()).toStrictEqual([PINGREQ]);
    clock.advance(2_999);
    expect(host.failures).toEqual([]);
    clock.advance(1);
    expect(host.failures).toHaveLength(1);
    expect(host.failures[0]).toBeInstanceOf(TimeoutError);
    expect(host.failures[0]?.code).toBe('TIMEOUT');
    expect(host.failures[0]?.message).toContain('PINGRESP');
    // Even if the owner is slow to tear down: no second failure and no second PINGREQ while one is unanswered.
    clock.advance(60_000);
    expect(host.failures).toHaveLength(1);
    expect(host.take()).toEqual([]);
    session.close();
    expect(clock.count).toBe(0);
  });

  it('pingTimeout longer than the keepalive interval: one PINGREQ outstanding at a time', async () => {
    const { session, host } = await connectedSession({ keepalive: 1, pingTimeout: 5000 });
    clock.advance(1_000);
    expect(host.take()).toStrictEqual([PINGREQ]);
    clock.advance(4_999); // checks at 2 s .. 5 s find a PINGREQ outstanding
    expect(host.take()).toEqual([]);
    expect(host.failures).toEqual([]);
    clock.advance(1); // 5 s after the PINGREQ
    expect(host.failures).toHaveLength(1);
    session.close();
  });

  it('keepalive 0 sends nothing ever and arms no timer', async () => {
    const { session, host } = await connectedSession({ keepalive: 0, pingTimeout: 3000 });
    expect(clock.count).toBe(0);
    clock.advance(24 * 3600 * 1000);
    expect(host.take()).toEqual([]);
    expect(host.failures).toEqual([]);
    session.close();
  });

  it('keepalive does not run before CONNACK or after a refused CONNACK', async () => {
    const { session, host } = makeSession({ keepalive: 1, pingTimeout: 1000 });
    const t = track(session.start());
    host.take();
    expect(clock.count).toBe(0);
    session.receive({ type: 'connack', sessionPresent: false, returnCode: 3 });
    await settle();
    expect(t.status).toBe('rejected');
    clock.advance(10_000);
    expect(host.take()).toEqual([]);
    expect(clock.count).toBe(0);
  });

  it('after close() no timer is pending, whatever was running', async () => {
    const { session } = await connectedSession({ keepalive: 10, pingTimeout: 3000, ackTimeout: 1000 });
    clock.advance(10_000); // PINGREQ out, PINGRESP deadline armed
    publishTracked(session, pub('a', 1)); // ack deadline armed
    void session.subscribe([{ topicFilter: 's', qos: 0 }]).catch(() => {});
    expect(clock.count).toBe(4);
    session.close();
    expect(clock.count).toBe(0);
  });

  it('disconnect() writes DISCONNECT and stops keepalive: no PINGREQ after it', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    clock.advance(5_000);
    session.disconnect();
    expect(host.take()).toStrictEqual([{ type: 'disconnect' }]);
    expect(session.phase).toBe('disconnected');
    expect(clock.count).toBe(0);
    clock.advance(60_000);
    expect(host.take()).toEqual([]);
    session.close();
  });

  it('uses only the injected Timers (a hand-made clock), never the global ones', async () => {
    const globalSetTimeout = vi.spyOn(globalThis, 'setTimeout');
    try {
      const own = new ManualTimers(0);
      const { session, host } = await connectedSession({ keepalive: 2, pingTimeout: 500, ackTimeout: 700 }, own);
      const a = publishTracked(session, pub('a', 1));
      expect(own.count).toBe(2); // the keepalive check and the PUBACK deadline
      expect(clock.count).toBe(0); // the suite's clock is not this session's
      own.advance(700);
      await settle();
      expect(a.error).toBeInstanceOf(TimeoutError);
      own.advance(1_300); // t = 2 s: 2 s after the PUBLISH at t=0
      expect(host.take()).toStrictEqual([expect.objectContaining({ type: 'publish', packetId: 1 }), PINGREQ]);
      own.advance(100);
      session.receive({ type: 'pingresp' });
      expect(session.lastPingRoundTrip).toBe(100);
      own.advance(500);
      expect(host.failures).toEqual([]);
      session.close();
      expect(own.count).toBe(0);
      expect(globalSetTimeout).not.toHaveBeenCalled();
    } finally {
      globalSetTimeout.mockRestore();
    }
  });
});

describe('Keepalive on its own', () => {
  it('stop() with a PINGREQ outstanding clears both timers: neither a ping nor a death comes afterwards', () => {
    const clock = new ManualTimers(0);
    const pings: number[] = [];
    const dead: number[] = [];
    const ka = new Keepalive(clock, 300, {
      sendPing: () => {
        pings.push(clock.now());
        ka.packetSent();
      },
      pingTimedOut: () => dead.push(clock.now()),
    });
    ka.start(1000);
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
    const ka = new Keepalive(clock, 300, { sendPing: () => {}, pingTimedOut: () => {} });
    ka.start(1000);
    ka.start(1000);
    expect(clock.count).toBe(1);
    ka.stop();
  });
});

describe('while the client does not read (holdReading): our backpressure is not a dead broker', () => {
  it('no PINGRESP deadline runs while held; PINGREQs still go out every interval; reading again gives a full pingTimeout', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    clock.advance(10_000);
    expect(host.take()).toStrictEqual([PINGREQ]);
    session.holdReading(true);
    // Long past the PINGRESP deadline: the answer may be sitting unread in our own socket buffer.
    clock.advance(2_999);
    clock.advance(1);
    expect(host.failures).toEqual([]);
    clock.advance(6_999);
    expect(host.take()).toEqual([]);
    clock.advance(1); // 10 s after the first PINGREQ: the broker must keep hearing from us (MQTT-3.1.2-24)
    expect(host.take()).toStrictEqual([PINGREQ]);
    clock.advance(25_000);
    expect(host.take()).toStrictEqual([PINGREQ, PINGREQ]);
    expect(host.failures).toEqual([]);
    session.holdReading(false);
    clock.advance(2_999);
    expect(host.failures).toEqual([]);
    clock.advance(1);
    expect(host.failures.map((f) => f.message)).toEqual(['no PINGRESP within 3000 ms: the connection is dead']);
    session.close();
  });

  it('after reading again, the PINGRESPs owed for every PINGREQ sent while held clear the deadline; a round trip measured across the hold is not recorded', async () => {
    const { session, host } = await connectedSession({ keepalive: 10, pingTimeout: 3000 });
    clock.advance(10_000);
    session.holdReading(true);
    clock.advance(10_000);
    expect(host.take()).toStrictEqual([PINGREQ, PINGREQ]);
    session.holdReading(false);
    session.receive({ type: 'pingresp' });
    clock.advance(2_999);
    session.receive({ type: 'pingresp' }); // the second is answered too: nothing is owed any more
    clock.advance(1); // past the 3000 ms the first answer would otherwise have been given
    expect(host.failures).toEqual([]);
    expect(session.lastPingRoundTrip).toBeUndefined();
    // The next PINGREQ (10 s after the last one, at t = 30 s) is measured again.
    clock.advance(7_000);
    expect(host.take()).toStrictEqual([PINGREQ]);
    clock.advance(2_001);
    session.receive({ type: 'pingresp' });
    expect(session.lastPingRoundTrip).toBe(2_001);
    expect(host.failures).toEqual([]);
    session.close();
  });

  it('acknowledgement deadlines (PUBACK, SUBACK) are held too, and restart in full when reading resumes', async () => {
    const { session } = await connectedSession({ ackTimeout: 1000 });
    const a = publishTracked(session, pub('a', 1));
    const s = track(session.subscribe([{ topicFilter: 's', qos: 1 }]));
    clock.advance(500);
    session.holdReading(true);
    const queuedWhileHeld = publishTracked(session, pub('b', 2));
    clock.advance(10_000);
    await settle();
    expect([a.status, s.status, queuedWhileHeld.status]).toEqual(['pending', 'pending', 'pending']);
    session.holdReading(false);
    clock.advance(999);
    await settle();
    expect([a.status, s.status, queuedWhileHeld.status]).toEqual(['pending', 'pending', 'pending']);
    clock.advance(1);
    await settle();
    expect([a.error, s.error, queuedWhileHeld.error].map((e) => (e as Error).message)).toEqual([
      'no PUBACK for QoS 1 publish to "a" within 1000 ms',
      'no SUBACK for packet 2 within 1000 ms',
      'no PUBREC for QoS 2 publish to "b" within 1000 ms',
    ]);
    session.close();
  });
});
