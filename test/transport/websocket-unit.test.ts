/**
 * webSocketTransport against a scripted fake WebSocket: opening and its failures, framing,
 * bufferedAmount backpressure (poll only while above the mark), close reported exactly once.
 * Plus the Node selection: global WebSocket vs the `ws` package, and a clear error without either.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError, TransportError, webSocketTransport, type Transport, type TransportHandlers, type WebSocketLike } from '../../src/index.js';
import { loadBuiltin } from '../../src/transport/node-tcp.js';
import { nodeWebSocketTransport } from '../../src/transport/node-ws.js';
import { nodeTransportFor } from '../../src/transport/select-node.js';

class FakeWebSocket implements WebSocketLike {
  static instances: FakeWebSocket[] = [];
  binaryType = 'blob';
  bufferedAmount = 0;
  readyState = 0;
  sent: Uint8Array[] = [];
  closeCalls: (number | undefined)[] = [];
  paused = 0;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onerror: WebSocketLike['onerror'] = null;
  onclose: WebSocketLike['onclose'] = null;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeWebSocket.instances.push(this);
  }
  send(data: Uint8Array): void {
    this.sent.push(data);
    this.bufferedAmount += data.length;
  }
  close(code?: number): void {
    this.closeCalls.push(code);
  }
  // Drivers: what the network would do.
  fireOpen(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  fireMessage(data: unknown): void {
    this.onmessage?.({ data });
  }
  fireError(error?: Error): void {
    this.onerror?.(error ? { error, message: error.message } : {});
  }
  fireClose(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

/** A fake with pause/resume, like the `ws` package's. */
class PausableFake extends FakeWebSocket {
  pause(): void {
    this.paused++;
  }
  resume(): void {
    this.paused--;
  }
}

function recorder(): TransportHandlers & { data: Uint8Array[]; drains: number; closes: (Error | undefined)[] } {
  const r = {
    data: [] as Uint8Array[],
    drains: 0,
    closes: [] as (Error | undefined)[],
    onData: (chunk: Uint8Array) => r.data.push(chunk),
    onDrain: () => r.drains++,
    onClose: (err?: Error) => r.closes.push(err),
  };
  return r;
}

async function opened(Ctor: typeof FakeWebSocket = FakeWebSocket, url = 'ws://127.0.0.1:9001/mqtt', settings = {}): Promise<{ ws: FakeWebSocket; t: Transport; h: ReturnType<typeof recorder> }> {
  const h = recorder();
  const pending = webSocketTransport(Ctor, settings)(new URL(url), h, {});
  const ws = FakeWebSocket.instances.at(-1) as FakeWebSocket;
  ws.fireOpen();
  return { ws, t: await pending, h };
}

afterEach(() => {
  FakeWebSocket.instances = [];
  vi.useRealTimers();
});

