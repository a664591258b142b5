import { describe, expect, it } from 'vitest';
import type { ConnectPacket, Packet } from '../../src/codec/packets.js';
import { ClientClosedError, ConnectionClosedError, ConnectionRefusedError, MqttProtocolError } from '../../src/errors.js';
import { connectedSession, incoming, makeSession, pub, publishTracked, sent, settle, thrownBy, track, useClock } from './host.js';

const clock = useClock();

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('CONNECT (MQTT-3.1.0-1: the first packet the client sends)', () => {
  it('level 4: protocol name "MQTT", level 4, client id, clean, keepalive; no optional fields', () => {
    const { session, host } = makeSession({ clientId: 'dev-1', clean: true, keepalive: 60, protocolLevel: 4 });
    expect(session.phase).toBe('offline');
    track(session.start());
    expect(session.phase).toBe('connecting');
    const expected: ConnectPacket = { type: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'dev-1', clean: true, keepalive: 60 };
    // toStrictEqual: no `username`/`password`/`will` keys at all, not even as undefined (MQTT-3.1.2-11, -18, -20).
    expect(host.take()).toStrictEqual([expected]);
  });

  it('level 3: protocol name "MQIsdp", level 3 (MQTT 3.1)', () => {
    const { session, host } = makeSession({ clientId: 'old', clean: true, keepalive: 30, protocolLevel: 3 });
    track(session.start());
    expect(host.take()).toStrictEqual([
      { type: 'connect', protocolName: 'MQIsdp', protocolLevel: 3, clientId: 'old', clean: true, keepalive: 30 },
    ]);
  });

  it('clean false, will, username and password are carried (MQTT-3.1.2-9, -19, -21)', () => {
    const will = { topic: 'dev/1/status', payload: enc('gone'), qos: 1 as const, retain: true };
    const { session, host } = makeSession({
      clientId: 'dev-2',
      clean: false,
      keepalive: 15,
      username: 'alice',
      password: enc('s3cret'),
      will,
    });
    track(session.start());
    expect(host.take()).toStrictEqual([
      {
        type: 'connect',
        protocolName: 'MQTT',
        protocolLevel: 4,
        clientId: 'dev-2',
        clean: false,
        keepalive: 15,
        username: 'alice',
        password: enc('s3cret'),
        will: { topic: 'dev/1/status', payload: enc('gone'), qos: 1, retain: true },
      },
    ]);
  });

  it('username without password; keepalive 0 is written as 0', () => {
    const { session, host } = makeSession({ clientId: '', keepalive: 0, username: 'bob' });
    track(session.start());
    expect(host.take()).toStrictEqual([
      { type: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: '', clean: true, keepalive: 0, username: 'bob' },
    ]);
  });

  it('an empty username is still sent (the flag depends on presence, not truthiness)', () => {
    const { session, host } = makeSession({ username: '', password: new Uint8Array(0) });
    track(session.start());
    const [connect] = host.take() as [ConnectPacket];
    expect(connect.username).toBe('');
    expect(connect.password).toStrictEqual(new Uint8Array(0));
  });
});

describe('CONNACK', () => {
  it('return code 0 resolves with the CONNACK and the state becomes connected', async () => {
    const { session, host } = makeSession();
    const t = track(session.start());
    await settle();
    expect(t.status).toBe('pending');
    expect(session.phase).toBe('connecting');
    const connack = { type: 'connack', sessionPresent: true, returnCode: 0 } as const;
    session.receive(connack);
    await settle();
    expect(t.status).toBe('resolved');
    expect(t.value).toStrictEqual(connack);
    expect(session.phase).toBe('connected');
    expect(host.take()).toStrictEqual([
      { type: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'c1', clean: true, keepalive: 0 },
    ]);
    expect(host.failures).toEqual([]);
  });

  it.each([
    [1, 'unacceptable protocol version'],
    [2, 'identifier rejected'],
    [3, 'server unavailable'],
    [4, 'bad user name or password'],
    [5, 'not authorized'],
  ])('return code %i rejects with ConnectionRefusedError naming "%s"', async (returnCode, meaning) => {
    const { session, host } = makeSession({ keepalive: 10 });
    const t = track(session.start());
    const queued = publishTracked(session, pub('q', 1));
    host.take();
    session.receive({ type: 'connack', sessionPresent: false, returnCode });
    await settle();
    expect(t.status).toBe('rejected');
    expect(t.error).toBeInstanceOf(ConnectionRefusedError);
    const err = t.error as ConnectionRefusedError;
    expect(err.returnCode).toBe(returnCode);
    expect(err.code).toBe('CONNECTION_REFUSED');
    expect(err.message).toContain(meaning);
    expect(session.phase).not.toBe('connected');
    // Refused: nothing else goes out, and keepalive never started.
    expect(host.take()).toEqual([]);
    expect(queued.status).toBe('pending');
    clock.advance(60_000);
    expect(host.take()).toEqual([]);
    session.close();
    await settle();
    expect(queued.status).toBe('rejected');
    expect(clock.count).toBe(0);
  });

  const beforeConnack: [string, Packet][] = [
    ['PUBLISH', incoming('a', 0)],
    ['PUBLISH qos 1', incoming('a', 1, 1)],
    ['PUBACK', { type: 'puback', packetId: 1 }],
    ['PUBREC', { type: 'pubrec', packetId: 1 }],
    ['PUBREL', { type: 'pubrel', packetId: 1 }],
    ['PUBCOMP', { type: 'pubcomp', packetId: 1 }],
    ['SUBACK', { type: 'suback', packetId: 1, returnCodes: [0] }],
    ['UNSUBACK', { type: 'unsuback', packetId: 1 }],
    ['PINGRESP', { type: 'pingresp' }],
    ['PINGREQ', { type: 'pingreq' }],
    ['CONNECT', { type: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'x', clean: true, keepalive: 0 }],
    ['SUBSCRIBE', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0 }] }],
    ['UNSUBSCRIBE', { type: 'unsubscribe', packetId: 1, topicFilters: ['a'] }],
    ['DISCONNECT', { type: 'disconnect' }],
  ];

  it.each(beforeConnack)('%s before CONNACK throws MqttProtocolError MQTT-3.2.0-1 and does nothing', async (_name, packet) => {
    const { session, host } = makeSession();
    const t = track(session.start());
    host.take();
    const thrown = thrownBy(() => session.receive(packet));
    expect(thrown).toBeInstanceOf(MqttProtocolError);
    expect((thrown as MqttProtocolError).statement).toBe('MQTT-3.2.0-1');
    expect((thrown as MqttProtocolError).code).toBe('UNEXPECTED_PACKET');
    expect((thrown as MqttProtocolError).message).toContain(packet.type.toUpperCase());
    expect(host.take()).toEqual([]);
    expect(host.delivered).toEqual([]);
    expect(session.phase).toBe('connecting');
    await settle();
    expect(t.status).toBe('pending');
  });
});

