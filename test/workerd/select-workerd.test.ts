/**
 * The workerd entry's transport choice, in Node with a stand-in for the Workers WebSocket (which,
 * like workerd's, has no bufferedAmount). The real thing runs in test/runtimes/workerd.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { workerdTransportFor } from '../../src/transport/select-workerd.js';
import type { TransportHandlers } from '../../src/transport/transport.js';

/** Opens at once; records what is sent; no bufferedAmount, as in workerd. */
class WorkerdLikeWebSocket {
  static made: WorkerdLikeWebSocket[] = [];
  binaryType = 'blob';
  readyState = 0;
  sent: Uint8Array[] = [];
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  onclose: ((e: { code?: number }) => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    WorkerdLikeWebSocket.made.push(this);
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }
  send(data: Uint8Array): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code: 1000 }));
  }
}

const handlers: TransportHandlers = { onData: () => {}, onDrain: () => {}, onClose: () => {} };

describe('workerd transports', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    WorkerdLikeWebSocket.made = [];
  });

  it('ws:// uses the global WebSocket with subprotocol mqtt, and a missing bufferedAmount does not mean "full"', async () => {
    vi.stubGlobal('WebSocket', WorkerdLikeWebSocket);
    const factory = await workerdTransportFor(new URL('ws://broker.test/mqtt'));
    const transport = await factory(new URL('ws://broker.test/mqtt'), handlers, {});
    const [ws] = WorkerdLikeWebSocket.made;
    expect(ws?.url).toBe('ws://broker.test/mqtt');
    expect(ws?.protocols).toEqual(['mqtt']);
    expect(ws?.binaryType).toBe('arraybuffer');
    expect(transport.write(new Uint8Array([0xc0, 0x00]))).toBe(true);
    expect(ws?.sent).toHaveLength(1);
    transport.destroy();
  });

  it('refuses TLS options for wss:// (the Workers WebSocket takes none), but not the default verification', async () => {
    vi.stubGlobal('WebSocket', WorkerdLikeWebSocket);
    const url = new URL('wss://broker.test/mqtt');
    const factory = await workerdTransportFor(url);
    await expect(factory(url, handlers, { ca: 'PEM' })).rejects.toThrow(InvalidArgumentError);
    await expect(factory(url, handlers, { rejectUnauthorized: false })).rejects.toThrow(/rejectUnauthorized: false/);
    expect(WorkerdLikeWebSocket.made).toHaveLength(0);
    const transport = await factory(url, handlers, { rejectUnauthorized: true });
    transport.destroy();
  });

  it('mqtt:// and mqtts:// get the cloudflare:sockets transport; other schemes and a missing WebSocket are refused', async () => {
    for (const u of ['mqtt://b', 'tcp://b', 'mqtts://b', 'ssl://b', 'tls://b']) expect(typeof (await workerdTransportFor(new URL(u)))).toBe('function');
    await expect(workerdTransportFor(new URL('http://b'))).rejects.toThrow(InvalidArgumentError);
    vi.stubGlobal('WebSocket', undefined);
    await expect(workerdTransportFor(new URL('ws://b'))).rejects.toThrow(/no global WebSocket/);
  });
});
