import { InvalidArgumentError } from '../errors.js';
import { loadNet, urlHost } from './node-tcp.js';
import { nodeTlsOptions, tlsErrorMapper } from './node-tls.js';
import type { TlsOptions, TransportFactory } from './transport.js';
import { webSocketTransport, type WebSocketConstructor, type WebSocketLike } from './websocket.js';

type LoadWs = () => Promise<unknown>;

/**
 * ws:// and wss:// for Node. The global WebSocket (Node 22+) when there is one and no TLS option
 * asks for more than it can do; otherwise the `ws` package (an optional peer dependency), loaded
 * only now, so nobody who never opens a ws:// URL needs it. `ws` takes the TLS options node:tls
 * takes (ca, cert, key, servername, rejectUnauthorized, ALPN); the global WebSocket takes none.
 */
export function nodeWebSocketTransport(loadWs: LoadWs = () => import('ws')): TransportFactory {
  let wsFactory: Promise<TransportFactory> | undefined;
  const globalCtor = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const globalFactory = typeof globalCtor === 'function' ? webSocketTransport(globalCtor) : undefined;

  return async (url, handlers, options) => {
    const tlsAsked = url.protocol === 'wss:' && asksForTls(options);
    if (globalFactory && !tlsAsked) return globalFactory(url, handlers, options);
    if (!wsFactory) {
      wsFactory = loadWsFactory(loadWs, url, tlsAsked);
      // A failed load is not kept: after `npm install ws` the next attempt works without a restart.
      wsFactory.catch(() => (wsFactory = undefined));
    }
    return (await wsFactory)(url, handlers, options);
  };
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
    mapError: (cause, where) => tlsErrorMapper(where)(cause as NodeJS.ErrnoException),
  });
}

type WebSocketCtorWithOptions = new (url: string, protocols: string[], options: object) => WebSocketLike;

function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}
