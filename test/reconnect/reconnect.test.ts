/**
 * Automatic reconnect against a real broker (in-process aedes), stopped and started again on the
 * same port: status events, iterators that keep going, resubscription, the offline queue, CONNACK
 * refusals after a restart, failover between servers.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionClosedError, ConnectionRefusedError, TransportError, type Message } from '../../src/index.js';
import { getFreePort } from '../helpers/mosquitto.js';
import { ManualTimers, PacketLog, rejection, take, tick, track, until, useHarness, within } from '../client/helpers.js';
import { startAedesAt, StatusRecorder, type RestartableAedes } from './helpers.js';

const h = useHarness();

/** Small real delays: sockets must really reconnect. */
const QUICK = { initialDelay: 20, maxDelay: 100 } as const;

async function aedesAt(opts: Parameters<typeof startAedesAt>[0] = {}): Promise<RestartableAedes> {
  const b = await startAedesAt(opts);
  h.defer(() => b.stop());
  return b;
}

/** The packet names the client sent after its last CONNECT (from the logger). */
function sentSinceLastConnect(log: PacketLog): string[] {
  const out = log.out();
  const i = out.map((l) => l.startsWith('> CONNECT')).lastIndexOf(true);
  return out.slice(i + 1);
}

describe('after a broker restart on the same port', () => {
  it('reconnects with backoff; status: connected, disconnected, offline, reconnecting, error, reconnecting, connected; closed after end()', async () => {
    const b = await aedesAt();
    const timers = new ManualTimers();
    const c = h.client(b.url, { clientId: 'rs-status', keepalive: 0, timers, reconnect: { initialDelay: 100, maxDelay: 1000 } });
    const st = new StatusRecorder(c);
    await c.connect();
    expect(await st.next('connected')).toEqual({ type: 'connected', sessionPresent: false, url: b.url });

    await b.stop();
    const lost = await st.next('disconnected');
    expect(lost.reason).toBeInstanceOf(ConnectionClosedError);
    expect(c.connected).toBe(false);
    expect(c.state).toBe('reconnecting');
    expect(await st.next('offline')).toEqual({ type: 'offline', queued: 0 });
    const r1 = await st.next('reconnecting');
    expect(r1).toMatchObject({ type: 'reconnecting', attempt: 1, url: b.url });
    expect(r1.delay).toBeGreaterThanOrEqual(0);
    expect(r1.delay).toBeLessThanOrEqual(100);
    expect(timers.dueIn).toEqual([r1.delay]); // the reconnect timer, nothing else

    // The broker is still down: this attempt fails and the next one waits up to twice as long.
    timers.advance(r1.delay);
    const failed = await st.next('error');
    expect(failed.error).toBeInstanceOf(TransportError);
    expect(failed.error).toMatchObject({ code: 'CONNECTION_REFUSED_BY_HOST' });
    const r2 = await st.next('reconnecting');
    expect(r2).toMatchObject({ attempt: 2, url: b.url });
    expect(r2.delay).toBeLessThanOrEqual(200);
    expect(c.state).toBe('reconnecting');
    expect(c.stats().reconnects).toBe(0);

    await b.start();
    timers.advance(r2.delay);
    expect(await st.next('connected')).toEqual({ type: 'connected', sessionPresent: false, url: b.url });
    expect(c.connected).toBe(true);
    expect(c.stats().reconnects).toBe(1);
    await b.waitFor('client', (e) => e.clientId === 'rs-status');
    expect(st.types()).toEqual(['connected', 'disconnected', 'offline', 'reconnecting', 'error', 'reconnecting', 'connected']);

    await within(c.end(), 2000, 'end()');
    await within(st.ended, 1000, 'status stream end');
    expect(st.events.at(-1)).toEqual({ type: 'closed' });
    expect(timers.count).toBe(0);
  });

  it('the same for-await loop keeps receiving: every live filter is subscribed again at its QoS', async () => {
    const b = await aedesAt();
    const c = await h.connected(b.url, { clientId: 'iter', reconnect: QUICK });
    const sub = await c.subscribe({ 'it/a': { qos: 1 }, 'it/b/#': { qos: 2 } });
    const other = await c.subscribe('it/c', { qos: 0 });
    const got: string[] = [];
    const loop = (async () => {
      for await (const m of sub) {
        got.push(`${m.topic}=${m.text()}@${m.qos}`);
        if (got.length === 3) break;
      }
      return 'left';
    })();
    const pub1 = await h.connected(b.url, { clientId: 'iter-pub1' });
    await pub1.publish('it/a', 'before', { qos: 1 });
    await until(() => got.length === 1, 2000, 'first message');

    const st = new StatusRecorder(c);
    await b.stop();
    await b.start();
    expect(await st.next('connected', 3000)).toMatchObject({ sessionPresent: false });
    await until(() => b.events.filter((e) => e.type === 'subscribe' && e.clientId === 'iter').length === 2, 2000, 'two SUBSCRIBEs');
    expect(b.events.flatMap((e) => (e.type === 'subscribe' && e.clientId === 'iter' ? e.subscriptions : []))).toEqual([
      { topic: 'it/a', qos: 1 },
      { topic: 'it/b/#', qos: 2 },
      { topic: 'it/c', qos: 0 },
    ]);
    await until(() => sub.granted.length === 2 && other.granted.length === 1, 1000, 'SUBACKs');
    expect(sub.granted).toEqual([1, 2]);

    const pub2 = await h.connected(b.url, { clientId: 'iter-pub2' });
    await pub2.publish('it/b/x', 'after-1', { qos: 2 });
    await pub2.publish('it/a', 'after-2', { qos: 1 });
    await pub2.publish('it/c', 'other', { qos: 0 });
    expect(await within(loop, 2000, 'the loop')).toBe('left');
    expect(got).toEqual(['it/a=before@1', 'it/b/x=after-1@2', 'it/a=after-2@1']);
    expect((await take(other, 1)).map((m) => m.text())).toEqual(['other']);
  });

  it('publishes made while offline are queued (QoS 0, 1, 2, in order) and sent after the re-SUBSCRIBE: the client gets its own messages back', async () => {
    const b = await aedesAt();
    const log = new PacketLog();
    const c = await h.connected(b.url, { clientId: 'order', reconnect: QUICK, logger: log.logger });
    const sub = await c.subscribe('ord/#', { qos: 2 });
    const st = new StatusRecorder(c);
    await b.stop();
    await st.next('reconnecting');
    const pubs = [
      track(c.publish('ord/0', 'zero', { qos: 0 })),
      track(c.publish('ord/1', 'one', { qos: 1 })),
      track(c.publish('ord/2', 'two', { qos: 2 })),
    ];
    expect(c.stats().queued).toBe(3);
    await tick();
    expect(pubs.map((p) => p.status)).toEqual(['pending', 'pending', 'pending']);

    await b.start();
    await within(Promise.all(pubs.map((p) => p.promise)), 3000, 'offline publishes');
    // The broker forwards different QoS levels in its own order (MQTT orders each QoS on its own).
    const msgs = (await take(sub, 3)).sort((x, y) => x.topic.localeCompare(y.topic));
    expect(msgs.map((m: Message) => [m.topic, m.text(), m.qos])).toEqual([
      ['ord/0', 'zero', 0],
      ['ord/1', 'one', 1],
      ['ord/2', 'two', 2],
    ]);
    const sent = sentSinceLastConnect(log);
    expect(sent[0]).toMatch(/^> SUBSCRIBE id=\d+ "ord\/#"@2$/);
    expect(sent.slice(1, 4).map((l) => l.replace(/ id=\d+/, ''))).toEqual([
      '> PUBLISH topic="ord/0" qos=0 payload=4B',
      '> PUBLISH topic="ord/1" qos=1 payload=3B',
      '> PUBLISH topic="ord/2" qos=2 payload=3B',
    ]);
    // The broker took the subscription before any of them (aedes itself may reorder across QoS levels).
    const seen = b.events.filter((e) => (e.type === 'subscribe' && e.clientId === 'order') || (e.type === 'publish' && e.topic.startsWith('ord/')));
    expect(seen.map((e) => (e.type === 'publish' ? e.topic : e.type))[0]).toBe('subscribe');
    expect(seen.length).toBe(4);
    expect(c.stats()).toMatchObject({ queued: 0, inflight: 0, reconnects: 1 });
  });

  it('subscribe() and unsubscribe() made while the broker is down wait for the reconnect, then complete', async () => {
    const b = await aedesAt();
    const c = await h.connected(b.url, { clientId: 'waiter', reconnect: QUICK, ackTimeout: 3000 });
    const old = await c.subscribe('w/old', { qos: 1 });
    const st = new StatusRecorder(c);
    await b.stop();
    await st.next('reconnecting');
    const sub = track(c.subscribe('w/new', { qos: 1 }));
    const unsub = track(c.unsubscribe('w/old'));
    // Two failed attempts while the broker is down, counted: the calls keep waiting through them.
    await st.next('error');
    await st.next('error');
    expect([sub.status, unsub.status]).toEqual(['pending', 'pending']);
    await b.start();
    await within(Promise.all([sub.promise, unsub.promise]), 3000, 'subscribe + unsubscribe');
    expect(sub.value?.granted).toEqual([1]);
    expect((await old.next()).done).toBe(true); // unsubscribed: that subscription ended
    // The broker saw the old filter (resubscribe), then the new one, then the unsubscribe.
    await b.waitFor('unsubscribe', (e) => e.clientId === 'waiter');
    const seen = b.events.flatMap((e) => {
      if (e.type === 'subscribe' && e.clientId === 'waiter') return e.subscriptions.map((s) => `sub ${s.topic}`);
      if (e.type === 'unsubscribe' && e.clientId === 'waiter') return e.topics.map((t) => `unsub ${t}`);
      return [];
    });
    expect(seen).toEqual(['sub w/old', 'sub w/new', 'unsub w/old']);
    const pub = await h.connected(b.url, { clientId: 'waiter-pub' });
    await pub.publish('w/new', 'hi', { qos: 1 });
    expect((await take(sub.value!, 1)).map((m) => m.text())).toEqual(['hi']);
  });
});

