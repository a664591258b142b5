import { describe, expect, it, vi } from 'vitest';
import { ClientClosedError, ConnectionClosedError } from '../../src/index.js';
import { PacketType } from '../helpers/fake-broker.js';
import { expectQuiet, ManualTimers, rejection, take, tcpHandles, tick, track, until, useHarness, within, type Tracked } from './helpers.js';

const h = useHarness();

/** How many resolved, and the first one that did not (index, status, error). */
function summarize(pubs: Tracked<void>[]): { resolved: number; firstFailure: string | undefined } {
  const i = pubs.findIndex((p) => p.status !== 'resolved');
  const p = pubs[i];
  return {
    resolved: pubs.filter((x) => x.status === 'resolved').length,
    firstFailure: p && `#${i} ${p.status}${p.error ? `: ${String(p.error)}` : ''}`,
  };
}

describe('end()', () => {
  it('flushes: 100 QoS 1 publishes started without awaiting all resolve, then the broker sees DISCONNECT', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url, { clientId: 'flusher', endTimeout: 2000 });
    const pubs = Array.from({ length: 100 }, (_, i) => track(c.publish('flush/x', String(i), { qos: 1 })));
    const ended = track(c.end());
    expect(c.state).toBe('closing');
    await within(ended.promise, 3000, 'end()');
    expect(summarize(pubs)).toEqual({ resolved: 100, firstFailure: undefined });
    const received = b.events.flatMap((e) => (e.type === 'publish' && e.topic === 'flush/x' ? [e.payload.toString()] : []));
    expect(received).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    const gone = await b.waitFor('clientDisconnect', (e) => e.clientId === 'flusher');
    expect(gone.sentDisconnect).toBe(true);
    // DISCONNECT came after the last PUBLISH.
    const lastPublish = b.events.map((e) => e.type === 'publish' && e.topic === 'flush/x').lastIndexOf(true);
    expect(b.events.indexOf(gone)).toBeGreaterThan(lastPublish);
    expect(c.state).toBe('closed');
    await expect(c.closed).resolves.toBeUndefined();
  });

  it('flushes publishes still queued behind a full in-flight window (QoS 1 and 2)', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url, { clientId: 'queued', inflightWindow: 2, endTimeout: 2000 });
    const pubs = [0, 1, 2, 3, 4, 5].map((i) => track(c.publish('queue/x', String(i), { qos: i % 2 === 0 ? 1 : 2 })));
    expect(c.stats()).toMatchObject({ inflight: 2, queued: 4 });
    await within(c.end(), 3000, 'end()');
    expect(summarize(pubs)).toEqual({ resolved: 6, firstFailure: undefined });
  });

  it('publish, subscribe and unsubscribe after end() reject at once with ClientClosedError and send nothing', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url, { clientId: 'late' });
    const ended = c.end();
    const pubErr = await rejection(c.publish('late/x', 'no', { qos: 1 }), 100);
    expect(pubErr).toBeInstanceOf(ClientClosedError);
    expect(pubErr).toMatchObject({ code: 'CLIENT_CLOSED' });
    await ended;
    await expect(c.publish('late/x', 'no')).rejects.toBeInstanceOf(ClientClosedError);
    await expect(c.subscribe('late/#')).rejects.toBeInstanceOf(ClientClosedError);
    await expect(c.unsubscribe('late/#')).rejects.toBeInstanceOf(ClientClosedError);
    expect(c.end()).toBe(ended); // idempotent
    expect(b.events.filter((e) => e.type === 'publish' || e.type === 'subscribe' || e.type === 'unsubscribe')).toEqual([]);
  });

  it('iterators finish: buffered messages can still be read, then done; a waiting next() resolves done', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url);
    const withMessages = await c.subscribe('it/a', { qos: 1 });
    const empty = await c.subscribe('it/b', { qos: 1 });
    const publisher = await h.connected(b.url);
    await publisher.publish('it/a', 'one', { qos: 1 });
    await publisher.publish('it/a', 'two', { qos: 1 });
    await until(() => withMessages.buffered === 2);
    const waiting = track(empty.next());
    await within(c.end(), 2000, 'end()');
    await tick();
    expect(waiting.status).toBe('resolved');
    expect(waiting.value).toEqual({ value: undefined, done: true });
    const texts: string[] = [];
    for await (const m of withMessages) texts.push(m.text());
    expect(texts).toEqual(['one', 'two']);
    await expect(withMessages.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('waits at most endTimeout for missing acknowledgements, then DISCONNECTs and rejects what is pending', async () => {
    const timers = new ManualTimers();
    const fake = await h.fake();
    const c = h.client(fake.url, { timers, endTimeout: 5000, ackTimeout: 60_000, keepalive: 0 });
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write('20 02 00 00');
    await connecting;
    const pub = track(c.publish('never/acked', 'x', { qos: 1 }));
    await conn.expectPacket(PacketType.PUBLISH);
    const ended = track(c.end());
    timers.advance(4999);
    await expectQuiet(conn);
    expect(ended.status).toBe('pending');
    timers.advance(1);
    await conn.expectPacket(PacketType.DISCONNECT);
    await within(ended.promise, 2000, 'end()');
    expect(pub.status).toBe('rejected');
    expect(pub.error).toBeInstanceOf(ClientClosedError);
    expect(timers.count).toBe(0);
    await conn.expectClosed(1000);
  });
});

