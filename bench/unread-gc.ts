/**
 * A measurement, not a benchmark (run by hand: `npx tsx bench/unread-gc.ts [seconds] [--busy]`): does
 * the garbage collector ever find a subscription the application dropped unread, while the client is
 * stalled on it and the application is idle? It decides whether the client may rely on a
 * FinalizationRegistry to free itself from such a subscription (docs/client.md says why it does not).
 *
 * A real Node process (no --expose-gc), a real Mosquitto, the client from src/: the application
 * subscribes, drops the Subscription without reading it, a publisher fills it past highWaterMark so the
 * client stops reading, and then nothing happens but keepalive. stallTimeout is 0 here, so the client's
 * own remedy stays out of the way. With --busy the process first allocates for a few seconds, like a
 * service that has been running a while.
 */
import { MqttClient, type Subscription } from '../src/index.js';
import { startMosquitto } from '../test/helpers/mosquitto-process.js';

const seconds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 120);
const busy = process.argv.includes('--busy');
const t0 = Date.now();
const log = (line: string): void => console.log(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${line}`);

const broker = await startMosquitto();
let finalized: number | undefined;
const registry = new FinalizationRegistry<string>((what) => {
  finalized = Date.now() - t0;
  log(`finalized: ${what}`);
});

if (busy) {
  let keep: Uint8Array[] = [];
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    keep.push(new Uint8Array(1024));
    if (keep.length > 20_000) keep = [];
  }
  keep = [];
  log('busy phase over');
}

const client = new MqttClient(broker.url, { clientId: 'gc-probe', keepalive: 5, highWaterMark: 10, stallTimeout: 0, reconnect: false });
await client.connect();
await (async () => {
  const dropped: Subscription = await client.subscribe('unread/#', { qos: 1 });
  registry.register(dropped, 'the unread subscription');
})();
const publisher = new MqttClient(broker.url, { clientId: 'gc-probe-pub' });
await publisher.connect();
for (let i = 0; i < 100; i++) await publisher.publish('unread/x', `message ${i}`, { qos: 1 });
await publisher.end();
log(`stalled: ${client.stats().messagesIn} of 100 messages read; the application is idle from now`);

const deadline = Date.now() + seconds * 1000;
while (finalized === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1000));
log(finalized === undefined ? `not finalized within ${seconds} s` : `finalized ${finalized} ms after start`);
log(`memory: heapUsed ${(process.memoryUsage().heapUsed / 1e6).toFixed(1)} MB`);
client.destroy();
await broker.stop();
