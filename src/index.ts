/**
 * The Node entry point (also resolved by Deno and Bun): TCP, TLS and WebSocket transports.
 */
import { MqttClientBase } from './client.js';
import type { ClientOptions, ProtocolVersion } from './options.js';
import { nodeTransportFor } from './transport/select-node.js';
import type { TransportFactory } from './transport/transport.js';

export * from './exports.js';

/** `V` is the protocol version the options chose (`protocolVersion: 5`); it types what publish() and unsubscribe() resolve. */
export class MqttClient<V extends ProtocolVersion = 4> extends MqttClientBase<V> {
  protected selectTransport(url: URL): Promise<TransportFactory> {
    return nodeTransportFor(url);
  }
}

/** Creates a client and connects it. */
export async function connect<V extends ProtocolVersion = 4>(url: string | URL, options: ClientOptions & { protocolVersion?: V } = {}): Promise<MqttClient<V>> {
  const client = new MqttClient<V>(url, options);
  await client.connect({ signal: options.signal });
  return client;
}
