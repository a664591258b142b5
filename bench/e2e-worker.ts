/**
 * One side of an end-to-end benchmark run, in its own process (started by bench/e2e.ts):
 *
 *   node --import tsx bench/e2e-worker.ts <pub|sub> <mqttwire|mqttjs|mqttjs-await> <qos> <count> <url> [topic]
 *
 * Payloads are 64 bytes: the message's sequence number as 10 ASCII digits, then filler. The
 * subscriber prints `ready` once its SUBACK is in, then counts messages until it has `count` or
 * nothing arrived for IDLE_MS. The publisher prints `ready` once connected, then waits for a `go`
 * line on stdin (so both processes can start up at the same time). Each side prints one
 * `result {json}` line. CPU time is process.cpuUsage() around the work only (not startup,
 * connect or teardown).
 *
 * mqttwire is loaded from $MQTTWIRE_E2E_CLIENT (the URL of an index.js compiled from src by
 * bench/e2e.ts, i.e. what the package ships) or, without it, from src through tsx.
 */
import type { IClientOptions } from 'mqtt';
import { FIRST_MESSAGE_MS, IDLE_MS, payloadSeq, payloadText, Tally, type Cpu, type PubResult, type QoS, type Role, type SubResult } from './e2e-shared.js';

type Mqttwire = typeof import('../src/index.js');
type MqttJs = typeof import('mqtt');

async function loadMqttwire(): Promise<Mqttwire> {
  const compiled = process.env.MQTTWIRE_E2E_CLIENT;
  return compiled ? ((await import(compiled)) as Mqttwire) : import('../src/index.js');
}

async function loadMqttjs(): Promise<MqttJs> {
  return (await import('mqtt')).default;
}

function cpuSince(start: NodeJS.CpuUsage): Cpu {
  const d = process.cpuUsage(start);
  return { user: d.user, system: d.system };
}

function emit(result: SubResult | PubResult): void {
  // stdout is a pipe: synchronous on Linux, so the line is out before the process exits.
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

/** The publisher is connected and has its payloads: says `ready`, then waits for `go` on stdin. */
async function readyToPublish(): Promise<void> {
  process.stdout.write('ready\n');
  await new Promise<void>((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (!text.includes('\n')) return;
      process.stdin.off('data', onData);
      process.stdin.pause();
      if (text.startsWith('go')) resolve();
      else reject(new Error(`expected "go" on stdin, got ${JSON.stringify(text)}`));
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => reject(new Error('stdin closed before "go"')));
  });
}

function makePayloads(count: number): Buffer[] {
  const out = new Array<Buffer>(count);
  for (let i = 0; i < count; i++) out[i] = Buffer.from(payloadText(i), 'latin1');
  return out;
}

/**
 * Calls `onIdle` when no message was counted for IDLE_MS (FIRST_MESSAGE_MS before the first).
 * Polls instead of re-arming a timer per message, so the watch costs the same for every library.
 */
function idleWatch(tally: Tally, onIdle: () => void): () => void {
  let last = -1;
  let quietSince = performance.now();
  const timer = setInterval(() => {
    const n = tally.received + tally.duplicates;
    const now = performance.now();
    if (n !== last) {
      last = n;
      quietSince = now;
      return;
    }
    if (now - quietSince >= (n === 0 ? FIRST_MESSAGE_MS : IDLE_MS)) onIdle();
  }, 100);
  return () => clearInterval(timer);
}

// ---------------------------------------------------------------------------------------------
// mqttwire

async function subMqttwire(url: string, topic: string, qos: QoS, count: number): Promise<void> {
  const { connect } = await loadMqttwire();
  const client = await connect(url, { clientId: `e2e-sub-mqttwire-${process.pid}` });
  const sub = await client.subscribe(topic, { qos });
  const tally = new Tally(count);
  let timedOut = false;
  process.stdout.write('ready\n');
  const cpu0 = process.cpuUsage();
  const stopWatch = idleWatch(tally, () => {
    timedOut = true;
    void sub.unsubscribe();
  });
  for await (const msg of sub) {
    if (tally.add(payloadSeq(msg.payload), performance.now())) break;
  }
  const cpu = cpuSince(cpu0);
  stopWatch();
  emit({ role: 'sub', received: tally.received, duplicates: tally.duplicates, outOfOrder: tally.outOfOrder, elapsedMs: tally.lastAt - tally.firstAt, cpu, timedOut });
  await client.end({ timeout: 1000 });
}

