/**
 * ws:// and wss:// failures on Node, through each WebSocket it can use: the `ws` package (every
 * Node) and Node's global WebSocket (Node 22+, undici's), each forced whatever this Node would pick.
 * The same failure gives the same code whichever carries the connection: TLS_ERROR for a
 * certificate that does not verify (which ends a reconnecting client), CONNECTION_REFUSED_BY_HOST
 * for a refused port, TRANSPORT_ERROR saying what the server answered when it refuses the upgrade.
 * Then the WebSocket this Node picks by itself: TLS options, default ports, and what happens
 * without the `ws` package, each case run on the Nodes where it applies.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { connect, InvalidArgumentError, MqttClient, type ClientOptions, type TransportError, type TransportFactory } from '../../src/index.js';
import { nodeWebSocketTransport } from '../../src/transport/node-ws.js';
import { startAedes, type AedesHandle } from '../helpers/aedes.js';
import { testPki, type TestPki } from '../helpers/tls-pki.js';
import { startWsBridge, type WsBridge } from '../helpers/ws-bridge.js';
import { take, within } from '../client/helpers.js';
import { StatusRecorder } from '../reconnect/helpers.js';

const FAST: ClientOptions = { connectTimeout: 5000, reconnect: false };
const RETRY_FAST: ClientOptions = { connectTimeout: 5000, reconnect: { initialDelay: 10, maxDelay: 20 } };
const hasGlobalWebSocket = typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function';
const noWsPackage = (): Promise<never> => Promise.reject(Object.assign(new Error("Cannot find package 'ws'"), { code: 'ERR_MODULE_NOT_FOUND' }));

interface Carrier {
  name: string;
  transport: () => TransportFactory;
  /** Why this carrier cannot run on this Node, or false. */
  skip: false | string;
  /** How it words a refused upgrade (the code is the same): an HTTP 404, and no subprotocol chosen. */
  says: { notFound: string; noSubprotocol: string };
}

const carriers: Carrier[] = [
  {
    name: 'the ws package',
    transport: () => nodeWebSocketTransport({ globalWebSocket: null }),
    skip: false,
    says: { notFound: 'Unexpected server response: 404', noSubprotocol: 'Server sent no subprotocol' },
  },
  {
    name: "Node's global WebSocket",
    transport: () => nodeWebSocketTransport({ loadWs: noWsPackage }),
    skip: hasGlobalWebSocket ? false : 'Node 20 has no global WebSocket',
    says: {
      notFound: 'the server answered the upgrade with HTTP 404 Not Found, not 101 Switching Protocols',
      noSubprotocol: 'the server accepted the upgrade but chose no subprotocol (mqtt is required)',
    },
  },
];

/** connect() that must fail: its error, and the client closed. */
async function connectError(url: string, options: ClientOptions): Promise<TransportError> {
  const c = new MqttClient(url, { ...FAST, ...options });
  const err = await c.connect().then(
    () => c.end().then(() => new Error('connected, but should not have')),
    (e: unknown) => e,
  );
  expect(c.state).toBe('closed');
  return err as TransportError;
}

/** A port nothing listens on (it did a moment ago). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** An HTTP server on 127.0.0.1 that records its TCP connections and when each closed. */
async function httpServer(server: http.Server): Promise<{ port: number; connections: { socket: Socket; closed: Promise<void> }[]; close(): Promise<void> }> {
  const connections: { socket: Socket; closed: Promise<void> }[] = [];
  server.on('connection', (socket: Socket) => connections.push({ socket, closed: new Promise((r) => socket.once('close', () => r())) }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    connections,
    close: () =>
      new Promise<void>((r) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => r());
      }),
  };
}

let pki: TestPki;
let aedes: AedesHandle;
let plain: WsBridge;
let secure: WsBridge; // a certificate of the test CA, which the runtime does not trust
const clients: MqttClient[] = [];
/** A client to end after the test. */
const client = (url: string, options: ClientOptions = {}): MqttClient => {
  const c = new MqttClient(url, { ...FAST, ...options });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  [pki, aedes] = await Promise.all([testPki(), startAedes()]);
  [plain, secure] = await Promise.all([startWsBridge({ brokerPort: aedes.port, seed: 3 }), startWsBridge({ brokerPort: aedes.port, tls: pki.server, seed: 4 })]);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end({ timeout: 500 })));
});
afterAll(async () => {
  await Promise.all([plain?.close(), secure?.close()]);
  await aedes?.close();
});

