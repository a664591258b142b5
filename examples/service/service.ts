/**
 * A long-running service: publishes a sensor reading every READING_INTERVAL_MS at QoS 1, logs every
 * change of the connection (client.status()), and on SIGTERM or SIGINT stops taking readings and
 * ends the client with end(). end() sends every reading already accepted (in flight, or queued
 * while the broker was unreachable) and waits for its PUBACK before DISCONNECT, so a deploy or a
 * scale-down loses nothing.
 *
 *   npx tsx examples/service/service.ts                                  # embedded broker
 *   MQTT_URL=mqtts://broker.example.com:8883 npx tsx examples/service/service.ts
 *
 * Environment: MQTT_URL, MQTT_TOPIC (default sensors/<hostname>/temperature), READING_INTERVAL_MS
 * (default 1000). Exit code 0 when every reading was acknowledged, 1 otherwise.
 */
import os from 'node:os';
import { connect, type StatusEvent } from 'mqttwire';
import { startEmbeddedBroker } from '../../src/cli/embedded-broker.js';

const log = (line: string): void => console.log(`${new Date().toISOString()} ${line}`);

// No MQTT_URL: an in-process aedes broker, so the example runs with no setup (as `npm run demo` does).
const embedded = process.env.MQTT_URL ? undefined : await startEmbeddedBroker();
const url = process.env.MQTT_URL ?? (embedded as { url: string }).url;
const topic = process.env.MQTT_TOPIC ?? `sensors/${os.hostname()}/temperature`;
const intervalMs = Number(process.env.READING_INTERVAL_MS ?? 1000);

// Signals are watched from the start: a SIGTERM while connecting still ends cleanly.
const stopRequested = new Promise<string>((resolve) => {
  process.once('SIGTERM', () => resolve('SIGTERM'));
  process.once('SIGINT', () => resolve('SIGINT'));
});

const client = await connect(url, {
  clientId: `sensor-service-${process.pid}`,
  // Reconnect (the default) with backoff; readings taken while offline wait in the client's queue.
  reconnect: { initialDelay: 500, maxDelay: 30_000 },
});
log(`connected to ${url}, publishing to ${topic} every ${intervalMs} ms`);

function describe(ev: StatusEvent): string {
  switch (ev.type) {
    case 'connected':
      return `connected to ${ev.url} (session present: ${ev.sessionPresent})`;
    case 'disconnected':
      return `disconnected: ${ev.reason.message}`;
    case 'offline':
      return `offline, ${ev.queued} readings waiting`;
    case 'reconnecting':
      return `reconnecting to ${ev.url} in ${ev.delay} ms (attempt ${ev.attempt})`;
    case 'stalled':
      return `subscription ${ev.filters.join(', ')} full for ${ev.fullFor} ms`;
    case 'error':
      return `error: ${ev.error.message}`;
    case 'closed':
      return ev.error ? `closed: ${ev.error.message}` : 'closed';
  }
}
// The status stream ends when the client is closed.
const statusLog = (async () => {
  for await (const ev of client.status()) log(`status: ${describe(ev)}`);
})();

let taken = 0;
let acknowledged = 0;
const failed: number[] = [];
const outstanding = new Set<Promise<void>>();

function takeReading(): void {
  const seq = ++taken;
  const reading = { seq, at: new Date().toISOString(), celsius: Number((21 + 2 * Math.sin(seq / 10)).toFixed(2)) };
  // publish() accepts the reading at once (it is queued in order); the promise settles on PUBACK.
  const done = client.publish(topic, JSON.stringify(reading), { qos: 1 }).then(
    () => {
      acknowledged++;
      log(`reading ${seq} acknowledged`);
    },
    (err: Error & { code?: string }) => {
      failed.push(seq);
      log(`reading ${seq} failed: ${err.code ?? err.name}: ${err.message}`);
    },
  );
  outstanding.add(done);
  void done.finally(() => outstanding.delete(done));
  log(`reading ${seq} accepted`);
}

const timer = setInterval(takeReading, intervalMs);

// Runs until a signal, or until the client gives up by itself (a TLS or authorization failure that
// retrying cannot heal closes it, see docs/client.md).
const reason = await Promise.race([stopRequested, client.closed.then(() => 'closed', (err: Error) => `client closed (${err.message})`)]);
clearInterval(timer);
const { inflight, queued } = client.stats();
log(`${reason}: shutting down, ${taken - acknowledged - failed.length} readings not yet acknowledged (${inflight} in flight, ${queued} queued)`);

// Sends what is queued, waits (up to the endTimeout option, 10 s by default) for every
// acknowledgement, then DISCONNECT. Whatever could not be delivered rejects, and is counted above.
await client.end();
await Promise.all(outstanding);
await statusLog;
await embedded?.close();
log(`stopped: ${taken} readings, ${acknowledged} acknowledged, ${failed.length} failed${failed.length ? ` (${failed.join(', ')})` : ''}`);
process.exitCode = failed.length === 0 ? 0 : 1;
