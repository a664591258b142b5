/**
 * A scripted SessionHost for the session's unit tests: it records every packet the session writes
 * (a shallow snapshot taken at write time, so later mutation of the same object cannot rewrite
 * history), every delivered PUBLISH and every `fail()`; `whenWritten()` resolves at once, or only
 * when the test says so (`host.holdWrites = true`, then `host.flushWrites()` / `host.failWrites()`).
 */
import { beforeEach } from 'vitest';
import { withTopicAlias } from '../../src/codec/encode-client.js';
import type { Packet, PublishPacket, QoS } from '../../src/codec/packets.js';
import type { MqttError } from '../../src/errors.js';
import { Session, type PublishResult, type SessionHost, type SessionOptions } from '../../src/session/session.js';
import type { Timers } from '../../src/session/timers.js';
import { ManualTimers } from '../helpers/manual-timers.js';

let current = new ManualTimers();

/** The session suite's one clock, as a test file sees it. */
export interface SessionClock {
  /** Runs the timers due within `ms` (see ManualTimers). */
  advance(ms: number): void;
  /** Timers pending. */
  readonly count: number;
  readonly timers: ManualTimers;
}

/**
 * The session suite's one test clock: a fresh ManualTimers before each test of the calling file,
 * which makeSession/connectedSession use unless given other timers. Nothing fires until advance().
 */
export function useClock(): SessionClock {
  beforeEach(() => {
    current = new ManualTimers();
  });
  return {
    advance: (ms) => current.advance(ms),
    get count() {
      return current.count;
    },
    get timers() {
      return current;
    },
  };
}

export class ScriptedHost implements SessionHost {
  /** Everything written, in order, since the last `take()`. */
  written: Packet[] = [];
  /** Everything written since the host was made (never cleared). */
  readonly allWritten: Packet[] = [];
  readonly delivered: PublishPacket[] = [];
  readonly failures: MqttError[] = [];
  /** When true, `whenWritten()` promises stay pending until `flushWrites()` / `failWrites()`. */
  holdWrites = false;
  private held: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  whenWrittenCalls = 0;

  /** Records the packet as it goes on the wire: with its topic alias (MQTT 5) applied as the encoder applies it. */
  write(packet: Packet, topicAlias = 0): void {
    const copy = topicAlias === 0 ? ({ ...packet } as Packet) : withTopicAlias(packet as PublishPacket, topicAlias);
    this.written.push(copy);
    this.allWritten.push(copy);
  }

  whenWritten(): Promise<void> {
    this.whenWrittenCalls++;
    if (!this.holdWrites) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.held.push({ resolve, reject }));
  }

  deliver(packet: PublishPacket): void {
    this.delivered.push(packet);
  }

  fail(err: MqttError): void {
    this.failures.push(err);
  }

  /** Returns what was written since the last call and forgets it. */
  take(): Packet[] {
    const out = this.written;
    this.written = [];
    return out;
  }

  get pendingWrites(): number {
    return this.held.length;
  }

  flushWrites(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) h.resolve();
  }

  failWrites(err: unknown): void {
    const held = this.held;
    this.held = [];
    for (const h of held) h.reject(err);
  }
}

export const defaultOptions: SessionOptions = {
  clientId: 'c1',
  clean: true,
  keepalive: 0,
  protocolLevel: 4,
  ackTimeout: 30_000,
  pingTimeout: 10_000,
  inflightWindow: 20,
  maxPacketSize: 268_435_460,
};

export function makeSession(options: Partial<SessionOptions> = {}, timers: Timers = current): { session: Session; host: ScriptedHost } {
  const host = new ScriptedHost();
  const session = new Session({ ...defaultOptions, ...options }, host, timers);
  return { session, host };
}

/** A session that has sent CONNECT and received CONNACK 0; `host.written` starts empty. */
export async function connectedSession(
  options: Partial<SessionOptions> = {},
  timers: Timers = current,
): Promise<{ session: Session; host: ScriptedHost }> {
  const { session, host } = makeSession(options, timers);
  const connack = session.start();
  session.receive({ type: 'connack', sessionPresent: false, returnCode: 0 });
  await connack;
  host.take();
  return { session, host };
}

export interface Tracked<T> {
  status: 'pending' | 'resolved' | 'rejected';
  value: T | undefined;
  error: unknown;
  /** How many times a settle callback ran (a promise settles at most once; this guards the tracker itself). */
  settlements: number;
}

/** Observes a promise without awaiting it (and so never leaves a rejection unhandled). */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { status: 'pending', value: undefined, error: undefined, settlements: 0 };
  promise.then(
    (value) => {
      t.settlements++;
      t.status = 'resolved';
      t.value = value;
    },
    (error: unknown) => {
      t.settlements++;
      t.status = 'rejected';
      t.error = error;
    },
  );
  return t;
}

/** Lets every already-queued promise reaction run (microtasks only: no timers move). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

const encoder = new TextEncoder();

/** A PUBLISH as the application hands it to `session.publish()` (no packetId). */
export function pub(topic: string, qos: QoS, payload = topic, extra: Partial<PublishPacket> = {}): PublishPacket {
  return { type: 'publish', topic, payload: encoder.encode(payload), qos, retain: false, dup: false, ...extra };
}

/** A PUBLISH as the broker sends it. */
export function incoming(topic: string, qos: QoS, packetId?: number, extra: Partial<PublishPacket> = {}): PublishPacket {
  const p: PublishPacket = { type: 'publish', topic, payload: encoder.encode(`${topic}!`), qos, retain: false, dup: false, ...extra };
  if (packetId !== undefined) p.packetId = packetId;
  return p;
}

/** The PUBLISH the session is expected to write for `pub(topic, qos)` with this packet id. */
export function sent(topic: string, qos: QoS, packetId?: number, payload = topic): PublishPacket {
  const p = pub(topic, qos, payload);
  if (packetId !== undefined) p.packetId = packetId;
  return p;
}

/** Publishes with a tracker on the promise. */
export function publishTracked(session: Session, packet: PublishPacket): Tracked<PublishResult | undefined> {
  return track(session.publish(packet));
}

/** Publishes with an AbortSignal; `cancel(reason)` aborts it. */
export function publishCancellable(session: Session, packet: PublishPacket): Tracked<PublishResult | undefined> & { cancel: (reason: unknown) => void } {
  const ac = new AbortController();
  return Object.assign(track(session.publish(packet, ac.signal)), { cancel: (reason: unknown) => ac.abort(reason) });
}

/** The error `fn` throws; fails the test when it throws nothing. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw, but it returned normally');
}
