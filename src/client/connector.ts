import type { ConnackPacket } from '../codec/packets.js';
import { ConnectionClosedError, TimeoutError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Deadline } from '../session/deadline.js';
import type { Session } from '../session/session.js';
import type { Timers } from '../session/timers.js';
import type { TlsOptions, TransportFactory } from '../transport/transport.js';
import { Connection, type ConnectionOwner, type ConnectionSettings } from './connection.js';

export interface ConnectorSettings {
  /** ms for the whole attempt: choosing and opening the transport, CONNECT, CONNACK. */
  connectTimeout: number;
  /** Handed to every transport open. */
  tls: TlsOptions;
  connection: ConnectionSettings;
}

/** The transport for a URL: the application's own, or the runtime's choice for the scheme. */
export type TransportChoice = (url: URL) => Promise<TransportFactory>;

/**
 * Connection attempts: choose and open the transport for a URL, send CONNECT, wait for CONNACK 0,
 * all under one deadline (connectTimeout, or abort() when the client ends or its caller gives up).
 * What to do after a failure (give up, retry, which server next) is not decided here.
 */
export class Connector {
  /** The deadline of the attempt under way. */
  private bound: Deadline<void> | undefined;

  constructor(
    private readonly settings: ConnectorSettings,
    private readonly choose: TransportChoice,
    private readonly timers: Timers,
    private readonly log: Logger | undefined,
  ) {}

  /**
   * One attempt. `opened` receives the connection as soon as its transport is open (CONNECT is
   * written through it). Resolves on CONNACK 0; on any failure the half-open connection is dropped,
   * the session suspended, and the error thrown. abort() ends it early.
   */
  async attempt(url: URL, session: Session, owner: ConnectionOwner, opened: (c: Connection) => void): Promise<ConnackPacket> {
    const ms = this.settings.connectTimeout;
    const bound = new Deadline<void>(this.timers, () => new TimeoutError(`no CONNACK from ${url.host} within ${ms} ms`)).arm(ms);
    this.bound = bound;
    const connection = new Connection(this.settings.connection, session, owner, url.host);
    try {
      const factory = await bound.within(this.choose(url));
      this.log?.(`connecting to ${url.protocol}//${url.host}`);
      // attach() closes at once a transport that opens after the attempt gave up.
      await bound.within(factory(url, connection.handlers, { ...this.settings.tls, signal: bound.signal }).then((t) => connection.attach(t)));
      opened(connection);
      const connack = await bound.within(session.start());
      bound.resolve();
      return connack;
    } catch (err) {
      const error = err instanceof Error ? err : new ConnectionClosedError(String(err));
      bound.reject(error);
      connection.drop(error);
      if (session.phase === 'connecting' || session.phase === 'refused') session.suspend(error);
      throw error;
    } finally {
      if (this.bound === bound) this.bound = undefined;
    }
  }

  /** Fails the attempt under way with `err` (the client is ending). */
  abort(err: Error): void {
    this.bound?.reject(err);
  }
}
