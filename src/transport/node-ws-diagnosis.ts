import type { OpeningWatch, WebSocketLike } from './websocket.js';

/** What we use of node:diagnostics_channel. */
export interface DiagnosticsChannels {
  subscribe(name: string, onMessage: (message: unknown) => void): void;
  unsubscribe(name: string, onMessage: (message: unknown) => void): unknown;
}

// The parts of undici's messages we read (undici's docs/api/DiagnosticsChannel.md); `request` is
// the same object in every message about one request.
interface RequestMessage {
  request: object;
}
interface HeadersMessage extends RequestMessage {
  response: { statusCode: number; statusText?: string; headers: unknown[] };
}
interface ErrorMessage extends RequestMessage {
  error: unknown;
}
interface SendHeadersMessage extends RequestMessage {
  socket: { destroy(): void };
}

interface Outcome {
  /** The upgrade request undici made for the opening. */
  request?: object;
  /** The connection the upgrade request went out on. */
  socket?: { destroy(): void };
  error?: unknown;
  status?: number;
  statusText?: string;
  subprotocol?: string;
}

/**
 * Why Node's global WebSocket could not open. Its error event does not say (Node 24 and 26: an
 * empty TypeError; Node 22: "Received network error or non-101 status code."), so a refused port
 * and an untrusted certificate would look the same. The undici inside it does say, on diagnostics
 * channels: the socket's error (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, ...) or the response to
 * the upgrade request.
 *
 * undici creates the upgrade request synchronously inside the WebSocket constructor, so the request
 * created while `make` runs is this opening's: nothing is matched by URL, and concurrent openings
 * cannot be confused. The channels are listened to only while some opening is under way; the
 * application's own fetch() calls are not watched otherwise. The connection the upgrade went out on
 * is kept too, to close it if the server switched protocols but the handshake was refused. If a Node release stops publishing
 * these, `cause()` returns undefined and the failure is the plain TRANSPORT_ERROR it was before.
 */
export function undiciOpeningWatch(dc: DiagnosticsChannels): (make: () => WebSocketLike) => OpeningWatch {
  const outcomes = new Map<object, Outcome>();
  let making: Outcome | undefined;
  let openings = 0;

  const channels: [string, (message: unknown) => void][] = [
    [
      'undici:request:create',
      (m) => {
        if (!making) return;
        making.request = (m as RequestMessage).request;
        outcomes.set(making.request, making);
        making = undefined; // only the first request: the upgrade
      },
    ],
    [
      'undici:client:sendHeaders',
      (m) => {
        const { request, socket } = m as SendHeadersMessage;
        const outcome = outcomes.get(request);
        if (outcome) outcome.socket = socket;
      },
    ],
    [
      'undici:request:headers',
      (m) => {
        const { request, response } = m as HeadersMessage;
        const outcome = outcomes.get(request);
        if (!outcome) return;
        outcome.status = response.statusCode;
        outcome.statusText = response.statusText;
        outcome.subprotocol = headerValue(response.headers, 'sec-websocket-protocol');
      },
    ],
    [
      'undici:request:error',
      (m) => {
        const { request, error } = m as ErrorMessage;
        const outcome = outcomes.get(request);
        if (outcome) outcome.error ??= error;
      },
    ],
  ];
  const listen = (on: boolean): void => {
    for (const [name, fn] of channels) {
      if (on) dc.subscribe(name, fn);
      else dc.unsubscribe(name, fn);
    }
  };

  return (make) => {
    const outcome: Outcome = {};
    let stopped = false;
    const stop = (failed: boolean): void => {
      if (stopped) return;
      stopped = true;
      // The server switched protocols (101) and the WebSocket then refused the handshake (say, no
      // subprotocol): Node 24 and 26 leave that connection open, for nobody, and each retry would
      // keep another. Only that one: after any other answer the connection went back to undici's
      // pool, and after a socket error there is none.
      if (failed && outcome.status === 101) outcome.socket?.destroy();
      if (outcome.request) outcomes.delete(outcome.request);
      if (--openings === 0) listen(false);
    };
    if (openings++ === 0) listen(true);
    making = outcome;
    let socket: WebSocketLike;
    try {
      socket = make();
    } catch (err) {
      stop(true);
      throw err;
    } finally {
      making = undefined;
    }
    return { socket, cause: () => explain(outcome), stop };
  };
}

/** The outcome as an error a TransportError can carry: undici's own, or one saying what the server answered. */
function explain(o: Outcome): unknown {
  if (o.error !== undefined) return o.error;
  if (o.status === undefined) return undefined;
  if (o.status !== 101) return new Error(`the server answered the upgrade with HTTP ${o.status}${o.statusText ? ` ${o.statusText}` : ''}, not 101 Switching Protocols`);
  if (o.subprotocol === undefined) return new Error('the server accepted the upgrade but chose no subprotocol (mqtt is required)');
  if (o.subprotocol !== 'mqtt') return new Error(`the server chose subprotocol "${o.subprotocol}", not mqtt`);
  return new Error('the server answered the upgrade with an invalid WebSocket handshake');
}

/** A header's value from undici's raw list [name, value, name, value, ...] (Buffers or strings). */
function headerValue(raw: unknown[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (String(raw[i]).toLowerCase() === name) return String(raw[i + 1]);
  }
  return undefined;
}
