/**
 * examples/serverless-node/handler.ts against aedes, as a platform would call it: the first
 * invocation connects, warm invocations reuse the connection, a connection the broker dropped
 * between invocations is replaced, and shutdown() ends with DISCONNECT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type MqttClient } from '../../src/index.js';
import type { Subscription } from '../../src/subscription.js';
import { startAedes, type AedesHandle } from '../helpers/aedes.js';

type Handler = typeof import('../../examples/serverless-node/handler.js');

describe('examples/serverless-node', () => {
  let broker: AedesHandle;
  let example: Handler;
  let watcher: MqttClient;
  let sub: Subscription;
  const topic = 'examples/serverless';
  const env = { MQTT_URL: process.env.MQTT_URL, MQTT_TOPIC: process.env.MQTT_TOPIC };
  const sigtermListeners = process.listeners('SIGTERM');

  beforeAll(async () => {
    broker = await startAedes();
    process.env.MQTT_URL = broker.url;
    process.env.MQTT_TOPIC = topic;
    example = await import('../../examples/serverless-node/handler.js');
    watcher = await connect(broker.url, { clientId: 'watcher', reconnect: false });
    sub = await watcher.subscribe(topic, { qos: 1 });
  });
  afterAll(async () => {
    await example?.shutdown();
    await watcher?.end();
    await broker?.close();
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    // The example installs a SIGTERM handler at import; leave the test process as it was.
    for (const l of process.listeners('SIGTERM')) if (!sigtermListeners.includes(l)) process.off('SIGTERM', l);
  });

  // Not for-await: leaving such a loop would unsubscribe.
  const next = async (): Promise<string> => {
    const r = await sub[Symbol.asyncIterator]().next();
    if (r.done) throw new Error('subscription ended');
    return r.value.text();
  };
  const handlerClients = (): string[] => broker.events.flatMap((e) => (e.type === 'client' && e.clientId !== 'watcher' ? [e.clientId] : []));

  it('connects on the first invocation and reuses the connection while warm', async () => {
    const first = await example.handler({ body: 'one' });
    expect(first.statusCode).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ published: topic, bytes: 3 });
    expect(await next()).toBe('one');
    await example.handler({ body: 'two' });
    await example.handler({ path: '/x' });
    expect(await next()).toBe('two');
    expect(JSON.parse(await next())).toEqual({ path: '/x' });
    expect(handlerClients()).toHaveLength(1);
  });

  it('connects again when the broker dropped the connection between invocations', async () => {
    const [id] = handlerClients();
    const clients = (broker.broker as unknown as { clients: Record<string, { conn: { destroy(): void } }> }).clients;
    clients[id as string]?.conn.destroy();
    await broker.waitFor('clientDisconnect', (e) => e.clientId === id);
    // Whether the client has seen the close yet (client() replaces it) or not (the publish fails on the
    // stale connection and is retried on a new one), the invocation must publish on a new connection.
    await example.handler({ body: 'three' });
    expect(await next()).toBe('three');
    expect(handlerClients()).toHaveLength(2);
  });

  it('shutdown() ends the connection with DISCONNECT', async () => {
    const id = handlerClients().at(-1) as string;
    await example.shutdown();
    const gone = await broker.waitFor('clientDisconnect', (e) => e.clientId === id && e.sentDisconnect);
    expect(gone.sentDisconnect).toBe(true);
  });
});
