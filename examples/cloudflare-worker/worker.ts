/**
 * A Cloudflare Worker that publishes one MQTT message (QoS 1) per request, then answers.
 *
 * `mqttwire` resolves to its workerd entry here (wrangler bundles with the `workerd` condition):
 * mqtt:// and mqtts:// go through `connect()` of cloudflare:sockets, ws:// and wss:// through the
 * Workers WebSocket. No `nodejs_compat` flag is needed.
 *
 * A stateless Worker cannot keep a connection between requests (an I/O object belongs to the
 * request that made it), so each request connects, publishes and ends; the DISCONNECT is sent
 * after the response, through ctx.waitUntil. For one long-lived connection, hold the client in
 * a Durable Object instead.
 */
import { connect } from 'mqttwire';

export interface Env {
  /** mqtts://broker.example.com:8883, wss://broker.example.com/mqtt, ... (wrangler.toml [vars]). */
  MQTT_URL: string;
  /** Topic to publish to (default "worker/requests"). */
  MQTT_TOPIC?: string;
  MQTT_USERNAME?: string;
  /** A secret: `wrangler secret put MQTT_PASSWORD`. */
  MQTT_PASSWORD?: string;
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const topic = env.MQTT_TOPIC ?? 'worker/requests';
    const client = await connect(env.MQTT_URL, {
      username: env.MQTT_USERNAME,
      password: env.MQTT_PASSWORD,
      // Nothing outlives the request: no reconnecting, short timeouts.
      reconnect: false,
      connectTimeout: 10_000,
      ackTimeout: 10_000,
    });
    try {
      const url = new URL(request.url);
      const message = { method: request.method, path: url.pathname, at: new Date().toISOString(), colo: request.cf?.colo };
      await client.publish(topic, JSON.stringify(message), { qos: 1 }); // resolves on PUBACK
      // Answer now; the DISCONNECT goes out while the runtime keeps the request alive.
      ctx.waitUntil(client.end());
      return Response.json({ published: topic, message });
    } catch (err) {
      client.destroy();
      return Response.json({ error: err instanceof Error ? err.message : String(err) }, { status: 502 });
    }
  },
} satisfies ExportedHandler<Env>;
