import { InvalidArgumentError } from '../errors.js';
import { openTcp } from './node-tcp.js';
import { openTls } from './node-tls.js';
import { nodeWebSocketTransport } from './node-ws.js';
import type { TransportFactory } from './transport.js';

let webSocket: TransportFactory | undefined;

/**
 * The transports of the Node entry point (also used by Deno and Bun, which provide node:net and
 * node:tls). The adapters are small and bundled with the client; the Node built-ins and the `ws`
 * package behind them are imported on first use, so a process that only speaks mqtt:// never
 * loads node:tls.
 */
export async function nodeTransportFor(url: URL): Promise<TransportFactory> {
  switch (url.protocol) {
    case 'mqtt:':
    case 'tcp:':
      return openTcp;
    case 'mqtts:':
    case 'ssl:':
    case 'tls:':
      return openTls;
    case 'ws:':
    case 'wss:':
      // One factory per process: it keeps the loaded `ws` package (or knows there is none).
      return (webSocket ??= nodeWebSocketTransport());
    default:
      throw new InvalidArgumentError(`unsupported URL scheme "${url.protocol}" (supported: mqtt://, tcp://, mqtts://, ssl://, tls://, ws://, wss://)`);
  }
}
