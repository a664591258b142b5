/**
 * The cloudflare:sockets adapter against a fake Socket built from web streams, so its contract is
 * checked in the fast suite (the real workerd run is test/runtimes/workerd.test.ts): options
 * passed to connect(), data in, backpressure, end/destroy, errors, abort, and onClose exactly once.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, TransportError } from '../../src/errors.js';
import {
  cloudflareSocketsTransport,
  WRITE_HIGH_WATER_MARK,
  type CloudflareConnect,
  type CloudflareSocket,
  type CloudflareSocketOptions,
} from '../../src/transport/cloudflare-sockets.js';
import type { TransportHandlers } from '../../src/transport/transport.js';

interface Fake {
  socket: CloudflareSocket;
  address?: { hostname: string; port: number };
  options?: CloudflareSocketOptions;
  /** Bytes the sink has taken so far (each write waits for release()). */
  written: Uint8Array[];
  /** Completes the oldest write still held by the sink. */
  release(): void;
  push(bytes: number[]): void;
  endReadable(): void;
  failReadable(err: Error): void;
  failWrites(err: Error): void;
  open(): void;
  refuse(err: Error): void;
  sinkClosed: boolean;
  closeCalls: number;
}

function fakeConnect(): { connect: CloudflareConnect; fake: Fake } {
  let readCtl!: ReadableStreamDefaultController<Uint8Array>;
  let readableDone = false;
  let writeError: Error | undefined;
  const held: (() => void)[] = [];
  let openedResolve!: () => void;
  let openedReject!: (err: Error) => void;
  const opened = new Promise<void>((resolve, reject) => {
    openedResolve = resolve;
    openedReject = reject;
  });
  let closedResolve!: () => void;
  const closed = new Promise<void>((r) => (closedResolve = r));

  const fake: Fake = {
    written: [],
    sinkClosed: false,
    closeCalls: 0,
    socket: {
      readable: new ReadableStream<Uint8Array>({ start: (c) => void (readCtl = c) }, { highWaterMark: 0 }),
      writable: new WritableStream<Uint8Array>({
        write(chunk) {
          if (writeError) throw writeError;
          fake.written.push(chunk);
          return new Promise<void>((resolve) => held.push(resolve));
        },
        close() {
          fake.sinkClosed = true;
        },
      }),
      opened,
      closed,
      close() {
        fake.closeCalls++;
        if (!readableDone) {
          readableDone = true;
          try {
            readCtl.close();
          } catch {
            // already cancelled
          }
        }
        closedResolve();
        return Promise.resolve();
      },
    },
    release: () => held.shift()?.(),
    push: (bytes) => readCtl.enqueue(new Uint8Array(bytes)),
    endReadable() {
      readableDone = true;
      readCtl.close();
    },
    failReadable(err) {
      readableDone = true;
      readCtl.error(err);
    },
    failWrites(err) {
      writeError = err;
    },
    open: () => openedResolve(),
    refuse: (err) => openedReject(err),
  };
  const connect: CloudflareConnect = (address, options) => {
    fake.address = address;
    fake.options = options;
    return fake.socket;
  };
  return { connect, fake };
}

function recorder() {
  const events: string[] = [];
  const data: number[][] = [];
  const closes: (Error | undefined)[] = [];
  const handlers: TransportHandlers = {
    onData: (chunk) => {
      data.push([...chunk]);
      events.push('data');
    },
    onDrain: () => events.push('drain'),
    onClose: (err) => {
      closes.push(err);
      events.push('close');
    },
  };
  return { handlers, events, data, closes };
}

const ticks = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setTimeout(r, 0));
};

async function openOne(url = 'mqtt://broker.test:1884') {
  const { connect, fake } = fakeConnect();
  const rec = recorder();
  const opening = cloudflareSocketsTransport(() => connect)(new URL(url), rec.handlers, {});
  await ticks(1);
  fake.open();
  const transport = await opening;
  return { transport, fake, ...rec };
}

