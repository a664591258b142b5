/**
 * The browser entry point (package.json exports condition `browser`): WebSocket only, over the
 * page's own `WebSocket`. Nothing here or below imports a Node built-in, so bundlers need no
 * polyfills (test/bundle/browser-bundle.test.ts checks the bundle's inputs).
 */
import { MqttClientBase } from './client.js';
import type { ClientOptions } from './options.js';
import { webTransportFor } from './transport/select-web.js';
import type { TransportFactory } from './transport/transport.js';

export * from './exports.js';

/**
 * An MQTT client over the page's WebSocket (`ws://`, `wss://`). The constructor checks the URL and
 * options and throws InvalidArgumentError for bad ones; nothing goes on the network until `connect()`.
 */
export class MqttClient extends MqttClientBase {
  protected selectTransport(url: URL): Promise<TransportFactory> {
    return webTransportFor(url);
  }
}

/** Creates a client and connects it: `new MqttClient(url, options)`, then `connect()` with `options.signal`. */
export async function connect(url: string | URL, options: ClientOptions = {}): Promise<MqttClient> {
  const client = new MqttClient(url, options);
  await client.connect({ signal: options.signal });
  return client;
}
