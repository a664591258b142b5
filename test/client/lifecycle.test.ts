/**
 * The client's lifecycle table (src/client/states.ts), edge by edge: every pair of states is tried on
 * the Lifecycle itself (allowed ones pass, every other one throws), and every allowed edge is driven
 * through the public API on a fake broker, read back from the debug log's `state a -> b` lines.
 */
import { describe, expect, it } from 'vitest';
import { Lifecycle, TRANSITIONS, type ConnectionState } from '../../src/client/states.js';
import type { ClientOptions, MqttClient } from '../../src/index.js';
import { PacketType } from '../helpers/fake-broker.js';
import { connackPacket } from '../helpers/mqtt-bytes.js';
import { StatusRecorder } from '../reconnect/helpers.js';
import { ManualTimers, PacketLog, rejection, useHarness, within } from './helpers.js';

const h = useHarness();

const STATES: ConnectionState[] = ['new', 'connecting', 'connected', 'reconnecting', 'closing', 'closed'];

/** The table as documented in docs/client.md and docs/architecture.md: a change to it must change this test too. */
const EXPECTED_EDGES = [
  'new -> connecting',
  'new -> closed',
  'connecting -> connected',
  'connecting -> reconnecting',
  'connecting -> closed',
  'connected -> reconnecting',
  'connected -> closing',
  'connected -> closed',
  'reconnecting -> connecting',
  'reconnecting -> closed',
  'closing -> closed',
];

/** A path of allowed transitions from new to `target`. */
function pathTo(target: ConnectionState): ConnectionState[] {
  const seen = new Map<ConnectionState, ConnectionState[]>([['new', []]]);
  const queue: ConnectionState[] = ['new'];
  while (queue.length > 0) {
    const s = queue.shift() as ConnectionState;
    for (const next of TRANSITIONS[s]) {
      if (seen.has(next)) continue;
      seen.set(next, [...(seen.get(s) as ConnectionState[]), next]);
      queue.push(next);
    }
  }
  const path = seen.get(target);
  if (!path) throw new Error(`${target} cannot be reached from new`);
  return path;
}

describe('the transition table', () => {
  it('allows exactly the documented edges', () => {
    const edges = STATES.flatMap((from) => TRANSITIONS[from].map((to) => `${from} -> ${to}`));
    expect(edges).toEqual(EXPECTED_EDGES);
  });

  for (const from of STATES) {
    for (const to of STATES) {
      const allowed = TRANSITIONS[from].includes(to);
      it(`${from} -> ${to}: ${allowed ? 'allowed' : 'throws, and the state stays'}`, () => {
        const heard: string[] = [];
        const life = new Lifecycle((a, b) => heard.push(`${a} -> ${b}`));
        for (const step of pathTo(from)) life.to(step);
        expect(life.state).toBe(from);
        heard.length = 0;
        if (allowed) {
          life.to(to);
          expect(life.state).toBe(to);
          expect(heard).toEqual([`${from} -> ${to}`]);
        } else {
          expect(() => life.to(to)).toThrow(`mqttwire internal error: no transition from ${from} to ${to}`);
          expect(life.state).toBe(from);
          expect(heard).toEqual([]);
        }
      });
    }
  }
});

/** The transitions a client went through, from its debug log. */
function transitions(log: PacketLog): string[] {
  return log.lines.filter((l) => l.startsWith('state ')).map((l) => l.slice('state '.length));
}

interface Driven {
  c: MqttClient;
  log: PacketLog;
  timers: ManualTimers;
}

/** A client with reconnect on, keepalive off, a hand-driven clock and a logger, on a fresh fake broker; not connected yet. */
async function fakeClient(options: ClientOptions = {}): Promise<Driven & { fake: Awaited<ReturnType<typeof h.fake>> }> {
  const timers = new ManualTimers();
  const log = new PacketLog();
  const fake = await h.fake();
  const c = h.client(fake.url, { keepalive: 0, timers, logger: log.logger, reconnect: { initialDelay: 10, maxDelay: 10 }, ...options });
  return { c, log, timers, fake };
}

