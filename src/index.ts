/**
 * The Node entry point (also resolved by Deno and Bun): TCP, TLS and WebSocket transports.
 */
import { MqttClientBase } from './client.js';
import type { ClientOptions } from './options.js';
import { nodeTransportFor } from './transport/select-node.js';
import type { TransportFactory } from './transport/transport.js';

export * from './exports.js';

export class MqttClient extends MqttClientBase {
  protected selectTransport(url: URL): Promise<TransportFactory> {
    return nodeTransportFor(url);
  }
}

/** Creates a client and connects it. */
export async function connect(url: string | URL, options: ClientOptions = {}): Promise<MqttClient> {
  const client = new MqttClient(url, options);
  await client.connect({ signal: options.signal });
  return client;
}
