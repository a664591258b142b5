import { describe, expect, it } from 'vitest';
import { AbortError, ConnectionClosedError, TimeoutError } from '../../src/errors.js';
import { connectedSession, makeSession, pub, publishCancellable, publishTracked, sent, settle, track, useClock } from './host.js';

const clock = useClock();

describe('outgoing QoS 0 (MQTT-4.3.1-1)', () => {
  it('writes PUBLISH with QoS 0, DUP 0 and no packet id (MQTT-2.3.1-5); resolves only once whenWritten resolves', async () => {
    const { session, host } = await connectedSession();
    host.holdWrites = true;
    const p = publishTracked(session, pub('a/b', 0, 'hello'));
    expect(host.take()).toStrictEqual([{ type: 'publish', topic: 'a/b', payload: new TextEncoder().encode('hello'), qos: 0, retain: false, dup: false }]);
    expect(host.pendingWrites).toBe(1);
    await settle();
    expect(p.status).toBe('pending');
    expect(session.stats).toEqual({ inflight: 0, queued: 0 });
    host.flushWrites();
    await settle();
    expect(p.status).toBe('resolved');
  });

  it('rejects with the error whenWritten rejects with', async () => {
    const { session, host } = await connectedSession();
    host.holdWrites = true;
    const p = publishTracked(session, pub('a', 0));
    const boom = new ConnectionClosedError('socket gone');
    host.failWrites(boom);
    await settle();
    expect(p.status).toBe('rejected');
    expect(p.error).toBe(boom);
  });

  it('retain is passed through', async () => {
    const { session, host } = await connectedSession();
    publishTracked(session, pub('r', 0, 'x', { retain: true }));
    expect(host.take()).toStrictEqual([{ ...sent('r', 0, undefined, 'x'), retain: true }]);
  });
});

describe('outgoing QoS 1 (MQTT-4.3.2-1)', () => {
  it('writes PUBLISH with a packet id and DUP 0; resolves on the matching PUBACK only', async () => {
    const { session, host } = await connectedSession();
    const p = publishTracked(session, pub('t', 1));
    expect(host.take()).toStrictEqual([sent('t', 1, 1)]);
    expect(session.stats).toEqual({ inflight: 1, queued: 0 });
    // Other acknowledgements for the same id, and PUBACK for another id, do not complete it.
    session.receive({ type: 'puback', packetId: 2 });
    session.receive({ type: 'pubcomp', packetId: 1 });
    await settle();
    expect(p.status).toBe('pending');
    expect(host.take()).toEqual([]);
    session.receive({ type: 'puback', packetId: 1 });
    await settle();
    expect(p.status).toBe('resolved');
    expect(session.stats).toEqual({ inflight: 0, queued: 0 });
    expect(host.take()).toEqual([]);
  });

  it('a PUBREC for a QoS 1 publish is not treated as PUBACK and gets no PUBREL', async () => {
    const { session, host } = await connectedSession();
    const p = publishTracked(session, pub('t', 1));
    host.take();
    session.receive({ type: 'pubrec', packetId: 1 });
    await settle();
    expect(p.status).toBe('pending');
    expect(host.take()).toEqual([]);
    session.receive({ type: 'puback', packetId: 1 });
    await settle();
    expect(p.status).toBe('resolved');
  });

  it('an unknown or duplicate PUBACK is ignored', async () => {
    const { session, host } = await connectedSession();
    session.receive({ type: 'puback', packetId: 7 });
    const p = publishTracked(session, pub('t', 1));
    session.receive({ type: 'puback', packetId: 1 });
    session.receive({ type: 'puback', packetId: 1 });
    await settle();
    expect(p.status).toBe('resolved');
    expect(host.take()).toStrictEqual([sent('t', 1, 1)]);
    expect(host.failures).toEqual([]);
  });

  it('ids go up from 1 in order; an id acknowledged early is not handed out again before the counter comes round (MQTT-2.3.1-2)', async () => {
    const { session, host } = await connectedSession();
    publishTracked(session, pub('a', 1));
    publishTracked(session, pub('b', 1));
    publishTracked(session, pub('c', 1));
    session.receive({ type: 'puback', packetId: 2 });
    publishTracked(session, pub('d', 1)); // next after 3 is 4
    session.receive({ type: 'puback', packetId: 1 });
    session.receive({ type: 'puback', packetId: 3 });
    session.receive({ type: 'puback', packetId: 4 });
    publishTracked(session, pub('e', 1));
    expect(host.take()).toStrictEqual([sent('a', 1, 1), sent('b', 1, 2), sent('c', 1, 3), sent('d', 1, 4), sent('e', 1, 5)]);
  });
});

