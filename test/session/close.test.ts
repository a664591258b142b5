import { describe, expect, it } from 'vitest';
import { ClientClosedError, ConnectionClosedError, MqttProtocolError } from '../../src/errors.js';
import { connectedSession, incoming, makeSession, pub, publishTracked, sent, settle, track, useClock } from './host.js';

const clock = useClock();

describe('close(err)', () => {
  it('rejects every pending operation exactly once with err: in-flight QoS 1 and 2, queued, subscribe, unsubscribe; no timer is left', async () => {
    const { session, host } = await connectedSession({ inflightWindow: 2, keepalive: 30, ackTimeout: 5000 });
    const q1 = publishTracked(session, pub('a', 1));
    const q2 = publishTracked(session, pub('b', 2));
    const queued1 = publishTracked(session, pub('c', 1));
    const queued0 = publishTracked(session, pub('d', 0));
    const sub = track(session.subscribe([{ topicFilter: 's', qos: 1 }]));
    const unsub = track(session.unsubscribe(['u']));
    session.receive({ type: 'pubrec', packetId: 2 }); // q2 now awaits PUBCOMP
    expect(session.stats).toEqual({ inflight: 2, queued: 2 });
    host.take();

    const err = new ConnectionClosedError('gone');
    session.close(err);
    expect(session.phase).toBe('closed');
    expect(clock.count).toBe(0);
    expect(session.stats).toEqual({ inflight: 0, queued: 0 });
    await settle();
    for (const t of [q1, q2, queued1, queued0, sub, unsub]) {
      expect(t.status).toBe('rejected');
      expect(t.error).toBe(err);
      expect(t.settlements).toBe(1);
    }
    // Nothing is written by close, nothing more by a second close or by late acks.
    session.close(new Error('second'));
    expect(() => session.receive({ type: 'puback', packetId: 1 })).not.toThrow();
    expect(() => session.receive({ type: 'pubcomp', packetId: 2 })).not.toThrow();
    expect(() => session.receive({ type: 'suback', packetId: 3, returnCodes: [1] })).not.toThrow();
    await settle();
    for (const t of [q1, q2, queued1, queued0, sub, unsub]) expect(t.error).toBe(err);
    expect(host.take()).toEqual([]);
    expect(host.failures).toEqual([]);
    clock.advance(120_000);
    expect(host.take()).toEqual([]);
  });

  it('rejects a pending CONNACK (and the publishes queued behind it)', async () => {
    const { session, host } = makeSession({ keepalive: 10 });
    const connack = track(session.start());
    const a = publishTracked(session, pub('a', 1));
    const err = new Error('transport closed');
    session.close(err);
    await settle();
    expect(connack.error).toBe(err);
    expect(a.error).toBe(err);
    expect(host.take().map((p) => p.type)).toEqual(['connect']);
    expect(clock.count).toBe(0);
  });

  it('without an argument rejects with ConnectionClosedError', async () => {
    const { session } = await connectedSession();
    const a = publishTracked(session, pub('a', 1));
    session.close();
    await settle();
    expect(a.error).toBeInstanceOf(ConnectionClosedError);
    expect((a.error as ConnectionClosedError).code).toBe('CONNECTION_CLOSED');
  });

  it('does not touch a publish that already timed out (its rejection stays the TimeoutError)', async () => {
    const { session } = await connectedSession({ ackTimeout: 100 });
    const a = publishTracked(session, pub('a', 1));
    clock.advance(100);
    await settle();
    const first = a.error;
    session.close(new Error('later'));
    await settle();
    expect(a.error).toBe(first);
    expect(a.settlements).toBe(1);
  });

  it('a publish made after close() rejects with ClientClosedError (it never waits for ever) and is never written', async () => {
    const { session, host } = await connectedSession();
    session.close();
    const late = [publishTracked(session, pub('late', 1)), publishTracked(session, pub('late', 2)), publishTracked(session, pub('late', 0))];
    await settle();
    expect(late.map((t) => [t.status, (t.error as { code?: string } | undefined)?.code])).toEqual([
      ['rejected', 'CLIENT_CLOSED'],
      ['rejected', 'CLIENT_CLOSED'],
      ['rejected', 'CLIENT_CLOSED'],
    ]);
    expect(late[0]!.error).toBeInstanceOf(ClientClosedError);
    expect(session.stats).toEqual({ inflight: 0, queued: 0 });
    expect(host.take()).toEqual([]);
  });
});

