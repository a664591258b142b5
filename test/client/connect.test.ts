import { describe, expect, it } from 'vitest';
import {
  AbortError,
  ClientClosedError,
  ConnectionRefusedError,
  MqttClient,
  MqttProtocolError,
  TimeoutError,
  TransportError,
  connect,
} from '../../src/index.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openTcp } from '../../src/transport/node-tcp.js';
import { getFreePort } from '../helpers/mosquitto-process.js';
import { PacketType, hex } from '../helpers/fake-broker.js';
import { FAST, ManualTimers, PacketLog, rejection, tick, track, useHarness, watchProcessErrors, within } from './helpers.js';

const h = useHarness();

describe('a server that is not MQTT (issue 11, item 6)', () => {
  it('an HTTP server: connect() rejects saying the server did not answer with a CONNACK, and what it sent', async () => {
    const web = http.createServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    h.defer(() => new Promise<void>((r) => web.close(() => r())));
    const { port } = web.address() as AddressInfo;
    const c = h.client(`mqtt://127.0.0.1:${port}`);
    const err = await rejection(c.connect());
    expect(err).toBeInstanceOf(MqttProtocolError);
    expect(err).toMatchObject({
      code: 'UNEXPECTED_PACKET',
      statement: 'MQTT-3.2.0-1',
      message: `the server at 127.0.0.1:${port} did not answer with an MQTT CONNACK; it sent "HTTP/1.1 400 Bad Request" [MQTT-3.2.0-1]`,
    });
    await expect(c.closed).rejects.toBe(err);
  });

  /** The error connect() rejects with when a fake broker answers CONNECT with `bytes`. */
  async function answeredWith(bytes: string): Promise<{ err: unknown; port: number }> {
    const fake = await h.fake();
    const c = h.client(fake.url);
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write(bytes);
    return { err: await rejection(connecting), port: fake.port };
  }

  it('bytes that are not text are shown in hex (a TLS alert on a plain connection); a first packet that is a CONNACK, if malformed, keeps its own error', async () => {
    const alert = await answeredWith('15 03 01 00 02 02 0a');
    expect(alert.err).toMatchObject({
      code: 'UNEXPECTED_PACKET',
      message: `the server at 127.0.0.1:${alert.port} did not answer with an MQTT CONNACK; it sent the bytes 15 03 01 00 02 02 0a [MQTT-3.2.0-1]`,
    });
    const badConnack = await answeredWith('21 02 00 00'); // CONNACK with reserved flags set
    expect(badConnack.err).toMatchObject({ code: 'RESERVED_FLAGS', statement: 'MQTT-2.2.2-2' });
  });

  it('a first packet of another type is named by what the server sent too', async () => {
    const { err, port } = await answeredWith('d0 00'); // a PINGRESP before any CONNACK
    expect(err).toMatchObject({ code: 'UNEXPECTED_PACKET', message: `the server at 127.0.0.1:${port} did not answer with an MQTT CONNACK; it sent the bytes d0 00 [MQTT-3.2.0-1]` });
  });
});

