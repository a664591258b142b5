import { describe, expect, it } from 'vitest';
import { MqttProtocolError, TimeoutError } from '../../src/errors.js';
import { connectedSession, settle, thrownBy, track, useClock } from './host.js';

const clock = useClock();

describe('SUBSCRIBE / SUBACK', () => {
  it('writes SUBSCRIBE with a fresh id and resolves with the SUBACK return codes, 0x80 included (MQTT-3.8.4-5)', async () => {
    const { session, host } = await connectedSession();
    const subs = [
      { topicFilter: 'a/+', qos: 2 as const },
      { topicFilter: 'b/#', qos: 1 as const },
      { topicFilter: 'c', qos: 0 as const },
    ];
    const t = track(session.subscribe(subs));
    expect(host.take()).toStrictEqual([{ type: 'subscribe', packetId: 1, subscriptions: subs }]);
    await settle();
    expect(t.status).toBe('pending');
    session.receive({ type: 'suback', packetId: 1, returnCodes: [1, 0x80, 0] });
    await settle();
    expect(t.status).toBe('resolved');
    expect(t.value).toEqual([1, 0x80, 0]);
    expect(host.take()).toEqual([]);
  });

  it('SUBACKs are matched by id (MQTT-2.3.1-7), whatever their order', async () => {
    const { session, host } = await connectedSession();
    const a = track(session.subscribe([{ topicFilter: 'a', qos: 1 }]));
    const b = track(session.subscribe([{ topicFilter: 'b', qos: 2 }]));
    expect(host.take().map((p) => (p.type === 'subscribe' ? p.packetId : -1))).toEqual([1, 2]);
    session.receive({ type: 'suback', packetId: 2, returnCodes: [2] });
    await settle();
    expect(a.status).toBe('pending');
    expect(b.value).toEqual([2]);
    session.receive({ type: 'suback', packetId: 1, returnCodes: [0] });
    await settle();
    expect(a.value).toEqual([0]);
  });

  it('a SUBACK with the wrong number of return codes throws MqttProtocolError (MQTT-3.8.4-5)', async () => {
    const { session } = await connectedSession();
    const t = track(session.subscribe([{ topicFilter: 'a', qos: 0 }, { topicFilter: 'b', qos: 0 }]));
    const tooFew = thrownBy(() => session.receive({ type: 'suback', packetId: 1, returnCodes: [0] }));
    expect(tooFew).toBeInstanceOf(MqttProtocolError);
    expect((tooFew as MqttProtocolError).statement).toBe('MQTT-3.8.4-5');
    const tooMany = thrownBy(() => session.receive({ type: 'suback', packetId: 1, returnCodes: [0, 0, 0] }));
    expect(tooMany).toBeInstanceOf(MqttProtocolError);
    await settle();
    expect(t.status).toBe('pending');
    session.close();
    await settle();
    expect(t.status).toBe('rejected');
  });

  it('a SUBACK for an unknown id is ignored; so is a second SUBACK for a completed request', async () => {
    const { session, host } = await connectedSession();
    expect(() => session.receive({ type: 'suback', packetId: 77, returnCodes: [0] })).not.toThrow();
    const t = track(session.subscribe([{ topicFilter: 'a', qos: 0 }]));
    session.receive({ type: 'suback', packetId: 1, returnCodes: [0] });
    expect(() => session.receive({ type: 'suback', packetId: 1, returnCodes: [0, 1] })).not.toThrow();
    await settle();
    expect(t.value).toEqual([0]);
    expect(host.take().map((p) => p.type)).toEqual(['subscribe']);
    expect(host.failures).toEqual([]);
  });

  it('a SUBACK carrying an UNSUBSCRIBE id (or UNSUBACK carrying a SUBSCRIBE id) completes nothing', async () => {
    const { session } = await connectedSession();
    const s = track(session.subscribe([{ topicFilter: 'a', qos: 0 }]));
    const u = track(session.unsubscribe(['b']));
    session.receive({ type: 'unsuback', packetId: 1 });
    session.receive({ type: 'suback', packetId: 2, returnCodes: [0] });
    await settle();
    expect([s.status, u.status]).toEqual(['pending', 'pending']);
    session.receive({ type: 'suback', packetId: 1, returnCodes: [0] });
    session.receive({ type: 'unsuback', packetId: 2 });
    await settle();
    expect([s.status, u.status]).toEqual(['resolved', 'resolved']);
  });

  it('SUBSCRIBE without SUBACK rejects with TimeoutError after ackTimeout', async () => {
    const { session, host } = await connectedSession({ ackTimeout: 2000 });
    const t = track(session.subscribe([{ topicFilter: 'a', qos: 1 }]));
    clock.advance(1999);
    await settle();
    expect(t.status).toBe('pending');
    clock.advance(1);
    await settle();
    expect(t.status).toBe('rejected');
    expect(t.error).toBeInstanceOf(TimeoutError);
    expect((t.error as Error).message).toContain('SUBACK');
    // A late SUBACK is ignored, and the timed-out id is not handed out again meanwhile.
    expect(() => session.receive({ type: 'suback', packetId: 1, returnCodes: [1] })).not.toThrow();
    void session.subscribe([{ topicFilter: 'b', qos: 0 }]).catch(() => {});
    expect(host.take()).toStrictEqual([
      { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 1 }] },
      { type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'b', qos: 0 }] },
    ]);
    session.close();
  });

  it('a subscribe that got its SUBACK leaves no timer', async () => {
    const { session } = await connectedSession({ ackTimeout: 2000 });
    void session.subscribe([{ topicFilter: 'a', qos: 1 }]);
    expect(clock.count).toBe(1);
    session.receive({ type: 'suback', packetId: 1, returnCodes: [1] });
    expect(clock.count).toBe(0);
  });
});

describe('UNSUBSCRIBE / UNSUBACK', () => {
  it('writes UNSUBSCRIBE and resolves (with no reason codes at 3.1.1) on the matching UNSUBACK', async () => {
    const { session, host } = await connectedSession();
    const t = track(session.unsubscribe(['a/+', 'b']));
    expect(host.take()).toStrictEqual([{ type: 'unsubscribe', packetId: 1, topicFilters: ['a/+', 'b'] }]);
    session.receive({ type: 'unsuback', packetId: 9 });
    await settle();
    expect(t.status).toBe('pending');
    session.receive({ type: 'unsuback', packetId: 1 });
    await settle();
    expect(t.status).toBe('resolved');
    expect(t.value).toEqual([]);
  });

  it('UNSUBSCRIBE without UNSUBACK rejects with TimeoutError after ackTimeout', async () => {
    const { session } = await connectedSession({ ackTimeout: 500 });
    const t = track(session.unsubscribe(['a']));
    clock.advance(499);
    await settle();
    expect(t.status).toBe('pending');
    clock.advance(1);
    await settle();
    expect(t.error).toBeInstanceOf(TimeoutError);
    expect((t.error as Error).message).toContain('UNSUBACK');
    expect(() => session.receive({ type: 'unsuback', packetId: 1 })).not.toThrow();
    session.close();
    expect(clock.count).toBe(0);
  });
});
