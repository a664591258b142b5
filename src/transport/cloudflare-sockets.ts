/**
 * mqtt:// and mqtts:// in Cloudflare Workers (workerd): a TCP socket from `connect()` of the
 * `cloudflare:sockets` module, TLS with `secureTransport: 'on'`. The module is imported on first use,
 * so only the workerd entry point ever names it, and nothing else needs Workers types.
 */
import { InvalidArgumentError, TransportError, type TransportErrorCode } from '../errors.js';
import type { Transport, TransportFactory, TransportHandlers, TransportOptions } from './transport.js';

/** The part of a `cloudflare:sockets` Socket used here. */
export interface CloudflareSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly opened: Promise<unknown>;
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

export interface CloudflareSocketOptions {
  secureTransport?: 'off' | 'on' | 'starttls';
  allowHalfOpen?: boolean;
}

/** `connect` of `cloudflare:sockets`, as far as it is used here. */
export type CloudflareConnect = (address: { hostname: string; port: number }, options?: CloudflareSocketOptions) => CloudflareSocket;

/** Bytes handed to the socket and not yet written, beyond which `write()` returns false (then onDrain at 0). */
export const WRITE_HIGH_WATER_MARK = 64 * 1024;

const SECURE_SCHEMES = new Set(['mqtts:', 'ssl:', 'tls:']);
const PLAIN_SCHEMES = new Set(['mqtt:', 'tcp:']);

const loadConnect = async (): Promise<CloudflareConnect> => {
  // Resolved by workerd. Bundlers must leave it alone: wrangler does (`cloudflare:*` is external),
  // esbuild needs `external: ['cloudflare:*']`, and the comments tell webpack and Vite.
  const { connect } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'cloudflare:sockets');
  return connect as CloudflareConnect;
};

/**
 * A TransportFactory over a `connect()` with the cloudflare:sockets API. The default loads the real
 * one from `cloudflare:sockets`; tests pass their own.
 */
export function cloudflareSocketsTransport(getConnect: () => Promise<CloudflareConnect> | CloudflareConnect = loadConnect): TransportFactory {
  return async (url, handlers, options) => {
    const secure = SECURE_SCHEMES.has(url.protocol);
    if (!secure && !PLAIN_SCHEMES.has(url.protocol)) {
      throw new InvalidArgumentError(`cloudflare:sockets cannot open "${url.protocol}" URLs (only mqtt:// and mqtts://)`);
    }
    if (secure) checkTlsOptions(url, options);
    const hostname = url.hostname.replace(/^\[|\]$/g, '') || 'localhost';
    const port = url.port ? Number(url.port) : secure ? 8883 : 1883;
    const what = `${secure ? 'TLS' : 'TCP'} connect to ${hostname}:${port}`;
    const signal = options.signal;
    if (signal?.aborted) throw abortError(signal, what);
    const connect = await getConnect();
    if (signal?.aborted) throw abortError(signal, what);

    let socket: CloudflareSocket;
    try {
      socket = connect({ hostname, port }, { secureTransport: secure ? 'on' : 'off', allowHalfOpen: false });
    } catch (err) {
      throw new TransportError(`${what} failed: ${messageOf(err)}`, { cause: err });
    }
    // Both settle with the socket's fate; nobody may be left holding an unhandled rejection.
    socket.closed.catch(() => {});
    socket.opened.catch(() => {});

    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        socket.close().catch(() => {});
        reject(abortError(signal, what));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.opened.then(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        (err: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(new TransportError(`${what} failed: ${messageOf(err)}`, { cause: err, code: refusedCode(err) }));
        },
      );
    });
    return wrapCloudflareSocket(socket, handlers);
  };
}

/** Wraps an opened cloudflare:sockets Socket in the Transport interface. */
export function wrapCloudflareSocket(socket: CloudflareSocket, handlers: TransportHandlers): Transport {
  const writer = socket.writable.getWriter();
  const reader = socket.readable.getReader();
  let closed = false;
  let ending = false;
  let destroyed = false;
  let error: Error | undefined;
  let pending = 0;
  let needDrain = false;
  let paused = false;
  let wake: (() => void) | undefined;

  const finish = (): void => {
    if (closed) return;
    closed = true;
    wake?.();
    handlers.onClose(error);
  };
  const breakWith = (err: unknown): void => {
    if (closed || destroyed) return;
    error ??= new TransportError(`connection error: ${messageOf(err)}`, { cause: err });
    destroyed = true;
    socket.close().then(finish, finish);
    reader.cancel().catch(() => {});
  };

  void (async () => {
    try {
      while (!closed && !destroyed) {
        if (paused) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) break;
        if (closed || destroyed) break;
        if (value.byteLength > 0) handlers.onData(value);
      }
    } catch (err) {
      if (!destroyed && !ending) error ??= new TransportError(`connection error: ${messageOf(err)}`, { cause: err });
    }
    // The peer closed (or we did): release the socket, then report once.
    socket.close().then(finish, finish);
  })();

  return {
    write(data) {
      if (closed || destroyed || ending) return true; // the connection is going: onClose follows
      pending += data.byteLength;
      writer.write(data).then(
        () => {
          pending -= data.byteLength;
          if (needDrain && pending === 0 && !closed) {
            needDrain = false;
            handlers.onDrain();
          }
        },
        (err: unknown) => breakWith(err),
      );
      if (pending < WRITE_HIGH_WATER_MARK) return true;
      needDrain = true;
      return false;
    },
    end() {
      if (closed || destroyed || ending) return;
      ending = true;
      // Flushes what is queued, then half-closes (FIN); reading goes on until the broker closes.
      writer.close().catch((err: unknown) => breakWith(err));
    },
    destroy() {
      if (closed || destroyed) return;
      destroyed = true;
      wake?.();
      reader.cancel().catch(() => {});
      socket.close().then(finish, finish);
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      wake?.();
    },
  };
}

/**
 * cloudflare:sockets (and the Workers WebSocket) take no certificates and always verify the server
 * against the public CAs and the host name: throws InvalidArgumentError for settings asking otherwise.
 */
export function checkTlsOptions(url: URL, options: TransportOptions): void {
  const unsupported: string[] = [];
  for (const k of ['ca', 'cert', 'key', 'passphrase', 'alpnProtocols'] as const) if (options[k] !== undefined) unsupported.push(k);
  if (options.rejectUnauthorized === false) unsupported.push('rejectUnauthorized: false');
  if (options.servername !== undefined && options.servername !== url.hostname) unsupported.push('servername');
  if (unsupported.length > 0) {
    throw new InvalidArgumentError(
      `workerd does not support the TLS option(s) ${unsupported.join(', ')} for ${url.protocol}// (it verifies the broker against the public CAs and the URL's host name)`,
    );
  }
}

function abortError(signal: AbortSignal | undefined, what: string): Error {
  return signal?.reason instanceof Error ? signal.reason : new TransportError(`${what}: aborted`);
}

function refusedCode(err: unknown): TransportErrorCode {
  return /refused/i.test(messageOf(err)) ? 'CONNECTION_REFUSED_BY_HOST' : 'TRANSPORT_ERROR';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