describe('CONNACK refusals on reconnect (aedes authenticate)', () => {
  it('refusal 5 after a restart stops reconnecting: closed rejects with ConnectionRefusedError, iterators and pending publishes settle', async () => {
    let allow = true;
    const b = await aedesAt({ authenticate: () => allow });
    const timers = new ManualTimers();
    const c = await h.connected(b.url, { clientId: 'refused', reconnect: QUICK, timers });
    const sub = await c.subscribe('ref/#', { qos: 1 });
    const st = new StatusRecorder(c);
    allow = false;
    await b.stop();
    const r = await st.next('reconnecting');
    const pub = track(c.publish('ref/x', 'queued', { qos: 1 }));
    await b.start();
    timers.advance(r.delay);
    const err = await rejection(c.closed, 3000);
    expect(err).toBeInstanceOf(ConnectionRefusedError);
    expect(err).toMatchObject({ code: 'CONNECTION_REFUSED', returnCode: 5 });
    expect(c.state).toBe('closed');
    await tick();
    expect(pub.status).toBe('rejected');
    expect(pub.error).toBe(err);
    await expect(sub.next()).rejects.toBe(err);
    await within(st.ended, 1000, 'status end');
    expect(st.events.slice(-2)).toEqual([
      { type: 'error', error: err },
      { type: 'closed', error: err },
    ]);
    // Exactly one refused CONNACK, and no retry can follow: the closed client has no timer left.
    expect(b.events.filter((e) => e.type === 'connackSent' && e.returnCode === 5).length).toBe(1);
    expect(timers.count).toBe(0);
  });

  it('retryRefused: true keeps trying through refusals and comes back when the broker accepts again', async () => {
    let refusals = 0;
    const b = await aedesAt({ authenticate: () => (refusals > 0 ? (refusals--, false) : true) });
    const c = await h.connected(b.url, { clientId: 'stubborn', reconnect: { ...QUICK, retryRefused: true } });
    const sub = await c.subscribe('stub/#', { qos: 1 });
    const st = new StatusRecorder(c);
    refusals = 3;
    b.dropClients();
    await st.next('connected', 5000);
    const errors = st.events.filter((e) => e.type === 'error');
    expect(errors.map((e) => (e.type === 'error' ? (e.error as ConnectionRefusedError).returnCode : -1))).toEqual([5, 5, 5]);
    await until(() => b.events.filter((e) => e.type === 'connackSent').length === 5, 1000, 'five CONNACKs');
    expect(b.events.filter((e) => e.type === 'connackSent').map((e) => (e.type === 'connackSent' ? e.returnCode : -1))).toEqual([0, 5, 5, 5, 0]);
    expect(st.events.filter((e) => e.type === 'reconnecting').map((e) => (e.type === 'reconnecting' ? e.attempt : 0))).toEqual([1, 2, 3, 4]);
    await b.waitFor('subscribe', (e) => e.clientId === 'stubborn' && b.events.filter((x) => x.type === 'subscribe').length === 2);
    const pub = await h.connected(b.url, { clientId: 'stub-pub' });
    await pub.publish('stub/x', 'back', { qos: 1 });
    expect((await take(sub, 1)).map((m) => m.text())).toEqual(['back']);
  });

  it('refusal 3 (server unavailable) is retried without retryRefused', async () => {
    let unavailable = 0;
    const b = await aedesAt({ authenticate: () => (unavailable > 0 ? (unavailable--, 3) : true) });
    const c = await h.connected(b.url, { clientId: 'busy', reconnect: QUICK });
    const st = new StatusRecorder(c);
    unavailable = 2;
    b.dropClients();
    await st.next('connected', 5000);
    expect(st.types()).toEqual(['disconnected', 'offline', 'reconnecting', 'error', 'reconnecting', 'error', 'reconnecting', 'connected']);
    expect(st.events.filter((e) => e.type === 'error').map((e) => (e.type === 'error' ? (e.error as ConnectionRefusedError).returnCode : -1))).toEqual([3, 3]);
  });
});

