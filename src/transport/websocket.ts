import { TransportError, type TransportErrorCode } from '../errors.js';
import type { Transport, TransportFactory, TransportOptions } from './transport.js';

// Event handler slots typed as methods, so they are checked bivariantly: the DOM WebSocket (whose
// handlers take MessageEvent, CloseEvent...) and the ws package's class both fit this interface.
type Handler<E> = { bivarianceHack(event: E): unknown }['bivarianceHack'];

/**
 * What this transport uses of a WebSocket: the WHATWG API (browsers, Deno, Bun, workerd, Node 22+)
 * or the `ws` package. `pause`/`resume` exist only in `ws`; `terminate` too.
 */
export interface WebSocketLike {
  /** Set to `'arraybuffer'`, so frames arrive as bytes rather than Blobs. */
  binaryType: string;
  /** Bytes queued by send() and not yet sent: the only backpressure signal WHATWG gives. */
  readonly bufferedAmount: number;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Sends one binary frame. */
  // ArrayBuffer-backed, as the DOM typings of send() demand (the encoder never uses a SharedArrayBuffer).
  send(data: Uint8Array<ArrayBuffer>): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** The handshake completed. */
  onopen: Handler<unknown> | null;
  /** A message arrived; `data` must be an ArrayBuffer or a view: a text frame closes the connection [MQTT-6.0.0-1]. */
  onmessage: Handler<{ data: unknown }> | null;
  /** Something failed: before open, the opening failed; once open, a close follows. */
  onerror: Handler<unknown> | null;
  /** The socket closed, with the close frame's code and reason when there was one. */
  onclose: Handler<{ code?: number; reason?: string }> | null;
  /** `ws` only: stop reading (the client's backpressure); absent, reading goes on. */
  pause?(): void;
  /** `ws` only: read again after pause(). */
  resume?(): void;
  /** `ws` only: drop the connection without a closing handshake. */
  terminate?(): void;
}

/** `new WebSocket(url, protocols)`: the global WebSocket of a runtime, or the `ws` package's class. */
export type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

/** Tuning and hooks of `webSocketTransport()`; every field has a default. */
export interface WebSocketTransportSettings {
  /** write() returns false while more than this many bytes wait to be sent (default 64 KiB). */
  highWaterMark?: number;
  /** How often bufferedAmount is checked while above the mark, in ms (default 10). */
  drainPollMs?: number;
  /**
   * Makes the socket instead of `new WebSocketCtor(url, protocols)`: the Node adapter uses it to
   * hand TLS options to the `ws` package, which takes them as a third constructor argument.
   */
  create?: (url: string, protocols: string[], options: TransportOptions) => WebSocketLike;
  /** A more specific error than the generic one (the Node adapter marks TLS failures TLS_ERROR). */
  mapError?: (cause: unknown, where: string) => TransportError | undefined;
  /**
   * @internal The Node adapter's hook, not part of the published API.
   * For a WebSocket whose error event does not say why it could not open (Node's global WebSocket;
   * its undici says why elsewhere, see node-ws-diagnosis.ts). Wraps the making of each socket and
   * returns what it learns about that opening.
   */
  watchOpening?: (make: () => WebSocketLike) => OpeningWatch;
}

/** What `watchOpening` learned about one opening. */
export interface OpeningWatch {
  socket: WebSocketLike;
  /** Why the opening failed, if known (an Error with a Node `code`, like a socket's); asked once it failed. */
  cause(): unknown;
  /**
   * The opening is over: stop watching. `failed` (it failed or was aborted): also close anything the
   * runtime left open for it (Node 24's WebSocket leaves the TCP connection of a refused handshake open).
   */
  stop(failed: boolean): void;
}

const CLOSE_NORMAL = 1000;
const CLOSE_NO_STATUS = 1005;

/**
 * MQTT over WebSocket (MQTT 3.1.1 section 6): binary frames, subprotocol `mqtt`. Frames need not
 * line up with packets (the decoder reassembles), so each frame's bytes go straight to onData.
 *
 * WHATWG WebSocket has no backpressure, only `bufferedAmount`: write() reports full above the
 * high-water mark and a short timer polls, only while above it, to call onDrain. It cannot pause
 * reading either: pause()/resume() are no-ops unless the socket has them (the `ws` package does).
 */