describe('connect() against aedes', () => {
  it('resolves on CONNACK 0 with sessionPresent false for a clean session, and moves new -> connecting -> connected', async () => {
    const b = await h.aedes();
    const c = h.client(b.url, { clientId: 'conn-1' });
    expect(c.state).toBe('new');
    expect(c.connected).toBe(false);
    const p = c.connect();
    expect(c.state).toBe('connecting');
    expect(c.connect()).toBe(p); // a second call joins the first
    await expect(p).resolves.toEqual({ sessionPresent: false, properties: {} });
    expect(c.state).toBe('connected');
    expect(c.connected).toBe(true);
    expect(c.clientId).toBe('conn-1');
    await b.waitFor('client', (e) => e.clientId === 'conn-1');
  });

  it('reports sessionPresent true when the broker kept the session (clean: false)', async () => {
    const b = await h.aedes();
    const first = await h.connected(b.url, { clientId: 'keeper', clean: false });
    await first.subscribe('keep/#', { qos: 1 });
    await first.end();
    const second = h.client(b.url, { clientId: 'keeper', clean: false });
    await expect(second.connect()).resolves.toEqual({ sessionPresent: true, properties: {} });
    const fresh = h.client(b.url, { clientId: 'keeper', clean: true });
    await second.end();
    await expect(fresh.connect()).resolves.toEqual({ sessionPresent: false, properties: {} });
  });

  it('the connect() helper returns a connected client; a default client id is mqttwire + 12 hex digits, only characters every broker must accept (MQTT-3.1.3-5)', async () => {
    const b = await h.aedes();
    const c = await connect(b.url, FAST);
    h.defer(() => c.destroy());
    expect(c).toBeInstanceOf(MqttClient);
    expect(c.connected).toBe(true);
    expect(c.clientId).toMatch(/^mqttwire[0-9a-f]{12}$/);
    await b.waitFor('client', (e) => e.clientId === c.clientId);
  });

  it('`await using` ends the client when the block exits: the broker sees DISCONNECT', async () => {
    const b = await h.aedes();
    let outside: MqttClient | undefined;
    {
      await using c = await connect(b.url, { ...FAST, clientId: 'disposable' });
      outside = c;
      expect(c.connected).toBe(true);
    }
    expect(outside.state).toBe('closed');
    await expect(outside.closed).resolves.toBeUndefined();
    const gone = await b.waitFor('clientDisconnect', (e) => e.clientId === 'disposable');
    expect(gone.sentDisconnect).toBe(true);
  });

  it('a bad password is refused: ConnectionRefusedError with returnCode 5 (aedes: authenticate false), closed rejects with it', async () => {
    const seen: Array<[string | undefined, string | undefined]> = [];
    const b = await h.aedes({
      authenticate: (_id, username, password) => {
        seen.push([username, password?.toString()]);
        return username === 'alice' && password?.toString() === 'right';
      },
    });
    const c = h.client(b.url, { clientId: 'bad-creds', username: 'alice', password: 'wrong' });
    const err = await rejection(c.connect());
    expect(err).toBeInstanceOf(ConnectionRefusedError);
    expect(err).toMatchObject({ code: 'CONNECTION_REFUSED', returnCode: 5, name: 'ConnectionRefusedError' });
    expect((err as Error).message).toMatch(/not authorized/);
    expect((err as Error).message).toMatch(/5/);
    await expect(c.closed).rejects.toBe(err);
    expect(c.state).toBe('closed');
    expect(seen).toEqual([['alice', 'wrong']]);
    // And the right password is accepted.
    const ok = h.client(b.url, { clientId: 'good-creds', username: 'alice', password: 'right' });
    await expect(ok.connect()).resolves.toEqual({ sessionPresent: false, properties: {} });
  });

  it('return code 4 (bad user name or password) is reported as such; credentials may come from the URL', async () => {
    const seen: Array<[string | undefined, string | undefined]> = [];
    const b = await h.aedes({
      authenticate: (_id, username, password) => {
        seen.push([username, password?.toString()]);
        return 4;
      },
    });
    const c = h.client(`mqtt://bob:p%40ss@127.0.0.1:${b.port}`, { clientId: 'rc4' });
    const err = await rejection(c.connect());
    expect(err).toBeInstanceOf(ConnectionRefusedError);
    expect(err).toMatchObject({ code: 'CONNECTION_REFUSED', returnCode: 4 });
    expect((err as Error).message).toMatch(/bad user name or password/);
    await expect(c.closed).rejects.toBe(err);
    expect(seen).toEqual([['bob', 'p@ss']]);
  });

  it('publishes made before connect() wait in the queue and go out after CONNACK; subscribe waits for the connection', async () => {
    const b = await h.aedes();
    const log = new PacketLog();
    const c = h.client(b.url, { clientId: 'early', logger: log.logger });
    const early = track(c.publish('early/a', 'queued', { qos: 1 }));
    const early0 = track(c.publish('early/b', 'queued0'));
    expect(c.stats().queued).toBe(2);
    const connecting = c.connect();
    const sub = c.subscribe('early/#', { qos: 1 }); // while connecting
    await connecting;
    await within(Promise.all([early.promise, early0.promise]), 2000, 'early publishes');
    const s = await within(sub, 2000, 'subscribe made while connecting');
    expect(s.granted).toEqual([1]);
    // On the wire: CONNECT first, then the queued publishes in the order they were made.
    expect(log.out().slice(0, 4).map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual([
      '> CONNECT clientId="early"',
      '> PUBLISH topic="early/a"',
      '> PUBLISH topic="early/b"',
      '> SUBSCRIBE id=2',
    ]);
    const received = b.events.flatMap((e) => (e.type === 'publish' && e.clientId === 'early' ? [e.topic] : []));
    expect(received.sort()).toEqual(['early/a', 'early/b']);
  });

  it('end() while connecting: connect() rejects with ClientClosedError, closed resolves', async () => {
    const fake = await h.fake();
    const c = h.client(fake.url);
    const p = c.connect();
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    await within(c.end(), 1000, 'end()');
    const err = await rejection(p);
    expect(err).toBeInstanceOf(ClientClosedError);
    await expect(c.closed).resolves.toBeUndefined();
    expect(c.state).toBe('closed');
    await conn.expectClosed(1000);
  });

  it('publishes made before connect() finished are rejected when the connection is refused', async () => {
    const b = await h.aedes({ authenticate: () => 5 });
    const c = h.client(b.url);
    const pub = track(c.publish('early/x', 'never', { qos: 1 }));
    const err = await rejection(c.connect());
    expect(err).toBeInstanceOf(ConnectionRefusedError);
    await tick();
    expect(pub.status).toBe('rejected');
    expect(pub.error).toBe(err);
    expect(b.events.filter((e) => e.type === 'publish')).toEqual([]);
  });
});

describe('connect() failures', () => {
  it('an unreachable port rejects quickly with TransportError CONNECTION_REFUSED_BY_HOST', async () => {
    const port = await getFreePort();
    const c = h.client(`mqtt://127.0.0.1:${port}`, { connectTimeout: 5000 });
    const t0 = Date.now();
    const err = await rejection(c.connect(), 2000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ code: 'CONNECTION_REFUSED_BY_HOST' });
    await expect(c.closed).rejects.toBe(err);
    expect(c.state).toBe('closed');
  });

  it('no CONNACK within connectTimeout (200 ms, real time) -> TimeoutError TIMEOUT, and the socket is closed', async () => {
    const fake = await h.fake();
    const c = h.client(fake.url, { connectTimeout: 200 });
    const t0 = Date.now();
    const p = c.connect();
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    const err = await rejection(p, 2000);
    const elapsed = Date.now() - t0;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    expect((err as Error).message).toMatch(/CONNACK/);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1000);
    await expect(c.closed).rejects.toBe(err);
    await conn.expectClosed(1000);
  });

  it('connectTimeout counts on the injected timers: not at 1999 ms, at 2000 ms; no timer is left', async () => {
    const timers = new ManualTimers();
    const fake = await h.fake();
    const c = h.client(fake.url, { connectTimeout: 2000, timers });
    const p = track(c.connect());
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    timers.advance(1999);
    await tick();
    expect(p.status).toBe('pending');
    timers.advance(1);
    const err = await rejection(p.promise);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(timers.count).toBe(0);
    await conn.expectClosed(1000);
  });

  it('a first packet other than CONNACK -> MqttProtocolError UNEXPECTED_PACKET (MQTT-3.2.0-1), connection closed', async () => {
    const fake = await h.fake(async (conn) => {
      await conn.expectPacket(PacketType.CONNECT);
      conn.write('d0 00'); // PINGRESP
    });
    const c = h.client(fake.url);
    const err = await rejection(c.connect());
    expect(err).toBeInstanceOf(MqttProtocolError);
    expect(err).toMatchObject({ code: 'UNEXPECTED_PACKET', statement: 'MQTT-3.2.0-1' });
    await expect(c.closed).rejects.toBe(err);
    await fake.connections[0]!.expectClosed(1000);
  });

  it('a PUBLISH before CONNACK is also a protocol error, and is not delivered', async () => {
    const fake = await h.fake(async (conn) => {
      await conn.expectPacket(PacketType.CONNECT);
      conn.write(hex('30 06 00 01 74 68 69 21 20 02 00 00')); // PUBLISH "t" "hi!" then CONNACK in one write
    });
    const c = h.client(fake.url);
    const unrouted = c.messages();
    const err = await rejection(c.connect());
    expect(err).toMatchObject({ code: 'UNEXPECTED_PACKET' });
    await expect(unrouted.next()).rejects.toBe(err);
    expect(c.stats().messagesIn).toBe(0);
  });

  it('aborting connect({ signal }) while waiting for CONNACK -> AbortError ABORTED (cause = reason), socket closed', async () => {
    const fake = await h.fake();
    const c = h.client(fake.url);
    const ac = new AbortController();
    const p = c.connect({ signal: ac.signal });
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    const reason = new Error('user gave up');
    ac.abort(reason);
    const err = await rejection(p);
    expect(err).toBeInstanceOf(AbortError);
    expect(err).toMatchObject({ code: 'ABORTED', cause: reason });
    await expect(c.closed).rejects.toBe(err);
    expect(c.state).toBe('closed');
    await conn.expectClosed(1000);
  });

  it('an already aborted signal rejects at once, opens no connection, and leaves no unhandled rejection', async () => {
    const watch = watchProcessErrors();
    h.defer(() => watch.stop());
    const fake = await h.fake();
    let opened = 0;
    const timers = new ManualTimers();
    const c = h.client(fake.url, { timers, transport: (url, handlers, options) => (opened++, openTcp(url, handlers, options)) });
    const err = await rejection(c.connect({ signal: AbortSignal.abort('nope') }), 500);
    expect(err).toBeInstanceOf(AbortError);
    expect(err).toMatchObject({ code: 'ABORTED' });
    await expect(c.closed).rejects.toBe(err);
    // No transport was asked for, and none can be later: the closed client has no timer left.
    expect(opened).toBe(0);
    expect(timers.count).toBe(0);
    expect(fake.connections).toEqual([]);
    await tick();
    expect(watch.errors).toEqual([]);
  });

  it('the `signal` client option: aborting destroys a connected client (no DISCONNECT, so the will is published)', async () => {
    const b = await h.aedes();
    const ac = new AbortController();
    const c = await h.connected(b.url, { clientId: 'sig', signal: ac.signal, will: { topic: 'wills/sig', payload: 'bye' } });
    ac.abort('stop');
    const err = await rejection(c.closed);
    expect(err).toBeInstanceOf(AbortError);
    expect(err).toMatchObject({ code: 'ABORTED', cause: 'stop' });
    const gone = await b.waitFor('clientDisconnect', (e) => e.clientId === 'sig');
    expect(gone.sentDisconnect).toBe(false);
    const will = await b.waitFor('publish', (e) => e.topic === 'wills/sig');
    expect(will.payload.toString()).toBe('bye');
  });

  it('connect() after end() rejects with ClientClosedError', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url);
    await within(c.end(), 2000, 'end');
    const err = await rejection(c.connect());
    expect(err).toBeInstanceOf(ClientClosedError);
    expect(err).toMatchObject({ code: 'CLIENT_CLOSED' });
  });
});
