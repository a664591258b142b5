import { describe, expect, it } from 'vitest';
import type { PublishPacket } from '../../src/codec/packets.js';
import { connectedSession, pub, publishTracked, sent, settle, track, useClock } from './host.js';
import { ManualTimers } from '../helpers/manual-timers.js';

useClock();

describe('in-flight window', () => {
  it('with inflightWindow 3, at most 3 QoS 1/2 publishes are written before acks; each ack lets the next out in FIFO order', async () => {
    const { session, host } = await connectedSession({ inflightWindow: 3 });
    const ops = ['a', 'b', 'c', 'd', 'e', 'f'].map((t, i) => publishTracked(session, pub(t, i % 2 === 0 ? 1 : 2)));
    expect(host.take()).toStrictEqual([sent('a', 1, 1), sent('b', 2, 2), sent('c', 1, 3)]);
    expect(session.stats).toEqual({ inflight: 3, queued: 3 });

    // A PUBREC does not free a slot: the QoS 2 flow is still in flight until PUBCOMP.
    session.receive({ type: 'pubrec', packetId: 2 });
    expect(host.take()).toStrictEqual([{ type: 'pubrel', packetId: 2 }]);
    expect(session.stats).toEqual({ inflight: 3, queued: 3 });

    // Acks out of order: each frees exactly one slot and the oldest queued publish goes next.
    session.receive({ type: 'puback', packetId: 3 });
    expect(host.take()).toStrictEqual([sent('d', 2, 4)]);
    session.receive({ type: 'pubcomp', packetId: 2 });
    expect(host.take()).toStrictEqual([sent('e', 1, 5)]);
    session.receive({ type: 'puback', packetId: 1 });
    expect(host.take()).toStrictEqual([sent('f', 2, 6)]);
    expect(session.stats).toEqual({ inflight: 3, queued: 0 });

    // An ignored ack (unknown id) frees nothing.
    session.receive({ type: 'puback', packetId: 99 });
    expect(session.stats).toEqual({ inflight: 3, queued: 0 });

    await settle();
    expect(ops.map((o) => o.status)).toEqual(['resolved', 'resolved', 'resolved', 'pending', 'pending', 'pending']);
  });

  it('inflightWindow 1 makes publishes strictly sequential', async () => {
    const { session, host } = await connectedSession({ inflightWindow: 1 });
    publishTracked(session, pub('a', 2));
    publishTracked(session, pub('b', 1));
    expect(host.take()).toStrictEqual([sent('a', 2, 1)]);
    session.receive({ type: 'pubrec', packetId: 1 });
    expect(host.take()).toStrictEqual([{ type: 'pubrel', packetId: 1 }]);
    session.receive({ type: 'pubcomp', packetId: 1 });
    expect(host.take()).toStrictEqual([sent('b', 1, 2)]);
  });

  it('a QoS 0 publish behind a blocked QoS 1 waits: order is preserved (MQTT-4.6.0-6 ordering on one topic)', async () => {
    const { session, host } = await connectedSession({ inflightWindow: 1 });
    const a = publishTracked(session, pub('t', 1, 'first'));
    const b = publishTracked(session, pub('t', 1, 'second'));
    const c = publishTracked(session, pub('t', 0, 'third'));
    const d = publishTracked(session, pub('t', 0, 'fourth'));
    expect(host.take()).toStrictEqual([sent('t', 1, 1, 'first')]);
    await settle();
    expect(c.status).toBe('pending');
    expect(session.stats).toEqual({ inflight: 1, queued: 3 });
    session.receive({ type: 'puback', packetId: 1 });
    // 'second' takes the freed slot; the QoS 0 ones behind it need no slot and follow at once, in order.
    expect(host.take()).toStrictEqual([sent('t', 1, 2, 'second'), sent('t', 0, undefined, 'third'), sent('t', 0, undefined, 'fourth')]);
    await settle();
    expect([a.status, b.status, c.status, d.status]).toEqual(['resolved', 'pending', 'resolved', 'resolved']);
    session.receive({ type: 'puback', packetId: 2 });
    await settle();
    expect(b.status).toBe('resolved');
  });

  it('QoS 0 publishes do not take a window slot', async () => {
    const { session, host } = await connectedSession({ inflightWindow: 1 });
    publishTracked(session, pub('a', 1));
    publishTracked(session, pub('b', 0));
    publishTracked(session, pub('c', 0));
    publishTracked(session, pub('d', 1));
    // The window is full after 'a', yet 'b' and 'c' (QoS 0) go out; only 'd' waits.
    expect(host.take()).toStrictEqual([sent('a', 1, 1), sent('b', 0), sent('c', 0)]);
    expect(session.stats).toEqual({ inflight: 1, queued: 1 });
  });

  it('10,000 queued publishes all complete as acks come, sent in order, never two in flight with one id', async () => {
    const N = 10_000;
    const W = 16;
    // A hand-made clock: vitest's fake timers cost ~40 µs per setTimeout/clearTimeout, too slow for 20,000 of them.
    const clock = new ManualTimers(0);
    const { session, host } = await connectedSession({ inflightWindow: W, ackTimeout: 30_000 }, clock);
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) ops.push(session.publish(pub(`t/${i}`, i % 3 === 2 ? 2 : 1)));
    const all = track(Promise.all(ops));
    expect(session.stats).toEqual({ inflight: W, queued: N - W });

    const sentTopics: string[] = [];
    let acked = 0;
    let maxInflight = 0;
    const outstanding = new Set<number>();
    const problems: string[] = []; // checked once at the end: expect() in a 10,000-step loop is slow
    // Ack whatever is written, oldest first, the way a broker would.
    while (acked < N) {
      const batch = host.take();
      if (batch.length === 0) throw new Error(`stalled after ${acked} acks: ${JSON.stringify(session.stats)}`);
      for (const p of batch) {
        if (p.type === 'publish') {
          sentTopics.push(p.topic);
          const id = p.packetId as number;
          if (!(id >= 1 && id <= 65535) || outstanding.has(id)) problems.push(`bad id ${id} for ${p.topic}`);
          outstanding.add(id);
          if (p.qos === 1) {
            outstanding.delete(id);
            session.receive({ type: 'puback', packetId: id });
            acked++;
          } else {
            session.receive({ type: 'pubrec', packetId: id });
          }
        } else if (p.type === 'pubrel') {
          outstanding.delete(p.packetId);
          session.receive({ type: 'pubcomp', packetId: p.packetId });
          acked++;
        } else {
          problems.push(`unexpected ${p.type}`);
        }
        maxInflight = Math.max(maxInflight, session.stats.inflight);
      }
    }
    expect(problems).toEqual([]);
    expect(maxInflight).toBeLessThanOrEqual(W);
    expect(sentTopics.length).toBe(N);
    expect(sentTopics.filter((t, i) => t !== `t/${i}`)).toEqual([]);
    expect(session.stats).toEqual({ inflight: 0, queued: 0 });
    await settle();
    expect(all.status).toBe('resolved');
    expect(clock.count).toBe(0);
  });

  it('ids wrap after 65535 back to 1 and skip ids still in use: an unacknowledged publish, a timed-out publish and a timed-out SUBSCRIBE (MQTT-2.3.1-2)', async () => {
    const clock = new ManualTimers(0);
    const { session, host } = await connectedSession({ inflightWindow: 3, ackTimeout: 1000 }, clock);
    // id 1: a publish still awaiting PUBACK; ids 2 and 3: a publish and a SUBSCRIBE whose acks timed out
    // (their ids stay reserved so a late ack cannot be matched to a newer packet).
    const held = publishTracked(session, pub('held', 1));
    clock.advance(500);
    const late = publishTracked(session, pub('late', 1));
    const sub = track(session.subscribe([{ topicFilter: 's', qos: 1 }]));
    clock.advance(1000);
    await settle();
    expect([held.status, late.status, sub.status]).toEqual(['rejected', 'rejected', 'rejected']);
    expect(host.take()).toStrictEqual([
      sent('held', 1, 1),
      sent('late', 1, 2),
      { type: 'subscribe', packetId: 3, subscriptions: [{ topicFilter: 's', qos: 1 }] },
    ]);
    // Every other id, 4..65535, is used once and acknowledged at once.
    const wrong: number[] = [];
    for (let id = 4; id <= 65535; id++) {
      void session.publish(pub('x', 1));
      const p = host.written.pop() as PublishPacket;
      if (p.packetId !== id) wrong.push(id);
      session.receive({ type: 'puback', packetId: id });
    }
    expect(wrong).toEqual([]);
    expect(host.take()).toEqual([]);
    // Wrapped: 1, 2, 3 are still taken, so the next id is 4.
    void session.subscribe([{ topicFilter: 'w', qos: 0 }]).catch(() => {});
    expect(host.take()).toStrictEqual([{ type: 'subscribe', packetId: 4, subscriptions: [{ topicFilter: 'w', qos: 0 }] }]);
    session.close();
  });

  it('publishes, SUBSCRIBE and UNSUBSCRIBE share one id space', async () => {
    const { session, host } = await connectedSession();
    publishTracked(session, pub('a', 1));
    void session.subscribe([{ topicFilter: 's', qos: 0 }]).catch(() => {});
    publishTracked(session, pub('b', 2));
    void session.unsubscribe(['s']).catch(() => {});
    expect(host.take()).toStrictEqual([
      sent('a', 1, 1),
      { type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 's', qos: 0 }] },
      sent('b', 2, 3),
      { type: 'unsubscribe', packetId: 4, topicFilters: ['s'] },
    ]);
    session.close();
  });
});
