import { describe, expect, it } from 'vitest';
import { SubscribeError, type Message, type QoS } from '../../src/index.js';
import { PacketLog, rejection, take, tick, track, until, useHarness, within } from './helpers.js';

const h = useHarness();

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

describe('will', () => {
  it('is published by the broker after destroy(): a subscriber sees it', async () => {
    const b = await h.aedes();
    const watcher = await h.connected(b.url, { clientId: 'watcher' });
    const wills = await watcher.subscribe('will/#', { qos: 1 });
    const dying = await h.connected(b.url, {
      clientId: 'dying',
      will: { topic: 'will/dying', payload: 'dying is gone', qos: 1, retain: false },
    });
    dying.destroy();
    expect(dying.state).toBe('closed');
    const [msg] = await take(wills, 1);
    expect(msg!.topic).toBe('will/dying');
    expect(msg!.text()).toBe('dying is gone');
    expect(msg!.qos).toBe(1);
    expect(msg!.retain).toBe(false);
    const gone = await b.waitFor('clientDisconnect', (e) => e.clientId === 'dying');
    expect(gone.sentDisconnect).toBe(false);
  });

  it('is NOT published after end() (DISCONNECT)', async () => {
    const b = await h.aedes();
    const watcher = await h.connected(b.url, { clientId: 'watcher' });
    const wills = await watcher.subscribe('will/#', { qos: 1 });
    const polite = await h.connected(b.url, { clientId: 'polite', will: { topic: 'will/polite', payload: 'x', qos: 1 } });
    await within(polite.end(), 2000, 'end');
    const gone = await b.waitFor('clientDisconnect', (e) => e.clientId === 'polite');
    expect(gone.sentDisconnect).toBe(true);
    // A marker published after the disconnect arrives first: no will came before it.
    await watcher.publish('will/marker', 'm', { qos: 1 });
    const [first] = await take(wills, 1);
    expect(first!.topic).toBe('will/marker');
    expect(b.events.filter((e) => e.type === 'publish' && e.topic === 'will/polite')).toEqual([]);
  });
});

describe('retained messages', () => {
  it('a later subscriber gets the retained message with retain=true; live messages arrive with retain=false', async () => {
    const b = await h.aedes();
    const pub = await h.connected(b.url);
    await pub.publish('ret/a', 'kept', { qos: 1, retain: true });
    const sub = await h.connected(b.url);
    const s = await sub.subscribe('ret/#', { qos: 1 });
    const [retained] = await take(s, 1);
    expect(retained).toMatchObject({ topic: 'ret/a', retain: true, qos: 1 });
    expect(retained!.text()).toBe('kept');
    await pub.publish('ret/a', 'live', { qos: 1, retain: true });
    const [live] = await take(s, 1);
    expect(live!.text()).toBe('live');
    expect(live!.retain).toBe(false); // MQTT-3.3.1-9: established subscription
  });

  it('an empty retained payload clears it: a new subscriber gets nothing retained', async () => {
    const b = await h.aedes();
    const pub = await h.connected(b.url);
    await pub.publish('clr/a', 'kept', { qos: 1, retain: true });
    await pub.publish('clr/a', '', { qos: 1, retain: true });
    await pub.publish('clr/b', 'other', { qos: 1, retain: true });
    const sub = await h.connected(b.url);
    const s = await sub.subscribe('clr/#', { qos: 1 });
    const [first] = await take(s, 1);
    expect(first).toMatchObject({ topic: 'clr/b', retain: true });
    await pub.publish('clr/marker', 'm', { qos: 1 });
    const [second] = await take(s, 1);
    expect(second!.topic).toBe('clr/marker');
  });
});