for (const carrier of carriers) {
  const which = carrier.skip ? `${carrier.name} (skipped: ${carrier.skip})` : carrier.name;
  describe.skipIf(carrier.skip)(`ws:// and wss:// through ${which}`, () => {
    const open = (url: string, options: ClientOptions = {}): MqttClient => client(url, { transport: carrier.transport(), ...options });

    it('ws://: QoS 1 round trip, subprotocol mqtt offered [MQTT-6.0.0-3]', async () => {
      const c = open(plain.url('/mqtt'));
      await c.connect();
      expect(plain.requests.at(-1)).toMatchObject({ path: '/mqtt', protocols: 'mqtt' });
      const sub = await c.subscribe('carrier/rt', { qos: 1 });
      await c.publish('carrier/rt', carrier.name, { qos: 1 });
      expect((await take(sub, 1))[0]?.text()).toBe(carrier.name);
    });

    it('an untrusted certificate: TLS_ERROR, with the reason and the OpenSSL code', async () => {
      const err = await connectError(secure.url('/mqtt'), { transport: carrier.transport() });
      expect(err).toMatchObject({
        name: 'TransportError',
        code: 'TLS_ERROR',
        message: expect.stringMatching(/^TLS: certificate verification failed for 127\.0\.0\.1:\d+: unable to verify the first certificate/),
        cause: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
      });
    });

    it('a refused port: CONNECTION_REFUSED_BY_HOST, over ws:// and wss://', async () => {
      const port = await closedPort();
      for (const scheme of ['ws', 'wss']) {
        const err = await connectError(`${scheme}://127.0.0.1:${port}/mqtt`, { transport: carrier.transport() });
        expect(err).toMatchObject({
          code: 'CONNECTION_REFUSED_BY_HOST',
          message: `WebSocket ${scheme}://127.0.0.1:${port}/mqtt: connect failed: connect ECONNREFUSED 127.0.0.1:${port}`,
        });
      }
    });

    it('a server that does not select subprotocol mqtt: TRANSPORT_ERROR saying so [MQTT-6.0.0-4], and the connection is closed, not left open', async () => {
      const http1 = http.createServer();
      const wss = new WebSocketServer({ server: http1, handleProtocols: () => false });
      const server = await httpServer(http1);
      try {
        const err = await connectError(`ws://127.0.0.1:${server.port}/`, { transport: carrier.transport() });
        expect(err).toMatchObject({ code: 'TRANSPORT_ERROR', message: `WebSocket ws://127.0.0.1:${server.port}/: connect failed: ${carrier.says.noSubprotocol}` });
        expect(server.connections).toHaveLength(1);
        // Node 24 and 26 leave this connection open when they refuse the handshake; we close it.
        await within(server.connections[0]!.closed, 2000, "the refused upgrade's connection closing");
      } finally {
        wss.close();
        await server.close();
      }
    });

    it('[v5] a level-5 client: a server choosing no subprotocol is refused [MQTT-6.0.0-4]; a text frame from one that chose mqtt closes the connection [MQTT-6.0.0-1]', async () => {
      const http1 = http.createServer();
      const refusing = new WebSocketServer({ server: http1, handleProtocols: () => false });
      const server = await httpServer(http1);
      const http2 = http.createServer();
      const texting = new WebSocketServer({ server: http2, handleProtocols: (offered: Set<string>) => (offered.has('mqtt') ? 'mqtt' : false) });
      texting.on('connection', (ws) => ws.on('message', () => ws.send('not binary')));
      const textServer = await httpServer(http2);
      try {
        const refused = await connectError(`ws://127.0.0.1:${server.port}/`, { transport: carrier.transport(), protocolVersion: 5 });
        expect(refused).toMatchObject({ code: 'TRANSPORT_ERROR', message: `WebSocket ws://127.0.0.1:${server.port}/: connect failed: ${carrier.says.noSubprotocol}` });
        // The server got our CONNECT (a binary frame) and answered in text.
        const closed = await connectError(`ws://127.0.0.1:${textServer.port}/`, { transport: carrier.transport(), protocolVersion: 5 });
        expect([closed.code, closed.message]).toEqual(['CONNECTION_CLOSED', expect.stringMatching(/non-binary.*MQTT-6\.0\.0-1/)]);
        await within(textServer.connections[0]!.closed, 2000, 'the connection closing after the text frame');
      } finally {
        refusing.close();
        texting.close();
        await Promise.all([server.close(), textServer.close()]);
      }
    });

    it('an HTTP error instead of the upgrade: TRANSPORT_ERROR with the status', async () => {
      const server = await httpServer(
        http.createServer((_req, res) => {
          res.writeHead(404);
          res.end('no MQTT here');
        }),
      );
      try {
        const err = await connectError(`ws://127.0.0.1:${server.port}/nothing`, { transport: carrier.transport() });
        expect(err).toMatchObject({ code: 'TRANSPORT_ERROR', message: `WebSocket ws://127.0.0.1:${server.port}/nothing: connect failed: ${carrier.says.notFound}` });
      } finally {
        await server.close();
      }
    });

    it('reconnecting: a server whose certificate does not verify ends the client with TLS_ERROR after one attempt; a refused port is retried', async () => {
      // Connected over ws://, the connection drops, and the next server in the list is tried.
      const stopping = open(plain.url('/mqtt'), { ...RETRY_FAST, servers: [secure.url('/mqtt')] });
      const stoppingStatus = new StatusRecorder(stopping);
      await stopping.connect();
      plain.dropAll();
      await expect(within(stopping.closed, 5000, 'the client closing')).rejects.toMatchObject({ code: 'TLS_ERROR' });
      await stoppingStatus.ended;
      expect(stoppingStatus.types().filter((t) => t === 'reconnecting')).toHaveLength(1);
      expect(stoppingStatus.events.filter((e) => e.type === 'error')).toMatchObject([{ error: { code: 'TLS_ERROR' } }]);

      // Positive control, same steps: a refused port is retried (the list comes round again).
      const port = await closedPort();
      const retrying = open(plain.url('/mqtt'), { ...RETRY_FAST, servers: [`ws://127.0.0.1:${port}/mqtt`] });
      const retryingStatus = new StatusRecorder(retrying);
      await retrying.connect();
      plain.dropAll();
      await retryingStatus.next('reconnecting');
      expect(await retryingStatus.next('error')).toMatchObject({ error: { code: 'CONNECTION_REFUSED_BY_HOST' } });
      expect(await retryingStatus.next('reconnecting')).toMatchObject({ attempt: 2 });
      expect(retrying.state).not.toBe('closed');
    });
  });
}

