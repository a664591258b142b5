/**
 * examples/service/service.ts as it is deployed: a child process (node --import tsx) against aedes,
 * stopped with SIGTERM while readings are unacknowledged. The broker holds its PUBACKs (an async
 * authorizePublish that waits on a gate) so the shutdown has work to finish; every reading the
 * service accepted must then reach a subscriber, once and in order, before it exits with code 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type MqttClient } from '../../src/index.js';
import { startAedes, type AedesHandle } from '../helpers/aedes.js';
import { describeResult, killAllChildren } from '../helpers/child.js';
import { EXAMPLE_LIMIT_MS, exampleEnv, runExample } from './run-example.js';

const TOPIC = 'examples/service/temperature';

/** The number of the last reading the service has logged as accepted. */
function lastAccepted(stdout: string): number {
  return Math.max(0, ...[...stdout.matchAll(/reading (\d+) accepted/g)].map((m) => Number(m[1])));
}

describe('examples/service', () => {
  let broker: AedesHandle;
  let watcher: MqttClient;
  const received: number[] = [];
  let holding = false;
  const held: (() => void)[] = [];

  beforeAll(async () => {
    broker = await startAedes({
      // While `holding`, the service's publishes wait here: no PUBACK, no delivery.
      authorizePublish: (clientId) =>
        holding && clientId?.startsWith('sensor-service-') ? new Promise<boolean>((resolve) => held.push(() => resolve(true))) : true,
    });
    watcher = await connect(broker.url, { clientId: 'watcher', reconnect: false });
    const sub = await watcher.subscribe(TOPIC, { qos: 1 });
    void (async () => {
      for await (const msg of sub) received.push(msg.json<{ seq: number }>().seq);
    })();
  });
  afterAll(async () => {
    killAllChildren();
    await watcher?.end();
    await broker?.close();
  });

  it(
    'SIGTERM: every accepted reading is acknowledged and delivered before the process exits 0',
    async () => {
      const service = runExample('examples/service/service.ts', exampleEnv({ MQTT_URL: broker.url, MQTT_TOPIC: TOPIC, READING_INTERVAL_MS: '10' }));
      await service.waitFor('stdout', /reading 5 acknowledged/);

      // From now on the broker holds every PUBACK; the service keeps taking readings.
      holding = true;
      await service.waitFor('stdout', new RegExp(`reading ${lastAccepted(service.stdout()) + 5} accepted`));

      service.kill('SIGTERM');
      const [, pending] = await service.waitFor('stdout', /SIGTERM: shutting down, (\d+) readings not yet acknowledged/);
      // The positive control: the shutdown had readings to finish (at least the five held above).
      expect(Number(pending)).toBeGreaterThanOrEqual(5);

      holding = false;
      for (const release of held.splice(0)) release();
      const r = await service.done;
      expect(r.code, describeResult('service', r)).toBe(0);

      const stopped = /stopped: (\d+) readings, (\d+) acknowledged, (\d+) failed/.exec(r.stdout);
      expect(stopped, r.stdout.slice(-2000)).not.toBeNull();
      const [, taken, acknowledged, failed] = (stopped as RegExpExecArray).map(Number);
      expect({ acknowledged, failed }).toEqual({ acknowledged: taken, failed: 0 });
      // Nothing was taken after the signal.
      expect(r.stdout.slice(r.stdout.indexOf('SIGTERM:'))).not.toMatch(/accepted/);

      // Every reading reached a subscriber, once, in order; and the service said goodbye with DISCONNECT.
      await expect.poll(() => received.length, { timeout: 5_000 }).toBe(taken);
      expect(received).toEqual(Array.from({ length: taken as number }, (_, i) => i + 1));
      const gone = await broker.waitFor('clientDisconnect', (e) => e.clientId.startsWith('sensor-service-'));
      expect(gone.sentDisconnect).toBe(true);
    },
    EXAMPLE_LIMIT_MS + 10_000,
  );

  it(
    'logs the connection status; readings taken while the broker dropped it are delivered after the reconnect',
    async () => {
      const topic = `${TOPIC}/reconnect`;
      const got: number[] = [];
      const sub = await watcher.subscribe(topic, { qos: 1 });
      void (async () => {
        for await (const msg of sub) got.push(msg.json<{ seq: number }>().seq);
      })();
      const service = runExample('examples/service/service.ts', exampleEnv({ MQTT_URL: broker.url, MQTT_TOPIC: topic, READING_INTERVAL_MS: '20' }));
      await service.waitFor('stdout', /reading 3 acknowledged/);
      const clientId = broker.events.flatMap((e) => (e.type === 'client' && e.clientId.startsWith('sensor-service-') ? [e.clientId] : [])).at(-1);

      // The broker drops the connection (as a broker restart or a network cut would).
      const clients = (broker.broker as unknown as { clients: Record<string, { conn: { destroy(): void } }> }).clients;
      clients[clientId as string]?.conn.destroy();
      await service.waitFor('stdout', /status: disconnected: /);
      await service.waitFor('stdout', /status: reconnecting to mqtt:\/\/\S+ in \d+ ms \(attempt 1\)/);
      await service.waitFor('stdout', /status: connected to mqtt:\/\/\S+ \(session present: false\)/);
      await service.waitFor('stdout', new RegExp(`reading ${lastAccepted(service.stdout()) + 3} acknowledged`));

      service.kill('SIGINT');
      const r = await service.done;
      expect(r.code, describeResult('service', r)).toBe(0);
      const [, taken, acknowledged, failed] = (/stopped: (\d+) readings, (\d+) acknowledged, (\d+) failed/.exec(r.stdout) ?? []).map(Number);
      expect({ acknowledged, failed }).toEqual({ acknowledged: taken, failed: 0 });
      expect(r.stdout).toMatch(/status: closed\n.*stopped: /);
      // QoS 1 across a dropped connection: each reading at least once (a re-sent one may arrive twice).
      await expect.poll(() => new Set(got).size, { timeout: 5_000 }).toBe(taken);
      expect([...new Set(got)].sort((a, b) => a - b)).toEqual(Array.from({ length: taken as number }, (_, i) => i + 1));
    },
    EXAMPLE_LIMIT_MS + 10_000,
  );
});
