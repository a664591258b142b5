import { InvalidArgumentError } from '../errors.js';
import type { TransportFactory } from './transport.js';

let webSocket: TransportFactory | undefined;

/**
 * The transports of the Node entry point (also used by Deno and Bun, which provide node:net and
 * node:tls). Adapters are loaded on first use, so a process that only speaks mqtt:// never loads
 * TLS or WebSocket code.
 */
export async function nodeTransportFor(url: URL): Promise<TransportFactory> {
  switch (url.protocol) {
    case 'mqtt:':
    case 'tcp:':
      return (await import('./node-tcp.js')).openTcp;
    case 'mqtts:':
    case 'ssl:':
    case 'tls:':
      return (await import('./node-tls.js')).openTls;
    case 'ws:':
    case 'wss:':
      // One factory per process: it keeps the loaded `ws` package (or knows there is none).
      return (webSocket ??= (await import('./node-ws.js')).nodeWebSocketTransport());
    default:
      throw new InvalidArgumentError(`unsupported URL scheme "${url.protocol}" (supported: mqtt://, tcp://, mqtts://, ssl://, tls://, ws://, wss://)`);
  }
}