describe('servers: failover', () => {
  it('reconnect attempts rotate through [url, ...servers]: A lost -> B; B lost -> A; the subscription follows', async () => {
    const a = await aedesAt();
    const b2 = await aedesAt();
    const c = await h.connected(a.url, { clientId: 'fo', servers: [b2.url], reconnect: QUICK });
    const sub = await c.subscribe('fo/#', { qos: 1 });
    const st = new StatusRecorder(c);

    await a.stop();
    const r = await st.next('reconnecting');
    expect(r.url).toBe(b2.url);
    expect(await st.next('connected', 3000)).toEqual({ type: 'connected', sessionPresent: false, url: b2.url });
    const resub = await b2.waitFor('subscribe', (e) => e.clientId === 'fo');
    expect(resub.subscriptions).toEqual([{ topic: 'fo/#', qos: 1 }]);
    const pubB = await h.connected(b2.url, { clientId: 'fo-pub-b' });
    await pubB.publish('fo/b', 'via B', { qos: 1 });
    expect((await take(sub, 1)).map((m) => m.text())).toEqual(['via B']);

    await a.start();
    await b2.stop();
    expect((await st.next('reconnecting')).url).toBe(a.url);
    expect(await st.next('connected', 3000)).toMatchObject({ url: a.url });
    await a.waitFor('subscribe', (e) => e.clientId === 'fo');
    const pubA = await h.connected(a.url, { clientId: 'fo-pub-a' });
    await pubA.publish('fo/a', 'via A again', { qos: 1 });
    expect((await take(sub, 1)).map((m) => m.text())).toEqual(['via A again']);
    expect(c.stats().reconnects).toBe(2);
  });

  it('the first connect() uses only the first URL: it rejects and closes, the other servers are not tried', async () => {
    const deadPort = await getFreePort();
    const b = await aedesAt();
    const timers = new ManualTimers();
    const c = h.client(`mqtt://127.0.0.1:${deadPort}`, { servers: [b.url], reconnect: QUICK, timers });
    const st = new StatusRecorder(c);
    const err = await rejection(c.connect(), 2000);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ code: 'CONNECTION_REFUSED_BY_HOST' });
    await expect(c.closed).rejects.toBe(err);
    await within(st.ended, 1000, 'status end');
    expect(st.events).toEqual([{ type: 'closed', error: err }]);
    // No other server can be tried later: the closed client has no timer left.
    expect(timers.count).toBe(0);
    expect(b.events.filter((e) => e.type === 'socketOpen')).toEqual([]);
  });
});