describe('whenIdle()', () => {
  it('resolves at once when nothing is queued or in flight', async () => {
    const { session } = await connectedSession();
    const idle = track(session.whenIdle());
    await settle();
    expect(idle.status).toBe('resolved');
  });

  it('resolves once the queue and the in-flight set are empty, not before', async () => {
    const { session } = await connectedSession({ inflightWindow: 1 });
    publishTracked(session, pub('a', 1));
    publishTracked(session, pub('b', 2));
    const idle = track(session.whenIdle());
    const idle2 = track(session.whenIdle());
    session.receive({ type: 'puback', packetId: 1 }); // 'b' goes out
    await settle();
    expect(idle.status).toBe('pending');
    session.receive({ type: 'pubrec', packetId: 2 });
    await settle();
    expect(idle.status).toBe('pending');
    session.receive({ type: 'pubcomp', packetId: 2 });
    await settle();
    expect(idle.status).toBe('resolved');
    expect(idle2.status).toBe('resolved');
  });

  it('waits for publishes queued before CONNACK', async () => {
    const { session } = makeSession();
    publishTracked(session, pub('a', 1));
    const idle = track(session.whenIdle());
    track(session.start());
    session.receive({ type: 'connack', sessionPresent: false, returnCode: 0 });
    await settle();
    expect(idle.status).toBe('pending');
    session.receive({ type: 'puback', packetId: 1 });
    await settle();
    expect(idle.status).toBe('resolved');
  });

  it('resolves on close() even with work outstanding', async () => {
    const { session } = await connectedSession();
    publishTracked(session, pub('a', 1));
    const idle = track(session.whenIdle());
    session.close();
    await settle();
    expect(idle.status).toBe('resolved');
  });

  it('a timed-out publish still counts as in flight until its late ack', async () => {
    const { session } = await connectedSession({ ackTimeout: 100 });
    publishTracked(session, pub('a', 1));
    const idle = track(session.whenIdle());
    clock.advance(100);
    await settle();
    expect(idle.status).toBe('pending');
    session.receive({ type: 'puback', packetId: 1 });
    await settle();
    expect(idle.status).toBe('resolved');
  });

  it('graceful end as MqttClient.end() drives it (whenIdle, then disconnect): queued publishes still go out as acks free the window', async () => {
    // src/client/supervisor.ts shutdown(): `await session.whenIdle(); session.disconnect()`; ending is the
    // client's state, not the session's. Publishes accepted before end() must be sent and acknowledged
    // before DISCONNECT (docs/client.md).
    const { session, host } = await connectedSession({ inflightWindow: 1 });
    const a = publishTracked(session, pub('a', 1));
    const b = publishTracked(session, pub('b', 1));
    expect(host.take()).toStrictEqual([sent('a', 1, 1)]);
    const idle = track(session.whenIdle());
    session.receive({ type: 'puback', packetId: 1 });
    expect(host.take()).toStrictEqual([sent('b', 1, 2)]);
    session.receive({ type: 'puback', packetId: 2 });
    await settle();
    expect([a.status, b.status, idle.status]).toEqual(['resolved', 'resolved', 'resolved']);
  });
});

describe('disconnect()', () => {
  it('writes DISCONNECT, moves to disconnected, and nothing queued afterwards is written', async () => {
    const { session, host } = await connectedSession({ keepalive: 5 });
    session.disconnect();
    expect(host.take()).toStrictEqual([{ type: 'disconnect' }]);
    expect(session.phase).toBe('disconnected');
    publishTracked(session, pub('late', 0));
    publishTracked(session, pub('late', 1));
    clock.advance(60_000);
    expect(host.take()).toEqual([]);
    session.close();
    expect(session.phase).toBe('closed');
    expect(clock.count).toBe(0);
  });

  it('DISCONNECT is the last packet: packets arriving afterwards get no PUBACK/PUBREC/PUBREL/PUBCOMP (MQTT-3.14.4-2)', async () => {
    const { session, host } = await connectedSession();
    publishTracked(session, pub('out2', 2));
    host.take();
    session.disconnect();
    expect(host.take()).toStrictEqual([{ type: 'disconnect' }]);
    // The broker's packets already on the wire still arrive before the socket closes.
    session.receive(incoming('in1', 1, 10));
    session.receive(incoming('in2', 2, 11));
    session.receive({ type: 'pubrel', packetId: 12 });
    session.receive({ type: 'pubrec', packetId: 1 });
    expect(host.take()).toEqual([]);
    session.close();
  });
});

describe('a refused CONNACK ends the handshake', () => {
  it('a further CONNACK 0 after a refusal does not connect and sends nothing (MQTT-3.2.2-5: the server closes after a refusal)', async () => {
    const { session, host } = makeSession();
    const connack = track(session.start());
    const queued = publishTracked(session, pub('a', 1));
    host.take();
    session.receive({ type: 'connack', sessionPresent: false, returnCode: 5 });
    let err: unknown;
    try {
      session.receive({ type: 'connack', sessionPresent: false, returnCode: 0 });
    } catch (e) {
      err = e;
    }
    // Most damaging first: the queued publish must not go out on a refused connection.
    expect(host.take()).toEqual([]);
    expect(session.phase).toBe('refused');
    expect(err).toBeInstanceOf(MqttProtocolError);
    await settle();
    expect(connack.status).toBe('rejected');
    expect(queued.status).toBe('pending');
    session.close();
  });
});
