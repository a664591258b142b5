/**
 * The browser entry point (package.json exports condition `browser`): WebSocket only, over the
 * page's own `WebSocket`. Nothing here or below imports a Node built-in, so bundlers need no
 * polyfills (test/bundle/browser-bundle.test.ts checks the bundle's inputs).
 */
import { MqttClientBase } from './client.js';
import type { ClientOptions, ProtocolVersion } from './options.js';
import { webTransportFor } from './transport/select-web.js';
import type { TransportFactory } from './transport/transport.js';

export * from './exports.js';

/**
 * An MQTT client over the page's WebSocket (`ws://`, `wss://`). The constructor checks the URL and
 * options and throws InvalidArgumentError for bad ones; nothing goes on the network until `connect()`.
 */
export class MqttClient<V extends ProtocolVersion = 4> extends MqttClientBase<V> {
  protected selectTransport(url: URL): Promise<TransportFactory> {
    return webTransportFor(url);
  }
}

/** Creates a client and connects it: `new MqttClient(url, options)`, then `connect()` with `options.signal`. */
export async function connect<V extends ProtocolVersion = 4>(url: string | URL, options: ClientOptions & { protocolVersion?: V } = {}): Promise<MqttClient<V>> {
  const client = new MqttClient<V>(url, options);
  await client.connect({ signal: options.signal });
  return client;
}
