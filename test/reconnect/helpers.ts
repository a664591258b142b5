/**
 * Plumbing for the reconnect suites:
 *  - `startAedesAt()`: an in-process aedes that can be stopped and started again on the same port
 *    (test/helpers/aedes.ts always listens on an ephemeral port, so it cannot come back where it was);
 *  - `startProxy()`: a TCP proxy in front of a real broker, to cut a client's connection (and keep
 *    it down) while the broker and its sessions live on;
 *  - `StatusRecorder`: reads `client.status()` in the background, so tests can both wait for the
 *    next event of a kind and assert the whole sequence;
 *  - `connectFakeReconnecting()` / `reconnectFake()`: a client on a fake broker driven by ManualTimers
 *    with reconnect on, and the steps of one scripted reconnect.
 */
import net from 'node:net';
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes';
import { expect } from 'vitest';
import type { ClientOptions, MqttClient, StatusEvent } from '../../src/index.js';
import { ManualTimers, within, type Harness } from '../client/helpers.js';
import { waitForEvent, type BrokerEvent, type BrokerEventType, type EventOf } from '../helpers/aedes.js';
import { PacketType, toHex, type FakeBroker, type FakeConnection } from '../helpers/fake-broker.js';
import { connackPacket, connectPacket } from '../helpers/mqtt-bytes.js';

// ---------------------------------------------------------------------------------------------
// A restartable aedes

export interface RestartableAedesOptions {
  /** Listen here (default: an ephemeral port, kept across restarts). */
  port?: number;
  /** true accepts; false -> CONNACK 5; 2..5 -> that return code. Read on every CONNECT, so a test may change its answer. */
  authenticate?: (clientId: string) => boolean | 2 | 3 | 4 | 5;
  aedes?: Omit<AedesOptions, 'authenticate'>;
}

export interface RestartableAedes {
  url: string;
  port: number;
  /** The broker of the current run (undefined while stopped). */
  readonly broker: Aedes | undefined;
  readonly running: boolean;
  /** Events of the current run only (cleared by start()); same shapes as test/helpers/aedes.ts. */
  events: BrokerEvent[];
  waitFor<T extends BrokerEventType>(type: T, match?: (e: EventOf<T>) => boolean, timeoutMs?: number): Promise<EventOf<T>>;
  /** Closes every socket, the listener and the broker (its in-memory sessions are lost). */
  stop(): Promise<void>;
  /** A new broker (empty sessions) on the same port. */
  start(): Promise<void>;
  /** Destroys every client socket; the broker and its sessions stay. */
  dropClients(): void;
  /** Open TCP connections right now. */
  openSockets(): number;
}

export async function startAedesAt(opts: RestartableAedesOptions = {}): Promise<RestartableAedes> {
  let port = opts.port ?? 0;
  let broker: Aedes | undefined;
  let server: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  const listeners = new Set<() => void>();
  const handle: RestartableAedes = {
    url: '',
    port: 0,
    get broker() {
      return broker;
    },
    get running() {
      return server !== undefined;
    },
    events: [],
    waitFor<T extends BrokerEventType>(type: T, match?: (e: EventOf<T>) => boolean, timeoutMs = 2000): Promise<EventOf<T>> {
      return waitForEvent(() => handle.events, listeners, type, match, timeoutMs);
    },
    async stop() {
      const s = server;
      const b = broker;
      server = undefined;
      broker = undefined;
      if (!s || !b) return;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => b.close(() => resolve()));
      await closed;
    },
    async start() {
      if (server) throw new Error('startAedesAt: already running');
      handle.events = [];
      const aedesOpts: AedesOptions = { ...opts.aedes };
      const auth = opts.authenticate;
      if (auth) {
        aedesOpts.authenticate = (client, _username, _password, done) => {
          const verdict = auth(client.id);
          if (verdict === true) return done(null, true);
          if (verdict === false) return done(null, false);
          const err = new Error(`refused by test authenticate: ${verdict}`) as AuthenticateError;
          (err as { returnCode: number }).returnCode = verdict;
          done(err, null);
        };
      }
      const b = await Aedes.createBroker(aedesOpts);
      const log = (e: BrokerEvent): void => {
        handle.events.push(e);
        for (const l of [...listeners]) l();
      };
      const idOf = (c: Client | null | undefined): string => (c && typeof c.id === 'string' ? c.id : '');
      b.on('client', (c) => log({ type: 'client', clientId: idOf(c) }));
      b.on('connackSent', (p, c) => log({ type: 'connackSent', clientId: idOf(c), returnCode: p.returnCode ?? 0, sessionPresent: !!p.sessionPresent }));
      b.on('clientDisconnect', (c) =>
        log({ type: 'clientDisconnect', clientId: idOf(c), sentDisconnect: (c as unknown as { _disconnected?: boolean })._disconnected === true }),
      );
      b.on('subscribe', (subs, c) => log({ type: 'subscribe', clientId: idOf(c), subscriptions: subs.map((s) => ({ topic: s.topic, qos: s.qos })) }));
      b.on('unsubscribe', (topics, c) => log({ type: 'unsubscribe', clientId: idOf(c), topics: [...topics] }));
      b.on('publish', (p, c) => {
        if (p.topic.startsWith('$SYS/')) return;
        log({ type: 'publish', clientId: c ? idOf(c) : null, topic: p.topic, payload: Buffer.from(p.payload as Uint8Array), qos: p.qos, retain: !!p.retain });
      });
      const s = net.createServer((socket) => {
        sockets.add(socket);
        const remotePort = socket.remotePort ?? 0;
        log({ type: 'socketOpen', remotePort });
        socket.once('close', () => {
          sockets.delete(socket);
          log({ type: 'socketClose', remotePort });
        });
        b.handle(socket);
      });
      await listenOn(s, port);
      port = (s.address() as net.AddressInfo).port;
      handle.port = port;
      handle.url = `mqtt://127.0.0.1:${port}`;
      broker = b;
      server = s;
    },
    dropClients() {
      for (const sock of sockets) sock.destroy();
    },
    openSockets: () => sockets.size,
  };
  await handle.start();
  return handle;
}

