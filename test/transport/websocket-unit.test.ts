/**
 * webSocketTransport against a scripted fake WebSocket: opening and its failures, framing,
 * bufferedAmount backpressure (poll only while above the mark), close reported exactly once.
 * Plus the Node selection: global WebSocket vs the `ws` package, and a clear error without either.
 */
import dc from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError, TransportError, webSocketTransport, type Transport, type TransportHandlers, type WebSocketLike } from '../../src/index.js';
import { loadBuiltin } from '../../src/transport/node-tcp.js';
import { nodeWebSocketTransport } from '../../src/transport/node-ws.js';
import { undiciOpeningWatch } from '../../src/transport/node-ws-diagnosis.js';
import { nodeTransportFor } from '../../src/transport/select-node.js';

class FakeWebSocket implements WebSocketLike {
  static instances: FakeWebSocket[] = [];
  static waiting: ((ws: FakeWebSocket) => void)[] = [];
  /** The next socket made (for openings that make it after an await). */
  static next(): Promise<FakeWebSocket> {
    return new Promise((resolve) => FakeWebSocket.waiting.push(resolve));
  }
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
    FakeWebSocket.waiting.shift()?.(this);
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
  FakeWebSocket.waiting = [];
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

  it('an error before open ends the opening at once: no close event needed (Node 22\'s global WebSocket sends none)', { timeout: 2000 }, async () => {
    const h = recorder();
    const opening = webSocketTransport(FakeWebSocket)(new URL('ws://127.0.0.1:5/'), h, {});
    (FakeWebSocket.instances.at(-1) as FakeWebSocket).fireError(new Error('Received network error or non-101 status code.'));
    await expect(opening).rejects.toMatchObject({ code: 'TRANSPORT_ERROR', message: 'WebSocket ws://127.0.0.1:5/: connect failed: Received network error or non-101 status code.' });
    expect(h.closes).toEqual([]);
  });