describe('QoS both directions', () => {
  const combos: Array<[QoS, QoS]> = [];
  for (const p of [0, 1, 2] as const) for (const s of [0, 1, 2] as const) combos.push([p, s]);

  it.each(combos)('publish at QoS %i, subscribe at QoS %i: same bytes, delivered at the lower QoS', async (pq, sq) => {
    const b = await h.aedes();
    const subLog = new PacketLog();
    const pubLog = new PacketLog();
    const subscriber = await h.connected(b.url, { logger: subLog.logger });
    const publisher = await h.connected(b.url, { logger: pubLog.logger });
    const s = await subscriber.subscribe('q/x', { qos: sq });
    expect(s.granted).toEqual([sq]);
    await within(publisher.publish('q/x', ALL_BYTES, { qos: pq }), 2000, 'publish');
    const [msg] = await take(s, 1);
    expect(msg!.topic).toBe('q/x');
    expect(msg!.qos).toBe(Math.min(pq, sq));
    expect(msg!.dup).toBe(false);
    expect(msg!.retain).toBe(false);
    expect(Array.from(msg!.payload)).toEqual(Array.from(ALL_BYTES));
    // The handshakes on the wire: publisher side, then subscriber side.
    const expectOut = pq === 0 ? [] : pq === 1 ? [] : ['> PUBREL'];
    expect(pubLog.out().filter((l) => /PUB(ACK|REC|REL|COMP)/.test(l)).map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(expectOut);
    const dq = Math.min(pq, sq);
    if (dq === 2) await until(() => subLog.out('PUBCOMP').length === 1, 2000, 'subscriber PUBCOMP');
    const subAcks = subLog.out().filter((l) => /PUB(ACK|REC|REL|COMP)/.test(l)).map((l) => l.split(' ')[1]);
    expect(subAcks).toEqual(dq === 0 ? [] : dq === 1 ? ['PUBACK'] : ['PUBREC', 'PUBCOMP']);
    expect(subscriber.stats().messagesIn).toBe(1);
    expect(publisher.stats().messagesOut).toBe(1);
    expect(publisher.stats().inflight).toBe(0);
  });

  it('text() and json() decode the payload; every Payload type is sent as its bytes', async () => {
    const b = await h.aedes();
    const subscriber = await h.connected(b.url);
    const publisher = await h.connected(b.url);
    const s = await subscriber.subscribe('fmt/#', { qos: 1 });
    const doc = { n: 1, s: 'é€😀', a: [true, null] };
    await publisher.publish('fmt/json', JSON.stringify(doc), { qos: 1 });
    await publisher.publish('fmt/text', 'héllo wörld 😀', { qos: 1 });
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    await publisher.publish('fmt/view', new DataView(backing.buffer, 2, 3), { qos: 1 });
    await publisher.publish('fmt/ab', Uint8Array.of(4, 5).buffer, { qos: 1 });
    await publisher.publish('fmt/empty', '', { qos: 1 });
    const [json, text, view, ab, empty] = await take(s, 5);
    expect(json!.json()).toEqual(doc);
    expect(text!.text()).toBe('héllo wörld 😀');
    expect(Array.from(view!.payload)).toEqual([1, 2, 3]);
    expect(Array.from(ab!.payload)).toEqual([4, 5]);
    expect(empty!.payload.length).toBe(0);
    expect(empty!.text()).toBe('');
    expect(() => text!.json()).toThrow(SyntaxError);
  });
});

describe('routing to subscriptions', () => {
  it('overlapping a/# and a/+ in one client: each subscription gets each PUBLISH received exactly once', async () => {
    const b = await h.aedes();
    const log = new PacketLog();
    const c = await h.connected(b.url, { logger: log.logger });
    const hash = await c.subscribe('a/#', { qos: 1 });
    const plus = await c.subscribe('a/+', { qos: 1 });
    const publisher = await h.connected(b.url);
    for (let i = 0; i < 3; i++) await publisher.publish('a/b', `m${i}`, { qos: 1 });
    await publisher.publish('a/b/c', 'deep', { qos: 1 }); // a/# only: the end marker

    const fromHash: Message[] = [];
    while (fromHash.at(-1)?.topic !== 'a/b/c') fromHash.push(...(await take(hash, 1)));
    const publishesIn = log.in('PUBLISH').filter((l) => l.includes('topic="a/b"')).length;
    // The broker may send one copy per matching subscription or one per client; either way every copy
    // received goes once to each matching subscription.
    expect([3, 6]).toContain(publishesIn);
    expect(fromHash.filter((m) => m.topic === 'a/b')).toHaveLength(publishesIn);
    expect(plus.buffered).toBe(publishesIn);
    const fromPlus = await take(plus, publishesIn);
    expect(fromPlus.every((m) => m.topic === 'a/b')).toBe(true);
    expect(new Set(fromPlus.map((m) => m.text()))).toEqual(new Set(['m0', 'm1', 'm2']));
    expect(c.stats().messagesIn).toBe(log.in('PUBLISH').length);
    expect(c.stats().unroutedDropped).toBe(0);
  });

  it('`#` does not match a topic starting with `$` (MQTT-4.7.2-1), `$test/#` does', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url);
    const all = await c.subscribe('#', { qos: 1 });
    const dollar = await c.subscribe('$test/#', { qos: 1 });
    const plusFirst = await c.subscribe('+/x', { qos: 1 });
    const publisher = await h.connected(b.url);
    await publisher.publish('$test/x', 'dollar', { qos: 1 });
    await publisher.publish('plain/x', 'plain', { qos: 1 });
    const [d] = await take(dollar, 1);
    expect(d).toMatchObject({ topic: '$test/x' });
    const [first] = await take(all, 1);
    expect(first).toMatchObject({ topic: 'plain/x' });
    const [p] = await take(plusFirst, 1);
    expect(p).toMatchObject({ topic: 'plain/x' });
    expect(all.buffered).toBe(0);
    expect(plusFirst.buffered).toBe(0);
  });
});

