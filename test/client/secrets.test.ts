/**
 * No status event, error, log line or inspection of a client shows a password or a URL's user
 * info (issue 11, item 2). Each scenario connects with credentials in the URL, succeeding or
 * failing in one of the ways a new user meets (refused credentials, wrong port, TLS, ws://,
 * a bad URL), and everything the application could print is searched for the secret.
 */
import net from 'node:net';
import tls from 'node:tls';
import util from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, MqttClient, type ClientOptions, type StatusEvent } from '../../src/index.js';
import { startWsBridge, type WsBridge } from '../helpers/ws-bridge.js';
import { testPki, type TestPki } from '../helpers/tls-pki.js';
import { describeMosquitto } from '../helpers/mosquitto.js';
import { startAedes, type AedesHandle } from '../helpers/aedes.js';
import { FAST, PacketLog, take, until, useHarness } from './helpers.js';

const h = useHarness();
const USER = 'alice';
const SECRET = 's3cr3t-pw';
const CREDENTIALS = `${USER}:${SECRET}@`;

/** Everything an application could print about one client's run. */
interface Observed {
  client: MqttClient;
  events: StatusEvent[];
  log: PacketLog;
  /** What connect() rejected with, if it did. */
  error?: unknown;
}

/** Starts a client on `url` (credentials in it) and records its status events and log lines. */
async function run(url: string, options: ClientOptions = {}): Promise<Observed> {
  const log = new PacketLog();
  const watching: { done?: Promise<void> } = {};
  // Registered first, so it runs after the client is destroyed (cleanups run newest first): the stream ends then.
  h.defer(() => watching.done);
  const client = h.client(url, { logger: log.logger, ...options });
  const events: StatusEvent[] = [];
  watching.done = (async () => {
    for await (const e of client.status()) events.push(e);
  })();
  const observed: Observed = { client, events, log };
  await client.connect().catch((err: unknown) => (observed.error = err));
  return observed;
}

/** The text a careless application would print: inspect() at full depth (errors with stack and cause). */
function printed(o: Observed): string {
  const deep = { depth: 10, showHidden: false };
  return [
    util.inspect(o.client, deep),
    String(o.client.url),
    JSON.stringify(o.client.url),
    util.inspect(o.events, deep),
    util.inspect(o.error, deep),
    ...o.log.lines,
  ].join('\n');
}

function expectNoSecret(o: Observed): void {
  const text = printed(o);
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(`${USER}:`);
  expect(text).not.toContain(`${USER}@`);
  expect(o.client.url.username).toBe('');
  expect(o.client.url.password).toBe('');
}