describe('the WebSocket this Node picks by itself (no transport option)', () => {
  it('wss:// with the test CA (TLS options: the ws package on every Node): QoS 1 round trip, path and subprotocol', async () => {
    const c = client(secure.url('/mqtt'), { ca: pki.ca });
    await c.connect();
    expect(secure.requests.at(-1)).toMatchObject({ path: '/mqtt', protocols: 'mqtt' });
    const sub = await c.subscribe('wss/rt', { qos: 1 });
    await c.publish('wss/rt', 'secure', { qos: 1 });
    expect((await take(sub, 1))[0]?.text()).toBe('secure');
  });

  it('wss:// without the CA fails with TLS_ERROR; a wrong servername too; rejectUnauthorized: false connects', async () => {
    const [none, wrongName] = await Promise.all([connectError(secure.url('/mqtt'), {}), connectError(secure.url('/mqtt'), { ca: pki.ca, servername: 'wrong.example' })]);
    expect(none).toMatchObject({ code: 'TLS_ERROR', message: expect.stringMatching(/^TLS: certificate verification failed for 127\.0\.0\.1:\d+: /) });
    expect(wrongName).toMatchObject({ code: 'TLS_ERROR', message: expect.stringMatching(/does not match certificate's altnames: Host: wrong\.example/) });
    const insecure = await connect(secure.url('/mqtt'), { ...FAST, rejectUnauthorized: false });
    await insecure.end();
  });

  it('nothing listening: CONNECTION_REFUSED_BY_HOST; no port in the URL means 80 (ws) and 443 (wss)', async () => {
    const port = await closedPort();
    const [refused, port80, port443] = await Promise.all([connectError(`ws://127.0.0.1:${port}/mqtt`, {}), connectError('ws://127.0.0.1/mqtt', {}), connectError('wss://127.0.0.1/mqtt', {})]);
    expect(refused).toMatchObject({ code: 'CONNECTION_REFUSED_BY_HOST', message: expect.stringContaining(`ws://127.0.0.1:${port}/mqtt: connect failed`) });
    // Assumes nothing listens on 127.0.0.1:80 and :443 here (nothing should, in a test box).
    expect(port80).toMatchObject({ message: expect.stringContaining('127.0.0.1:80') });
    expect(port443).toMatchObject({ message: expect.stringContaining('127.0.0.1:443') });
  });

  it.skipIf(!hasGlobalWebSocket)('Node 22+ (skipped on Node 20: no global WebSocket): without the ws package, every TLS option the global WebSocket cannot take is an InvalidArgumentError saying npm install ws', async () => {
    const transport = nodeWebSocketTransport({ loadWs: noWsPackage });
    const asking: ClientOptions[] = [{ ca: pki.ca }, { cert: pki.client.cert, key: pki.client.key }, { servername: 'localhost' }, { rejectUnauthorized: false }, { alpnProtocols: ['mqtt'] }];
    for (const options of asking) {
      const err = await connectError(secure.url('/mqtt'), { transport, ...options });
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toBe('wss:// with TLS options needs the "ws" package on this Node (no suitable global WebSocket): npm install ws');
    }
    // Positive control: the same URL without them goes through the global WebSocket, and fails only as untrusted.
    expect(await connectError(secure.url('/mqtt'), { transport })).toMatchObject({ code: 'TLS_ERROR' });
  });

  // Node 22.19+ and 24.5+ (newer than the @types/node this package builds against, hence the cast).
  const trustStore = tls as unknown as { setDefaultCACertificates?: (certs: string[]) => void; getCACertificates?: (which: 'default') => string[] };
  const canSetDefaultCa = hasGlobalWebSocket && typeof trustStore.setDefaultCACertificates === 'function' && typeof trustStore.getCACertificates === 'function';
  it.skipIf(!canSetDefaultCa)(
    'Node 22+ (skipped where there is no global WebSocket or no tls.setDefaultCACertificates): without TLS options, wss:// goes through the global WebSocket and connects once the runtime trusts the CA, as NODE_EXTRA_CA_CERTS makes it',
    async () => {
      const { setDefaultCACertificates: setDefault, getCACertificates } = trustStore as Required<typeof trustStore>;
      const before = getCACertificates('default');
      setDefault([...before, pki.ca]);
      try {
        const c = client(secure.url('/mqtt'), { transport: nodeWebSocketTransport({ loadWs: noWsPackage }) });
        await c.connect();
        const sub = await c.subscribe('carrier/trusted', { qos: 1 });
        await c.publish('carrier/trusted', 'over the global wss://', { qos: 1 });
        expect((await take(sub, 1))[0]?.text()).toBe('over the global wss://');
      } finally {
        setDefault(before);
      }
    },
  );

  it.skipIf(hasGlobalWebSocket)('Node 20 (skipped on Node 22+, which has a global WebSocket): without the ws package, ws:// is an InvalidArgumentError saying npm install ws', async () => {
    const err = await connectError('ws://127.0.0.1:1/mqtt', { transport: nodeWebSocketTransport({ loadWs: noWsPackage }) });
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toBe('ws:// needs the "ws" package on this Node (no suitable global WebSocket): npm install ws');
  });
  // Its twin on Node 22+: "ws://: QoS 1 round trip" through Node's global WebSocket above, without the ws package.
});