describe('destroy()', () => {
  it('destroy(err): pending publish rejects with err, iterators throw err, closed rejects with err', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url, { clientId: 'destroyed' });
    const s = await c.subscribe('d/x', { qos: 1 });
    const waiting = track(s.next());
    const unrouted = c.messages();
    const pub = track(c.publish('d/y', 'x', { qos: 1 }));
    const err = new Error('fatal');
    c.destroy(err);
    expect(c.state).toBe('closed');
    await tick();
    expect(pub.status).toBe('rejected');
    expect(pub.error).toBe(err);
    expect(waiting.status).toBe('rejected');
    expect(waiting.error).toBe(err);
    await expect(s.next()).rejects.toBe(err);
    await expect(unrouted.next()).rejects.toBe(err);
    await expect(c.closed).rejects.toBe(err);
    const gone = await b.waitFor('clientDisconnect', (e) => e.clientId === 'destroyed');
    expect(gone.sentDisconnect).toBe(false);
    c.destroy(new Error('again')); // idempotent
    await expect(c.closed).rejects.toBe(err);
  });

  it('destroy() without an error: pending operations reject with ClientClosedError, iterators are done', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url);
    const s = await c.subscribe('d2/x', { qos: 1 });
    const waiting = track(s.next());
    const pub = track(c.publish('d2/y', 'x', { qos: 2 }));
    c.destroy();
    await tick();
    expect(pub.error).toBeInstanceOf(ClientClosedError);
    expect(waiting.value).toEqual({ value: undefined, done: true });
  });

  it('the broker closing the connection ends the client with ConnectionClosedError', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url, { clientId: 'dropped' });
    const s = await c.subscribe('cl/x');
    const waiting = track(s.next());
    await b.close();
    const err = await rejection(c.closed);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err).toMatchObject({ code: 'CONNECTION_CLOSED' });
    await tick();
    expect(waiting.error).toBe(err);
    expect(c.state).toBe('closed');
  });
});

describe('nothing is left running', () => {
  it('after end(): no client timer (injected clock) and no TCP handle', async () => {
    const b = await h.aedes();
    // Sockets of earlier tests may still be closing: wait until the broker's listener is the only TCP handle.
    await until(() => tcpHandles() === 1, 2000, () => `only the broker's listening socket open (now ${tcpHandles()} TCP handles)`);
    const baseline = 1;
    const timers = new ManualTimers();
    const c = await h.connected(b.url, { clientId: 'tidy', timers, keepalive: 30, ackTimeout: 5000 });
    const s = await c.subscribe('tidy/#', { qos: 2 });
    await c.publish('tidy/a', 'x', { qos: 1 });
    await c.publish('tidy/b', 'y', { qos: 2 });
    await take(s, 2);
    expect(timers.count).toBe(1); // the keepalive check (no acknowledgement awaited)
    expect(tcpHandles()).toBe(baseline + 2); // client socket + broker side socket
    await within(c.end(), 2000, 'end()');
    expect(timers.count).toBe(0);
    await b.waitFor('socketClose');
    await until(() => tcpHandles() === baseline, 1000, () => `TCP handles back to ${baseline} (now ${tcpHandles()})`);
  });

  it('a long-lived AbortSignal keeps nothing reachable: every listener the client and its calls add is removed when they settle or the client closes', async () => {
    const b = await h.aedes();
    const ac = new AbortController();
    const live = new Set<unknown>();
    const add = vi.spyOn(ac.signal, 'addEventListener').mockImplementation(function (this: AbortSignal, _type: string, fn: unknown) {
      live.add(fn);
    } as never);
    const remove = vi.spyOn(ac.signal, 'removeEventListener').mockImplementation(function (this: AbortSignal, _type: string, fn: unknown) {
      live.delete(fn);
    } as never);
    h.defer(() => (add.mockRestore(), remove.mockRestore()));
    const c = h.client(b.url, { signal: ac.signal });
    await c.connect({ signal: ac.signal });
    const sub = await c.subscribe('keep/#', { qos: 1, signal: ac.signal });
    await c.publish('keep/x', 'one', { qos: 1, signal: ac.signal });
    await c.publish('keep/x', 'zero', { qos: 0, signal: ac.signal });
    await c.unsubscribe('other', { signal: ac.signal });
    expect(add.mock.calls.length).toBe(6); // the client's own, connect, subscribe, two publishes, unsubscribe
    expect(live.size).toBe(1); // each call's listener went when the call settled; the client's stays while it lives
    await within(c.end({ signal: ac.signal }), 2000, 'end()');
    expect(live.size).toBe(0);
    await sub.unsubscribe();
  });

  it('after destroy(), after a refused connect and after a connect timeout: no client timer', async () => {
    const b = await h.aedes({ authenticate: (id) => id !== 'refused' });
    const t1 = new ManualTimers();
    const c1 = await h.connected(b.url, { timers: t1, keepalive: 10 });
    const pending = track(c1.publish('x/y', 'z', { qos: 1 }));
    c1.destroy();
    expect(t1.count).toBe(0);
    await tick();
    expect(pending.status).toBe('rejected');

    const t2 = new ManualTimers();
    const c2 = h.client(b.url, { clientId: 'refused', timers: t2, keepalive: 10 });
    await expect(c2.connect()).rejects.toMatchObject({ code: 'CONNECTION_REFUSED' });
    expect(t2.count).toBe(0);

    const fake = await h.fake();
    const t3 = new ManualTimers();
    const c3 = h.client(fake.url, { timers: t3, connectTimeout: 1000 });
    const p = track(c3.connect());
    await (await fake.nextConnection()).expectPacket(PacketType.CONNECT);
    t3.advance(1000);
    await expect(p.promise).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(t3.count).toBe(0);
  });
});