describe('cloudflare:sockets transport', () => {
  it('connects to the URL host and port, plain for mqtt:// and TLS for mqtts:// (default port 8883)', async () => {
    const plain = await openOne('mqtt://broker.test:1884');
    expect(plain.fake.address).toEqual({ hostname: 'broker.test', port: 1884 });
    expect(plain.fake.options).toMatchObject({ secureTransport: 'off', allowHalfOpen: false });

    const tls = await openOne('mqtts://broker.test');
    expect(tls.fake.address).toEqual({ hostname: 'broker.test', port: 8883 });
    expect(tls.fake.options).toMatchObject({ secureTransport: 'on' });

    const v6 = await openOne('mqtt://[::1]');
    expect(v6.fake.address).toEqual({ hostname: '::1', port: 1883 });
  });

  it('delivers every chunk read, and reports the end of the stream once, without an error', async () => {
    const t = await openOne();
    t.fake.push([1, 2]);
    t.fake.push([3]);
    await ticks();
    expect(t.data).toEqual([[1, 2], [3]]);
    t.fake.endReadable();
    await ticks();
    expect(t.closes).toEqual([undefined]);
    t.transport.destroy();
    await ticks();
    expect(t.closes).toHaveLength(1);
  });

  it('reports a broken read as a TransportError, once', async () => {
    const t = await openOne();
    t.fake.failReadable(new Error('Network connection lost.'));
    await ticks();
    expect(t.closes).toHaveLength(1);
    expect(t.closes[0]).toBeInstanceOf(TransportError);
    expect(t.closes[0]?.message).toMatch(/Network connection lost/);
  });

  it('returns false from write() beyond the high-water mark, then calls onDrain once all is written', async () => {
    const t = await openOne();
    const half = new Uint8Array(WRITE_HIGH_WATER_MARK / 2);
    expect(t.transport.write(half)).toBe(true);
    expect(t.transport.write(half)).toBe(false);
    expect(t.transport.write(new Uint8Array(10))).toBe(false);
    await ticks();
    t.fake.release();
    await ticks();
    expect(t.events).not.toContain('drain');
    t.fake.release();
    await ticks();
    expect(t.events).not.toContain('drain');
    t.fake.release();
    await ticks();
    expect(t.events.filter((e) => e === 'drain')).toHaveLength(1);
    expect(t.fake.written.map((w) => w.length)).toEqual([half.length, half.length, 10]);
    expect(t.transport.write(new Uint8Array(1))).toBe(true);
  });

  it('passes the bytes it is given on unchanged, in order', async () => {
    const t = await openOne();
    const slab = new ArrayBuffer(64);
    const a = new Uint8Array(slab, 0, 3);
    a.set([1, 2, 3]);
    const b = new Uint8Array(slab, 8, 2);
    b.set([4, 5]);
    t.transport.write(a);
    t.transport.write(b);
    for (let i = 0; i < 3; i++) {
      await ticks(1);
      t.fake.release();
    }
    expect(t.fake.written.map((w) => [...w])).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('end() flushes the queued writes, then closes the writable side; the peer closing ends it', async () => {
    const t = await openOne();
    t.transport.write(new Uint8Array([0xe0, 0x00]));
    t.transport.end();
    await ticks();
    expect(t.fake.sinkClosed).toBe(false);
    t.fake.release();
    await ticks();
    expect(t.fake.sinkClosed).toBe(true);
    expect(t.closes).toEqual([]);
    t.fake.endReadable();
    await ticks();
    expect(t.closes).toEqual([undefined]);
    expect(t.fake.written.map((w) => [...w])).toEqual([[0xe0, 0x00]]);
  });

  it('destroy() closes the socket and reports one clean close; nothing is delivered after it', async () => {
    const t = await openOne();
    t.transport.destroy();
    t.transport.destroy();
    await ticks();
    expect(t.fake.closeCalls).toBeGreaterThanOrEqual(1);
    expect(t.closes).toEqual([undefined]);
    expect(t.transport.write(new Uint8Array([1]))).toBe(true);
    await ticks();
    expect(t.fake.written).toEqual([]);
  });

  it('a failed write breaks the connection with a TransportError, once', async () => {
    const t = await openOne();
    t.fake.failWrites(new Error('socket gone'));
    t.transport.write(new Uint8Array([1]));
    await ticks();
    expect(t.closes).toHaveLength(1);
    expect(t.closes[0]).toBeInstanceOf(TransportError);
    expect(t.closes[0]?.message).toMatch(/socket gone/);
  });

  it('pause() stops reading until resume()', async () => {
    const t = await openOne();
    t.transport.pause();
    t.fake.push([1]);
    await ticks();
    // The read already in flight may deliver one chunk; after it, nothing until resume().
    const delivered = t.data.length;
    t.fake.push([2]);
    t.fake.push([3]);
    await ticks();
    expect(t.data.length).toBe(delivered);
    t.transport.resume();
    await ticks();
    expect(t.data).toEqual([[1], [2], [3]]);
  });

  it('rejects with a TransportError when the connection cannot be opened', async () => {
    const { connect, fake } = fakeConnect();
    const rec = recorder();
    const opening = cloudflareSocketsTransport(() => connect)(new URL('mqtt://127.0.0.1:1'), rec.handlers, {});
    await ticks(1);
    fake.refuse(new Error('connect ECONNREFUSED: connection refused'));
    const err = await opening.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe('CONNECTION_REFUSED_BY_HOST');
    expect((err as Error).message).toMatch(/TCP connect to 127\.0\.0\.1:1 failed/);
    expect(rec.closes).toEqual([]);
  });

  it('honours the abort signal while opening: closes the socket and rejects with the reason', async () => {
    const { connect, fake } = fakeConnect();
    const rec = recorder();
    const controller = new AbortController();
    const opening = cloudflareSocketsTransport(() => connect)(new URL('mqtt://broker.test'), rec.handlers, { signal: controller.signal });
    await ticks(1);
    const reason = new Error('connect timeout');
    controller.abort(reason);
    await expect(opening).rejects.toBe(reason);
    expect(fake.closeCalls).toBe(1);

    const already = new AbortController();
    already.abort(reason);
    await expect(cloudflareSocketsTransport(() => connect)(new URL('mqtt://broker.test'), rec.handlers, { signal: already.signal })).rejects.toBe(reason);
  });

  it('refuses TLS options that cloudflare:sockets cannot honour, and URL schemes it cannot open', async () => {
    const { connect } = fakeConnect();
    const factory = cloudflareSocketsTransport(() => connect);
    const { handlers } = recorder();
    await expect(factory(new URL('mqtts://broker.test'), handlers, { ca: 'PEM' })).rejects.toThrow(InvalidArgumentError);
    await expect(factory(new URL('mqtts://broker.test'), handlers, { rejectUnauthorized: false })).rejects.toThrow(/rejectUnauthorized: false/);
    await expect(factory(new URL('ws://broker.test'), handlers, {})).rejects.toThrow(InvalidArgumentError);
  });
});
