/**
 * One side of an end-to-end benchmark run, in its own process (started by bench/e2e.ts):
 *
 *   node --import tsx bench/e2e-worker.ts <pub|sub|rtt> <mqttwire|mqttwire-direct|mqttjs|mqttjs-await> <qos> <count> <url> [topic] [gap ms] [protocol 4|5] [topic aliases auto|off] [inflight window N|default]
 *
 * Both libraries connect at the given protocol level (`protocolVersion`, 4 by default; 5 is MQTT 5)
 * and publish the same messages: no properties, so a v5 row measures the v5 code paths, not extra bytes.
 * At MQTT 5 mqttwire gives its topic a broker alias (`topicAliases: 'auto'`, the default) unless told `off`.
 * mqttwire's `inflightWindow` is its default (20) unless a number is given.
 *
 * Payloads are 64 bytes: the message's sequence number as 10 ASCII digits, then filler. The
 * subscriber prints `ready` once its SUBACK is in, then counts messages until it has `count` or
 * nothing arrived for IDLE_MS. The publisher prints `ready` once connected, then waits for a `go`
 * line on stdin (so both processes can start up at the same time). Each side prints one
 * `result {json}` line. CPU time is process.cpuUsage() around the work only (not startup,
 * connect or teardown), and so are the read and write system calls (Linux: /proc/self/io).
 *
 * `rtt`: one client subscribes to the topic and publishes to it, one message in flight at a time,
 * waiting `gap ms` (default 0) between a message's arrival and the next publish; it reports every
 * round trip (publish called to message received) after WARMUP_RTT unreported ones.
 *
 * mqttwire-direct is mqttwire with read coalescing off (tcpTransport({ coalesceReads: false })):
 * the Node transport as it was before coalescing, to compare with in the same run.
 *
 * mqttwire is loaded as bench/worker-imports.ts says: as it ships, or from src through tsx.
 */
import fs from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { ClientOptions } from '../src/index.js';
import {
  FIRST_MESSAGE_MS,
  IDLE_MS,
  payloadSeq,
  payloadText,
  Tally,
  type Cpu,
  type Protocol,
  type PubResult,
  type QoS,
  type Role,
  type RttResult,
  type SubResult,
  type Syscalls,
  type WorkerLib,
} from './e2e-shared.js';
import { loadMqttjs, loadMqttwire, loadNodeTcp } from './worker-imports.js';

type Mqttwire = typeof import('../src/index.js');

/** Round trips measured but not reported, while the code warms up. */
const WARMUP_RTT = 200;

interface LoadedMqttwire {
  connect: Mqttwire['connect'];
  /** Options every client of this variant gets (the transport of mqttwire-direct). */
  options: ClientOptions;
}

/** Set from the command line: `off` runs mqttwire at MQTT 5 with topicAliases 'off'. */
let topicAliases: 'auto' | 'off' = 'auto';
/** Set from the command line: mqttwire's inflightWindow (undefined: its default). */
let inflightWindow: number | undefined;

async function loadVariant(lib: WorkerLib, protocol: Protocol): Promise<LoadedMqttwire> {
  const { connect } = await loadMqttwire();
  const level: ClientOptions = protocol === 5 && topicAliases === 'off' ? { protocolVersion: 5, topicAliases } : { protocolVersion: protocol };
  if (inflightWindow !== undefined) level.inflightWindow = inflightWindow;
  if (lib !== 'mqttwire-direct') return { connect, options: level };
  const tcp = await loadNodeTcp();
  return { connect, options: { ...level, transport: tcp.tcpTransport({ coalesceReads: false }) } };
}