export function webSocketTransport(WebSocketCtor: WebSocketConstructor | undefined, settings: WebSocketTransportSettings = {}): TransportFactory {
  const highWaterMark = settings.highWaterMark ?? 64 * 1024;
  const pollMs = settings.drainPollMs ?? 10;
  const create =
    settings.create ??
    ((url: string, protocols: string[]) => {
      if (!WebSocketCtor) throw new TransportError('no WebSocket implementation given');
      return new WebSocketCtor(url, protocols);
    });

  return (url, handlers, options) =>
    new Promise<Transport>((resolve, reject) => {
      // The MQTT user name and password travel in CONNECT, not in the HTTP upgrade; a fragment is not allowed.
      const target = new URL(url.href);
      target.username = '';
      target.password = '';
      target.hash = '';
      const where = `${target.protocol}//${target.host}${target.pathname}`;
      const signal = options.signal;
      const fail = (cause: unknown, detail: string): TransportError =>
        settings.mapError?.(cause, target.host) ??
        new TransportError(`WebSocket ${where}: ${detail}`, { cause, code: errorCodeFor(cause) });

      if (signal?.aborted) return reject(abortError(signal, where));
      let ws: WebSocketLike;
      let watch: OpeningWatch | undefined;
      try {
        const make = (): WebSocketLike => create(target.href, ['mqtt'], options);
        if (settings.watchOpening) {
          watch = settings.watchOpening(make);
          ws = watch.socket;
        } else {
          ws = make();
        }
      } catch (err) {
        return reject(fail(err, `cannot open: ${describe(err)}`));
      }
      ws.binaryType = 'arraybuffer';

      let open = false;
      let closed = false;
      let error: TransportError | undefined;
      let drainTimer: ReturnType<typeof setInterval> | undefined;
      const stopPolling = (): void => {
        if (drainTimer !== undefined) clearInterval(drainTimer);
        drainTimer = undefined;
      };
      const onAbort = (): void => {
        closed = true;
        watch?.stop(true);
        ws.close();
        reject(abortError(signal as AbortSignal, where));
      };
      signal?.addEventListener('abort', onAbort, { once: true });

      // Reports the end exactly once, to whoever is waiting: the opener, or the handlers once open.
      const finish = (err: TransportError | undefined): void => {
        if (closed) return;
        closed = true;
        stopPolling();
        if (!open) watch?.stop(true); // an open one was stopped at open
        signal?.removeEventListener('abort', onAbort);
        if (open) handlers.onClose(err);
        else reject(err ?? new TransportError(`WebSocket ${where}: closed before it opened`));
      };

      ws.onopen = () => {
        if (closed) return;
        open = true;
        watch?.stop(false);
        signal?.removeEventListener('abort', onAbort);
        resolve(transport);
      };
      ws.onmessage = (event) => {
        if (closed) return;
        const data = event.data;
        if (data instanceof ArrayBuffer) handlers.onData(new Uint8Array(data));
        else if (ArrayBuffer.isView(data)) handlers.onData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        else {
          // MQTT-6.0.0-1: anything but a binary frame closes the connection.
          finish(new TransportError(`WebSocket ${where}: the server sent a non-binary message [MQTT-6.0.0-1]`));
          ws.close();
        }
      };
      // Once open, an error is followed by close (WHATWG and ws alike): remember why, report on close.
      // Before open it ends the opening at once: Node 22's global WebSocket sends no close after a
      // failed opening, and nothing a close could add would change the verdict.
      ws.onerror = (event) => {
        if (closed) return;
        const cause = (open ? undefined : watch?.cause()) ?? (event as { error?: unknown }).error ?? event;
        error ??= fail(cause, open ? `connection error: ${describe(cause)}` : `connect failed: ${describe(cause)}`);
        if (!open) finish(error);
      };
      ws.onclose = (event) => {
        const code = event.code ?? CLOSE_NO_STATUS;
        if (error || (open && (code === CLOSE_NORMAL || code === CLOSE_NO_STATUS))) return finish(error);
        const why = `closed with code ${code}${event.reason ? ` (${event.reason})` : ''}`;
        finish(new TransportError(`WebSocket ${where}: ${open ? why : `${why} before it opened`}`));
      };

      const transport: Transport = {
        write(data) {
          if (closed) return false;
          ws.send(data as Uint8Array<ArrayBuffer>);
          if (buffered(ws) <= highWaterMark) return true;
          drainTimer ??= setInterval(() => {
            if (buffered(ws) > highWaterMark) return;
            stopPolling();
            if (!closed) handlers.onDrain();
          }, pollMs);
          return false;
        },
        end: () => ws.close(CLOSE_NORMAL),
        destroy() {
          stopPolling();
          if (ws.terminate) ws.terminate();
          else ws.close();
        },
        pause: () => ws.pause?.(),
        resume: () => ws.resume?.(),
      };
    });
}

function abortError(signal: AbortSignal, where: string): Error {
  return signal.reason instanceof Error ? signal.reason : new TransportError(`WebSocket ${where}: aborted`);
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  const message = (cause as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' && message !== '' ? message : 'network error';
}

/**
 * The code of a failure the WebSocket reported. Runtimes that say why name certificate and
 * handshake failures (Deno: "invalid peer certificate: UnknownIssuer", Bun: "TLS handshake failed:
 * self signed certificate in certificate chain"): those are TLS_ERROR, which a reconnecting client
 * does not retry. A browser says nothing about why, so there it stays TRANSPORT_ERROR.
 */
function errorCodeFor(cause: unknown): TransportErrorCode {
  if ((cause as { code?: unknown } | undefined)?.code === 'ECONNREFUSED') return 'CONNECTION_REFUSED_BY_HOST';
  return /certificate|TLS handshake/i.test(describe(cause)) ? 'TLS_ERROR' : 'TRANSPORT_ERROR';
}

/** Some runtimes (workerd) have no bufferedAmount at all: they queue sends without a bound. */
function buffered(ws: { readonly bufferedAmount: number }): number {
  return typeof ws.bufferedAmount === 'number' ? ws.bufferedAmount : 0;
}
