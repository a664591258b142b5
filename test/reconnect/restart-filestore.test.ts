/**
 * A process restart with the same clientId, clean: false and the same FileStore (issue 4): the new
 * process re-sends everything the old one had not got acknowledged, and an incoming QoS 2 message
 * the old process delivered is not delivered again. Real Mosquitto, real child processes killed
 * with SIGKILL (nothing gets to run on the way out), and a proxy that lets bytes through in one
 * direction only, so the acknowledgements are lost exactly where the test wants them lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { Message } from '../../src/index.js';
import { FileStore } from '../../src/store/file-store.js';
import { take, useHarness, within } from '../client/helpers.js';
import { describeMosquitto } from '../helpers/mosquitto.js';

const CHILD = fileURLToPath(new URL('./fixtures/restart-child.ts', import.meta.url));
const h = useHarness();

/** A child process whose stdout lines can be awaited. */
class Child {
  readonly lines: string[] = [];
  private readonly proc: ChildProcess;
  private readonly waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;
  stderr = '';

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        for (const w of this.waiters.splice(0)) w();
      }
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
    h.defer(() => this.proc.kill('SIGKILL'));
  }

  /** Resolves once `pred` holds for the lines printed so far. */
  async until(pred: (lines: string[]) => boolean, what: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.lines)) {
      if (Date.now() > deadline) throw new Error(`child: no ${what} within ${ms} ms; stdout ${JSON.stringify(this.lines.slice(-5))}, stderr ${this.stderr.slice(-500)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  kill(): Promise<number | null> {
    this.proc.kill('SIGKILL');
    return this.exited;
  }
}

/**
 * Forwards to `targetPort`, but each direction only up to a byte budget: the rest is swallowed.
 * The CONNECT (client to broker) or CONNACK (broker to client) fits in the budget; what follows
 * is lost, as it would be on a link that died one way.
 */
async function oneWayProxy(targetPort: number, budget: { up: number; down: number }): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    let up = budget.up;
    let down = budget.down;
    client.on('data', (d: Buffer) => {
      if (up > 0) upstream.write(d.subarray(0, up));
      up -= d.length;
    });
    upstream.on('data', (d: Buffer) => {
      if (down > 0) client.write(d.subarray(0, down));
      down -= d.length;
    });
    const kill = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', kill).on('error', kill);
    upstream.on('close', kill).on('error', kill);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  h.defer(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqttwire-restart-'));
  h.defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function seqs(msgs: Message[], stream: string): number[] {
  return msgs
    .map((m) => m.text())
    .filter((t) => t.startsWith(`${stream}:`))
    .map((t) => Number(t.split(':')[1]));
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

async function snapshotOf(dir: string, clientId: string): Promise<{ outgoing: number; incoming: number }> {
  const store = new FileStore(dir);
  const snap = await store.open(clientId);
  await store.close();
  return { outgoing: snap.outgoing.length, incoming: snap.incoming.length };
}

describeMosquitto('a restarted process resumes from its FileStore (Mosquitto)', () => {
  const N = 60; // 120 publishes: 20 in flight when killed, 100 queued behind the window

  it.each([
    // The broker got every PUBLISH in flight and acknowledged it, but no ack reached the client.
    ['acks lost on the way back', { up: Infinity, down: 4 }],
    // Nothing after CONNECT reached the broker.
    ['publishes lost on the way out', { up: 0, down: 4 }],
  ] as const)('outgoing QoS 1 and 2 (%s): all re-sent after SIGKILL and restart; QoS 2 exactly once', async (_name, budget) => {
    const m = await h.mosquitto({ logTypes: ['error', 'warning'] });
    const dir = tempDir();
    const clientId = `restart-pub-${budget.up}`;
    const sub = await h.connected(m.url, { clientId: `${clientId}-sub` });
    const got: Message[] = [];
    const subscription = await sub.subscribe('restart/+', { qos: 2 });
    const reading = (async () => {
      for await (const msg of subscription) got.push(msg);
    })();
    reading.catch(() => {});

    // The CONNECT is the first chunk up; with up: 0 it must still pass, so count its bytes in.
    const url = await oneWayProxy(m.port, { up: budget.up === 0 ? 14 + clientId.length : budget.up, down: budget.down });
    const first = new Child(['publish', url, dir, clientId, String(N)]);
    await first.until((l) => l.includes('ready'), 'ready');
    await first.kill();
    const left = await snapshotOf(dir, clientId);
    expect(left.outgoing, 'every publish is in the store when the process dies').toBe(2 * N);

    const second = new Child(['drain', m.url, dir, clientId]);
    await second.until((l) => l.includes('drained'), 'drained');
    expect(await second.exited).toBe(0);

    const deadline = Date.now() + 5000;
    while ((new Set(seqs(got, 'q1')).size < N || seqs(got, 'q2').length < N) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100)); // a late duplicate would show up here
    expect([...new Set(seqs(got, 'q1'))].sort((a, b) => a - b), 'QoS 1: each at least once').toEqual(range(N));
    expect(seqs(got, 'q2').sort((a, b) => a - b), 'QoS 2: each exactly once').toEqual(range(N));
    expect(await snapshotOf(dir, clientId), 'the store is empty once everything is acknowledged').toEqual({ outgoing: 0, incoming: 0 });
  });

  it('incoming QoS 2: a message the killed process delivered is not delivered again by the restarted one', async () => {
    const m = await h.mosquitto({ logTypes: ['error', 'warning'] });
    const dir = tempDir();
    const clientId = 'restart-sub';
    const topic = 'restart/in';
    const n = 30;
    // Life 1 makes the persistent subscription and leaves.
    const setup = await h.connected(m.url, { clientId, clean: false });
    await setup.subscribe(topic, { qos: 2 });
    await setup.end();
    const pub = await h.connected(m.url, { clientId: 'restart-in-pub' });
    await Promise.all(range(n).map((i) => pub.publish(topic, `in:${i}`, { qos: 2 })));

    // Life 2: receives through a link where nothing after CONNECT reaches the broker, so every
    // PUBREC is lost and the broker keeps its (up to 20) in-flight messages unacknowledged.
    const url = await oneWayProxy(m.port, { up: 14 + clientId.length, down: Infinity });
    const second = new Child(['receive', url, dir, clientId, '0', topic]);
    await second.until((l) => l.filter((x) => x.startsWith('msg ')).length >= 5, 'five messages');
    await new Promise((r) => setTimeout(r, 100)); // let the rest of the window arrive too
    await second.kill();
    const firstLife = second.lines.filter((l) => l.startsWith('msg ')).map((l) => Number(l.split(':')[1]));
    expect((await snapshotOf(dir, clientId)).incoming, 'the delivered ids are in the store').toBe(firstLife.length);

    // Life 3: the broker re-sends those PUBLISHes (DUP, same ids); they must not be delivered again.
    const third = new Child(['receive', m.url, dir, clientId, String(n - firstLife.length), topic]);
    await third.until((l) => l.includes('done'), 'done');
    const secondLife = third.lines.filter((l) => l.startsWith('msg ')).map((l) => Number(l.split(':')[1]));
    expect([...firstLife, ...secondLife].sort((a, b) => a - b), 'every message exactly once across the restart').toEqual(range(n));
    expect(secondLife.filter((s) => firstLife.includes(s)), 'delivered again after the restart').toEqual([]);
    // Anything else arriving now would be a duplicate.
    const check = await h.connected(m.url, { clientId, clean: false, store: new FileStore(dir) });
    const extra = await Promise.race([take(check.messages(), 1).then((x) => x.map((mm) => mm.text())), new Promise<string[]>((r) => setTimeout(() => r([]), 200))]);
    expect(extra).toEqual([]);
    await within(check.end(), 2000, 'end');
  });
});