  it('watchOpening: its cause replaces the bare error event; it is stopped once the opening opened, failed or was aborted', { timeout: 2000 }, async () => {
    const stops: string[] = [];
    let cause: unknown;
    const open = webSocketTransport(FakeWebSocket, {
      watchOpening: (make) => {
        const socket = make();
        return { socket, cause: () => cause, stop: (failed) => stops.push(`${(socket as FakeWebSocket).url} ${failed ? 'failed' : 'opened'}`) };
      },
    });
    const refused = open(new URL('ws://127.0.0.1:6/'), recorder(), {});
    cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6'), { code: 'ECONNREFUSED' });
    (FakeWebSocket.instances.at(-1) as FakeWebSocket).fireError(new TypeError(''));
    await expect(refused).rejects.toMatchObject({ code: 'CONNECTION_REFUSED_BY_HOST', message: 'WebSocket ws://127.0.0.1:6/: connect failed: connect ECONNREFUSED 127.0.0.1:6' });

    cause = undefined; // nothing learned: the event's own error
    const unknown = open(new URL('ws://127.0.0.1:7/'), recorder(), {});
    (FakeWebSocket.instances.at(-1) as FakeWebSocket).fireError(new TypeError('opaque'));
    await expect(unknown).rejects.toMatchObject({ code: 'TRANSPORT_ERROR', message: 'WebSocket ws://127.0.0.1:7/: connect failed: opaque' });

    const controller = new AbortController();
    const aborted = open(new URL('ws://127.0.0.1:9/'), recorder(), { signal: controller.signal });
    controller.abort(new Error('timeout'));
    await expect(aborted).rejects.toThrow('timeout');

    const h = recorder();
    const opening = open(new URL('ws://127.0.0.1:10/'), h, {});
    const ws = FakeWebSocket.instances.at(-1) as FakeWebSocket;
    ws.fireOpen();
    await opening;
    expect(stops).toEqual(['ws://127.0.0.1:6/ failed', 'ws://127.0.0.1:7/ failed', 'ws://127.0.0.1:9/ failed', 'ws://127.0.0.1:10/ opened']);
    // Once open the watch is neither asked nor stopped again: an error then is the event's own.
    cause = new Error('not this one');
    ws.fireError(new Error('read ECONNRESET'));
    ws.fireClose(1006);
    expect(h.closes).toMatchObject([{ code: 'TRANSPORT_ERROR', message: 'WebSocket ws://127.0.0.1:10/: connection error: read ECONNRESET' }]);
    expect(stops).toHaveLength(4);
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

describe("undiciOpeningWatch (the reason Node's global WebSocket does not give)", () => {
  // undici's messages, published as its request does: create (inside the constructor), sendHeaders,
  // then headers or error.
  const CHANNELS = ['undici:request:create', 'undici:client:sendHeaders', 'undici:request:headers', 'undici:request:error'];
  const publish = (name: string, message: object): void => dc.channel(`undici:${name}`).publish(message);
  const listening = (): boolean[] => CHANNELS.map((n) => dc.channel(n).hasSubscribers);
  const socketMaking = (request: object) => (): WebSocketLike => {
    publish('request:create', { request });
    return new FakeWebSocket('ws://x/', ['mqtt']);
  };

  it('takes the request made inside the constructor and tells its error, or what the server answered', () => {
    const watch = undiciOpeningWatch(dc);
    const [refused, status, noProtocol, otherProtocol, badAccept, nothing] = [{}, {}, {}, {}, {}, {}];
    const openings = [refused, status, noProtocol, otherProtocol, badAccept, nothing].map((r) => watch(socketMaking(r)));
    const econnrefused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    publish('request:error', { request: refused, error: econnrefused });
    publish('request:headers', { request: status, response: { statusCode: 404, statusText: 'Not Found', headers: [Buffer.from('Content-Length'), Buffer.from('0')] } });
    publish('request:headers', { request: noProtocol, response: { statusCode: 101, statusText: 'Switching Protocols', headers: [Buffer.from('Upgrade'), Buffer.from('websocket')] } });
    publish('request:headers', { request: otherProtocol, response: { statusCode: 101, headers: ['Sec-WebSocket-Protocol', 'chat'] } });
    publish('request:headers', { request: badAccept, response: { statusCode: 101, headers: ['sec-websocket-protocol', 'mqtt'] } });
    expect(openings.map((o) => o.cause())).toEqual([
      econnrefused,
      new Error('the server answered the upgrade with HTTP 404 Not Found, not 101 Switching Protocols'),
      new Error('the server accepted the upgrade but chose no subprotocol (mqtt is required)'),
      new Error('the server chose subprotocol "chat", not mqtt'),
      new Error('the server answered the upgrade with an invalid WebSocket handshake'),
      undefined,
    ]);
    for (const o of openings) o.stop(true);
  });

  it("ignores requests made outside the constructor (the application's fetch), and news after the opening stopped", () => {
    const watch = undiciOpeningWatch(dc);
    const ours = {};
    const opening = watch(socketMaking(ours));
    const appFetch = {};
    publish('request:create', { request: appFetch });
    publish('request:error', { request: appFetch, error: new Error('not ours') });
    expect(opening.cause()).toBeUndefined();
    publish('request:error', { request: ours, error: new Error('ours') }); // positive control: ours is heard
    expect(opening.cause()).toEqual(new Error('ours'));
    opening.stop(true);

    const stoppedFirst = {};
    const early = watch(socketMaking(stoppedFirst));
    early.stop(true);
    publish('request:error', { request: stoppedFirst, error: new Error('too late') });
    expect(early.cause()).toBeUndefined();
  });

  it("closes the upgraded connection of a handshake refused after 101, and no other", () => {
    const watch = undiciOpeningWatch(dc);
    const destroyed: string[] = [];
    const names = ['refused after 101', 'opened', 'answered 404'];
    const requests = names.map(() => ({}));
    const openings = requests.map((r) => watch(socketMaking(r)));
    requests.forEach((request, i) => publish('client:sendHeaders', { request, socket: { destroy: () => destroyed.push(names[i] as string) } }));
    const answer = (statusCode: number) => ({ statusCode, headers: ['Sec-WebSocket-Protocol', 'mqtt'] });
    publish('request:headers', { request: requests[0], response: answer(101) });
    publish('request:headers', { request: requests[1], response: answer(101) });
    publish('request:headers', { request: requests[2], response: answer(404) });
    openings[0]?.stop(true);
    openings[1]?.stop(false);
    openings[2]?.stop(true);
    expect(destroyed).toEqual(['refused after 101']);
  });

  it('listens only while an opening is under way, and stops when the constructor throws', () => {
    const watch = undiciOpeningWatch(dc);
    expect(listening()).toEqual([false, false, false, false]);
    const a = watch(socketMaking({}));
    const b = watch(socketMaking({}));
    expect(listening()).toEqual([true, true, true, true]);
    a.stop(false);
    a.stop(false); // twice is once
    expect(listening()).toEqual([true, true, true, true]);
    b.stop(true);
    expect(listening()).toEqual([false, false, false, false]);
    expect(() =>
      watch(() => {
        throw new SyntaxError('bad url');
      }),
    ).toThrow('bad url');
    expect(listening()).toEqual([false, false, false, false]);
  });
});

describe('ws:// selection on Node', () => {
  const notFound = (): Promise<never> => Promise.reject(Object.assign(new Error("Cannot find package 'ws'"), { code: 'ERR_MODULE_NOT_FOUND' }));

  it('without a global WebSocket (as on Node 20) and without the ws package: InvalidArgumentError saying npm install ws', async () => {
    const open = nodeWebSocketTransport({ loadWs: notFound, globalWebSocket: null });
    const err = await open(new URL('ws://127.0.0.1:1/'), recorder(), {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toBe('ws:// needs the "ws" package on this Node (no suitable global WebSocket): npm install ws');
  });

  it('a global WebSocket is used when there is one; TLS options need ws, which is then loaded', async () => {
    vi.stubGlobal('WebSocket', FakeWebSocket);
    try {
      const open = nodeWebSocketTransport({ loadWs: notFound });
      const made = FakeWebSocket.next();
      const pending = open(new URL('wss://broker.example/mqtt'), recorder(), { rejectUnauthorized: true });
      (await made).fireOpen();
      await pending;
      expect(FakeWebSocket.instances.at(-1)?.url).toBe('wss://broker.example/mqtt');
      const err = await open(new URL('wss://broker.example/mqtt'), recorder(), { ca: 'PEM' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toMatch(/^wss:\/\/ with TLS options needs the "ws" package/);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("the global WebSocket's own error (Deno's, Bun's: they run this entry too) keeps the generic wording; only what undici told is mapped like ws's", async () => {
    vi.stubGlobal('WebSocket', FakeWebSocket);
    try {
      const open = nodeWebSocketTransport({ loadWs: notFound });
      const said = [
        // Bun: an Error with OpenSSL's code; Deno: a DOMException whose code is a number.
        Object.assign(new Error("WebSocket connection to 'wss://127.0.0.1:4/mqtt' failed: TLS handshake failed: self signed certificate"), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
        Object.assign(new Error('failed to connect to WebSocket: invalid peer certificate: UnknownIssuer'), { name: 'NetworkError', code: 19 }),
      ];
      for (const error of said) {
        const made = FakeWebSocket.next();
        const opening = open(new URL('wss://127.0.0.1:4/mqtt'), recorder(), {});
        (await made).fireError(error);
        await expect(opening).rejects.toMatchObject({ code: 'TLS_ERROR', message: `WebSocket wss://127.0.0.1:4/mqtt: connect failed: ${error.message}` });
      }
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
