/**
 * One side of `npm run bench:clients` (started by bench/clients.ts), in a process of its own:
 *
 *   node --expose-gc --import tsx bench/clients-worker.ts <mqttwire|mqttjs|raw> <count> <url> <topic prefix> <keepalive s> <concurrency> <idle ms> [breakdown]
 *
 * Opens `count` connections, at most `concurrency` at a time, each with its own client id and
 * keepalive, each subscribing (QoS 1) to `<topic prefix><i>`; prints `ready`, then waits for one
 * message on every topic (the parent publishes them). Then it measures the idle process for
 * `idle ms` (keepalive only), ends every client and prints one `result {json}` line.
 *
 * Memory is read after a full GC (--expose-gc), against the same reading before the first
 * connection; timers are the process's active `Timeout` resources (process.getActiveResourcesInfo).
 * `breakdown`: also two heap snapshots, before the first connection and after the messages, and
 * what grew between them, summed by constructor (what the clients are made of).
 *
 * `raw` is the floor: node:net sockets speaking MQTT by hand (CONNECT, SUBSCRIBE, PUBACK), one
 * shared interval sending PINGREQ on all of them, no client library.
 *
 * mqttwire and MQTT.js are loaded as bench/worker-imports.ts says.
 */
import net from 'node:net';
import type { Cpu } from './e2e-shared.js';
import { activeResources, gcNow, startHeapDiff, type BreakdownEntry } from './process-stats.js';
import { loadMqttjs, loadMqttwire } from './worker-imports.js';

export type ClientsLib = 'mqttwire' | 'mqttjs' | 'raw';
export type { BreakdownEntry };

export interface Memory {
  rss: number;
  heapUsed: number;
  /** Memory outside the V8 heap (Buffers, ArrayBuffers). */
  external: number;
}

export interface ClientsResult {
  lib: ClientsLib;
  count: number;
  /** Connect + SUBACK of every client, ms, and the CPU it took. */
  connectMs: number;
  connectCpu: Cpu;
  /** First to last of the `count` messages, ms; how many arrived. */
  deliverMs: number;
  received: number;
  /** After GC: before any client, with every client connected and its message in. */
  memBefore: Memory;
  memAfter: Memory;
  /** Active Timeout resources before any client, and with every client connected. */
  timersBefore: number;
  timersAfter: number;
  /** All active resources by kind, with every client connected. */
  resources: Record<string, number>;
  idleMs: number;
  idleCpu: Cpu;
  /** Ending every client, ms; active resources by kind afterwards. */
  endMs: number;
  resourcesAfterEnd: Record<string, number>;
  breakdown?: BreakdownEntry[];
  errors: number;
  firstError?: string;
}

/** Between the memory readings (forced GCs) and the idle window, ms. */
const IDLE_SETTLE_MS = 2000;
/** Waits this long for the messages before giving up on the missing ones. */
const DELIVERY_TIMEOUT_MS = 120_000;


/** The connections of one library; each reports its messages to the onMessage it was made with. */
interface Fleet {
  /** Opens connection `i` and subscribes it to `topic`. */
  open(i: number, topic: string): Promise<void>;
  endAll(): Promise<void>;
}

function memory(): Memory {
  gcNow();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

async function mqttwireFleet(url: string, keepalive: number, onMessage: () => void, onError: (e: unknown) => void): Promise<Fleet> {
  const { MqttClient } = await loadMqttwire();
  const clients: InstanceType<typeof MqttClient>[] = [];
  return {
    async open(i, topic) {
      const client = new MqttClient(url, { clientId: `bench-clients-mqttwire-${i}`, keepalive, reconnect: false });
      clients.push(client);
      await client.connect();
      const sub = await client.subscribe(topic, { qos: 1 });
      void (async () => {
        for await (const _ of sub) onMessage();
      })().catch(onError);
    },
    async endAll() {
      await Promise.all(clients.map((c) => c.end().catch(onError)));
    },
  };
}

async function mqttjsFleet(url: string, keepalive: number, onMessage: () => void, onError: (e: unknown) => void): Promise<Fleet> {
  const mqtt = await loadMqttjs();
  const clients: import('mqtt').MqttClient[] = [];
  return {
    async open(i, topic) {
      const client = await mqtt.connectAsync(url, { clientId: `bench-clients-mqttjs-${i}`, keepalive, protocolVersion: 4, reconnectPeriod: 0 });
      clients.push(client);
      client.on('message', () => onMessage());
      client.on('error', onError);
      await client.subscribeAsync(topic, { qos: 1 });
    },
    async endAll() {
      await Promise.all(clients.map((c) => c.endAsync().catch(onError)));
    },
  };
}

/** MQTT by hand: the cost of a connection with no client library at all. */
function rawFleet(url: string, keepalive: number, onMessage: () => void, onError: (e: unknown) => void): Fleet {
  const { hostname, port } = new URL(url);
  const sockets = new Set<net.Socket>();
  const pingreq = Buffer.from([0xc0, 0x00]);
  // One interval for every connection; each sent something within the last period at worst.
  const pinger = setInterval(() => {
    for (const s of sockets) s.write(pingreq);
  }, keepalive * 1000);
  const str = (s: string): Buffer => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const packet = (first: number, body: Buffer): Buffer => {
    const len: number[] = [];
    let n = body.length;
    do {
      len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>= 7;
    } while (n > 0);
    return Buffer.concat([Buffer.from([first, ...len]), body]);
  };
  return {
    open(i, topic) {
      return new Promise((resolve, reject) => {
        const socket = net.connect({ host: hostname, port: Number(port) });
        socket.setNoDelay(true);
        sockets.add(socket);
        socket.on('error', (e) => {
          onError(e);
          reject(e);
        });
        socket.on('close', () => sockets.delete(socket));
        socket.on('connect', () => {
          const connect = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, keepalive >> 8, keepalive & 0xff]), str(`bench-clients-raw-${i}`)]);
          socket.write(packet(0x10, connect));
          socket.write(packet(0x82, Buffer.concat([Buffer.from([0, 1]), str(topic), Buffer.from([1])])));
        });
        // Framing: the fixed header's type and Remaining Length, across chunk boundaries.
        let pending: Buffer = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => {
          pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
          for (;;) {
            let len = 0;
            let shift = 0;
            let pos = 1;
            for (;;) {
              if (pos >= pending.length) return;
              const b = pending[pos++] as number;
              len += (b & 0x7f) << shift;
              shift += 7;
              if (b < 0x80) break;
            }
            if (pending.length < pos + len) return;
            const type = (pending[0] as number) >> 4;
            if (type === 9) resolve();
            else if (type === 3) {
              const qos = ((pending[0] as number) >> 1) & 3;
              if (qos > 0) {
                const topicLen = pending.readUInt16BE(pos);
                socket.write(Buffer.from([0x40, 0x02, pending[pos + 2 + topicLen] as number, pending[pos + 3 + topicLen] as number]));
              }
              onMessage();
            }
            pending = pending.subarray(pos + len);
          }
        });
      });
    },
    async endAll() {
      clearInterval(pinger);
      const closing = [...sockets].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
      for (const s of sockets) s.end(Buffer.from([0xe0, 0x00]));
      await Promise.all(closing);
    },
  };
}

