import { InvalidArgumentError, TransportError } from '../errors.js';
import { loadNet, urlHost } from './node-tcp.js';
import { nodeTlsOptions, tlsErrorMapper } from './node-tls.js';
import { undiciOpeningWatch, type DiagnosticsChannels } from './node-ws-diagnosis.js';
import type { TlsOptions, TransportFactory } from './transport.js';
import { webSocketTransport, type WebSocketConstructor, type WebSocketLike } from './websocket.js';

type LoadWs = () => Promise<unknown>;

export interface NodeWebSocketChoice {
  /** Loads the `ws` package (default: `import('ws')`). */
  loadWs?: LoadWs;
  /** The runtime's WebSocket (default: `globalThis.WebSocket`, read once); null: there is none. */
  globalWebSocket?: WebSocketConstructor | null;
}

/**
 * ws:// and wss:// for Node. The global WebSocket (Node 22+) when there is one and no TLS option
 * asks for more than it can do; otherwise the `ws` package (an optional peer dependency), loaded
 * only now, so nobody who never opens a ws:// URL needs it. `ws` takes the TLS options node:tls
 * takes (ca, cert, key, servername, rejectUnauthorized, ALPN); the global WebSocket takes none.
 * Either way a failure gets the same code: TLS_ERROR for a certificate or handshake failure,
 * CONNECTION_REFUSED_BY_HOST for a refused port (the global WebSocket's reason comes from its undici,
 * see node-ws-diagnosis.ts).
 */
export function nodeWebSocketTransport(choice: NodeWebSocketChoice = {}): TransportFactory {
  const loadWs = choice.loadWs ?? (() => import('ws'));
  const globalCtor = choice.globalWebSocket === undefined ? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket : choice.globalWebSocket;
  let wsFactory: Promise<TransportFactory> | undefined;
  let globalFactory: Promise<TransportFactory> | undefined;

  return async (url, handlers, options) => {
    const tlsAsked = url.protocol === 'wss:' && asksForTls(options);
    if (typeof globalCtor === 'function' && !tlsAsked) {
      globalFactory ??= globalWebSocketFactory(globalCtor);
      return (await globalFactory)(url, handlers, options);
    }
    if (!wsFactory) {
      wsFactory = loadWsFactory(loadWs, url, tlsAsked);
      // A failed load is not kept: after `npm install ws` the next attempt works without a restart.
      wsFactory.catch(() => (wsFactory = undefined));
    }
    return (await wsFactory)(url, handlers, options);
  };
}

/** TLS failures are TLS_ERROR, whichever WebSocket met them (a refused port is left to the generic mapping). */
function mapNodeError(cause: unknown, where: string): TransportError | undefined {
  return typeof cause === 'object' && cause !== null ? tlsErrorMapper(where)(cause as NodeJS.ErrnoException) : undefined;
}

async function globalWebSocketFactory(Ctor: WebSocketConstructor): Promise<TransportFactory> {
  // Without node:diagnostics_channel (not Node) failures keep what the WebSocket's own error says.
  const dc = await import('node:diagnostics_channel').then(
    (m: DiagnosticsChannels) => (typeof m.subscribe === 'function' && typeof m.unsubscribe === 'function' ? m : undefined),
    () => undefined,
  );
  if (!dc) return webSocketTransport(Ctor);
  const watch = undiciOpeningWatch(dc);
  // Only what undici told (a Node socket's error, as ws would have met it) is mapped like ws's errors.
  // The runtime's own error event keeps the generic mapping: Deno's and Bun's (which also run this
  // entry, and say nothing on these channels) name certificate failures in their own words.
  const told = new WeakSet<object>();
  return webSocketTransport(Ctor, {
    watchOpening: (make) => {
      const opening = watch(make);
      const cause = (): unknown => {
        const c = opening.cause();
        if (typeof c === 'object' && c !== null) told.add(c);
        return c;
      };
      return { socket: opening.socket, cause, stop: opening.stop };
    },
    mapError: (cause, where) => (typeof cause === 'object' && cause !== null && told.has(cause) ? mapNodeError(cause, where) : undefined),
  });
}

/** Only the settings the global WebSocket cannot honour (rejectUnauthorized: true is its default). */
function asksForTls(o: TlsOptions): boolean {
  return o.ca !== undefined || o.cert !== undefined || o.key !== undefined || o.servername !== undefined || o.alpnProtocols !== undefined || o.rejectUnauthorized === false;
}

async function loadWsFactory(loadWs: LoadWs, url: URL, tlsAsked: boolean): Promise<TransportFactory> {
  let WebSocket: WebSocketCtorWithOptions | undefined;
  try {
    const mod = (await loadWs()) as { WebSocket?: WebSocketCtorWithOptions; default?: WebSocketCtorWithOptions };
    WebSocket = mod.WebSocket ?? mod.default;
  } catch (err) {
    if (!isModuleNotFound(err)) throw err;
  }
  if (typeof WebSocket !== 'function') {
    const why = tlsAsked ? 'with TLS options needs' : 'needs';
    throw new InvalidArgumentError(`${url.protocol}// ${why} the "ws" package on this Node (no suitable global WebSocket): npm install ws`);
  }
  const Ctor = WebSocket;
  const { isIP } = await loadNet();
  return webSocketTransport(undefined, {
    create: (href, protocols, options) => {
      const target = new URL(href);
      // ws hands these to tls.connect for wss://. No permessage-deflate: a zlib context per
      // connection costs more memory than MQTT's mostly small, often binary payloads save.
      const tls = target.protocol === 'wss:' ? nodeTlsOptions(urlHost(target), options, isIP) : {};
      return new Ctor(href, protocols, { ...tls, perMessageDeflate: false });
    },
    mapError: mapNodeError,
  });
}

type WebSocketCtorWithOptions = new (url: string, protocols: string[], options: object) => WebSocketLike;

function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}
