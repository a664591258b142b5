import { InvalidArgumentError } from '../errors.js';
import type { TransportFactory } from './transport.js';

/**
 * Picks the transport for a URL. Adapters are loaded on demand, so a bundle for a runtime
 * without node:net never pulls it in.
 */
export async function transportFor(url: URL): Promise<TransportFactory> {
  switch (url.protocol) {
    case 'mqtt:':
    case 'tcp:':
      return (await import('./node-tcp.js')).openTcp;
    default:
      throw new InvalidArgumentError(`unsupported URL scheme "${url.protocol}" (supported: mqtt://, tcp://)`);
  }
}