describe('webSocketTransport', () => {
  it('opens with subprotocol mqtt [MQTT-6.0.0-3] and binaryType arraybuffer; keeps path and query, drops credentials and fragment', async () => {
    const { ws } = await opened(FakeWebSocket, 'wss://user:pw@broker.example/mqtt/ws?token=a#frag');
    expect(ws.url).toBe('wss://broker.example/mqtt/ws?token=a');
    expect(ws.protocols).toEqual(['mqtt']);
    expect(ws.binaryType).toBe('arraybuffer');
  });

  it('hands every frame to onData as a Uint8Array (ArrayBuffer or a view), whatever its size', async () => {
    const { ws, h } = await opened();
    ws.fireMessage(new Uint8Array([0x20, 0x02]).buffer);
    const backing = new Uint8Array([9, 9, 0, 0, 9]);
    ws.fireMessage(backing.subarray(2, 4));
    expect(h.data.map((d) => [d.constructor.name, ...d])).toEqual([
      ['Uint8Array', 0x20, 0x02],
      ['Uint8Array', 0, 0],
    ]);
  });

  it('a text frame breaks the connection [MQTT-6.0.0-1]', async () => {
    const { ws, h } = await opened();
    ws.fireMessage('hello');
    expect(h.closes).toHaveLength(1);
    expect(h.closes[0]).toBeInstanceOf(TransportError);
    expect(h.closes[0]?.message).toMatch(/non-binary.*MQTT-6\.0\.0-1/);
    expect(ws.closeCalls).toHaveLength(1);
    ws.fireClose(1000);
    expect(h.closes).toHaveLength(1);
  });

  it('write() returns false above the high-water mark and onDrain fires once when bufferedAmount drops; no timer otherwise', async () => {
    vi.useFakeTimers();
    const { ws, t, h } = await opened(FakeWebSocket, undefined, { highWaterMark: 100, drainPollMs: 5 });
    expect(t.write(new Uint8Array(60))).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(t.write(new Uint8Array(60))).toBe(false);
    expect(t.write(new Uint8Array(10))).toBe(false);
    expect(vi.getTimerCount()).toBe(1); // one poller, however many writes
    vi.advanceTimersByTime(50);
    expect(h.drains).toBe(0);
    ws.bufferedAmount = 100;
    vi.advanceTimersByTime(5);
    expect(h.drains).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(ws.sent.map((d) => d.length)).toEqual([60, 60, 10]);
  });

  it('closing while congested stops the poller; error then close is reported once, with the error', async () => {
    vi.useFakeTimers();
    const { ws, t, h } = await opened(FakeWebSocket, undefined, { highWaterMark: 10 });
    expect(t.write(new Uint8Array(20))).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    ws.fireError(new Error('socket hang up'));
    ws.fireClose(1006);
    ws.fireClose(1006);
    expect(vi.getTimerCount()).toBe(0);
    expect(h.closes).toHaveLength(1);
    expect(h.closes[0]).toMatchObject({ code: 'TRANSPORT_ERROR', message: 'WebSocket ws://127.0.0.1:9001/mqtt: connection error: socket hang up' });
    expect(h.drains).toBe(0);
    expect(t.write(new Uint8Array(1))).toBe(false);
  });

  it('a normal close (1000, or no status) is a clean end; any other code is an error', async () => {
    const a = await opened();
    a.ws.fireClose(1000);
    const b = await opened();
    b.ws.fireClose(1005);
    const c = await opened();
    c.ws.fireClose(1011, 'internal error');
    expect([a.h.closes, b.h.closes]).toEqual([[undefined], [undefined]]);
    expect(c.h.closes[0]?.message).toBe('WebSocket ws://127.0.0.1:9001/mqtt: closed with code 1011 (internal error)');
  });

  it('end() closes with 1000; destroy() closes; pause/resume reach a socket that has them and are no-ops otherwise', async () => {
    const plain = await opened();
    plain.t.end();
    plain.t.destroy();
    expect(plain.ws.closeCalls).toEqual([1000, undefined]);
    expect(() => (plain.t.pause(), plain.t.resume())).not.toThrow();
    const ws = await opened(PausableFake);
    ws.t.pause();
    expect(ws.ws.paused).toBe(1);
    ws.t.resume();
    expect(ws.ws.paused).toBe(0);
  });

  it('an error or close before open rejects with TransportError (and nothing is reported to the handlers)', async () => {
    const h = recorder();
    const open = webSocketTransport(FakeWebSocket);
    const first = open(new URL('ws://127.0.0.1:1/'), h, {});
    const ws1 = FakeWebSocket.instances.at(-1) as FakeWebSocket;
    ws1.fireError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));
    ws1.fireClose(1006);
    await expect(first).rejects.toMatchObject({ name: 'TransportError', code: 'CONNECTION_REFUSED_BY_HOST', message: 'WebSocket ws://127.0.0.1:1/: connect failed: connect ECONNREFUSED 127.0.0.1:1' });

    const second = open(new URL('ws://127.0.0.1:2/x'), h, {});
    (FakeWebSocket.instances.at(-1) as FakeWebSocket).fireClose(1006);
    await expect(second).rejects.toMatchObject({ code: 'TRANSPORT_ERROR', message: 'WebSocket ws://127.0.0.1:2/x: closed with code 1006 before it opened' });

    // A browser's error event carries no detail.
    const third = open(new URL('ws://127.0.0.1:3/'), h, {});
    const ws3 = FakeWebSocket.instances.at(-1) as FakeWebSocket;
    ws3.fireError();
    ws3.fireClose(1006);
    await expect(third).rejects.toMatchObject({ code: 'TRANSPORT_ERROR', message: 'WebSocket ws://127.0.0.1:3/: connect failed: network error' });
    expect(h.closes).toEqual([]);
  });

  it("a runtime's certificate or handshake failure is TLS_ERROR (not retried by a reconnecting client)", async () => {
    const open = webSocketTransport(FakeWebSocket);
    // What Deno and Bun say when they do not trust the broker's certificate.
    for (const said of ['failed to connect to WebSocket: invalid peer certificate: UnknownIssuer', 'TLS handshake failed: self signed certificate in certificate chain']) {
      const opening = open(new URL('wss://127.0.0.1:4/mqtt'), recorder(), {});
      const ws = FakeWebSocket.instances.at(-1) as FakeWebSocket;
      ws.fireError(new Error(said));
      ws.fireClose(1006);
      await expect(opening).rejects.toMatchObject({ name: 'TransportError', code: 'TLS_ERROR', message: `WebSocket wss://127.0.0.1:4/mqtt: connect failed: ${said}` });
    }
  });

  it('a constructor that throws (bad URL in a browser) rejects', async () => {
    class Throwing extends FakeWebSocket {
      constructor(url: string, protocols: string[]) {
        super(url, protocols);
        throw new SyntaxError('bad url');
      }
    }
    await expect(webSocketTransport(Throwing)(new URL('ws://h/'), recorder(), {})).rejects.toMatchObject({ message: 'WebSocket ws://h/: cannot open: bad url' });
  });

  it('honours options.signal: aborting while opening closes the socket and rejects with the reason; late events are ignored', async () => {
    const h = recorder();
    const controller = new AbortController();
    const pending = webSocketTransport(FakeWebSocket)(new URL('ws://127.0.0.1:9/'), h, { signal: controller.signal });
    const ws = FakeWebSocket.instances.at(-1) as FakeWebSocket;
    const reason = new Error('connect timeout');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(ws.closeCalls).toHaveLength(1);
    ws.fireError();
    ws.fireClose(1006);
    ws.fireOpen();
    expect(h.closes).toEqual([]);

    const already = AbortSignal.abort(new Error('gone'));
    const count = FakeWebSocket.instances.length;
    await expect(webSocketTransport(FakeWebSocket)(new URL('ws://127.0.0.1:9/'), h, { signal: already })).rejects.toThrow('gone');
    expect(FakeWebSocket.instances.length).toBe(count); // no socket made at all
  });
});

