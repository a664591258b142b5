import { InvalidArgumentError } from '../errors.js';
import type { TransportFactory } from './transport.js';
import type { WebSocketConstructor, WebSocketLike } from './websocket.js';

/**
 * The transports of the workerd entry point (Cloudflare Workers, miniflare, wrangler dev):
 * mqtt:// and mqtts:// over `connect()` from `cloudflare:sockets`, ws:// and wss:// over the
 * runtime's own WebSocket (`new WebSocket(url, 'mqtt')`). No Node built-in is reachable from here.
 */
export async function workerdTransportFor(url: URL): Promise<TransportFactory> {
  switch (url.protocol) {
    case 'mqtt:':
    case 'tcp:':
    case 'mqtts:':
    case 'ssl:':
    case 'tls:':
      return (await import('./cloudflare-sockets.js')).cloudflareSocketsTransport();
    case 'ws:':
    case 'wss:': {
      // Read as the WHATWG shape webSocketTransport uses: workerd honours onopen/onmessage/...,
      // though @cloudflare/workers-types declares only addEventListener for them.
      const WebSocketCtor = (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (typeof WebSocketCtor !== 'function') throw new InvalidArgumentError('this runtime has no global WebSocket; pass options.transport');
      const [{ webSocketTransport }, { checkTlsOptions }] = await Promise.all([import('./websocket.js'), import('./cloudflare-sockets.js')]);
      const factory = webSocketTransport(WebSocketCtor, {
        create: (href, protocols) => withBufferedAmount(new WebSocketCtor(href, protocols)),
      });
      // The Workers WebSocket takes no TLS settings either: refuse them rather than ignore them.
      return async (target, handlers, options) => {
        if (target.protocol === 'wss:') checkTlsOptions(target, options);
        return factory(target, handlers, options);
      };
    }
    default:
      throw new InvalidArgumentError(`unsupported URL scheme "${url.protocol}" (supported in workerd: mqtt://, mqtts://, ws://, wss://)`);
  }
}

/**
 * workerd's WebSocket has no `bufferedAmount` (it is undefined: sends are queued without a bound),
 * which webSocketTransport would read as "always above the high-water mark" and so report every
 * write as full. Nothing is known to be buffered, so it reads 0 here.
 */
function withBufferedAmount(ws: WebSocketLike): WebSocketLike {
  if (typeof ws.bufferedAmount !== 'number') Object.defineProperty(ws, 'bufferedAmount', { get: () => 0, configurable: true });
  return ws;
}