describe('subscribe refused', () => {
  it('SUBACK 0x80 (aedes authorizeSubscribe) -> SubscribeError; the granted filters are unsubscribed again', async () => {
    const b = await h.aedes({ authorizeSubscribe: (_id, topic) => !topic.startsWith('secret/') });
    const c = await h.connected(b.url, { clientId: 'refused' });
    const unrouted = c.messages();
    const err = await rejection(c.subscribe(['ok/a', 'secret/x', 'ok/b'], { qos: 1 }));
    expect(err).toBeInstanceOf(SubscribeError);
    expect(err).toMatchObject({
      code: 'SUBSCRIBE_REFUSED',
      refused: ['secret/x'],
      granted: [
        { topicFilter: 'ok/a', qos: 1 },
        { topicFilter: 'ok/b', qos: 1 },
      ],
    });
    expect((err as Error).message).toMatch(/secret\/x/);
    // The UNSUBSCRIBE went out and was acknowledged before subscribe() rejected.
    const unsub = b.events.find((e) => e.type === 'unsubscribe' && e.clientId === 'refused');
    expect(unsub).toMatchObject({ topics: ['ok/a', 'ok/b'] });
    // The broker no longer delivers them.
    const marker = await c.subscribe('marker', { qos: 1 });
    const publisher = await h.connected(b.url);
    await publisher.publish('ok/a', 'x', { qos: 1 });
    await publisher.publish('ok/b', 'x', { qos: 1 });
    await publisher.publish('marker', 'm', { qos: 1 });
    await take(marker, 1);
    expect(c.stats().messagesIn).toBe(1);
    expect(unrouted.buffered).toBe(0);
    expect(c.connected).toBe(true);
  });

  it('a refused call does not unsubscribe a filter another live subscription shares', async () => {
    const b = await h.aedes({ authorizeSubscribe: (_id, topic) => !topic.startsWith('secret/') });
    const c = await h.connected(b.url, { clientId: 'sharing' });
    const existing = await c.subscribe('ok/a', { qos: 1 });
    const err = await rejection(c.subscribe(['ok/a', 'secret/y'], { qos: 1 }));
    expect(err).toMatchObject({ code: 'SUBSCRIBE_REFUSED', refused: ['secret/y'], granted: [{ topicFilter: 'ok/a', qos: 1 }] });
    expect(b.events.filter((e) => e.type === 'unsubscribe')).toEqual([]);
    const publisher = await h.connected(b.url);
    await publisher.publish('ok/a', 'still', { qos: 1 });
    const [m] = await take(existing, 1);
    expect(m!.text()).toBe('still');
  });

  it('granted codes are in request order; the broker grants what was asked (aedes echoes the QoS)', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url);
    const s = await c.subscribe({ 'g/a': { qos: 2 }, 'g/b': { qos: 0 }, 'g/c': { qos: 1 } });
    expect(s.granted).toEqual([2, 0, 1]);
    expect(s.topicFilters).toEqual(['g/a', 'g/b', 'g/c']);
    const s2 = await c.subscribe(['g/d', 'g/e'], { qos: 1 });
    expect(s2.granted).toEqual([1, 1]);
  });
});

