/**
 * A Node serverless function (AWS Lambda, Google Cloud Functions, Azure Functions, Vercel's Node
 * runtime...) that publishes one MQTT message (QoS 1) per invocation.
 *
 * The connection is opened lazily on the first invocation and kept in module scope, so warm
 * invocations of the same instance reuse it: one TCP/TLS handshake and CONNECT per instance, not
 * per request. Between invocations the platform may freeze the process; the connection can then
 * be gone (the broker timed it out) without the client having noticed yet. So each invocation
 * checks the client, and a publish that fails on a stale connection is retried once on a new one.
 *
 *   MQTT_URL=mqtts://broker.example.com:8883 MQTT_USERNAME=fn MQTT_PASSWORD=... MQTT_TOPIC=events
 */
import { connect, InvalidArgumentError, type MqttClient } from 'mqttwire';

/** The connection of this instance, shared by its invocations (a promise: concurrent first calls share one connect). */
let shared: Promise<MqttClient> | undefined;

function open(): Promise<MqttClient> {
  const url = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
  return connect(url, {
    username: process.env.MQTT_USERNAME,
    password: process.env.MQTT_PASSWORD,
    // A frozen instance cannot reconnect in the background; the next invocation reconnects instead.
    reconnect: false,
    // Keep every wait well inside the function's own time limit.
    connectTimeout: 5_000,
    ackTimeout: 5_000,
    keepalive: 60,
  });
}

/** The instance's connected client: the one from a previous invocation while it is up, else a new one. */
async function client(): Promise<MqttClient> {
  const current = shared;
  if (current) {
    const c = await current.catch(() => undefined);
    if (c?.connected) return c;
    if (shared !== current) return client(); // a concurrent invocation is already reconnecting
    c?.destroy(); // dropped, or failed to connect: start over
  }
  const opening = open();
  shared = opening;
  return opening;
}

async function publish(topic: string, payload: string): Promise<void> {
  const c = await client();
  try {
    await c.publish(topic, payload, { qos: 1 }); // resolves on PUBACK
  } catch (err) {
    // A bad topic or payload is the caller's error; anything else is the connection's.
    if (err instanceof InvalidArgumentError) throw err;
    c.destroy(); // stale: client() below opens a new one
    const fresh = await client();
    await fresh.publish(topic, payload, { qos: 1 }); // QoS 1 is at least once: a retry may duplicate
  }
}

export interface Event {
  body?: string | null;
  [key: string]: unknown;
}

/** The function: publishes the event's body (or the whole event) and reports where. */
export async function handler(event: Event): Promise<{ statusCode: number; body: string }> {
  const topic = process.env.MQTT_TOPIC ?? 'serverless/events';
  const payload = typeof event.body === 'string' ? event.body : JSON.stringify(event);
  await publish(topic, payload);
  return { statusCode: 200, body: JSON.stringify({ published: topic, bytes: new TextEncoder().encode(payload).length }) };
}

/**
 * Ends the connection cleanly: waits for in-flight acknowledgements, sends DISCONNECT. Platforms
 * that warn before stopping an instance send SIGTERM (Cloud Run, Knative, Azure; AWS Lambda when
 * an extension is registered); elsewhere the broker sees the connection drop and cleans up after
 * its keepalive.
 */
export async function shutdown(): Promise<void> {
  const current = await shared?.catch(() => undefined);
  shared = undefined;
  await current?.end({ timeout: 2_000 });
}

process.once('SIGTERM', () => {
  void shutdown().finally(() => process.exit(0));
});
