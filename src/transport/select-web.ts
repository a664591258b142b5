import { InvalidArgumentError } from '../errors.js';
import type { TransportFactory } from './transport.js';
import { webSocketTransport, type WebSocketConstructor } from './websocket.js';

/**
 * The transports of the browser entry point: the page's own WebSocket for ws:// and wss://, and
 * nothing else (a browser cannot open a TCP or TLS socket). No Node built-in is reachable from here.
 * The WebSocket constructor is looked up on each connect, so a page (or test) that installs its
 * own `globalThis.WebSocket` after loading mqttwire is honoured.
 */
export function webTransportFor(url: URL): Promise<TransportFactory> {
  switch (url.protocol) {
    case 'ws:':
    case 'wss:': {
      // The DOM typing of send() takes only ArrayBuffer-backed views; the codec's bytes always are.
      const WebSocketCtor = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (typeof WebSocketCtor !== 'function') {
        return Promise.reject(new InvalidArgumentError('this runtime has no global WebSocket; pass options.transport'));
      }
      return Promise.resolve(webSocketTransport(WebSocketCtor));
    }
    default:
      return Promise.reject(
        new InvalidArgumentError(`unsupported URL scheme "${url.protocol}": browsers can only use ws:// or wss://; pass options.transport for anything else`),
      );
  }
}