/** Runs `task(i)` for i < count with at most `limit` at a time. */
async function pool(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
}

async function main(argv: string[]): Promise<void> {
  const [lib, countText, url, prefix, keepaliveText, concurrencyText, idleText, breakdownFlag] = argv;
  const count = Number(countText);
  const keepalive = Number(keepaliveText);
  const concurrency = Number(concurrencyText);
  const idleMs = Number(idleText);
  if ((lib !== 'mqttwire' && lib !== 'mqttjs' && lib !== 'raw') || !(count > 0) || !url || !prefix || !(keepalive > 0) || !(concurrency > 0) || !(idleMs >= 0)) {
    throw new Error('usage: clients-worker.ts <mqttwire|mqttjs|raw> <count> <url> <topic prefix> <keepalive s> <concurrency> <idle ms> [breakdown]');
  }
  let errors = 0;
  let firstError: string | undefined;
  const onError = (e: unknown): void => {
    if (errors++ === 0) firstError = String(e);
  };
  let received = 0;
  let firstAt = 0;
  let lastAt = 0;
  let allIn!: () => void;
  const delivered = new Promise<void>((resolve) => (allIn = resolve));
  const onMessage = (): void => {
    const now = performance.now();
    if (received++ === 0) firstAt = now;
    lastAt = now;
    if (received === count) allIn();
  };

  const memBefore = memory();
  const timersBefore = activeResources().Timeout ?? 0;
  const heapDiff = breakdownFlag === 'breakdown' ? startHeapDiff() : undefined;
  const fleet = lib === 'mqttwire' ? await mqttwireFleet(url, keepalive, onMessage, onError) : lib === 'mqttjs' ? await mqttjsFleet(url, keepalive, onMessage, onError) : rawFleet(url, keepalive, onMessage, onError);

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pool(count, concurrency, (i) => fleet.open(i, `${prefix}${i}`));
  const connectMs = performance.now() - t0;
  const connectCpu = process.cpuUsage(cpu0);
  process.stdout.write('ready\n');

  let deliveryTimer: NodeJS.Timeout | undefined;
  await Promise.race([delivered, new Promise<void>((resolve) => (deliveryTimer = setTimeout(resolve, DELIVERY_TIMEOUT_MS)))]);
  clearTimeout(deliveryTimer);

  const memAfter = memory();
  const held = activeResources();
  // The forced GCs leave V8's background threads (sweeping, compaction) busy for a moment, and
  // their CPU counts as the process's: let them finish before the idle window opens.
  await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
  const idle0 = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, idleMs));
  const idleCpu = process.cpuUsage(idle0);
  const breakdown = heapDiff?.(40);

  const e0 = performance.now();
  await fleet.endAll();
  const endMs = performance.now() - e0;
  gcNow();
  // Let sockets that closed during end() release their handles before counting.
  await new Promise((resolve) => setTimeout(resolve, 100));

  const result: ClientsResult = {
    lib,
    count,
    connectMs,
    connectCpu,
    deliverMs: lastAt - firstAt,
    received,
    memBefore,
    memAfter,
    timersBefore,
    timersAfter: held.Timeout ?? 0,
    resources: held,
    idleMs,
    idleCpu,
    endMs,
    resourcesAfterEnd: activeResources(),
    errors,
    ...(firstError ? { firstError } : {}),
    ...(breakdown ? { breakdown } : {}),
  };
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`clients-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