/** Read and write system calls so far (Linux), or undefined. */
function syscallsNow(): Syscalls | undefined {
  try {
    const text = fs.readFileSync('/proc/self/io', 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { reads: field('syscr'), writes: field('syscw') };
  } catch {
    return undefined;
  }
}

/** Starts counting: call the result to get the system calls since (minus the one /proc read it costs). */
function countSyscalls(): () => Syscalls | undefined {
  const start = syscallsNow();
  return () => {
    const end = syscallsNow();
    return start && end ? { reads: end.reads - start.reads - 1, writes: end.writes - start.writes } : undefined;
  };
}

function cpuSince(start: NodeJS.CpuUsage): Cpu {
  const d = process.cpuUsage(start);
  return { user: d.user, system: d.system };
}

function emit(result: SubResult | PubResult | RttResult): void {
  // stdout is a pipe: synchronous on Linux, so the line is out before the process exits.
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

function subResult(tally: Tally, cpu: Cpu, syscalls: Syscalls | undefined, timedOut: boolean): SubResult {
  const r: SubResult = { role: 'sub', received: tally.received, duplicates: tally.duplicates, outOfOrder: tally.outOfOrder, elapsedMs: tally.lastAt - tally.firstAt, cpu, timedOut };
  if (syscalls) r.syscalls = syscalls;
  return r;
}

function pubResult(sent: number, errors: number, elapsedMs: number, cpu: Cpu, syscalls: Syscalls | undefined, firstError: string | undefined): PubResult {
  const r: PubResult = { role: 'pub', sent, errors, elapsedMs, cpu };
  if (syscalls) r.syscalls = syscalls;
  if (firstError) r.firstError = firstError;
  return r;
}

/** Counts errors and keeps the first one's text. */
function errorCounter(): { onError(err: unknown): void; readonly errors: number; readonly firstError: string | undefined } {
  let errors = 0;
  let firstError: string | undefined;
  return {
    onError(err) {
      if (errors++ === 0) firstError = String(err);
    },
    get errors() {
      return errors;
    },
    get firstError() {
      return firstError;
    },
  };
}

/**
 * The round-trip loop shared by both libraries: `send(i)` publishes message i and resolves once
 * it has arrived (and, at QoS 1/2, once the publish completed); the loop times each one.
 */
async function roundTrips(count: number, gapMs: number, send: (i: number) => Promise<number>): Promise<{ samplesUs: number[]; cpu: Cpu }> {
  const samplesUs: number[] = [];
  let cpu0 = process.cpuUsage();
  for (let i = 0; i < WARMUP_RTT + count; i++) {
    if (i === WARMUP_RTT) cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const arrivedAt = await send(i);
    if (i >= WARMUP_RTT) samplesUs.push(Math.round((arrivedAt - t0) * 1000));
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return { samplesUs, cpu: cpuSince(cpu0) };
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

async function subMqttwire(lib: WorkerLib, protocol: Protocol, url: string, topic: string, qos: QoS, count: number): Promise<void> {
  const { connect, options } = await loadVariant(lib, protocol);
  const client = await connect(url, { ...options, clientId: `e2e-sub-mqttwire-${process.pid}` });
  const sub = await client.subscribe(topic, { qos });
  const tally = new Tally(count);
  let timedOut = false;
  process.stdout.write('ready\n');
  const syscalls = countSyscalls();
  const cpu0 = process.cpuUsage();
  const stopWatch = idleWatch(tally, () => {
    timedOut = true;
    void sub.unsubscribe();
  });
  for await (const msg of sub) {
    if (tally.add(payloadSeq(msg.payload), performance.now())) break;
  }
  const cpu = cpuSince(cpu0);
  const sys = syscalls();
  stopWatch();
  emit(subResult(tally, cpu, sys, timedOut));
  await client.end({ timeout: 1000 });
}

async function pubMqttwire(lib: WorkerLib, protocol: Protocol, url: string, topic: string, qos: QoS, count: number): Promise<void> {
  const { connect, options } = await loadVariant(lib, protocol);
  const client = await connect(url, { ...options, clientId: `e2e-pub-mqttwire-${process.pid}` });
  const payloads = makePayloads(count);
  await readyToPublish();
  let errors = 0;
  let firstError: string | undefined;
  const onError = (err: unknown): void => {
    if (errors++ === 0) firstError = String(err);
  };
  const syscalls = countSyscalls();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // Fire and forget: nothing is awaited until every message has been handed over.
  const pending = new Array<Promise<void>>(count);
  for (let i = 0; i < count; i++) pending[i] = client.publish(topic, payloads[i] as Buffer, { qos }).catch(onError);
  await Promise.all(pending);
  const elapsedMs = performance.now() - t0;
  const cpu = cpuSince(cpu0);
  emit(pubResult(count, errors, elapsedMs, cpu, syscalls(), firstError));
  await client.end();
}

async function rttMqttwire(lib: WorkerLib, protocol: Protocol, url: string, topic: string, qos: QoS, count: number, gapMs: number): Promise<void> {
  const { connect, options } = await loadVariant(lib, protocol);
  const client = await connect(url, { ...options, clientId: `e2e-rtt-mqttwire-${process.pid}` });
  const sub = await client.subscribe(topic, { qos });
  const messages = sub[Symbol.asyncIterator]();
  const payloads = makePayloads(WARMUP_RTT + count);
  const errors = errorCounter();
  const { samplesUs, cpu } = await roundTrips(count, gapMs, async (i) => {
    const published = client.publish(topic, payloads[i] as Buffer, { qos }).catch(errors.onError);
    const next = await messages.next();
    const arrivedAt = performance.now();
    if (next.done || payloadSeq(next.value.payload) !== i) errors.onError(new Error(`expected message ${i}, got ${next.done ? 'the end' : payloadSeq(next.value.payload)}`));
    await published;
    return arrivedAt;
  });
  emit({ role: 'rtt', samplesUs, cpu, errors: errors.errors, ...(errors.firstError ? { firstError: errors.firstError } : {}) });
  await client.end({ timeout: 1000 });
}

// ---------------------------------------------------------------------------------------------
// MQTT.js

function mqttjsOptions(role: Role, protocol: Protocol): IClientOptions {
  return { clientId: `e2e-${role}-mqttjs-${process.pid}`, protocolVersion: protocol, clean: true, reconnectPeriod: 0 };
}

async function subMqttjs(protocol: Protocol, url: string, topic: string, qos: QoS, count: number): Promise<void> {
  const mqtt = await loadMqttjs();
  const client = await mqtt.connectAsync(url, mqttjsOptions('sub', protocol));
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
  const syscalls = countSyscalls();
  const cpu0 = process.cpuUsage();
  const stopWatch = idleWatch(tally, () => {
    timedOut = true;
    finish();
  });
  await finished;
  const cpu = cpuSince(cpu0);
  const sys = syscalls();
  stopWatch();
  emit(subResult(tally, cpu, sys, timedOut));
  await client.endAsync();
}

async function pubMqttjs(protocol: Protocol, url: string, topic: string, qos: QoS, count: number, awaitEach: boolean): Promise<void> {
  const mqtt = await loadMqttjs();
  const client = await mqtt.connectAsync(url, mqttjsOptions('pub', protocol));
  const payloads = makePayloads(count);
  await readyToPublish();
  let errors = 0;
  let firstError: string | undefined;
  const onError = (err: unknown): void => {
    if (errors++ === 0) firstError = String(err);
  };
  const syscalls = countSyscalls();
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
  emit(pubResult(count, errors, elapsedMs, cpu, syscalls(), firstError));
  await client.endAsync();
}

async function rttMqttjs(protocol: Protocol, url: string, topic: string, qos: QoS, count: number, gapMs: number): Promise<void> {
  const mqtt = await loadMqttjs();
  const client = await mqtt.connectAsync(url, mqttjsOptions('rtt', protocol));
  let arrived: ((seq: number) => void) | undefined;
  client.on('message', (_topic, payload) => arrived?.(payloadSeq(payload)));
  await client.subscribeAsync(topic, { qos });
  const payloads = makePayloads(WARMUP_RTT + count);
  const errors = errorCounter();
  const { samplesUs, cpu } = await roundTrips(count, gapMs, async (i) => {
    let arrivedAt = 0;
    const message = new Promise<void>((resolve) => {
      arrived = (seq) => {
        arrivedAt = performance.now();
        if (seq !== i) errors.onError(new Error(`expected message ${i}, got ${seq}`));
        resolve();
      };
    });
    const published = new Promise<void>((resolve) =>
      client.publish(topic, payloads[i] as Buffer, { qos }, (err) => {
        if (err) errors.onError(err);
        resolve();
      }),
    );
    await Promise.all([message, published]);
    return arrivedAt;
  });
  emit({ role: 'rtt', samplesUs, cpu, errors: errors.errors, ...(errors.firstError ? { firstError: errors.firstError } : {}) });
  await client.endAsync();
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const [role, lib, qosText, countText, url, topicArg, gapText, protocolText, aliasesText, windowText] = argv;
  const qos = Number(qosText);
  const count = Number(countText);
  const gapMs = Number(gapText ?? 0);
  const protocol = Number(protocolText ?? 4);
  const usage = 'usage: e2e-worker.ts <pub|sub|rtt> <mqttwire|mqttwire-direct|mqttjs|mqttjs-await> <0|1|2> <count> <url> [topic] [gap ms] [protocol 4|5] [topic aliases auto|off] [inflight window N|default]';
  const libs: WorkerLib[] = ['mqttwire', 'mqttwire-direct', 'mqttjs', 'mqttjs-await'];
  if (
    (role !== 'pub' && role !== 'sub' && role !== 'rtt') ||
    !libs.includes(lib as WorkerLib) ||
    (qos !== 0 && qos !== 1 && qos !== 2) ||
    (protocol !== 4 && protocol !== 5) ||
    (aliasesText !== undefined && aliasesText !== 'auto' && aliasesText !== 'off') ||
    !Number.isSafeInteger(count) ||
    count < 1 ||
    !url ||
    !(gapMs >= 0) ||
    (windowText !== undefined && windowText !== 'default' && !(Number(windowText) >= 1))
  ) {
    throw new Error(usage);
  }
  if (aliasesText === 'off') topicAliases = 'off';
  if (windowText !== undefined && windowText !== 'default') inflightWindow = Number(windowText);
  const topic = topicArg ?? 'mqttwire/bench/e2e';
  const which = lib as WorkerLib;
  if (which === 'mqttwire' || which === 'mqttwire-direct') {
    if (role === 'sub') await subMqttwire(which, protocol, url, topic, qos, count);
    else if (role === 'pub') await pubMqttwire(which, protocol, url, topic, qos, count);
    else await rttMqttwire(which, protocol, url, topic, qos, count, gapMs);
  } else if (role === 'sub') await subMqttjs(protocol, url, topic, qos, count);
  else if (role === 'pub') await pubMqttjs(protocol, url, topic, qos, count, which === 'mqttjs-await');
  else await rttMqttjs(protocol, url, topic, qos, count, gapMs);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`e2e-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