/** Connects `c` through the fake broker's next connection with this CONNACK. */
async function answerConnect(fake: Awaited<ReturnType<typeof h.fake>>, returnCode = 0): Promise<Awaited<ReturnType<typeof fake.nextConnection>>> {
  const conn = await fake.nextConnection();
  await conn.expectPacket(PacketType.CONNECT);
  conn.write(connackPacket(returnCode));
  return conn;
}

/** One way through the lifecycle: what it does, and the transitions it must produce, in order. */
interface Scenario {
  name: string;
  expected: string[];
  run(): Promise<string[]>;
}

const scenarios: Scenario[] = [
  {
    name: 'end() before connect()',
    expected: ['new -> closed'],
    async run() {
      const { c, log } = await fakeClient();
      await within(c.end(), 1000, 'end()');
      expect(c.state).toBe('closed');
      return transitions(log);
    },
  },
  {
    name: 'connect() and CONNACK 0',
    expected: ['new -> connecting', 'connecting -> connected'],
    async run() {
      const { c, log, fake } = await fakeClient();
      const connecting = c.connect();
      expect(c.state).toBe('connecting');
      await answerConnect(fake);
      await within(connecting, 2000, 'connect()');
      return transitions(log);
    },
  },
  {
    name: 'a first connect() that fails goes straight to closed, never through reconnecting',
    expected: ['new -> connecting', 'connecting -> closed'],
    async run() {
      const { c, log, fake } = await fakeClient();
      const connecting = c.connect();
      await answerConnect(fake, 5);
      await rejection(connecting);
      return transitions(log);
    },
  },
  {
    name: 'a loss, a refused attempt (CONNACK 3), an accepted one',
    expected: [
      'new -> connecting',
      'connecting -> connected',
      'connected -> reconnecting',
      'reconnecting -> connecting',
      'connecting -> reconnecting',
      'reconnecting -> connecting',
      'connecting -> connected',
    ],
    async run() {
      const { c, log, fake, timers } = await fakeClient();
      const st = new StatusRecorder(c);
      const connecting = c.connect();
      const first = await answerConnect(fake);
      await within(connecting, 2000, 'connect()');
      first.destroy();
      const r1 = await st.next('reconnecting');
      timers.advance(r1.delay);
      await answerConnect(fake, 3);
      const r2 = await st.next('reconnecting');
      timers.advance(r2.delay);
      await answerConnect(fake, 0);
      await st.next('connected');
      return transitions(log);
    },
  },
  {
    name: 'end() while waiting to reconnect',
    expected: ['new -> connecting', 'connecting -> connected', 'connected -> reconnecting', 'reconnecting -> closed'],
    async run() {
      const { c, log, fake } = await fakeClient();
      const st = new StatusRecorder(c);
      const connecting = c.connect();
      const conn = await answerConnect(fake);
      await within(connecting, 2000, 'connect()');
      conn.destroy();
      await st.next('reconnecting');
      await within(c.end(), 1000, 'end()');
      return transitions(log);
    },
  },
  {
    name: 'end() while connected',
    expected: ['new -> connecting', 'connecting -> connected', 'connected -> closing', 'closing -> closed'],
    async run() {
      const { c, log, fake } = await fakeClient();
      const connecting = c.connect();
      const conn = await answerConnect(fake);
      await within(connecting, 2000, 'connect()');
      const ending = c.end();
      expect(c.state).toBe('closing');
      await conn.expectPacket(PacketType.DISCONNECT);
      await within(ending, 2000, 'end()');
      return transitions(log);
    },
  },
  {
    name: 'a loss with reconnect off',
    expected: ['new -> connecting', 'connecting -> connected', 'connected -> closed'],
    async run() {
      const { c, log, fake } = await fakeClient({ reconnect: false });
      const connecting = c.connect();
      const conn = await answerConnect(fake);
      await within(connecting, 2000, 'connect()');
      conn.destroy();
      await rejection(c.closed);
      return transitions(log);
    },
  },
];

describe('every allowed edge, driven through the public API', () => {
  for (const s of scenarios) {
    it(`${s.name}: ${s.expected.join(', ')}`, async () => {
      expect(await s.run()).toEqual(s.expected);
    });
  }

  it('between them the scenarios drive every edge of the table', () => {
    const covered = new Set(scenarios.flatMap((s) => s.expected));
    expect([...covered].sort()).toEqual([...EXPECTED_EDGES].sort());
  });
});