async function pubMqttwire(url: string, topic: string, qos: QoS, count: number): Promise<void> {
  const { connect } = await loadMqttwire();
  const client = await connect(url, { clientId: `e2e-pub-mqttwire-${process.pid}` });
  const payloads = makePayloads(count);
  await readyToPublish();
  let errors = 0;
  let firstError: string | undefined;
  const onError = (err: unknown): void => {
    if (errors++ === 0) firstError = String(err);
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // Fire and forget: nothing is awaited until every message has been handed over.
  const pending = new Array<Promise<void>>(count);
  for (let i = 0; i < count; i++) pending[i] = client.publish(topic, payloads[i] as Buffer, { qos }).catch(onError);
  await Promise.all(pending);
  const elapsedMs = performance.now() - t0;
  const cpu = cpuSince(cpu0);
  emit({ role: 'pub', sent: count, errors, elapsedMs, cpu, ...(firstError ? { firstError } : {}) });
  await client.end();
}

// ---------------------------------------------------------------------------------------------
// MQTT.js

function mqttjsOptions(role: Role): IClientOptions {
  return { clientId: `e2e-${role}-mqttjs-${process.pid}`, protocolVersion: 4, clean: true, reconnectPeriod: 0 };
}

async function subMqttjs(url: string, topic: string, qos: QoS, count: number): Promise<void> {
  const mqtt = await loadMqttjs();
  const client = await mqtt.connectAsync(url, mqttjsOptions('sub'));
  const tally = new Tally(count);
  let timedOut = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  client.on('message', (_topic, payload) => {
    if (tally.add(payloadSeq(payload), performance.now())) finish();
  });
  client.on('close', () => finish());
  await client.subscribeAsync(topic, { qos });
  process.stdout.write('ready\n');
  const cpu0 = process.cpuUsage();
  const stopWatch = idleWatch(tally, () => {
    timedOut = true;
    finish();
  });
  await finished;
  const cpu = cpuSince(cpu0);
  stopWatch();
  emit({ role: 'sub', received: tally.received, duplicates: tally.duplicates, outOfOrder: tally.outOfOrder, elapsedMs: tally.lastAt - tally.firstAt, cpu, timedOut });
  await client.endAsync();
}

async function pubMqttjs(url: string, topic: string, qos: QoS, count: number, awaitEach: boolean): Promise<void> {
  const mqtt = await loadMqttjs();
  const client = await mqtt.connectAsync(url, mqttjsOptions('pub'));
  const payloads = makePayloads(count);
  await readyToPublish();
  let errors = 0;
  let firstError: string | undefined;
  const onError = (err: unknown): void => {
    if (errors++ === 0) firstError = String(err);
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (awaitEach) {
    for (let i = 0; i < count; i++) await client.publishAsync(topic, payloads[i] as Buffer, { qos }).catch(onError);
  } else {
    // The loop MQTT.js users write. Only the last publish gets a callback, to learn when everything
    // has completed: acknowledgements come in order (MQTT-4.6.0), and at QoS 0 the callback of a
    // write the socket did not take at once waits for 'drain'. (A callback on every QoS 0 publish
    // would add one 'drain' listener per message, which MQTT.js then removes in quadratic time.)
    const last = count - 1;
    await new Promise<void>((resolve) => {
      client.once('close', () => {
        onError(new Error('the connection closed before every publish completed'));
        resolve();
      });
      for (let i = 0; i < last; i++) client.publish(topic, payloads[i] as Buffer, { qos });
      client.publish(topic, payloads[last] as Buffer, { qos }, (err) => {
        if (err) onError(err);
        resolve();
      });
    });
  }
  const elapsedMs = performance.now() - t0;
  const cpu = cpuSince(cpu0);
  emit({ role: 'pub', sent: count, errors, elapsedMs, cpu, ...(firstError ? { firstError } : {}) });
  await client.endAsync();
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const [role, lib, qosText, countText, url, topicArg] = argv;
  const qos = Number(qosText);
  const count = Number(countText);
  const usage = 'usage: e2e-worker.ts <pub|sub> <mqttwire|mqttjs|mqttjs-await> <0|1|2> <count> <url> [topic]';
  if ((role !== 'pub' && role !== 'sub') || (qos !== 0 && qos !== 1 && qos !== 2) || !Number.isSafeInteger(count) || count < 1 || !url) {
    throw new Error(usage);
  }
  const topic = topicArg ?? 'mqttwire/bench/e2e';
  if (lib === 'mqttwire') await (role === 'sub' ? subMqttwire(url, topic, qos, count) : pubMqttwire(url, topic, qos, count));
  else if (lib === 'mqttjs' || lib === 'mqttjs-await') {
    await (role === 'sub' ? subMqttjs(url, topic, qos, count) : pubMqttjs(url, topic, qos, count, lib === 'mqttjs-await'));
  } else throw new Error(usage);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`e2e-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