describe('outgoing QoS 2 (MQTT-4.3.3-1)', () => {
  it('PUBLISH -> PUBREC -> writes PUBREL -> PUBCOMP resolves', async () => {
    const { session, host } = await connectedSession();
    const p = publishTracked(session, pub('t', 2));
    expect(host.take()).toStrictEqual([sent('t', 2, 1)]);
    session.receive({ type: 'puback', packetId: 1 }); // wrong kind: ignored
    session.receive({ type: 'pubcomp', packetId: 1 }); // before PUBREC: ignored
    await settle();
    expect(p.status).toBe('pending');
    expect(host.take()).toEqual([]);
    session.receive({ type: 'pubrec', packetId: 1 });
    expect(host.take()).toStrictEqual([{ type: 'pubrel', packetId: 1 }]);
    await settle();
    expect(p.status).toBe('pending');
    expect(session.stats.inflight).toBe(1);
    session.receive({ type: 'pubcomp', packetId: 1 });
    await settle();
    expect(p.status).toBe('resolved');
    expect(session.stats).toEqual({ inflight: 0, queued: 0 });
    expect(host.take()).toEqual([]);
  });

  it('a duplicate PUBREC re-sends PUBREL (same id, MQTT-2.3.1-3)', async () => {
    const { session, host } = await connectedSession();
    const p = publishTracked(session, pub('t', 2));
    host.take();
    session.receive({ type: 'pubrec', packetId: 1 });
    session.receive({ type: 'pubrec', packetId: 1 });
    expect(host.take()).toStrictEqual([
      { type: 'pubrel', packetId: 1 },
      { type: 'pubrel', packetId: 1 },
    ]);
    session.receive({ type: 'pubcomp', packetId: 1 });
    await settle();
    expect(p.status).toBe('resolved');
  });

  it('a PUBREC for an unknown id is answered with PUBREL, and nothing else changes', async () => {
    const { session, host } = await connectedSession();
    session.receive({ type: 'pubrec', packetId: 42 });
    expect(host.take()).toStrictEqual([{ type: 'pubrel', packetId: 42 }]);
    expect(session.stats).toEqual({ inflight: 0, queued: 0 });
    // The id was not reserved by that: the next publish still gets 1.
    publishTracked(session, pub('t', 2));
    expect(host.take()).toStrictEqual([sent('t', 2, 1)]);
  });

  it('an unknown PUBCOMP is ignored; a PUBCOMP after completion is ignored', async () => {
    const { session, host } = await connectedSession();
    session.receive({ type: 'pubcomp', packetId: 9 });
    const p = publishTracked(session, pub('t', 2));
    session.receive({ type: 'pubrec', packetId: 1 });
    session.receive({ type: 'pubcomp', packetId: 1 });
    session.receive({ type: 'pubcomp', packetId: 1 });
    await settle();
    expect(p.status).toBe('resolved');
    expect(host.take()).toStrictEqual([sent('t', 2, 1), { type: 'pubrel', packetId: 1 }]);
    expect(host.failures).toEqual([]);
  });

  it('PUBRELs go out in the order the PUBRECs came (MQTT-4.6.0-4)', async () => {
    const { session, host } = await connectedSession();
    publishTracked(session, pub('a', 2));
    publishTracked(session, pub('b', 2));
    publishTracked(session, pub('c', 2));
    host.take();
    session.receive({ type: 'pubrec', packetId: 3 });
    session.receive({ type: 'pubrec', packetId: 1 });
    session.receive({ type: 'pubrec', packetId: 2 });
    expect(host.take()).toStrictEqual([
      { type: 'pubrel', packetId: 3 },
      { type: 'pubrel', packetId: 1 },
      { type: 'pubrel', packetId: 2 },
    ]);
  });
});

