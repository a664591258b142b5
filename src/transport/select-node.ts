import { InvalidArgumentError } from '../errors.js';
import type { TransportFactory } from './transport.js';

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
    default:
      throw new InvalidArgumentError(`unsupported URL scheme "${url.protocol}" (supported: mqtt://, tcp://)`);
  }
}
