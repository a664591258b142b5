/**
 * The Node TCP transport with read coalescing, on real loopback sockets:
 *  - what coalescing rests on: a paused transport leaves what the peer sends in the kernel, so
 *    resuming delivers it in one or two reads, not one per segment (the same exchange with
 *    coalescing off is the control: there every segment is its own read);
 *  - under a fast stream of small segments every byte arrives once and in order, also while the
 *    application pauses and resumes the transport at odd moments (a coalescing pause must never
 *    leave it paused for good, nor resume it under the application's feet).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpTransport } from '../../src/transport/node-tcp.js';
import type { Transport, TransportHandlers } from '../../src/transport/transport.js';

const SEGMENT = 76;

interface Peer {
  url: URL;
  /** The server side of the one accepted connection. */
  socket: Promise<net.Socket>;
  close(): Promise<void>;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function startPeer(): Promise<Peer> {
  let accepted!: (s: net.Socket) => void;
  const socket = new Promise<net.Socket>((resolve) => (accepted = resolve));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => undefined);
    sockets.add(s);
    accepted(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const peer: Peer = {
    url: new URL(`mqtt://127.0.0.1:${port}`),
    socket,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  cleanups.push(() => peer.close());
  return peer;
}

/** Segment `seq`: SEGMENT bytes, the first four the sequence number. */
function segment(seq: number): Buffer {
  const b = Buffer.alloc(SEGMENT, 0x78);
  b.writeUInt32BE(seq, 0);
  return b;
}

/** Writes `count` segments, each in its own event-loop turn so each leaves as its own TCP segment; resolves once all are handed to the kernel. */
async function sendSegments(socket: net.Socket, from: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => socket.write(segment(from + i), (err) => (err ? reject(err) : resolve())));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

interface Receiver {
  handlers: TransportHandlers;
  reads: number;
  bytes: Buffer[];
  total(): number;
  /** Resolves once `n` bytes have arrived; rejects after `ms`. */
  until(n: number, ms: number): Promise<void>;
  closed: Promise<Error | undefined>;
}

function receiver(onRead?: () => void): Receiver {
  const waiters = new Set<() => void>();
  let closedWith!: (err: Error | undefined) => void;
  const r: Receiver = {
    reads: 0,
    bytes: [],
    total: () => r.bytes.reduce((n, b) => n + b.length, 0),
    handlers: {
      onData(chunk) {
        r.reads++;
        r.bytes.push(Buffer.from(chunk));
        for (const w of [...waiters]) w();
        onRead?.();
      },
      onDrain() {},
      onClose(err) {
        closedWith(err);
      },
    },
    until(n, ms) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (r.total() < n) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${r.total()} of ${n} bytes after ${ms} ms`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    closed: new Promise((resolve) => (closedWith = resolve)),
  };
  return r;
}

function expectSequence(r: Receiver, count: number): void {
  const all = Buffer.concat(r.bytes);
  expect(all.length).toBe(count * SEGMENT);
  const seqs: number[] = [];
  for (let i = 0; i < count; i++) seqs.push(all.readUInt32BE(i * SEGMENT));
  expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i));
}

async function open(peer: Peer, r: Receiver, coalesceReads: boolean): Promise<{ transport: Transport; server: net.Socket }> {
  const transport = await tcpTransport({ coalesceReads })(peer.url, r.handlers, {});
  cleanups.push(() => transport.destroy());
  return { transport, server: await peer.socket };
}

describe('node:net transport, read coalescing', () => {
  for (const coalesceReads of [true, false]) {
    it(`a paused transport ${coalesceReads ? 'leaves the bytes in the kernel: resuming delivers 40 segments in a few reads' : '(coalescing off, the control) reads the 40 segments one by one'}`, async () => {
      const peer = await startPeer();
      const r = receiver();
      const { transport, server } = await open(peer, r, coalesceReads);
      transport.pause();
      await sendSegments(server, 0, 40);
      expect(r.reads).toBe(0);
      transport.resume();
      await r.until(40 * SEGMENT, 5000);
      expectSequence(r, 40);
      // Server and client share this event loop, one segment a turn: without coalescing each turn's
      // segment is its own read (a few may merge). With it, the paused socket stops after one read
      // and the rest comes out of the kernel at once (a read or two).
      if (coalesceReads) expect(r.reads).toBeLessThanOrEqual(4);
      else expect(r.reads).toBeGreaterThanOrEqual(30);
    });
  }

  it('a fast stream of small segments arrives whole and in order while the application pauses and resumes at odd moments', async () => {
    const peer = await startPeer();
    const COUNT = 3000;
    const app: { transport?: Transport } = {};
    let appPauses = 0;
    const r = receiver(() => {
      // Every 7th read the application's buffer fills; it drains a moment later (alternately in
      // the same turn's check phase and after a timer, so both race the coalescing pause).
      const t = app.transport;
      if (r.reads % 7 !== 0 || !t) return;
      t.pause();
      appPauses++;
      if (appPauses % 2) setImmediate(() => t.resume());
      else setTimeout(() => t.resume(), appPauses % 3);
    });
    const opened = await open(peer, r, true);
    app.transport = opened.transport;
    await sendSegments(opened.server, 0, COUNT);
    await r.until(COUNT * SEGMENT, 15_000);
    expectSequence(r, COUNT);
    expect(appPauses).toBeGreaterThan(0);
  });

  it('bytes the peer sent right before closing arrive before onClose', async () => {
    const peer = await startPeer();
    const r = receiver();
    const { server } = await open(peer, r, true);
    await sendSegments(server, 0, 200);
    server.end(segment(200));
    const err = await Promise.race([r.closed, new Promise<Error>((resolve) => setTimeout(() => resolve(new Error('no close within 5 s')), 5000))]);
    expect(err).toBeUndefined();
    expectSequence(r, 201);
  });
});
