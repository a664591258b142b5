/**
 * MQTT 5 DISCONNECT both ways (issue 14, item 5): a server DISCONNECT reaches status() and everything
 * pending as ServerDisconnectError; 0x8E stops reconnecting; 0x9C/0x9D are followed with
 * followRedirects; busy codes back off; end() sends the reason code and properties it is given.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketDecoder } from '../../src/codec/index.js';
import { InvalidArgumentError, ServerDisconnectError, type StatusEvent } from '../../src/index.js';
import { FAST, rejection, take, until, useHarness, within } from '../client/helpers.js';
import { client5, connectToFake5, next5, send5 } from '../helpers/fake-broker-v5.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';

const h = useHarness();

describe('MQTT 5 DISCONNECT from the server [v5]', () => {
  it('reaches status() and the pending calls as ServerDisconnectError; a busy code backs off and reconnects', async () => {
    const { c, conn, fake, timers } = await connectToFake5(h, { reconnect: { initialDelay: 100, maxDelay: 100 } });
    const events = c.status();
    const sub = c.subscribe('pending/#');
    await next5(conn, 'subscribe');
    send5(conn, { type: 'disconnect', reasonCode: 0x89, properties: { reasonString: 'too busy' } });
    const err = await rejection(sub);
    expect(err).toBeInstanceOf(ServerDisconnectError);
    expect(err).toMatchObject({ code: 'SERVER_DISCONNECT', reasonCode: 0x89, reasonString: 'too busy', serverReference: undefined });
    expect((err as Error).message).toBe('the broker disconnected: Server busy (DISCONNECT reason code 0x89): "too busy"');
    const seen: StatusEvent[] = [];
    while (seen.length < 3) seen.push((await events.next()).value as StatusEvent);
    expect(seen.map((e) => e.type)).toEqual(['disconnected', 'offline', 'reconnecting']);
    expect((seen[0] as { reason: unknown }).reason).toBe(err);
    timers.advance(100);
    expect((await next5(await fake.nextConnection(), 'connect')).protocolLevel).toBe(5);
  });

  // Every class of server DISCONNECT but 0x8E (and a followed redirect) is a loss like any other: back off and reconnect.
  for (const [code, name] of [[0x00, 'Normal disconnection'], [0x80, 'Unspecified error'], [0x81, 'Malformed Packet'], [0x82, 'Protocol Error'], [0x87, 'Not authorized'], [0x8b, 'Server shutting down'], [0x8d, 'Keep Alive timeout'], [0x93, 'Receive Maximum exceeded'], [0x97, 'Quota exceeded'], [0x9c, 'Use another server'], [0x9f, 'Connection rate exceeded']] as const) {
    it(`DISCONNECT 0x${code.toString(16).padStart(2, '0')} ${name}: ServerDisconnectError in the status event, then a reconnect`, async () => {
      const { c, fake, conn, timers } = await connectToFake5(h, { reconnect: { initialDelay: 100, maxDelay: 100 } });
      const events = c.status();
      send5(conn, { type: 'disconnect', reasonCode: code });
      const first = (await events.next()).value as StatusEvent & { reason?: unknown };
      expect(first.type).toBe('disconnected');
      expect(first.reason).toMatchObject({ code: 'SERVER_DISCONNECT', reasonCode: code });
      expect((first.reason as Error).message).toContain(`${name} (DISCONNECT reason code 0x${code.toString(16).padStart(2, '0')})`);
      await until(() => c.state === 'reconnecting', 2000, 'reconnecting');
      timers.advance(100);
      await next5(await fake.nextConnection(), 'connect');
    });
  }

  // A fake broker, not Mosquitto: Mosquitto 2.0.11 closes a taken-over v5 connection without a DISCONNECT
  // (its log says only "Client ... already connected, closing old connection"), so the 0x8E never comes.
  it('0x8E Session taken over ends the client: no reconnect (it would fight the other client)', async () => {
    const { c, conn } = await connectToFake5(h, { reconnect: { initialDelay: 100, maxDelay: 100 } });
    send5(conn, { type: 'disconnect', reasonCode: 0x8e });
    const err = await rejection(c.closed);
    expect(err).toMatchObject({ code: 'SERVER_DISCONNECT', reasonCode: 0x8e });
    expect(c.state).toBe('closed');
  });

  it('0x9C Use another server with followRedirects: the next attempt goes to the Server Reference; without it, to our own server', async () => {
    const other = await h.fake();
    const port = new URL(other.url).port;
    const { conn, timers } = await connectToFake5(h, { followRedirects: true, reconnect: { initialDelay: 100, maxDelay: 100 } });
    send5(conn, { type: 'disconnect', reasonCode: 0x9c, properties: { serverReference: `127.0.0.1:${port}` } });
    await until(() => timers.count > 0, 2000, 'the reconnect timer');
    timers.advance(100);
    expect((await next5(await other.nextConnection(), 'connect')).protocolLevel).toBe(5);

    // The control: without followRedirects the same DISCONNECT sends us back to our own server.
    const plain = await connectToFake5(h, { reconnect: { initialDelay: 100, maxDelay: 100 } });
    send5(plain.conn, { type: 'disconnect', reasonCode: 0x9c, properties: { serverReference: `127.0.0.1:${port}` } });
    await until(() => plain.timers.count > 0, 2000, 'the reconnect timer');
    plain.timers.advance(100);
    expect((await next5(await plain.fake.nextConnection(), 'connect')).protocolLevel).toBe(5);
    expect(other.connections).toHaveLength(1);
  });

  it('a CONNACK 0x9D Server moved with followRedirects is followed too', async () => {
    const other = await h.fake();
    const fake = await h.fake();
    const { ManualTimers } = await import('../helpers/manual-timers.js');
    const timers = new ManualTimers();
    const c = client5(h, fake.url, { timers, keepalive: 0, followRedirects: true, reconnect: { initialDelay: 100, maxDelay: 100, retryFirstConnect: true } });
    void c.connect().catch(() => {});
    const conn = await fake.nextConnection();
    await next5(conn, 'connect');
    send5(conn, { type: 'connack', sessionPresent: false, returnCode: 0x9d, properties: { serverReference: other.url } });
    await until(() => c.state === 'reconnecting', 2000, 'reconnecting');
    timers.advance(100);
    await next5(await other.nextConnection(), 'connect');
  });
});

describe('MQTT 5 end() options [v5]', () => {
  it('end({ reasonCode, sessionExpiryInterval, reasonString, userProperties }) sends them in DISCONNECT', async () => {
    const { c, conn } = await connectToFake5(h, { clean: false });
    const ending = c.end({ reasonCode: 0x04, sessionExpiryInterval: 60, reasonString: 'bye', userProperties: [['k', 'v']] });
    expect(await next5(conn, 'disconnect')).toEqual({
      type: 'disconnect',
      reasonCode: 0x04,
      properties: { sessionExpiryInterval: 60, reasonString: 'bye', userProperties: [['k', 'v']] },
    });
    await within(ending, 3000, 'end');
  });

  it('a Reason String or User Properties that would take DISCONNECT over the server\'s Maximum Packet Size are left out, as little as need be [MQTT-3.14.2-3] [MQTT-3.14.2-4]', async () => {
    // 30 bytes: the fixed header (2), reason code (1), property length (1), Session Expiry Interval (5)
    // make 9; a Reason String of n characters adds 3 + n, a User Property [k, v] 5 + k + v.
    const cases: { reasonString: string; userProperties: [string, string][]; sent: object }[] = [
      // Both fit (9 + 6 + 7 = 22): the control, everything goes.
      { reasonString: 'bye', userProperties: [['k', 'v']], sent: { reasonString: 'bye', userProperties: [['k', 'v']] } },
      // The Reason String does not (9 + 23 + 7): it alone is left out.
      { reasonString: 'x'.repeat(20), userProperties: [['k', 'v']], sent: { userProperties: [['k', 'v']] } },
      // The User Properties do not (9 + 6 + 25): they alone are left out.
      { reasonString: 'bye', userProperties: [['k', 'v'.repeat(18)]], sent: { reasonString: 'bye' } },
      // Together they do not, each alone would (9 + 13 + 15): the Reason String goes first.
      { reasonString: 'x'.repeat(10), userProperties: [['k', 'v'.repeat(8)]], sent: { userProperties: [['k', 'v'.repeat(8)]] } },
    ];
    for (const each of cases) {
      const { c, conn } = await connectToFake5(h, { clean: false }, { maximumPacketSize: 30 });
      const ending = c.end({ reasonCode: 0x04, sessionExpiryInterval: 60, reasonString: each.reasonString, userProperties: each.userProperties });
      expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x04, properties: { sessionExpiryInterval: 60, ...each.sent } });
      await within(ending, 3000, 'end');
    }
  });

  it('after its DISCONNECT the client sends nothing more and closes the connection itself [MQTT-3.14.4-1] [MQTT-3.14.4-2]', async () => {
    const { c, conn, timers } = await connectToFake5(h, { keepalive: 10 });
    await within(c.publish('t', 'm'), 2000, 'publish');
    await next5(conn, 'publish');
    const ending = c.end({ reasonCode: 0x04 });
    expect((await next5(conn, 'disconnect')).reasonCode).toBe(0x04);
    // The broker does not close: the client must.
    await conn.expectClosed(2000);
    await within(ending, 3000, 'end');
    // A keepalive interval later still nothing: every byte the client ever sent ends with the DISCONNECT.
    timers.advance(10_000);
    const all = new PacketDecoder({ protocolLevel: 5 }).push(conn.received());
    expect(all.map((p) => p.type)).toEqual(['connect', 'publish', 'disconnect']);
  });

  it('bad end() options are refused before anything is sent', async () => {
    const { c } = await connectToFake5(h);
    expect(await rejection(c.end({ reasonCode: 0x8e }))).toBeInstanceOf(InvalidArgumentError); // a server's code
    expect(await rejection(c.end({ reasonCode: 0x05 }))).toBeInstanceOf(InvalidArgumentError);
    // CONNECT said 0 (clean: true): it cannot be raised at DISCONNECT.
    expect((await rejection(c.end({ sessionExpiryInterval: 10 })) as Error).message).toMatch(/cannot be raised from 0 at DISCONNECT \(MQTT 5\.0 section 3\.14\.2\.2\.2\)/);
    expect(c.state).toBe('connected');
    const plain = h.client('mqtt://127.0.0.1:1', { reconnect: false });
    expect((await rejection(plain.end({ reasonCode: 0 })) as Error).message).toMatch(/at MQTT 5 only: set protocolVersion: 5$/);
  });
});

describeMosquitto('MQTT 5 DISCONNECT with mosquitto [v5]', () => {
  let m: MosquittoHandle;
  beforeAll(async () => {
    m = await startMosquitto();
  });
  afterAll(() => m?.stop());

  it('end({ reasonCode: 0x04 }) has the will published; end() does not (MQTT-3.14.4-3)', async () => {
    const watcher = client5(h, m.url, FAST);
    await watcher.connect();
    const wills = await watcher.subscribe('will/#', { qos: 1 });
    const polite = client5(h, m.url, { ...FAST, clientId: 'v5-polite', will: { topic: 'will/polite', payload: 'polite gone', qos: 1 } });
    await polite.connect();
    await polite.end();
    await m.waitForLog('Received DISCONNECT from v5-polite', 2000);
    const leaving = client5(h, m.url, { ...FAST, clientId: 'v5-will', will: { topic: 'will/leaving', payload: 'leaving gone', qos: 1 } });
    await leaving.connect();
    await leaving.end({ reasonCode: 0x04 });
    // The first will to arrive is the one asked for: the polite client's, had there been one, would be first.
    const [will] = await take(wills, 1, 3000);
    expect(will!.topic).toBe('will/leaving');
    expect(will!.text()).toBe('leaving gone');
    await watcher.end();
  });
});