describe('aborting a publish (its AbortSignal)', () => {
  it('of a queued publish removes it (it is never written) and rejects with AbortError, the reason as its cause', async () => {
    const { session, host } = await connectedSession({ inflightWindow: 1 });
    const a = publishCancellable(session, pub('a', 1));
    const b = publishCancellable(session, pub('b', 1));
    const c = publishCancellable(session, pub('c', 1));
    expect(session.stats).toEqual({ inflight: 1, queued: 2 });
    const why = new Error('aborted');
    b.cancel(why);
    await settle();
    expect(b.status).toBe('rejected');
    expect(b.error).toBeInstanceOf(AbortError);
    expect(b.error).toMatchObject({ code: 'ABORTED', cause: why });
    expect(session.stats).toEqual({ inflight: 1, queued: 1 });
    session.receive({ type: 'puback', packetId: 1 });
    session.receive({ type: 'puback', packetId: 2 });
    await settle();
    expect(host.take()).toStrictEqual([sent('a', 1, 1), sent('c', 1, 2)]);
    expect([a.status, c.status]).toEqual(['resolved', 'resolved']);
  });

  it('of a publish queued before connect: never written after CONNACK', async () => {
    const { session, host } = makeSession();
    const a = publishCancellable(session, pub('a', 0));
    const b = publishCancellable(session, pub('b', 1));
    a.cancel(new Error('nope'));
    track(session.start());
    session.receive({ type: 'connack', sessionPresent: false, returnCode: 0 });
    expect(host.take().map((p) => p.type)).toEqual(['connect', 'publish']);
    expect(host.allWritten.slice(1)).toStrictEqual([sent('b', 1, 1)]);
    await settle();
    expect(a.status).toBe('rejected');
    expect(a.error).toBeInstanceOf(AbortError);
    expect(b.status).toBe('pending');
  });

  it('of a sent publish only rejects: it stays in flight, and its PUBACK still frees the id and the slot', async () => {
    const { session, host } = await connectedSession({ inflightWindow: 1 });
    const a = publishCancellable(session, pub('a', 1));
    const b = publishCancellable(session, pub('b', 1));
    const why = new Error('gave up');
    a.cancel(why);
    await settle();
    expect(a.status).toBe('rejected');
    expect(a.error).toMatchObject({ code: 'ABORTED', cause: why });
    const first = a.error;
    expect(session.stats).toEqual({ inflight: 1, queued: 1 });
    expect(host.take()).toStrictEqual([sent('a', 1, 1)]);
    session.receive({ type: 'puback', packetId: 1 });
    expect(host.take()).toStrictEqual([sent('b', 1, 2)]);
    await settle();
    expect(a.error).toBe(first);
    expect(b.status).toBe('pending');
  });

  it('of a sent publish drops its deadline: no timer is left for a promise nobody waits on', async () => {
    const { session } = await connectedSession({ ackTimeout: 1000 });
    const a = publishCancellable(session, pub('a', 1));
    expect(clock.count).toBe(1); // a's deadline: the same check below would see one left
    a.cancel(new Error('gave up'));
    expect(clock.count).toBe(0);
    expect(session.stats.inflight).toBe(1);
    clock.advance(5000);
    await settle();
    expect(a.error).toMatchObject({ code: 'ABORTED' });
    expect(a.settlements).toBe(1);
  });

  it('after completion does nothing', async () => {
    const { session } = await connectedSession();
    const a = publishCancellable(session, pub('a', 1));
    session.receive({ type: 'puback', packetId: 1 });
    await settle();
    a.cancel(new Error('late'));
    await settle();
    expect(a.status).toBe('resolved');
    expect(a.settlements).toBe(1);
  });

  it('emptying the queue by cancel lets whenIdle resolve', async () => {
    const { session } = await connectedSession({ inflightWindow: 1 });
    const a = publishCancellable(session, pub('a', 1));
    const b = publishCancellable(session, pub('b', 1));
    session.receive({ type: 'puback', packetId: 1 });
    await settle();
    expect(a.status).toBe('resolved');
    // Now 'b' is in flight; queue one more behind the full window, wait for idle, then withdraw it.
    const c = publishCancellable(session, pub('c', 1));
    const idle = track(session.whenIdle());
    c.cancel(new Error('withdrawn'));
    session.receive({ type: 'puback', packetId: 2 });
    await settle();
    expect(b.status).toBe('resolved');
    expect(idle.status).toBe('resolved');
  });

  it('whenIdle resolves when the last queued publish is cancelled (nothing in flight)', async () => {
    // Not connected yet: the publish sits in the queue, whenIdle waits for it.
    const fresh = makeSession();
    const a = publishCancellable(fresh.session, pub('a', 1));
    const idle = track(fresh.session.whenIdle());
    await settle();
    expect(idle.status).toBe('pending');
    a.cancel(new Error('withdrawn'));
    await settle();
    expect(fresh.session.stats).toEqual({ inflight: 0, queued: 0 });
    expect(idle.status).toBe('resolved');
  });
});

