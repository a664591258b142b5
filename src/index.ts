/**
 * The Node entry point (also resolved by Deno and Bun): TCP, TLS and WebSocket transports.
 *
 * The browser entry (WebSocket only) and the workerd entry (Cloudflare Workers) export the same API;
 * only the transports behind `MqttClient` differ. See docs/client.md for the whole of it.
 *
 * @module mqttwire
 */
import { MqttClientBase } from './client.js';
import type { ClientOptions, ProtocolVersion } from './options.js';
import { nodeTransportFor } from './transport/select-node.js';
import type { TransportFactory } from './transport/transport.js';

export * from './exports.js';

/**
 * An MQTT client over TCP (`mqtt://`), TLS (`mqtts://`) or WebSocket (`ws://`, `wss://`). The
 * constructor checks the URL and options and throws InvalidArgumentError for bad ones; nothing
 * goes on the network until `connect()`.
 */
export class MqttClient<V extends ProtocolVersion = 4> extends MqttClientBase<V> {
  protected selectTransport(url: URL): Promise<TransportFactory> {
    return nodeTransportFor(url);
  }
}

/** Creates a client and connects it: `new MqttClient(url, options)`, then `connect()` with `options.signal`. */
export async function connect<V extends ProtocolVersion = 4>(url: string | URL, options: ClientOptions & { protocolVersion?: V } = {}): Promise<MqttClient<V>> {
  const client = new MqttClient<V>(url, options);
  await client.connect({ signal: options.signal });
  return client;
}