describe('unsubscribe', () => {
  it('client.unsubscribe() sends UNSUBSCRIBE, ends the subscription, and stops delivery', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url, { clientId: 'unsub' });
    const s = await c.subscribe('u/a', { qos: 1 });
    const marker = await c.subscribe('u/marker', { qos: 1 });
    const publisher = await h.connected(b.url);
    await publisher.publish('u/a', 'before', { qos: 1 });
    await take(s, 1);
    await c.unsubscribe('u/a');
    expect(b.events.find((e) => e.type === 'unsubscribe' && e.clientId === 'unsub')).toMatchObject({ topics: ['u/a'] });
    await expect(within(s.closed, 1000, 'sub.closed')).resolves.toBeUndefined();
    await expect(s.next()).resolves.toEqual({ value: undefined, done: true });
    await publisher.publish('u/a', 'after', { qos: 1 });
    await publisher.publish('u/marker', 'm', { qos: 1 });
    await take(marker, 1);
    expect(c.stats().messagesIn).toBe(2);
  });

  it('unsubscribing one filter of a two-filter subscription keeps it live for the other', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url);
    const s = await c.subscribe(['two/a', 'two/b'], { qos: 1 });
    const closed = track(s.closed);
    await c.unsubscribe('two/a');
    await tick();
    expect(closed.status).toBe('pending');
    expect(s.topicFilters).toEqual(['two/b']);
    const publisher = await h.connected(b.url);
    await publisher.publish('two/a', 'gone', { qos: 1 });
    await publisher.publish('two/b', 'kept', { qos: 1 });
    const [m] = await take(s, 1);
    expect(m!.topic).toBe('two/b');
  });

  it('leaving a for-await loop (break) unsubscribes before the loop exits', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url, { clientId: 'breaker' });
    const s = await c.subscribe('brk/#', { qos: 1 });
    const publisher = await h.connected(b.url);
    await publisher.publish('brk/1', 'one', { qos: 1 });
    const seen: string[] = [];
    for await (const m of s) {
      seen.push(m.text());
      break;
    }
    expect(seen).toEqual(['one']);
    await expect(within(s.closed, 1000, 'sub.closed')).resolves.toBeUndefined();
    expect(b.events.filter((e) => e.type === 'unsubscribe' && e.clientId === 'breaker')).toEqual([
      { type: 'unsubscribe', clientId: 'breaker', topics: ['brk/#'] },
    ]);
    const unrouted = c.messages();
    const marker = await c.subscribe('brk-marker', { qos: 1 });
    await publisher.publish('brk/2', 'two', { qos: 1 });
    await publisher.publish('brk-marker', 'm', { qos: 1 });
    await take(marker, 1);
    expect(unrouted.buffered).toBe(0);
    expect(c.stats().messagesIn).toBe(2);
  });

  it('break does not unsubscribe a filter another live subscription shares; the last one out does', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url, { clientId: 'shared' });
    const first = await c.subscribe('sh/x', { qos: 1 });
    const second = await c.subscribe('sh/x', { qos: 1 });
    const publisher = await h.connected(b.url);
    await publisher.publish('sh/x', '1', { qos: 1 });
    for await (const _m of first) break;
    await expect(within(first.closed, 1000, 'first.closed')).resolves.toBeUndefined();
    expect(b.events.filter((e) => e.type === 'unsubscribe')).toEqual([]);
    await publisher.publish('sh/x', '2', { qos: 1 });
    const got = await take(second, 2);
    expect(got.map((m) => m.text())).toEqual(['1', '2']);
    await publisher.publish('sh/x', '3', { qos: 1 });
    for await (const _m of second) break;
    expect(b.events.filter((e) => e.type === 'unsubscribe')).toEqual([{ type: 'unsubscribe', clientId: 'shared', topics: ['sh/x'] }]);
  });
});
