/**
 * Issue 11, item 5: a service that starts before its broker. With reconnect.retryFirstConnect the first
 * connect() waits for the broker with the reconnect backoff; without it one failed attempt closes the
 * client, and connect() on that client says why it stays closed.
 */
import { describe, expect, it } from 'vitest';
import { AbortError, ClientClosedError, ConnectionRefusedError, TransportError } from '../../src/index.js';
import { getFreePort } from '../helpers/mosquitto.js';
import { PacketType } from '../helpers/fake-broker.js';
import { connackPacket } from '../helpers/mqtt-bytes.js';
import { ManualTimers, PacketLog, rejection, tick, track, useHarness, within } from '../client/helpers.js';
import { startAedesAt, StatusRecorder } from './helpers.js';

const h = useHarness();

const RETRY = { initialDelay: 100, maxDelay: 400, retryFirstConnect: true } as const;

describe('reconnect.retryFirstConnect: the first connect() waits for the broker', () => {
  it('a broker that is not up yet: connect() stays pending through failed attempts with backoff, and resolves once the broker answers', async () => {
    const port = await getFreePort();
    const timers = new ManualTimers();
    const log = new PacketLog();
    const c = h.client(`mqtt://127.0.0.1:${port}`, { clientId: 'early-bird', keepalive: 0, timers, logger: log.logger, reconnect: RETRY });
    const st = new StatusRecorder(c);
    const connecting = track(c.connect());
    const queued = track(c.publish('early/x', 'waited', { qos: 1 })); // made before the broker is up

    const failed = await st.next('error');
    expect(failed.error).toBeInstanceOf(TransportError);
    expect(failed.error).toMatchObject({ code: 'CONNECTION_REFUSED_BY_HOST' });
    const r1 = await st.next('reconnecting');
    expect(r1).toMatchObject({ attempt: 1, url: `mqtt://127.0.0.1:${port}` });
    expect(r1.delay).toBeLessThanOrEqual(100);
    expect(c.state).toBe('reconnecting');
    expect(c.connect()).toBe(connecting.promise); // a second call joins the wait
    timers.advance(r1.delay);
    await st.next('error');
    const r2 = await st.next('reconnecting');
    expect(r2.attempt).toBe(2);
    expect(r2.delay).toBeLessThanOrEqual(200);
    await tick();
    expect([connecting.status, queued.status]).toEqual(['pending', 'pending']);

    const broker = await startAedesAt({ port });
    h.defer(() => broker.stop());
    timers.advance(r2.delay);
    await within(connecting.promise, 2000, 'connect()');
    expect(connecting.value).toEqual({ sessionPresent: false, properties: {} });
    expect(c.state).toBe('connected');
    await within(queued.promise, 2000, 'the publish made while waiting');
    expect(st.types()).toEqual(['error', 'reconnecting', 'error', 'reconnecting', 'connected']);
    expect(c.stats().reconnects).toBe(0); // the first connection is not a reconnect
    expect(log.lines.filter((l) => l.startsWith('state ')).map((l) => l.slice(6))).toEqual([
      'new -> connecting',
      'connecting -> reconnecting',
      'reconnecting -> connecting',
      'connecting -> reconnecting',
      'reconnecting -> connecting',
      'connecting -> connected',
    ]);
  });

  it('an error retrying cannot heal still rejects at once (CONNACK 5) and closes the client, with no timer left', async () => {
    const timers = new ManualTimers();
    const fake = await h.fake();
    const c = h.client(fake.url, { keepalive: 0, timers, reconnect: RETRY });
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write(connackPacket(5));
    const err = await rejection(connecting);
    expect(err).toBeInstanceOf(ConnectionRefusedError);
    expect(err).toMatchObject({ returnCode: 5 });
    await expect(c.closed).rejects.toBe(err);
    expect(c.state).toBe('closed');
    expect(timers.count).toBe(0);
  });

  it('the wait is bounded by connect()\'s signal: aborting rejects with AbortError and closes the client, no timer left', async () => {
    const port = await getFreePort();
    const timers = new ManualTimers();
    const c = h.client(`mqtt://127.0.0.1:${port}`, { keepalive: 0, timers, reconnect: RETRY });
    const st = new StatusRecorder(c);
    const ac = new AbortController();
    const connecting = track(c.connect({ signal: ac.signal }));
    await st.next('reconnecting');
    ac.abort('the service gives up');
    const err = await rejection(connecting.promise);
    expect(err).toBeInstanceOf(AbortError);
    expect(err).toMatchObject({ code: 'ABORTED', cause: 'the service gives up' });
    await expect(c.closed).rejects.toBe(err);
    expect(timers.count).toBe(0);
  });

  it('end() while waiting: connect() rejects with ClientClosedError and closed resolves', async () => {
    const port = await getFreePort();
    const timers = new ManualTimers();
    const c = h.client(`mqtt://127.0.0.1:${port}`, { keepalive: 0, timers, reconnect: RETRY });
    const st = new StatusRecorder(c);
    const connecting = track(c.connect());
    await st.next('reconnecting');
    await within(c.end(), 1000, 'end()');
    const err = await rejection(connecting.promise);
    expect(err).toBeInstanceOf(ClientClosedError);
    expect((err as Error).message).toBe('the client was ended while reconnecting');
    await expect(c.closed).resolves.toBeUndefined();
    expect(timers.count).toBe(0);
  });
});

describe('without retryFirstConnect', () => {
  it('connect() again on a client whose first connect() failed says why it stays closed and what to do', async () => {
    const port = await getFreePort();
    const c = h.client(`mqtt://127.0.0.1:${port}`, { keepalive: 0 });
    const first = await rejection(c.connect());
    expect(first).toBeInstanceOf(TransportError);
    const again = await rejection(c.connect());
    expect(again).toBeInstanceOf(ClientClosedError);
    expect((again as Error).message).toBe(
      `cannot connect: the client closed when its first connect() failed (${(first as Error).message}). A closed client stays closed ` +
        '(its `closed` promise has settled and its status streams have ended): make a new client, or set ' +
        'reconnect.retryFirstConnect to let connect() wait for the broker',
    );
  });
});
