/**
 * MQTT 5 message properties out and in (issue 14, item 6) and subscription options (item 7, first half).
 * Mosquitto forwards properties unaltered and honours no-local, retain-as-published and retain handling;
 * the fake broker and a hand-driven clock show message expiry in the offline queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, type MessageProperties } from '../../src/index.js';
import { FAST, rejection, take, useHarness, within } from '../client/helpers.js';
import { client5, next5, send5 } from '../helpers/fake-broker-v5.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';

const h = useHarness();

describeMosquitto('MQTT 5 message properties and subscription options through mosquitto [v5]', () => {
  let m: MosquittoHandle;
  beforeAll(async () => {
    m = await startMosquitto();
  });
  afterAll(() => m?.stop());

  it('every message property arrives as published, user properties in order with repeated names (MQTT-3.3.2-17, MQTT-3.3.2-18)', async () => {
    const c = client5(h, m.url, FAST);
    await c.connect();
    const sub = await c.subscribe('props/#', { qos: 1 });
    const properties: MessageProperties = {
      payloadFormatIndicator: true,
      messageExpiryInterval: 300,
      contentType: 'application/json',
      responseTopic: 'reply/here',
      correlationData: Uint8Array.of(1, 2, 3),
      userProperties: [['k', '1'], ['a', 'x'], ['k', '2']],
    };
    await c.publish('props/a', '{"x":1}', { qos: 1, properties });
    const [msg] = await take(sub, 1);
    const { messageExpiryInterval, ...rest } = msg!.properties;
    const { messageExpiryInterval: _sent, ...expected } = properties;
    expect(rest).toEqual(expected);
    // Mosquitto forwards what is left of the interval (MQTT-3.3.2-6).
    expect(messageExpiryInterval).toBeGreaterThan(295);
    expect(messageExpiryInterval).toBeLessThanOrEqual(300);
    // The client gave the subscription identifier 1 (Mosquitto allows them): the broker names it.
    expect(msg!.subscriptionIdentifiers).toEqual([1]);
    // A message without properties carries the empty object.
    await c.publish('props/b', 'plain', { qos: 1 });
    expect((await take(sub, 1))[0]!.properties).toEqual({});
    await c.end();
  });

  it('noLocal: our own publishes do not come back; another client\'s do (MQTT-3.8.3-3)', async () => {
    const c = client5(h, m.url, FAST);
    const other = client5(h, m.url, FAST);
    await Promise.all([c.connect(), other.connect()]);
    const sub = await c.subscribe('nl/#', { qos: 1, noLocal: true });
    await c.publish('nl/mine', 'm', { qos: 1 });
    await other.publish('nl/theirs', 't', { qos: 1 });
    const [first] = await take(sub, 1);
    expect(first!.topic).toBe('nl/theirs'); // ours, sent first, would have come first
    await Promise.all([c.end(), other.end()]);
  });

  it('retainHandling 2 sends no retained message on subscribe, 0 does; retainAsPublished keeps RETAIN on live messages (MQTT-3.3.1-11, MQTT-3.3.1-13)', async () => {
    // One client per subscription: client-side routing would hand one client's retained message to both.
    const pub = client5(h, m.url, FAST);
    const never = client5(h, m.url, FAST);
    const always = client5(h, m.url, FAST);
    await Promise.all([pub.connect(), never.connect(), always.connect()]);
    await pub.publish('rh/a', 'kept', { qos: 1, retain: true });
    const subNever = await never.subscribe({ 'rh/#': { qos: 1, retainHandling: 2, retainAsPublished: true } });
    const subAlways = await always.subscribe('rh/#', { qos: 1, retainHandling: 0 });
    const [retained] = await take(subAlways, 1);
    expect(retained).toMatchObject({ topic: 'rh/a', retain: true });
    expect(retained!.text()).toBe('kept');
    await pub.publish('rh/a', 'live', { qos: 1, retain: true });
    // The first message of the retainHandling 2 subscription is the live one: no retained one came before it.
    const [live] = await take(subNever, 1);
    expect(live!.text()).toBe('live');
    expect(live!.retain).toBe(true); // retainAsPublished
    const [plain] = await take(subAlways, 1);
    expect(plain!.text()).toBe('live');
    expect(plain!.retain).toBe(false); // without it the broker clears RETAIN on a live message (MQTT-3.3.1-12)
    await pub.publish('rh/a', '', { qos: 1, retain: true }); // leave no retained message behind
    await Promise.all([pub.end(), never.end(), always.end()]);
  });
});

describe('MQTT 5 publish properties are checked at the call [v5]', () => {
  it('bad properties are InvalidArgumentError before anything is queued', async () => {
    const c = client5(h, 'mqtt://127.0.0.1:1', { reconnect: false });
    const cases: [MessageProperties, RegExp][] = [
      [{ payloadFormatIndicator: true }, /payloadFormatIndicator is true but the payload is not valid UTF-8$/],
      [{ responseTopic: 'reply/+' }, /^invalid publish properties: .*wildcard/],
      [{ userProperties: { a: '1' } as never }, /^properties\.userProperties must be an array of \[name, value\] string pairs/],
      [{ messageExpiryInterval: -1 }, /^invalid publish properties: /],
      [{ topicAlias: 1 } as never, /^unknown publish properties option "topicAlias": topic aliases are the client's own business$/],
      [{ subscriptionIdentifiers: [1] } as never, /^unknown publish properties option "subscriptionIdentifiers": .*MQTT-3\.3\.4-6/],
    ];
    for (const [properties, message] of cases) {
      const err = await rejection(c.publish('t', Uint8Array.of(0xff, 0xfe), { properties }));
      expect(err, JSON.stringify(properties)).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message, JSON.stringify(properties)).toMatch(message);
    }
    expect(c.stats().queued).toBe(0);
    // The positive control: good properties are queued (the client is not connected).
    void c.publish('t', 'text', { qos: 1, properties: { payloadFormatIndicator: true } }).catch(() => {});
    expect(c.stats().queued).toBe(1);
  });
});

describe('MQTT 5 message expiry in the offline queue [v5]', () => {
  it('a queued publish that expired is not sent (MESSAGE_EXPIRED, counted); another goes with the interval it has left', async () => {
    const timers = new ManualTimers();
    const fake = await h.fake();
    const c = client5(h, fake.url, { timers, keepalive: 0 });
    const stale = c.publish('exp/stale', 'x', { qos: 1, properties: { messageExpiryInterval: 5 } });
    const fresh = c.publish('exp/fresh', 'y', { qos: 1, properties: { messageExpiryInterval: 10 } });
    const staleError = rejection(stale);
    timers.advance(6500);
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await next5(conn, 'connect');
    send5(conn, { type: 'connack', sessionPresent: false, returnCode: 0 });
    await within(connecting, 2000, 'connect');
    const sent = await next5(conn, 'publish');
    expect(sent).toMatchObject({ topic: 'exp/fresh', properties: { messageExpiryInterval: 4 } }); // 10 - 6 whole seconds
    const err = await staleError;
    expect(err).toMatchObject({ code: 'MESSAGE_EXPIRED' });
    expect((err as Error).message).toBe('the publish to "exp/stale" expired (messageExpiryInterval 5 s) before it could be sent');
    expect(c.stats().expired).toBe(1);
    send5(conn, { type: 'puback', packetId: sent.packetId! });
    expect(await fresh).toEqual({ reasonCode: 0 });
  });
});
