import type { NetConnectOpts, Socket } from 'node:net';
import { InvalidArgumentError, TransportError } from '../errors.js';
import { ReadCoalescer } from './read-coalescer.js';
import type { Transport, TransportFactory, TransportHandlers } from './transport.js';

/** Turns a socket error into a more specific TransportError (TLS), or undefined for the generic one. */
export type SocketErrorMapper = (err: NodeJS.ErrnoException) => TransportError | undefined;

/**
 * Wraps a connected node:net (or node:tls) socket in the Transport interface. With `coalesce`,
 * reads go through a ReadCoalescer (read-coalescer.ts): under busy traffic it lets bytes gather in
 * the kernel for a moment between reads. It needs a socket that stops reading when paused
 * (readableHighWaterMark 1, see tcpTransport); without it every read is handed on as it arrives.
 */
export function wrapNodeSocket(socket: Socket, handlers: TransportHandlers, mapError?: SocketErrorMapper, coalesce = false): Transport {
  return new NodeSocketTransport(socket, handlers, mapError, coalesce);
}

/** Where a socket's listeners find their transport. */
const TRANSPORT = Symbol('mqttwire transport');
type WrappedSocket = Socket & { [TRANSPORT]: NodeSocketTransport };

/**
 * A socket as a Transport. Its methods are the class's and its four socket listeners are functions
 * shared by every socket (an EventEmitter calls a listener with the socket as `this`), which find the
 * transport on the socket: a connection costs this one object, not ten closures and their context.
 */
class NodeSocketTransport implements Transport {
  private closed = false;
  private error: Error | undefined;
  private readonly reads: ReadCoalescer | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly handlers: TransportHandlers,
    private readonly mapError: SocketErrorMapper | undefined,
    coalesce: boolean,
  ) {
    this.reads = coalesce ? new ReadCoalescer(socket, handlers) : undefined;
    (socket as WrappedSocket)[TRANSPORT] = this;
    socket.on('data', onSocketData);
    socket.on('drain', onSocketDrain);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  write(data: Uint8Array): boolean {
    this.reads?.noteWrite();
    return this.socket.write(data);
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.reads?.stop(false);
    this.socket.destroy();
  }

  pause(): void {
    if (this.reads) this.reads.pause();
    else this.socket.pause();
  }

  resume(): void {
    if (this.reads) this.reads.resume();
    else this.socket.resume();
  }

  /** The socket's 'data'. */
  read(buf: Buffer): void {
    // A plain Uint8Array view, no copy: the codec and user code see Uint8Array, never Buffer.
    const chunk = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    if (this.reads) this.reads.read(chunk);
    else this.handlers.onData(chunk);
  }

  /** The socket's 'drain'. */
  drained(): void {
    this.handlers.onDrain();
  }

  /** The socket's 'error' ('close' follows and reports it). */
  failed(err: NodeJS.ErrnoException): void {
    this.error = this.mapError?.(err) ?? new TransportError(`connection error: ${err.message}`, { cause: err, code: 'TRANSPORT_ERROR' });
  }

  /** The socket's 'close'. */
  socketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    // Bytes a coalescing pause gathered arrived before the close: they go first.
    this.reads?.stop(true);
    this.handlers.onClose(this.error);
  }
}

function onSocketData(this: WrappedSocket, buf: Buffer): void {
  this[TRANSPORT].read(buf);
}

function onSocketDrain(this: WrappedSocket): void {
  this[TRANSPORT].drained();
}

function onSocketError(this: WrappedSocket, err: NodeJS.ErrnoException): void {
  this[TRANSPORT].failed(err);
}

function onSocketClose(this: WrappedSocket): void {
  this[TRANSPORT].socketClosed();
}

/** Resolves with the socket once `connectEvent` fires; rejects with a clear TransportError otherwise. */
export function openNodeSocket(socket: Socket, connectEvent: string, what: string, signal?: AbortSignal, mapError?: SocketErrorMapper): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      socket.destroy();
      reject(signal?.reason instanceof Error ? signal.reason : new TransportError(`${what}: aborted`));
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      signal?.removeEventListener('abort', onAbort);
      reject(
        mapError?.(err) ??
          new TransportError(`${what} failed: ${err.message}`, { cause: err, code: err.code === 'ECONNREFUSED' ? 'CONNECTION_REFUSED_BY_HOST' : 'TRANSPORT_ERROR' }),
      );
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once(connectEvent, () => {
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/**
 * A Node built-in (node:net, node:tls), imported on first connect rather than with the package: one
 * module less for a process to load before it runs, and none at all for one that never needs it.
 * A runtime without it (the Node entry bundled for a browser by mistake) gets an
 * InvalidArgumentError, which ends a reconnecting client instead of retrying for ever.
 */
export function loadBuiltin<T>(name: string, load: () => Promise<T>): Promise<T> {
  return load().catch((err: unknown) => {
    const why = err instanceof Error ? err.message : String(err);
    throw new InvalidArgumentError(`${name} is not available in this runtime (${why}): use mqttwire's browser or workerd entry, or pass options.transport`);
  });
}

export const loadNet = (): Promise<typeof import('node:net')> => loadBuiltin('node:net', () => import('node:net'));

/** The host of a URL as node:net wants it: IPv6 without brackets. */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '') || 'localhost';
}

export interface TcpTransportSettings {
  /** Adaptive read coalescing (read-coalescer.ts); default true. False reads as data arrives, always. */
  coalesceReads?: boolean;
}

/** mqtt:// and tcp:// over node:net (default port 1883). */
export function tcpTransport(settings: TcpTransportSettings = {}): TransportFactory {
  const coalesce = settings.coalesceReads ?? true;
  return async (url, handlers, options) => {
    const host = urlHost(url);
    const port = url.port ? Number(url.port) : 1883;
    const { connect } = await loadNet();
    // A paused socket keeps reading until its buffer reaches readableHighWaterMark (16 KiB by
    // default), and on resume hands out what it read one chunk per 'data' event: a coalescing pause
    // would gather nothing. At 1 byte it stops after the first read, and the rest waits in the
    // kernel, to come out in one read. Reading as data arrives is the same at any setting. (A
    // Duplex option that net.connect passes on; its typings leave it out.)
    const socket = connect(coalesce ? ({ host, port, readableHighWaterMark: 1 } as NetConnectOpts) : { host, port });
    socket.setNoDelay(true);
    await openNodeSocket(socket, 'connect', `TCP connect to ${host}:${port}`, options.signal);
    // A runtime whose node:net ignores the option (its paused sockets go on reading) reads as data arrives.
    return wrapNodeSocket(socket, handlers, undefined, coalesce && socket.readableHighWaterMark === 1);
  };
}

export const openTcp: TransportFactory = tcpTransport();
