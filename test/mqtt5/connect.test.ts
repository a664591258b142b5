/**
 * MQTT 5 connect (issue 14, item 2): CONNECT's properties from the options, CONNACK's properties and the
 * limits in force, refusals with reason codes (permanent or backed off), the Assigned Client Identifier.
 * The fake broker (fake-broker-v5.ts) shows exact packets and refusals; Mosquitto shows a real CONNACK.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionRefusedError, InvalidArgumentError, MqttClient } from '../../src/index.js';
import { FAST, useHarness, within } from '../client/helpers.js';
import { client5, connectToFake5, next5, send5 } from '../helpers/fake-broker-v5.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';

const h = useHarness();

describe('MQTT 5 CONNECT from the options [v5]', () => {
  it('sends every v5 option as its CONNECT property, and the will properties', async () => {
    const { connect } = await connectToFake5(h, {
      clientId: 'props',
      sessionExpiryInterval: 120,
      receiveMaximum: 10,
      maxPacketSize: 4096,
      topicAliasMaximum: 5,
      requestResponseInformation: true,
      requestProblemInformation: false,
      userProperties: [['a', '1'], ['a', '2'], ['b', '3']],
      will: { topic: 'w', payload: 'gone', properties: { willDelayInterval: 5, contentType: 'text/plain', userProperties: [['w', 'x']] } },
    });
    expect(connect.protocolLevel).toBe(5);
    expect(connect.properties).toEqual({
      sessionExpiryInterval: 120,
      receiveMaximum: 10,
      maximumPacketSize: 4096,
      topicAliasMaximum: 5,
      requestResponseInformation: true,
      requestProblemInformation: false,
      // Order and repeated names kept.
      userProperties: [['a', '1'], ['a', '2'], ['b', '3']],
    });
    expect(connect.will?.properties).toEqual({ willDelayInterval: 5, contentType: 'text/plain', userProperties: [['w', 'x']] });
  });

  it('clean: true sends no properties at all; clean: false sends Session Expiry 0xFFFFFFFF, a session kept as at 3.1.1 (MQTT-3.1.2-23)', async () => {
    const clean = await connectToFake5(h, { clientId: 'c1' });
    expect(clean.connect).toMatchObject({ clean: true, protocolLevel: 5 });
    expect(clean.connect.properties).toBeUndefined();
    const kept = await connectToFake5(h, { clientId: 'c2', clean: false });
    expect(kept.connect).toMatchObject({ clean: false, properties: { sessionExpiryInterval: 0xffffffff } });
    const short = await connectToFake5(h, { clientId: 'c3', clean: false, sessionExpiryInterval: 30 });
    expect(short.connect.properties).toEqual({ sessionExpiryInterval: 30 });
  });

  it('bad v5 options are InvalidArgumentError from the constructor, naming the option', () => {
    const url = 'mqtt://127.0.0.1:1';
    const cases: [object, RegExp][] = [
      [{ sessionExpiryInterval: -1 }, /^sessionExpiryInterval must be an integer from 0 to 4294967295, got -1$/],
      [{ receiveMaximum: 0 }, /^receiveMaximum must be an integer from 1 to 65535, got 0$/],
      [{ topicAliasMaximum: 70000 }, /^topicAliasMaximum must be an integer from 0 to 65535/],
      [{ requestProblemInformation: 'no' }, /^requestProblemInformation must be true or false/],
      // One shape for user properties: pairs (a plain object would lose order and repeated names).
      [{ userProperties: { a: '1' } }, /^userProperties must be an array of \[name, value\] string pairs, got an object$/],
      [{ userProperties: [['a\u0000', '1']] }, /^invalid CONNECT properties: .*U\+0000/],
      [{ will: { topic: 'w', payload: '', properties: { responseTopic: 'a/+' } } }, /^invalid will properties: .*wildcard/],
      [{ will: { topic: 'w', payload: '', properties: { messageExpiryInterval: 1.5 } } }, /^invalid will properties: /],
      [{ will: { topic: 'w', payload: '', properties: { topicAlias: 3 } } }, /^invalid will properties: .*topicAlias/],
    ];
    for (const [options, message] of cases) {
      let err: unknown;
      try {
        new MqttClient(url, { protocolVersion: 5, ...options }).destroy();
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(options)).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message, JSON.stringify(options)).toMatch(message);
    }
    // An empty client id with clean: false is fine at level 5: the broker assigns one (MQTT-3.2.2-16).
    expect(() => new MqttClient(url, { protocolVersion: 5, clientId: '', clean: false }).destroy()).not.toThrow();
    expect(() => new MqttClient(url, { clientId: '', clean: false })).toThrow(/an empty clientId needs clean: true/);
  });
});

describe('MQTT 5 CONNACK properties and client.limits [v5]', () => {
  it('connect() resolves the CONNACK properties; client.limits shows what is in force; the Server Keep Alive replaces ours, a PINGREQ after that much silence (MQTT-3.2.2-21) [MQTT-3.1.2-21] [MQTT-3.1.2-20]', async () => {
    const properties = {
      receiveMaximum: 2,
      maximumQoS: 1 as const,
      retainAvailable: false,
      maximumPacketSize: 500,
      topicAliasMaximum: 3,
      serverKeepAlive: 7,
      wildcardSubscriptionAvailable: false,
      subscriptionIdentifiersAvailable: false,
      sharedSubscriptionAvailable: false,
      reasonString: 'welcome',
      userProperties: [['x', 'y']] as [string, string][],
    };
    const timers = new ManualTimers();
    const fake = await h.fake();
    const c = client5(h, fake.url, { timers, keepalive: 60, maxPacketSize: 1000, clientId: 'lim' });
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await next5(conn, 'connect');
    send5(conn, { type: 'connack', sessionPresent: false, returnCode: 0, properties });
    expect(await within(connecting, 2000, 'connect')).toEqual({ sessionPresent: false, properties });
    expect(c.limits).toEqual({
      receiveMaximum: 2,
      maximumQoS: 1,
      retainAvailable: false,
      maximumPacketSize: 500, // the smaller of ours (1000) and the server's
      topicAliasMaximum: 3,
      serverKeepAlive: 7,
      wildcardSubscriptionAvailable: false,
      subscriptionIdentifiersAvailable: false,
      sharedSubscriptionAvailable: false,
      assignedClientIdentifier: undefined,
    });
    // The Server Keep Alive is the one used: a PINGREQ after 7 s of silence, not 60 (MQTT-3.2.2-21).
    timers.advance(6999);
    await conn.expectNoPacket(50);
    timers.advance(1);
    expect((await next5(conn, 'pingreq')).type).toBe('pingreq');
  });

  it('at 3.1.1 client.limits holds what the spec implies', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url, { keepalive: 30, inflightWindow: 5, maxPacketSize: 9000 });
    expect(c.limits).toEqual({
      receiveMaximum: 65535,
      maximumQoS: 2,
      retainAvailable: true,
      maximumPacketSize: 9000,
      topicAliasMaximum: 0,
      serverKeepAlive: 30,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: false,
      sharedSubscriptionAvailable: false,
      assignedClientIdentifier: undefined,
    });
  });

  it('the Assigned Client Identifier becomes client.clientId and is sent on every reconnect (MQTT-3.2.2-16)', async () => {
    const timers = new ManualTimers();
    const fake = await h.fake();
    const c = client5(h, fake.url, { timers, keepalive: 0, clientId: '', clean: false, reconnect: { initialDelay: 100, maxDelay: 100 } });
    const connecting = c.connect();
    const first = await fake.nextConnection();
    expect((await next5(first, 'connect')).clientId).toBe('');
    send5(first, { type: 'connack', sessionPresent: false, returnCode: 0, properties: { assignedClientIdentifier: 'srv-1' } });
    await within(connecting, 2000, 'connect');
    expect(c.clientId).toBe('srv-1');
    expect(c.limits.assignedClientIdentifier).toBe('srv-1');
    first.destroy();
    await waitForState(c, 'reconnecting');
    timers.advance(100);
    const second = await fake.nextConnection();
    const again = await next5(second, 'connect');
    expect(again).toMatchObject({ clientId: 'srv-1', clean: false, properties: { sessionExpiryInterval: 0xffffffff } });
  });
});

async function waitForState(c: { state: string }, state: string): Promise<void> {
  for (let i = 0; i < 200 && c.state !== state; i++) await new Promise((r) => setImmediate(r));
  expect(c.state).toBe(state);
}

describe('MQTT 5 CONNACK refusals: permanent ones end the client, the others back off [v5]', () => {
  const refuse = async (code: number): Promise<{ c: MqttClient<5>; err: unknown; timers: ManualTimers; fake: Awaited<ReturnType<typeof h.fake>> }> => {
    const timers = new ManualTimers();
    const fake = await h.fake();
    const c = client5(h, fake.url, { timers, keepalive: 0, reconnect: { initialDelay: 100, maxDelay: 100, retryFirstConnect: true } });
    const connecting = c.connect();
    void connecting.catch(() => {});
    const conn = await fake.nextConnection();
    await next5(conn, 'connect');
    send5(conn, { type: 'connack', sessionPresent: false, returnCode: code, properties: { reasonString: `no (${code})` } });
    let err: unknown;
    // A permanent refusal rejects connect(); one that backs off leaves it pending and the client reconnecting.
    await Promise.race([connecting.catch((e: unknown) => (err = e)), waitForState(c, 'reconnecting').catch(() => {})]);
    return { c, err, timers, fake };
  };

  for (const [code, name] of [[0x84, 'Unsupported Protocol Version'], [0x85, 'Client Identifier not valid'], [0x86, 'Bad User Name or Password'], [0x87, 'Not authorized'], [0x8c, 'Bad authentication method']] as const) {
    it(`0x${code.toString(16)} ${name}: connect() rejects with ConnectionRefusedError and the client closes, no retry (MQTT-4.13.2-1)`, async () => {
      const { c, err } = await refuse(code);
      expect(err).toBeInstanceOf(ConnectionRefusedError);
      expect(err).toMatchObject({ reasonCode: code, returnCode: code, reasonString: `no (${code})` });
      expect((err as Error).message).toBe(`connection refused: ${name} (CONNACK reason code 0x${code.toString(16)}): "no (${code})"`);
      expect(c.state).toBe('closed');
    });
  }

  for (const [code, name] of [[0x88, 'Server unavailable'], [0x89, 'Server busy'], [0x97, 'Quota exceeded'], [0x9f, 'Connection rate exceeded']] as const) {
    it(`0x${code.toString(16)} ${name}: backs off and tries again`, async () => {
      const { c, err, timers, fake } = await refuse(code);
      expect(err).toBeUndefined();
      expect(c.state).toBe('reconnecting');
      timers.advance(100);
      const next = await fake.nextConnection();
      expect((await next5(next, 'connect')).protocolLevel).toBe(5);
    });
  }

  it('reconnect.retryRefused retries even a permanent refusal', async () => {
    const timers = new ManualTimers();
    const fake = await h.fake();
    const c = client5(h, fake.url, { timers, keepalive: 0, reconnect: { initialDelay: 100, maxDelay: 100, retryFirstConnect: true, retryRefused: true } });
    void c.connect().catch(() => {});
    const conn = await fake.nextConnection();
    await next5(conn, 'connect');
    send5(conn, { type: 'connack', sessionPresent: false, returnCode: 0x87 });
    await waitForState(c, 'reconnecting');
    timers.advance(100);
    await next5(await fake.nextConnection(), 'connect');
  });
});

describeMosquitto('MQTT 5 CONNACK from mosquitto with its limits set [v5]', () => {
  let m: MosquittoHandle;
  beforeAll(async () => {
    m = await startMosquitto({
      extraConfig: ['max_qos 1', 'retain_available false', 'max_packet_size 2000', 'max_keepalive 10', 'max_topic_alias 4', 'max_inflight_messages 3'].join('\n'),
    });
  });
  afterAll(() => m?.stop());

  it('client.limits holds what mosquitto announced; an empty client id is assigned one (MQTT-3.2.2-16)', async () => {
    const c = client5(h, m.url, { ...FAST, keepalive: 60, clientId: '' });
    const { properties } = await c.connect();
    expect(properties.assignedClientIdentifier).toMatch(/^auto-/);
    expect(c.clientId).toBe(properties.assignedClientIdentifier);
    expect(c.limits).toMatchObject({
      receiveMaximum: 3,
      maximumQoS: 1,
      retainAvailable: false,
      maximumPacketSize: 2000,
      topicAliasMaximum: 4,
      serverKeepAlive: 10,
      assignedClientIdentifier: properties.assignedClientIdentifier,
    });
    await c.end();
  });
});