describe('ws:// selection on Node', () => {
  const notFound = (): Promise<never> => Promise.reject(Object.assign(new Error("Cannot find package 'ws'"), { code: 'ERR_MODULE_NOT_FOUND' }));

  it('without a global WebSocket and without the ws package: InvalidArgumentError saying npm install ws', async () => {
    expect((globalThis as { WebSocket?: unknown }).WebSocket).toBeUndefined(); // Node 20
    const open = nodeWebSocketTransport(notFound);
    const err = await open(new URL('ws://127.0.0.1:1/'), recorder(), {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toBe('ws:// needs the "ws" package on this Node (no suitable global WebSocket): npm install ws');
  });

  it('a global WebSocket is used when there is one; TLS options need ws, which is then loaded', async () => {
    vi.stubGlobal('WebSocket', FakeWebSocket);
    try {
      const open = nodeWebSocketTransport(notFound);
      const pending = open(new URL('wss://broker.example/mqtt'), recorder(), { rejectUnauthorized: true });
      (FakeWebSocket.instances.at(-1) as FakeWebSocket).fireOpen();
      await pending;
      expect(FakeWebSocket.instances.at(-1)?.url).toBe('wss://broker.example/mqtt');
      const err = await open(new URL('wss://broker.example/mqtt'), recorder(), { ca: 'PEM' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toMatch(/^wss:\/\/ with TLS options needs the "ws" package/);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('the ws package class fits WebSocketLike, and select-node maps every scheme', async () => {
    const { WebSocket } = await import('ws');
    const fits: WebSocketLike = new WebSocket('ws://127.0.0.1:1', ['mqtt']);
    fits.onerror = () => undefined;
    fits.close();
    for (const scheme of ['mqtt', 'tcp', 'mqtts', 'ssl', 'tls', 'ws', 'wss']) {
      expect(typeof (await nodeTransportFor(new URL(`${scheme}://127.0.0.1:1`)))).toBe('function');
    }
    await expect(nodeTransportFor(new URL('gopher://h'))).rejects.toThrow(/unsupported URL scheme "gopher:"/);
  });

  it('a Node built-in the runtime lacks is an InvalidArgumentError (so a reconnecting client stops), naming it and why', async () => {
    const missing = loadBuiltin('node:net', () => Promise.reject(new TypeError('Failed to resolve module specifier "node:net"')));
    await expect(missing).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(missing).rejects.toThrow(/^node:net is not available in this runtime \(Failed to resolve module specifier "node:net"\): use mqttwire's browser or workerd entry, or pass options\.transport$/);
    await expect(loadBuiltin('node:net', () => import('node:net'))).resolves.toHaveProperty('connect');
  });
});