describe('ackTimeout', () => {
  it('a QoS 1 publish without PUBACK rejects with TimeoutError after ackTimeout; the id stays reserved; a late PUBACK is accepted silently', async () => {
    const { session, host } = await connectedSession({ ackTimeout: 5000 });
    const a = publishTracked(session, pub('a', 1));
    clock.advance(4999);
    await settle();
    expect(a.status).toBe('pending');
    clock.advance(1);
    await settle();
    expect(a.status).toBe('rejected');
    expect(a.error).toBeInstanceOf(TimeoutError);
    expect((a.error as TimeoutError).code).toBe('TIMEOUT');
    expect((a.error as Error).message).toContain('PUBACK');
    // Still in flight: the next publish must not reuse id 1 (MQTT-2.3.1-2).
    expect(session.stats.inflight).toBe(1);
    publishTracked(session, pub('b', 1));
    expect(host.take()).toStrictEqual([sent('a', 1, 1), sent('b', 1, 2)]);
    // Late PUBACK: no throw, no fail, no write; it frees id 1 for reuse.
    expect(() => session.receive({ type: 'puback', packetId: 1 })).not.toThrow();
    await settle();
    expect(a.error).toBeInstanceOf(TimeoutError);
    expect(host.failures).toEqual([]);
    expect(session.stats.inflight).toBe(1);
    session.receive({ type: 'puback', packetId: 2 });
    expect(session.stats.inflight).toBe(0);
    publishTracked(session, pub('c', 1));
    expect(host.take()).toStrictEqual([sent('c', 1, 3)]);
  });

  it('a timed-out publish keeps its in-flight window slot until its late ack', async () => {
    const { session, host } = await connectedSession({ ackTimeout: 1000, inflightWindow: 1 });
    const a = publishTracked(session, pub('a', 1));
    const b = publishTracked(session, pub('b', 1));
    clock.advance(1000);
    await settle();
    expect(a.status).toBe('rejected');
    expect(b.status).toBe('pending');
    expect(host.take()).toStrictEqual([sent('a', 1, 1)]);
    session.receive({ type: 'puback', packetId: 1 });
    expect(host.take()).toStrictEqual([sent('b', 1, 2)]);
  });

  it('QoS 2: the timer restarts at PUBREC and the error then names PUBCOMP', async () => {
    const { session } = await connectedSession({ ackTimeout: 1000 });
    const a = publishTracked(session, pub('a', 2));
    clock.advance(900);
    session.receive({ type: 'pubrec', packetId: 1 });
    clock.advance(900);
    await settle();
    expect(a.status).toBe('pending');
    clock.advance(100);
    await settle();
    expect(a.status).toBe('rejected');
    expect(a.error).toBeInstanceOf(TimeoutError);
    expect((a.error as Error).message).toContain('PUBCOMP');
  });

  it('QoS 2 without PUBREC names PUBREC', async () => {
    const { session } = await connectedSession({ ackTimeout: 1000 });
    const a = publishTracked(session, pub('a', 2));
    clock.advance(1000);
    await settle();
    expect(a.error).toBeInstanceOf(TimeoutError);
    expect((a.error as Error).message).toContain('PUBREC');
  });

  it('ackTimeout 0 means no deadline: no timer is armed', async () => {
    const { session } = await connectedSession({ ackTimeout: 0 });
    const a = publishTracked(session, pub('a', 1));
    expect(clock.count).toBe(0);
    clock.advance(10 ** 9);
    await settle();
    expect(a.status).toBe('pending');
  });

  it('one timer for the whole window, none once every publish is acknowledged', async () => {
    const { session } = await connectedSession({ ackTimeout: 1000 });
    publishTracked(session, pub('a', 1));
    publishTracked(session, pub('b', 2));
    publishTracked(session, pub('c', 1));
    expect(clock.count).toBe(1);
    session.receive({ type: 'puback', packetId: 1 });
    session.receive({ type: 'pubrec', packetId: 2 });
    expect(clock.count).toBe(1);
    session.receive({ type: 'pubcomp', packetId: 2 });
    session.receive({ type: 'puback', packetId: 3 });
    expect(clock.count).toBe(0);
  });

  it('publishes sent at different times each time out exactly ackTimeout after their own send, under the one timer', async () => {
    const { session } = await connectedSession({ ackTimeout: 1000 });
    const a = publishTracked(session, pub('a', 1));
    clock.advance(300);
    const b = publishTracked(session, pub('b', 1));
    clock.advance(200);
    const c = publishTracked(session, pub('c', 2));
    clock.advance(499); // t = 999
    await settle();
    expect([a.status, b.status, c.status]).toEqual(['pending', 'pending', 'pending']);
    clock.advance(1); // t = 1000: a's deadline
    await settle();
    expect([a.status, b.status, c.status]).toEqual(['rejected', 'pending', 'pending']);
    clock.advance(299); // t = 1299
    await settle();
    expect(b.status).toBe('pending');
    clock.advance(1); // t = 1300: b's
    await settle();
    expect([b.status, c.status]).toEqual(['rejected', 'pending']);
    clock.advance(199); // t = 1499
    await settle();
    expect(c.status).toBe('pending');
    clock.advance(1); // t = 1500: c's
    await settle();
    expect(c.status).toBe('rejected');
    expect((c.error as Error).message).toContain('PUBREC');
    expect(session.stats.inflight).toBe(3);
    expect(clock.count).toBe(0);
  });

  it('a PUBREC restarts its flow\'s deadline behind publishes sent later; acknowledging the oldest moves the timer to the next', async () => {
    const { session } = await connectedSession({ ackTimeout: 1000 });
    const a = publishTracked(session, pub('a', 2));
    clock.advance(100);
    const b = publishTracked(session, pub('b', 1));
    const c = publishTracked(session, pub('c', 1));
    clock.advance(100); // t = 200
    session.receive({ type: 'pubrec', packetId: 1 }); // a now awaits PUBCOMP until t = 1200
    session.receive({ type: 'puback', packetId: 3 }); // c done: b (due t = 1100) is the oldest left
    expect(clock.count).toBe(1); // still set for t = 1000, a's first deadline, which now passes without effect
    clock.advance(899); // t = 1099
    await settle();
    expect([a.status, b.status, c.status]).toEqual(['pending', 'pending', 'resolved']);
    clock.advance(1); // t = 1100
    await settle();
    expect([a.status, b.status]).toEqual(['pending', 'rejected']);
    clock.advance(99); // t = 1199
    await settle();
    expect(a.status).toBe('pending');
    clock.advance(1); // t = 1200
    await settle();
    expect(a.status).toBe('rejected');
    expect((a.error as Error).message).toContain('PUBCOMP');
  });
});
