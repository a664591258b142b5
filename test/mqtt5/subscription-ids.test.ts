/**
 * MQTT 5 subscription identifiers and exact routing (issue 14, item 7, second half): the client gives
 * each subscribe() call its own identifier where the broker allows them, and routes each message to
 * exactly the subscriptions whose identifiers it carries. Mosquitto shows overlapping filters and a
 * `$share` filter next to the plain one; the fake broker shows the packets, re-subscription after a
 * reconnect, and a broker that does not allow identifiers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Message } from '../../src/index.js';
import { SubscriptionIds, MAX_SUBSCRIPTION_ID } from '../../src/client/subscription-ids.js';
import { expectQuiet, FAST, rejection, take, useHarness, within } from '../client/helpers.js';
import { connectToFake5, expectQuiet5, next5, send5 } from '../helpers/fake-broker-v5.js';
import { dropAndReconnect } from '../helpers/reconnect-fake5.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';

const h = useHarness();
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const shown = (msgs: Message[]): [string, string, readonly number[]][] => msgs.map((m) => [m.topic, m.text(), m.subscriptionIdentifiers]);

describe('MQTT 5 subscription identifiers on the wire [v5]', () => {
  it('each subscribe() call sends its own identifier; each message goes to the subscriptions it names (MQTT-3.3.4-3, MQTT-3.3.4-4)', async () => {
    const { c, conn } = await connectToFake5(h);
    const subscribing = c.subscribe(['a/#', 'b']);
    const s1 = await next5(conn, 'subscribe');
    expect(s1.properties).toEqual({ subscriptionIdentifier: 1 });
    send5(conn, { type: 'suback', packetId: s1.packetId, returnCodes: [0, 0] });
    const wide = await within(subscribing, 2000, 'subscribe');
    const subscribing2 = c.subscribe('a/+');
    const s2 = await next5(conn, 'subscribe');
    expect(s2.properties).toEqual({ subscriptionIdentifier: 2 });
    send5(conn, { type: 'suback', packetId: s2.packetId, returnCodes: [0] });
    const narrow = await within(subscribing2, 2000, 'subscribe');
    const unrouted = c.messages();
    // Both match a/x by topic; the identifiers say which subscription each copy is for.
    send5(conn, { type: 'publish', topic: 'a/x', payload: bytes('for 1'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifiers: [1] } });
    send5(conn, { type: 'publish', topic: 'a/x', payload: bytes('for 2'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifiers: [2] } });
    send5(conn, { type: 'publish', topic: 'a/x', payload: bytes('for both'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifiers: [2, 1] } });
    // No identifier at all: client-side matching, as at 3.1.1.
    send5(conn, { type: 'publish', topic: 'a/y', payload: bytes('no ids'), qos: 0, retain: false, dup: false });
    // An identifier of no live subscription: unrouted, even though a/# would match it.
    send5(conn, { type: 'publish', topic: 'a/z', payload: bytes('stale'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifiers: [99] } });
    expect(shown(await take(wide, 3))).toEqual([['a/x', 'for 1', [1]], ['a/x', 'for both', [2, 1]], ['a/y', 'no ids', []]]);
    expect(shown(await take(narrow, 3))).toEqual([['a/x', 'for 2', [2]], ['a/x', 'for both', [2, 1]], ['a/y', 'no ids', []]]);
    expect(shown(await take(unrouted, 1))).toEqual([['a/z', 'stale', [99]]]);
  });

  it('a received message published again with its own properties goes without its Subscription Identifiers; giving one is refused at the call [MQTT-3.3.4-6]', async () => {
    const { c, conn } = await connectToFake5(h);
    const subscribing = c.subscribe('in');
    const s = await next5(conn, 'subscribe');
    send5(conn, { type: 'suback', packetId: s.packetId, returnCodes: [1] });
    const sub = await within(subscribing, 2000, 'subscribe');
    send5(conn, { type: 'publish', topic: 'in', payload: bytes('m'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifiers: [1], contentType: 'text/plain' } });
    const [m] = await take(sub, 1);
    expect(m!.subscriptionIdentifiers).toEqual([1]);
    const forwarding = c.publish('out', m!.payload, { qos: 1, properties: m!.properties });
    const forwarded = await next5(conn, 'publish');
    expect([forwarded.topic, forwarded.properties]).toEqual(['out', { contentType: 'text/plain' }]);
    send5(conn, { type: 'puback', packetId: forwarded.packetId as number });
    await within(forwarding, 2000, 'publish');
    const err = await rejection(c.publish('out', 'x', { properties: { subscriptionIdentifiers: [1] } as never }));
    expect((err as Error).message).toMatch(/^unknown publish properties option "subscriptionIdentifiers": .*MQTT-3\.3\.4-6/);
    await expectQuiet5(conn);
  });

  it('a filter subscribed again by a second subscription is held under the new identifier: the first still gets its messages', async () => {
    const { c, conn } = await connectToFake5(h);
    const first = c.subscribe('shared/topic');
    const s1 = await next5(conn, 'subscribe');
    send5(conn, { type: 'suback', packetId: s1.packetId, returnCodes: [0] });
    const one = await within(first, 2000, 'subscribe');
    const second = c.subscribe(['shared/topic', 'other']);
    const s2 = await next5(conn, 'subscribe');
    send5(conn, { type: 'suback', packetId: s2.packetId, returnCodes: [0, 0] });
    const two = await within(second, 2000, 'subscribe');
    // The broker replaced its subscription of shared/topic, identifier included: messages carry 2 only.
    send5(conn, { type: 'publish', topic: 'shared/topic', payload: bytes('m'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifiers: [2] } });
    expect(shown(await take(one, 1))).toEqual([['shared/topic', 'm', [2]]]);
    expect(shown(await take(two, 1))).toEqual([['shared/topic', 'm', [2]]]);
  });

  it('a refused SUBSCRIBE of a filter another subscription holds leaves that subscription its messages', async () => {
    const { c, conn } = await connectToFake5(h);
    const first = c.subscribe('held/x');
    const s1 = await next5(conn, 'subscribe');
    send5(conn, { type: 'suback', packetId: s1.packetId, returnCodes: [0] });
    const one = await within(first, 2000, 'subscribe');
    const second = rejection(c.subscribe('held/x'));
    const s2 = await next5(conn, 'subscribe');
    expect(s2.properties).toEqual({ subscriptionIdentifier: 2 });
    send5(conn, { type: 'suback', packetId: s2.packetId, returnCodes: [0x87] });
    expect(await second).toMatchObject({ code: 'SUBSCRIBE_REFUSED' });
    // The broker kept the first subscription, identifier 1 and all.
    send5(conn, { type: 'publish', topic: 'held/x', payload: bytes('still'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifiers: [1] } });
    expect(shown(await take(one, 1))).toEqual([['held/x', 'still', [1]]]);
  });

  it('after a reconnect without a session each subscription is subscribed again with its own identifier', async () => {
    const { c, conn, timers, fake } = await connectToFake5(h, { reconnect: { initialDelay: 10, maxDelay: 10 } });
    const subs = [];
    for (const filter of ['x/#', 'y/#']) {
      const subscribing = c.subscribe(filter);
      const s = await next5(conn, 'subscribe');
      send5(conn, { type: 'suback', packetId: s.packetId, returnCodes: [0] });
      subs.push(await within(subscribing, 2000, 'subscribe'));
    }
    const again = await dropAndReconnect(c, conn, timers, fake);
    await next5(again, 'connect');
    send5(again, { type: 'connack', sessionPresent: false, returnCode: 0 });
    const re = [await next5(again, 'subscribe'), await next5(again, 'subscribe')];
    expect(re.map((s) => [s.subscriptions.map((f) => f.topicFilter), s.properties?.subscriptionIdentifier])).toEqual([[['x/#'], 1], [['y/#'], 2]]);
    for (const s of re) send5(again, { type: 'suback', packetId: s.packetId, returnCodes: [0] });
    send5(again, { type: 'publish', topic: 'y/1', payload: bytes('after'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifiers: [2] } });
    expect(shown(await take(subs[1]!, 1))).toEqual([['y/1', 'after', [2]]]);
  });

  it('a broker that does not allow identifiers gets none, and routing matches topics', async () => {
    const { c, conn } = await connectToFake5(h, {}, { subscriptionIdentifiersAvailable: false });
    expect(c.limits.subscriptionIdentifiersAvailable).toBe(false);
    const subscribing = c.subscribe('n/#');
    const s = await next5(conn, 'subscribe');
    expect(s.properties).toBeUndefined();
    send5(conn, { type: 'suback', packetId: s.packetId, returnCodes: [0] });
    const sub = await within(subscribing, 2000, 'subscribe');
    send5(conn, { type: 'publish', topic: 'n/1', payload: bytes('m'), qos: 0, retain: false, dup: false });
    expect(shown(await take(sub, 1))).toEqual([['n/1', 'm', []]]);
    await expectQuiet(conn);
  });

  it('the allocator counts up and, past 268,435,455, reuses only identifiers no subscription or filter holds', () => {
    const ids = new SubscriptionIds();
    expect([ids.allocate(() => []), ids.allocate(() => [])]).toEqual([1, 2]);
    ids.subscribed([{ topicFilter: 'f' }], 1);
    ids.startAt(MAX_SUBSCRIPTION_ID);
    expect(ids.allocate(() => [])).toBe(MAX_SUBSCRIPTION_ID);
    // 1 is held under filter f, 2 by a live subscription: 3 is the first free one.
    expect(ids.allocate(() => [2, undefined])).toBe(3);
    ids.unsubscribed(['f']);
    expect(ids.allocate(() => [2])).toBe(1);
  });
});

describeMosquitto('MQTT 5 subscription identifiers against mosquitto [v5]', () => {
  let m: MosquittoHandle;
  beforeAll(async () => {
    m = await startMosquitto();
  });
  afterAll(() => m?.stop());

  it('overlapping filters a/# and a/+ as two subscriptions: each message once to each that matches; then a/+ unsubscribed (MQTT-3.3.4-3)', async () => {
    const c = await connect(m.url, { ...FAST, protocolVersion: 5, clientId: 'subid-overlap' });
    try {
      expect(c.limits.subscriptionIdentifiersAvailable).toBe(true);
      const wide = await c.subscribe('ov/#');
      const narrow = await c.subscribe('ov/+');
      await c.publish('ov/1', 'one', { qos: 1 });
      await c.publish('ov/1/deep', 'deep', { qos: 1 });
      await c.unsubscribe('ov/+');
      await c.publish('ov/2', 'two', { qos: 1 });
      const w = await take(wide, 3);
      expect(w.map((msg) => [msg.topic, msg.text()])).toEqual([['ov/1', 'one'], ['ov/1/deep', 'deep'], ['ov/2', 'two']]);
      // Mosquitto sends one copy for both (identifiers [1, 2]), or one each: either way each subscription sees it once.
      expect(w[0]!.subscriptionIdentifiers).toContain(1);
      // a/+ got ov/1 only (not ov/1/deep, which wide got), then ended when unsubscribed.
      expect((await take(narrow, 1)).map((msg) => [msg.topic, msg.text()])).toEqual([['ov/1', 'one']]);
      expect(await within(narrow.next(), 2000, 'end')).toEqual({ done: true, value: undefined });
      // "Once each": the next message on the wide one is the one published after, no copy in between.
      await c.publish('ov/3', 'three', { qos: 1 });
      expect((await take(wide, 1)).map((msg) => msg.text())).toEqual(['three']);
    } finally {
      await c.end();
    }
  });

  it('$share/g/x alongside x in one client: each subscription gets each message exactly once, which topic matching cannot do', async () => {
    const c = await connect(m.url, { ...FAST, protocolVersion: 5, clientId: 'subid-share' });
    try {
      const shared = await c.subscribe('$share/g/sx');
      const plain = await c.subscribe('sx');
      for (const text of ['m1', 'm2', 'm3']) await c.publish('sx', text, { qos: 1 });
      const s = await take(shared, 3);
      const p = await take(plain, 3);
      expect(s.map((msg) => msg.text())).toEqual(['m1', 'm2', 'm3']);
      expect(p.map((msg) => msg.text())).toEqual(['m1', 'm2', 'm3']);
      // Mosquitto sends the shared copy and the plain copy as two PUBLISHes, each with its identifier:
      // matched by topic, each subscription would have received both copies (six messages).
      expect(new Set(s.map((msg) => msg.subscriptionIdentifiers.join()))).toEqual(new Set(['1']));
      expect(new Set(p.map((msg) => msg.subscriptionIdentifiers.join()))).toEqual(new Set(['2']));
      await c.publish('sx', 'end', { qos: 1 });
      expect((await take(shared, 1)).map((msg) => msg.text())).toEqual(['end']);
      expect((await take(plain, 1)).map((msg) => msg.text())).toEqual(['end']);
    } finally {
      await c.end();
    }
  });
});