describe('publishes accepted before CONNACK', () => {
  it('wait in state new and connecting, then go out after CONNACK 0 in order with ids from 1', async () => {
    const { session, host } = makeSession();
    const a = publishTracked(session, pub('a', 1));
    const b = publishTracked(session, pub('b', 0));
    expect(host.take()).toEqual([]);
    track(session.start());
    const c = publishTracked(session, pub('c', 2));
    const d = publishTracked(session, pub('d', 1));
    expect(host.take().map((p) => p.type)).toEqual(['connect']);
    expect(session.stats).toEqual({ inflight: 0, queued: 4 });
    session.receive({ type: 'connack', sessionPresent: false, returnCode: 0 });
    expect(host.take()).toStrictEqual([sent('a', 1, 1), sent('b', 0), sent('c', 2, 2), sent('d', 1, 3)]);
    expect(session.stats).toEqual({ inflight: 3, queued: 0 });
    await settle();
    expect([a.status, b.status, c.status, d.status]).toEqual(['pending', 'resolved', 'pending', 'pending']);
  });

  it('queued publishes do not time out while waiting for the connection (ackTimeout counts from sending)', async () => {
    const { session, host } = makeSession({ ackTimeout: 1000 });
    const a = publishTracked(session, pub('a', 1));
    track(session.start());
    clock.advance(5000);
    await settle();
    expect(a.status).toBe('pending');
    session.receive({ type: 'connack', sessionPresent: false, returnCode: 0 });
    expect(host.take()).toStrictEqual([expect.objectContaining({ type: 'connect' }), sent('a', 1, 1)]);
    clock.advance(999);
    await settle();
    expect(a.status).toBe('pending');
    clock.advance(1);
    await settle();
    expect(a.status).toBe('rejected');
    session.close();
  });
});

describe('subscribe / unsubscribe need a connection', () => {
  it.each(['new', 'connecting'] as const)('in state %s they reject with ConnectionClosedError and write nothing', async (state) => {
    const { session, host } = makeSession();
    if (state === 'connecting') track(session.start());
    host.take();
    const s = track(session.subscribe([{ topicFilter: 'a', qos: 0 }]));
    const u = track(session.unsubscribe(['a']));
    await settle();
    expect(s.status).toBe('rejected');
    expect(s.error).toBeInstanceOf(ConnectionClosedError);
    expect(u.status).toBe('rejected');
    expect(u.error).toBeInstanceOf(ConnectionClosedError);
    expect(host.take()).toEqual([]);
  });

  it('after close() they reject with ClientClosedError', async () => {
    const { session, host } = await connectedSession();
    session.close();
    const s = track(session.subscribe([{ topicFilter: 'a', qos: 0 }]));
    const u = track(session.unsubscribe(['a']));
    await settle();
    expect(s.error).toBeInstanceOf(ClientClosedError);
    expect(u.error).toBeInstanceOf(ClientClosedError);
    expect(host.take()).toEqual([]);
  });
});

describe('unexpected server packets after CONNACK are protocol violations (MQTT-4.8.0-1)', () => {
  const cases: [string, Packet][] = [
    ['CONNECT', { type: 'connect', protocolName: 'MQTT', protocolLevel: 4, clientId: 'x', clean: true, keepalive: 0 }],
    ['SUBSCRIBE', { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0 }] }],
    ['UNSUBSCRIBE', { type: 'unsubscribe', packetId: 1, topicFilters: ['a'] }],
    ['PINGREQ', { type: 'pingreq' }],
    ['a second CONNACK', { type: 'connack', sessionPresent: false, returnCode: 0 }],
    ['DISCONNECT', { type: 'disconnect' }],
  ];
  it.each(cases)('%s throws MqttProtocolError and writes nothing', async (_name, packet) => {
    const { session, host } = await connectedSession();
    const err = thrownBy(() => session.receive(packet));
    expect(err).toBeInstanceOf(MqttProtocolError);
    expect((err as MqttProtocolError).code).toBe('UNEXPECTED_PACKET');
    expect((err as Error).message).toContain(packet.type.toUpperCase());
    expect(host.take()).toEqual([]);
    expect(session.phase).toBe('connected');
  });
});
