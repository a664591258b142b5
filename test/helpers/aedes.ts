/**
 * An in-process aedes 1.x broker on 127.0.0.1:<ephemeral>, with an event log the tests can wait on.
 *
 *   const b = await startAedes({ authorizeSubscribe: (_id, topic) => !topic.startsWith('secret/') });
 *   ... client connects to b.url ...
 *   const gone = await b.waitFor('clientDisconnect', (e) => e.clientId === 'c1');
 *   expect(gone.sentDisconnect).toBe(true);
 *   await b.close();
 *
 * aedes behaviour this relies on (aedes 1.2, verified in test/harness/brokers.test.ts):
 *  - authenticate: callback(null, false) -> CONNACK 5; callback(err with returnCode 2..5) -> that code.
 *    Return code 1 (protocol level) is produced by aedes itself; it cannot come from authenticate.
 *  - authorizeSubscribe: callback(null, null) -> SUBACK 0x80 for that filter (connection stays up);
 *    callback(err) -> 'clientError' and the connection is closed without a SUBACK. Changing sub.qos in
 *    the callback does NOT change the SUBACK: aedes always answers the requested QoS (or 0x80).
 *  - 'clientDisconnect' fires both for DISCONNECT and for a plain socket close; the difference is aedes'
 *    private `client._disconnected`, reported here as `sentDisconnect`. Wills are published (a 'publish'
 *    event from the dying client) only when the socket closed without DISCONNECT.
 *  - aedes.close() only closes clients that got past CONNECT; sockets are tracked and destroyed here.
 */
import net from 'node:net';
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes';
import { waitForMatch } from './wait-for.js';

export type { Aedes } from 'aedes';

/** CONNACK refusal codes that aedes lets authenticate produce. */
export type AuthRefusalCode = 2 | 3 | 4 | 5;

export interface StartAedesOptions {
  /**
   * true accepts; false refuses with CONNACK 5 (not authorized); a number 2..5 refuses with that code
   * (4 = bad user name or password). May be async.
   */
  authenticate?: (
    clientId: string,
    username: string | undefined,
    password: Buffer | undefined,
  ) => boolean | AuthRefusalCode | Promise<boolean | AuthRefusalCode>;
  /**
   * Per filter of a SUBSCRIBE: true grants the requested QoS; false answers 0x80 (failure) for this
   * filter; 'disconnect' makes aedes drop the connection (no SUBACK). aedes cannot grant a lower QoS than
   * requested: its SUBACK always echoes the requested QoS (or 0x80).
   */
  authorizeSubscribe?: (clientId: string, topic: string, qos: number) => boolean | 'disconnect';
  /**
   * false makes aedes close the connection (MQTT 3.1.1 has no way to refuse a PUBLISH). May be async:
   * aedes acknowledges a QoS 1/2 PUBLISH (and delivers it) only once this has answered.
   */
  authorizePublish?: (clientId: string | undefined, topic: string, payload: Buffer) => boolean | Promise<boolean>;
  /** Passed through to aedes (e.g. connectTimeout, keepaliveLimit, maxClientsIdLength). */
  aedes?: Omit<AedesOptions, 'authenticate' | 'authorizeSubscribe' | 'authorizePublish'>;
}

export type BrokerEvent =
  | { type: 'client'; clientId: string } // registered after a successful CONNECT
  | { type: 'connackSent'; clientId: string; returnCode: number; sessionPresent: boolean }
  | { type: 'clientDisconnect'; clientId: string; sentDisconnect: boolean }
  | { type: 'clientError'; clientId: string; error: Error }
  | { type: 'connectionError'; error: Error } // error before the client had an id (e.g. bad CONNECT)
  | { type: 'keepaliveTimeout'; clientId: string }
  | { type: 'subscribe'; clientId: string; subscriptions: Array<{ topic: string; qos: number }> }
  | { type: 'unsubscribe'; clientId: string; topics: string[] }
  | { type: 'publish'; clientId: string | null; topic: string; payload: Buffer; qos: number; retain: boolean } // $SYS excluded
  | { type: 'socketOpen'; remotePort: number }
  | { type: 'socketClose'; remotePort: number };

export type BrokerEventType = BrokerEvent['type'];
export type EventOf<T extends BrokerEventType> = Extract<BrokerEvent, { type: T }>;

export interface AedesHandle {
  url: string; // mqtt://127.0.0.1:<port>
  port: number;
  broker: Aedes;
  /** Everything that happened, oldest first. Safe to read and to clear (`events.length = 0`). */
  events: BrokerEvent[];
  /**
   * The first event of that type matching `match`, already logged or still to come. Rejects after
   * timeoutMs (default 2000) with the log in the message.
   */
  waitFor<T extends BrokerEventType>(type: T, match?: (e: EventOf<T>) => boolean, timeoutMs?: number): Promise<EventOf<T>>;
  /** Open TCP connections right now (including ones that never sent CONNECT). */
  openSockets(): number;
  close(): Promise<void>;
}

const DEFAULT_WAIT_MS = 2000;

