/**
 * Shared plumbing for the client behaviour tests (test/client and test/interop):
 *  - `useHarness()`: brokers, fake brokers and clients that are always closed after each test;
 *  - `ManualTimers`: a hand-driven clock for the client's `timers` option (keepalive, ack and connect
 *    timeouts without sleeping and without faking the timers real sockets and brokers rely on);
 *  - small helpers to read from subscriptions and wait for conditions with a bound.
 */
import { afterEach, expect } from 'vitest';
import { MqttClient, type ClientOptions, type Message, type Subscription } from '../../src/index.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { startAedes, type AedesHandle, type StartAedesOptions } from '../helpers/aedes.js';
import { PacketType, startFakeBroker, toHex, type FakeBroker, type FakeConnection, type OnConnection } from '../helpers/fake-broker.js';
import { ackPacket, publishPacket } from '../helpers/mqtt-bytes.js';
import { startMosquitto, type MosquittoHandle, type StartMosquittoOptions } from '../helpers/mosquitto.js';

export { ManualTimers };

/**
 * Bounds that make a broken client fail fast instead of hanging a test. These suites test what
 * happens on one connection (a loss closes the client), so reconnecting is off here; the
 * reconnect suites (test/reconnect) turn it on.
 */
export const FAST: ClientOptions = { connectTimeout: 2000, ackTimeout: 5000, endTimeout: 3000, reconnect: false };

export interface Harness {
  aedes(opts?: StartAedesOptions): Promise<AedesHandle>;
  mosquitto(opts?: StartMosquittoOptions): Promise<MosquittoHandle>;
  fake(onConnection?: OnConnection): Promise<FakeBroker>;
  /** A new client (FAST bounds unless overridden), destroyed after the test. */
  client(url: string, options?: ClientOptions): MqttClient;
  /** `client()` + `connect()`. */
  connected(url: string, options?: ClientOptions): Promise<MqttClient>;
  /** Runs `fn` after the test (before the brokers close). */
  defer(fn: () => unknown): void;
}

/** Registers an afterEach that closes, newest first, everything made through the returned harness. */
export function useHarness(): Harness {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw errors[0];
  });
  const h: Harness = {
    async aedes(opts) {
      const b = await startAedes(opts);
      cleanups.push(() => b.close());
      return b;
    },
    async mosquitto(opts) {
      const m = await startMosquitto(opts);
      cleanups.push(() => m.stop());
      return m;
    },
    async fake(onConnection) {
      const f = await startFakeBroker(onConnection);
      cleanups.push(() => f.close());
      return f;
    },
    client(url, options = {}) {
      const c = new MqttClient(url, { ...FAST, ...options });
      cleanups.push(async () => {
        c.destroy();
        await c.closed.catch(() => {});
      });
      return c;
    },
    async connected(url, options) {
      const c = h.client(url, options);
      await c.connect();
      return c;
    },
    defer(fn) {
      cleanups.push(fn);
    },
  };
  return h;
}

