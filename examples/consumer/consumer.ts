/**
 * A subscription consumer: a QoS 1 worker that takes jobs from `jobs/#` and works on at most
 * CONCURRENCY of them at a time. On SIGTERM or SIGINT it stops cleanly: it ends the client (no new
 * jobs arrive), finishes every job it already received, then exits.
 *
 *   npx tsx examples/consumer/consumer.ts                                 # embedded broker
 *   MQTT_URL=mqtt://broker:1883 CONCURRENCY=8 npx tsx examples/consumer/consumer.ts
 *
 * Environment: MQTT_URL, MQTT_CLIENT_ID (default jobs-worker-1), JOBS_FILTER (default jobs/#),
 * CONCURRENCY (default 4), WORK_MS (how long the stand-in work takes, default 200).
 *
 * Why nothing is lost:
 *  - The session is persistent (clean: false, a fixed client id): while the worker is stopped the
 *    broker keeps its subscription and queues new jobs for it, and delivers them when it is back.
 *  - The client acknowledges a QoS 1 message (PUBACK) when it receives it, so every message it has
 *    handed to the subscription must be worked on: the loop below reads the subscription to its
 *    end, also while stopping.
 *  - The subscription buffers about `highWaterMark` messages (one socket read can overshoot it by
 *    the small messages already in that read); when the workers are all busy the loop stops
 *    reading, the buffer fills, and the client stops reading the socket (overflow 'block'), so the
 *    broker holds the rest. A crash (not a clean stop) can therefore lose the jobs in progress and
 *    those in that buffer: they were acknowledged, the broker will not send them again.
 *  - QoS 1 is "at least once": a message that arrives while the worker is stopping, after its
 *    DISCONNECT, is worked on but can no longer be acknowledged, so the broker sends it again on
 *    the next start. Make jobs idempotent (or remember recent job ids).
 */
import { connect, type Message } from 'mqttwire';
import { startEmbeddedBroker } from '../../src/cli/embedded-broker.js';

const log = (line: string): void => console.log(`${new Date().toISOString()} ${line}`);

// No MQTT_URL: an in-process aedes broker, so the example runs with no setup (as `npm run demo` does).
const embedded = process.env.MQTT_URL ? undefined : await startEmbeddedBroker();
const url = process.env.MQTT_URL ?? (embedded as { url: string }).url;
const filter = process.env.JOBS_FILTER ?? 'jobs/#';
const concurrency = Math.max(1, Number(process.env.CONCURRENCY ?? 4));
const workMs = Number(process.env.WORK_MS ?? 200);

const client = await connect(url, {
  clientId: process.env.MQTT_CLIENT_ID ?? 'jobs-worker-1',
  clean: false,
});
const sub = await client.subscribe(filter, { qos: 1, highWaterMark: concurrency });
log(`subscribed to ${filter} on ${url}: up to ${concurrency} jobs at a time`);

let stopping = false;
function stop(signal: string): void {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping: no new jobs; finishing the ones received`);
  // DISCONNECT: the broker sends no more (and keeps queueing for this session); the subscription
  // then ends after the messages it already holds, which the loop below still works on.
  void client.end();
}
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));

let inProgress = 0;
let done = 0;
let failed = 0;

/** The stand-in for real work (a database write, an HTTP call ...). */
async function work(msg: Message): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, workMs));
  if (msg.payload.byteLength === 0) throw new Error('empty job');
}

async function handle(msg: Message): Promise<void> {
  const job = msg.text();
  inProgress++;
  log(`start ${job} (${msg.topic}; ${inProgress} in progress)`);
  try {
    await work(msg);
    done++;
    log(`done ${job}`);
  } catch (err) {
    failed++;
    log(`failed ${job}: ${(err as Error).message}`);
  } finally {
    inProgress--;
  }
}

const running = new Set<Promise<void>>();
// Not `break` on stop: leaving the loop early would drop what the subscription still holds.
for await (const msg of sub) {
  // A free slot first: while all are busy, no further message is taken from the subscription.
  while (running.size >= concurrency) await Promise.race(running);
  const job = handle(msg);
  running.add(job);
  void job.finally(() => running.delete(job));
}
await Promise.all(running);
await client.end(); // already ended by a signal; otherwise the connection was lost for good
await embedded?.close();
log(`stopped: ${done} jobs done, ${failed} failed`);