export async function startAedes(opts: StartAedesOptions = {}): Promise<AedesHandle> {
  const aedesOpts: AedesOptions = { ...opts.aedes };
  const { authenticate, authorizeSubscribe, authorizePublish } = opts;

  if (authenticate) {
    aedesOpts.authenticate = (client, username, password, done) => {
      Promise.resolve()
        .then(() => authenticate(client.id, username, password))
        .then(
          (verdict) => {
            if (verdict === true) return done(null, true);
            if (verdict === false) return done(null, false);
            const err = new Error(`refused by test authenticate: ${verdict}`) as AuthenticateError;
            (err as { returnCode: number }).returnCode = verdict;
            done(err, null);
          },
          (e: unknown) => done(Object.assign(e instanceof Error ? e : new Error(String(e)), { returnCode: 3 }) as AuthenticateError, null),
        );
    };
  }
  if (authorizeSubscribe) {
    aedesOpts.authorizeSubscribe = (client, sub, done) => {
      const verdict = authorizeSubscribe(client.id, sub.topic, sub.qos);
      if (verdict === 'disconnect') return done(new Error(`subscription to ${sub.topic} refused by test (disconnect)`));
      done(null, verdict ? sub : null);
    };
  }
  if (authorizePublish) {
    aedesOpts.authorizePublish = (client, packet, done) => {
      if (packet.topic.startsWith('$SYS/')) return done(new Error('$SYS/ topic is reserved'));
      Promise.resolve()
        .then(() => authorizePublish(client?.id, packet.topic, packet.payload as Buffer))
        .then(
          (allowed) => done(allowed ? null : new Error(`publish to ${packet.topic} refused by test`)),
          (e: unknown) => done(e instanceof Error ? e : new Error(String(e))),
        );
    };
  }

  const broker = await Aedes.createBroker(aedesOpts);
  const events: BrokerEvent[] = [];
  const listeners = new Set<() => void>();
  const log = (e: BrokerEvent): void => {
    events.push(e);
    for (const l of [...listeners]) l();
  };
  const idOf = (c: Client | null | undefined): string => (c && typeof c.id === 'string' ? c.id : '');

  broker.on('client', (c) => log({ type: 'client', clientId: idOf(c) }));
  broker.on('connackSent', (p, c) =>
    log({ type: 'connackSent', clientId: idOf(c), returnCode: p.returnCode ?? 0, sessionPresent: !!p.sessionPresent }),
  );
  broker.on('clientDisconnect', (c) =>
    log({ type: 'clientDisconnect', clientId: idOf(c), sentDisconnect: (c as unknown as { _disconnected?: boolean })._disconnected === true }),
  );
  broker.on('clientError', (c, error) => log({ type: 'clientError', clientId: idOf(c), error }));
  broker.on('connectionError', (_c, error) => log({ type: 'connectionError', error }));
  broker.on('keepaliveTimeout', (c) => log({ type: 'keepaliveTimeout', clientId: idOf(c) }));
  broker.on('subscribe', (subs, c) =>
    log({ type: 'subscribe', clientId: idOf(c), subscriptions: subs.map((s) => ({ topic: s.topic, qos: s.qos })) }),
  );
  broker.on('unsubscribe', (topics, c) => log({ type: 'unsubscribe', clientId: idOf(c), topics: [...topics] }));
  broker.on('publish', (p, c) => {
    if (p.topic.startsWith('$SYS/')) return;
    log({
      type: 'publish',
      clientId: c ? idOf(c) : null,
      topic: p.topic,
      payload: Buffer.from(p.payload as Uint8Array),
      qos: p.qos,
      retain: !!p.retain,
    });
  });

  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const remotePort = socket.remotePort ?? 0;
    log({ type: 'socketOpen', remotePort });
    socket.once('close', () => {
      sockets.delete(socket);
      log({ type: 'socketClose', remotePort });
    });
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    broker,
    events,
    openSockets: () => sockets.size,
    waitFor<T extends BrokerEventType>(type: T, match?: (e: EventOf<T>) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<EventOf<T>> {
      return waitForEvent(() => events, listeners, type, match, timeoutMs);
    },
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await serverClosed;
      })();
      return closing;
    },
  };
}

/**
 * The first recorded event of `type` that `match` accepts, now or once `changed` announces it;
 * rejects after `timeoutMs` listing what was recorded. `events` is read at each check (a restartable
 * broker replaces its list).
 */
export function waitForEvent<T extends BrokerEventType>(
  events: () => BrokerEvent[],
  changed: Set<() => void>,
  type: T,
  match: ((e: EventOf<T>) => boolean) | undefined,
  timeoutMs: number,
): Promise<EventOf<T>> {
  const find = (): EventOf<T> | undefined => events().find((e): e is EventOf<T> => e.type === type && (!match || match(e as EventOf<T>)));
  return waitForMatch(find, changed, timeoutMs, () => `aedes: no '${type}' event matching within ${timeoutMs} ms; events: ${describeEvents(events())}`);
}

function describeEvents(events: BrokerEvent[]): string {
  const parts = events.slice(-30).map((e) => {
    const { type, ...rest } = e;
    const fields = Object.entries(rest).map(([k, v]) => `${k}=${v instanceof Error ? v.message : Buffer.isBuffer(v) ? JSON.stringify(v.toString()) : JSON.stringify(v)}`);
    return `${type}(${fields.join(', ')})`;
  });
  return parts.length > 0 ? parts.join('; ') : '(none)';
}
