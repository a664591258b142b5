/**
 * The workerd entry point (package.json exports conditions `workerd` and `worker`: Cloudflare
 * Workers, wrangler, miniflare): mqtt:// and mqtts:// through `cloudflare:sockets`, ws:// and
 * wss:// through the runtime's WebSocket. Nothing here or below imports a Node built-in.
 */
import { MqttClientBase } from './client.js';
import type { ClientOptions, ProtocolVersion } from './options.js';
import { workerdTransportFor } from './transport/select-workerd.js';
import type { TransportFactory } from './transport/transport.js';

export * from './exports.js';

/**
 * An MQTT client in Cloudflare Workers: `mqtt://` and `mqtts://` over `cloudflare:sockets`, `ws://` and
 * `wss://` over the runtime's WebSocket. The constructor checks the URL and options and throws
 * InvalidArgumentError for bad ones; nothing goes on the network until `connect()`.
 */
export class MqttClient<V extends ProtocolVersion = 4> extends MqttClientBase<V> {
  protected selectTransport(url: URL): Promise<TransportFactory> {
    return workerdTransportFor(url);
  }
}

/** Creates a client and connects it: `new MqttClient(url, options)`, then `connect()` with `options.signal`. */
export async function connect<V extends ProtocolVersion = 4>(url: string | URL, options: ClientOptions & { protocolVersion?: V } = {}): Promise<MqttClient<V>> {
  const client = new MqttClient<V>(url, options);
  await client.connect({ signal: options.signal });
  return client;
}