/** Listens on 127.0.0.1:port; a port just given up (TIME_WAIT) is retried briefly. */
async function listenOn(server: net.Server, port: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A TCP proxy that can cut connections and refuse new ones

export interface TcpProxy {
  url: string;
  port: number;
  /** Client connections accepted so far. */
  readonly accepted: number;
  /** Destroys every proxied connection; new ones are still accepted. */
  cut(): void;
  /** Stops listening and cuts everything: clients get ECONNREFUSED until up(). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  let accepted = 0;
  const open = async (): Promise<void> => {
    const s = net.createServer((client) => {
      accepted++;
      const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
      sockets.add(client);
      sockets.add(upstream);
      const kill = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', kill);
      upstream.on('error', kill);
      client.on('close', kill);
      upstream.on('close', kill);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await listenOn(s, port);
    port = (s.address() as net.AddressInfo).port;
    server = s;
  };
  const cut = (): void => {
    for (const s of [...sockets]) s.destroy();
    sockets.clear();
  };
  await open();
  const proxy: TcpProxy = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    cut,
    async down() {
      const s = server;
      server = undefined;
      cut();
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async up() {
      if (!server) await open();
    },
    close() {
      return proxy.down();
    },
  };
  return proxy;
}

// ---------------------------------------------------------------------------------------------
// Status events

type StatusType = StatusEvent['type'];
export type StatusOf<T extends StatusType> = Extract<StatusEvent, { type: T }>;

/** Reads `client.status()` from now on into `events`; `next(type)` consumes events in order. */
export class StatusRecorder {
  readonly events: StatusEvent[] = [];
  /** Resolves when the status stream ends (the client closed). */
  readonly ended: Promise<void>;
  private cursor = 0;
  private readonly listeners = new Set<() => void>();

  constructor(client: MqttClient) {
    const stream = client.status();
    this.ended = (async () => {
      for await (const e of stream) {
        this.events.push(e);
        for (const l of [...this.listeners]) l();
      }
      for (const l of [...this.listeners]) l();
    })();
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }

  /** The first event of `type` after the last one `next()` returned (waiting for it, bounded). */
  next<T extends StatusType>(type: T, ms = 3000): Promise<StatusOf<T>> {
    const find = (): StatusOf<T> | undefined => {
      for (let i = this.cursor; i < this.events.length; i++) {
        const e = this.events[i] as StatusEvent;
        if (e.type === type) {
          this.cursor = i + 1;
          return e as StatusOf<T>;
        }
      }
      return undefined;
    };
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const e = find();
        if (!e) return;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`no '${type}' status event within ${ms} ms; events so far: ${this.types().join(', ')}`));
      }, ms);
      this.listeners.add(check);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// A reconnecting client on a fake broker, on a hand-driven clock

export interface FakeSetup {
  c: MqttClient;
  conn: FakeConnection;
  timers: ManualTimers;
  fake: FakeBroker;
  status: StatusRecorder;
}

/**
 * A client with reconnect on (initialDelay 10, maxDelay 10 unless overridden), keepalive off, a
 * ManualTimers clock, connected to a fresh fake broker that answered `connack` (default CONNACK 0).
 * The CONNECT it sent is checked byte for byte.
 */
export async function connectFakeReconnecting(h: Harness, options: ClientOptions = {}, connack = connackPacket(0)): Promise<FakeSetup> {
  const timers = new ManualTimers();
  const fake = await h.fake();
  const c = h.client(fake.url, { keepalive: 0, timers, reconnect: { initialDelay: 10, maxDelay: 10 }, ...options });
  const status = new StatusRecorder(c);
  const connecting = c.connect();
  const conn = await fake.nextConnection();
  const connect = await conn.expectPacket(PacketType.CONNECT);
  expect(toHex(connect)).toBe(toHex(expectedConnect(c, options)));
  conn.write(connack);
  await within(connecting, 2000, 'connect');
  return { c, conn, timers, fake, status };
}

export function expectedConnect(c: MqttClient, options: ClientOptions): Uint8Array {
  return connectPacket({ clientId: c.clientId, clean: options.clean ?? true, keepalive: options.keepalive ?? 0 });
}

/**
 * After the fake broker dropped the connection: waits for the client's 'reconnecting' event, fires
 * the backoff timer, takes the new connection and checks its CONNECT, answers `connack`.
 */
export async function reconnectFake(s: FakeSetup, options: ClientOptions = {}, connack = connackPacket(0)): Promise<FakeConnection> {
  const ev = await s.status.next('reconnecting');
  s.timers.advance(ev.delay);
  const conn = await s.fake.nextConnection();
  expect(toHex(await conn.expectPacket(PacketType.CONNECT))).toBe(toHex(expectedConnect(s.c, options)));
  conn.write(connack);
  await s.status.next('connected');
  return conn;
}