describe('credentials in the URL reach CONNECT and nothing else', () => {
  it('the positive control: the search finds a secret that is printed', () => {
    const leaky = { client: new MqttClient('mqtt://127.0.0.1:1'), events: [], log: new PacketLog() } as Observed;
    leaky.log.lines.push(`connecting to mqtt://${CREDENTIALS}127.0.0.1:1`);
    expect(() => expectNoSecret(leaky)).toThrow(SECRET);
    leaky.client.destroy();
  });

  it('a successful connection: the broker gets the credentials; url, events, inspect and log lines do not show them', async () => {
    const seen: { username?: string; password?: string }[] = [];
    const b = await h.aedes({
      authenticate: (_id, username, password) => {
        seen.push({ username, password: password?.toString() });
        return true;
      },
    });
    const o = await run(b.url.replace('mqtt://', `mqtt://${CREDENTIALS}`));
    expect(o.error).toBeUndefined();
    expect(seen).toEqual([{ username: USER, password: SECRET }]);
    const sub = await o.client.subscribe('s/t', { qos: 1 });
    await o.client.publish('s/t', 'x', { qos: 1 });
    await take(sub, 1);
    expect(o.client.url.href).toBe(b.url);
    expect(o.events[0]).toEqual({ type: 'connected', sessionPresent: false, url: b.url });
    // The log shows that a password was sent, not which.
    expect(o.log.out('CONNECT')[0]).toMatch(/ username="alice" password=\*\*\*$/);
    expect(util.inspect(o.client)).toMatch(/^MqttClient \{\s+url: 'mqtt:\/\/127\.0\.0\.1:\d+',\s+clientId: 'mqttwire[0-9a-f]{12}',\s+state: 'connected'\s+\}$/);
    expectNoSecret(o);
  });

  it('refused credentials (aedes, CONNACK 4)', async () => {
    const b = await h.aedes({ authenticate: () => 4 });
    const o = await run(b.url.replace('mqtt://', `mqtt://${CREDENTIALS}`));
    expect(o.error).toMatchObject({ code: 'CONNECTION_REFUSED', returnCode: 4 });
    expect(o.events.map((e) => e.type)).toEqual(['closed']);
    expectNoSecret(o);
  });

  it('a port nobody listens on', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((r) => server.close(r));
    const o = await run(`mqtt://${CREDENTIALS}127.0.0.1:${port}`);
    expect(o.error).toMatchObject({ code: 'CONNECTION_REFUSED_BY_HOST' });
    expectNoSecret(o);
  });

  it('reconnecting: disconnected, offline and reconnecting events after the broker goes away', async () => {
    const b = await h.aedes();
    const o = await run(b.url.replace('mqtt://', `mqtt://${CREDENTIALS}`), { reconnect: { initialDelay: 10, maxDelay: 20 } });
    expect(o.error).toBeUndefined();
    await b.close();
    await until(() => o.events.some((e) => e.type === 'reconnecting'), 2000, 'a reconnecting event');
    expect(o.events.find((e) => e.type === 'reconnecting')).toMatchObject({ url: b.url });
    o.client.destroy();
    expectNoSecret(o);
  });

  describe('TLS and WebSocket', () => {
    let pki: TestPki;
    beforeAll(async () => {
      pki = await testPki();
    });

    it('mqtts:// to a broker whose certificate does not verify', async () => {
      const server = tls.createServer({ cert: pki.otherServer.cert, key: pki.otherServer.key }, (s) => s.on('error', () => {}));
      server.on('tlsClientError', () => {});
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      h.defer(() => new Promise((r) => server.close(r)));
      const o = await run(`mqtts://${CREDENTIALS}127.0.0.1:${(server.address() as net.AddressInfo).port}`, { ca: pki.ca });
      expect(o.error).toMatchObject({ code: 'TLS_ERROR' });
      expectNoSecret(o);
    });

    describe('ws://', () => {
      let b: { aedes: AedesHandle; bridge: WsBridge; seen: string[] };
      beforeAll(async () => {
        const seen: string[] = [];
        const aedes = await startAedes({ authenticate: (_id, username, password) => (seen.push(`${username}/${password?.toString()}`), true) });
        b = { aedes, bridge: await startWsBridge({ brokerPort: aedes.port }), seen };
      });
      afterAll(async () => {
        await b?.bridge.close();
        await b?.aedes.close();
      });

      it('the credentials go in CONNECT, not in the HTTP upgrade, and nowhere the application looks', async () => {
        const url = b.bridge.url('/mqtt').replace('ws://', `ws://${CREDENTIALS}`);
        const o = await run(url);
        expect(o.error).toBeUndefined();
        expect(b.seen).toEqual([`${USER}/${SECRET}`]);
        expect(b.bridge.requests.at(-1)).toMatchObject({ path: '/mqtt', authorization: undefined });
        expect(o.client.url.href).toBe(b.bridge.url('/mqtt'));
        expectNoSecret(o);
      });

      it('a path the server does not serve fails without showing them', async () => {
        const sockets = new Set<net.Socket>();
        const server = net.createServer((s) => {
          sockets.add(s);
          s.on('error', () => {});
          s.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
        });
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        h.defer(() => new Promise((r) => (server.close(r), sockets.forEach((s) => s.destroy()))));
        const o = await run(`ws://${CREDENTIALS}127.0.0.1:${(server.address() as net.AddressInfo).port}/nope`);
        expect(o.error).toMatchObject({ name: 'TransportError' });
        expectNoSecret(o);
      });
    });
  });

  it('bad URLs and servers: the constructor error never repeats the user info', () => {
    const urls = [
      `mqtt://${CREDENTIALS}broker:99999`,
      `mqtt://${CREDENTIALS}broker:port`,
      `mqtt://${USER}:${SECRET}/x@broker`, // a '/' in the password: the parser sees a port and a path
      `mqtt://${USER}:12/${SECRET}@broker`,
      `mqtt://${CREDENTIALS}broker/path`,
      `gopher://${CREDENTIALS}broker`,
      `mqtt://${CREDENTIALS}`,
      `${CREDENTIALS}broker:0`,
    ];
    for (const url of urls) {
      const err = constructorError(url);
      expect(err, url).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message, url).toMatch(/^invalid broker URL "[a-z]+:\/\/\*\*\*@/);
      expect(util.inspect(err), url).not.toContain(SECRET);
      expect(util.inspect(err), url).not.toContain(`${USER}:`);
    }
    // A password of the wrong type is a secret all the same: the error says its type, never its value.
    for (const password of [987654, true, 98765.4321, { pin: 987654 }, [9, 8, 7], null]) {
      const wrong = constructorError('mqtt://127.0.0.1:1', { username: USER, password: password as never });
      expect(wrong, String(password)).toBeInstanceOf(InvalidArgumentError);
      expect((wrong as Error).message).toMatch(/^password must be a string or a Uint8Array, got (a value of type \w+|an array|null) \(not shown\)$/);
      expect(util.inspect(wrong)).not.toMatch(/98765|987654|pin/);
    }
    const err = constructorError('mqtt://127.0.0.1:1', { servers: [`mqtt://${CREDENTIALS}standby:1883`] });
    expect((err as Error).message).toBe('servers[0] "mqtt://***@standby:1883" carries a user name or password: give credentials as the username and password options');
  });
});

describeMosquitto('against Mosquitto with a password file', () => {
  it('a wrong password (CONNACK 5) and the right one', async () => {
    const m = await h.mosquitto({ passwordFile: { [USER]: 'the-right-one' } });
    const wrong = await run(m.url.replace('mqtt://', `mqtt://${CREDENTIALS}`));
    expect(wrong.error).toMatchObject({ code: 'CONNECTION_REFUSED', returnCode: 5 });
    expectNoSecret(wrong);
    const right = await run(m.url.replace('mqtt://', `mqtt://${USER}:the-right-one@`));
    expect(right.error).toBeUndefined();
    expect(printed(right)).not.toContain('the-right-one');
  });
});

function constructorError(url: string, options: ClientOptions = {}): unknown {
  try {
    new MqttClient(url, { ...FAST, ...options }).destroy();
  } catch (err) {
    return err;
  }
  throw new Error(`new MqttClient accepted ${url}`);
}