/** Rejects with a clear message if `p` has not settled within `ms` (real time). */
export async function within<T>(p: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads exactly `n` messages (each within `ms`). */
export async function take(sub: Subscription, n: number, ms = 2000): Promise<Message[]> {
  const out: Message[] = [];
  for (let i = 0; i < n; i++) {
    const r = await within(sub.next(), ms, `message ${i + 1} of ${n} on ${JSON.stringify(sub.topicFilters)}`);
    if (r.done) throw new Error(`subscription ${JSON.stringify(sub.topicFilters)} ended after ${i} of ${n} messages`);
    out.push(r.value);
  }
  return out;
}

/** Polls `cond` every few ms until it holds; throws after `ms`. */
export async function until(cond: () => boolean, ms = 2000, what: string | (() => string) = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${typeof what === 'function' ? what() : what} not reached within ${ms} ms`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Lets pending promise callbacks and I/O callbacks run. */
export function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** A logger that keeps the lines; `out(kind)` / `in(kind)` list the packets sent / received of that kind. */
export class PacketLog {
  /** The lines without the client id each starts with. */
  readonly lines: string[] = [];
  /** The lines as the logger got them. */
  readonly raw: string[] = [];
  readonly logger = (line: string): void => {
    this.raw.push(line);
    this.lines.push(line.slice(line.indexOf(' ') + 1));
  };
  out(kind?: string): string[] {
    return this.lines.filter((l) => l.startsWith('> ') && (!kind || l.startsWith(`> ${kind}`)));
  }
  in(kind?: string): string[] {
    return this.lines.filter((l) => l.startsWith('< ') && (!kind || l.startsWith(`< ${kind}`)));
  }
}

/** Settlement state of a promise, observable synchronously (and never an unhandled rejection). */
export interface Tracked<T> {
  status: 'pending' | 'resolved' | 'rejected';
  value?: T;
  error?: unknown;
  promise: Promise<T>;
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { status: 'pending', promise };
  promise.then(
    (v) => {
      t.status = 'resolved';
      t.value = v;
    },
    (e: unknown) => {
      t.status = 'rejected';
      t.error = e;
    },
  );
  return t;
}

/** The error a promise rejects with (fails if it resolves). */
export async function rejection(p: Promise<unknown>, ms = 3000): Promise<unknown> {
  const outcome = await within(
    p.then(
      () => ({ ok: true as const }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    ms,
    'expected rejection',
  );
  if (outcome.ok) throw new Error('expected the promise to reject, but it resolved');
  return outcome.error;
}

/** Open TCP handles of this process (client and in-process broker sockets, servers). */
export function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;
}

/**
 * Records unhandled rejections and uncaught exceptions while active (vitest reports them too, but only
 * per file: this lets the test that caused one fail by name).
 */
export function watchProcessErrors(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const onError = (e: unknown): void => {
    errors.push(e);
  };
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  return {
    errors,
    stop() {
      process.off('unhandledRejection', onError);
      process.off('uncaughtException', onError);
    },
  };
}

/** A client connected to a fresh fake broker (the test's CONNACK 0 sent), on a ManualTimers clock, keepalive off by default. */
export async function connectToFake(
  h: Harness,
  options: ClientOptions = {},
): Promise<{ c: MqttClient; conn: FakeConnection; timers: ManualTimers; fake: FakeBroker }> {
  const timers = new ManualTimers();
  const fake = await h.fake();
  const c = h.client(fake.url, { keepalive: 0, timers, ...options });
  const connecting = c.connect();
  const conn = await fake.nextConnection();
  await conn.expectPacket(PacketType.CONNECT);
  conn.write('20 02 00 00');
  await within(connecting, 2000, 'connect');
  return { c, conn, timers, fake };
}

/** The probe's packet id: a PUBREL for it is answered with PUBCOMP and touches nothing else in the client. */
const PROBE_ID = 0xfffe;

/**
 * Shows the client wrote nothing since the last packet the test read, without a time window: the
 * fake broker sends a PUBREL nobody owes, and the very next packet must be its PUBCOMP. The client
 * handles what arrives in order, so anything it was going to write because of what happened before
 * (an ack, a timer already advanced, a promise chain) would come first; and the answer itself shows
 * the check sees packets. (The PUBCOMP counts as a packet sent for keepalive: keepalive tests use
 * `writtenDuring` instead.)
 */
export async function expectQuiet(conn: FakeConnection, ms = 1000): Promise<void> {
  conn.write(ackPacket('pubrel', PROBE_ID));
  const next = await conn.nextPacket(ms);
  expect(toHex(next), 'the first packet after the quiet probe must be its PUBCOMP').toBe(toHex(ackPacket('pubcomp', PROBE_ID)));
}

/**
 * Bytes the client wrote because of `step` (e.g. advancing its clock): counted once the write batch
 * `step` may have started has been flushed, so 0 means nothing at all was written.
 */
export async function writtenDuring(c: MqttClient, step: () => void): Promise<number> {
  const before = c.stats().bytesOut;
  step();
  await tick();
  return c.stats().bytesOut - before;
}

/** Proves the client still reads and answers: a QoS 1 PUBLISH from the fake broker must be PUBACKed. */
export async function expectAlive(c: MqttClient, conn: FakeConnection, id = 0x0777): Promise<void> {
  conn.write(publishPacket({ topic: 'probe', payload: 'p', qos: 1, packetId: id }));
  expect(toHex(await conn.expectPacket(PacketType.PUBACK, 1000))).toBe(toHex(ackPacket('puback', id)));
  expect(c.connected).toBe(true);
}
