/**
 * A net.Socket seen as a stream of whole MQTT packets (raw bytes), for both sides of harness tests:
 * the fake broker's view of a client connection, and a raw client talking to a real broker.
 */
import net from 'node:net';
import { PacketFramer, asBytes, packetType, toHex } from './mqtt-bytes.js';

export const DEFAULT_PACKET_TIMEOUT_MS = 2000;

interface Waiter {
  resolve(p: Uint8Array): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class PacketConnection {
  readonly socket: net.Socket;
  /** Resolves when the socket is fully closed (never rejects). */
  readonly closed: Promise<void>;
  /** First socket error, if any (ECONNRESET, EPIPE ...). Errors never throw out of the harness. */
  error: Error | undefined;

  private readonly chunks: Uint8Array[] = [];
  private readonly framer = new PacketFramer();
  private readonly queue: Uint8Array[] = [];
  private readonly waiters: Waiter[] = [];
  private isClosed = false;
  private sawEnd = false;

  constructor(socket: net.Socket, private readonly label = 'peer') {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice();
      this.chunks.push(bytes);
      for (const p of this.framer.push(bytes)) this.deliver(p);
      if (this.framer.error !== undefined) this.failWaiters(`malformed data from ${this.label}: ${this.framer.error}`);
    });
    socket.on('end', () => {
      this.sawEnd = true;
    });
    socket.on('error', (e) => {
      this.error ??= e;
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        this.failWaiters(`connection closed before the next packet from ${this.label}`);
        resolve();
      });
    });
  }

  /** Sends bytes (or a hex string). Write errors are recorded in `error`, never thrown. */
  write(data: Uint8Array | string): void {
    if (this.socket.destroyed) return;
    this.socket.write(asBytes(data), (err) => {
      if (err) this.error ??= err;
    });
  }

  /** All bytes received from the peer so far, whole or not. */
  received(): Uint8Array {
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /**
   * The next whole packet from the peer (raw bytes, fixed header included). Rejects on timeout, when the
   * connection closes first, or on a malformed remaining length.
   */
  nextPacket(timeoutMs = DEFAULT_PACKET_TIMEOUT_MS): Promise<Uint8Array> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.framer.error !== undefined) return Promise.reject(new Error(`malformed data from ${this.label}: ${this.framer.error}`));
    if (this.isClosed) return Promise.reject(new Error(`connection closed before the next packet from ${this.label}${this.describeLeftover()}`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new Error(`no packet from ${this.label} within ${timeoutMs} ms${this.describeLeftover()}`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Like nextPacket, but fails unless the packet has the given control packet type (see PacketType). */
  async expectPacket(type: number, timeoutMs = DEFAULT_PACKET_TIMEOUT_MS): Promise<Uint8Array> {
    const p = await this.nextPacket(timeoutMs);
    if (packetType(p) !== type) throw new Error(`expected packet type ${type} from ${this.label}, got ${packetType(p)}: ${toHex(p)}`);
    return p;
  }

  /**
   * Resolves if no packet arrives within `ms` while the connection stays open; a packet, or the
   * connection closing (which would hide a packet never sent), fails it. A time window: tests of
   * an mqttwire client prove silence with a probe instead (test/client/helpers.ts expectQuiet).
   */
  async expectNoPacket(ms: number): Promise<void> {
    const queued = this.queue[0];
    if (queued) throw new Error(`unexpected packet from ${this.label}: ${toHex(queued)}`);
    if (this.isClosed) throw new Error(`connection to ${this.label} is closed: silence proves nothing`);
    let p: Uint8Array;
    try {
      p = await this.nextPacket(ms);
    } catch (err) {
      if (this.isClosed) throw new Error(`connection to ${this.label} closed during the quiet window: silence proves nothing (${(err as Error).message})`);
      return; // the window passed with nothing
    }
    throw new Error(`unexpected packet from ${this.label}: ${toHex(p)}`);
  }

  /** Resolves once the peer has closed (or we did); rejects if still open after `timeoutMs`. */
  async expectClosed(timeoutMs = DEFAULT_PACKET_TIMEOUT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection to ${this.label} still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** True once the socket has closed. */
  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** True if the peer half-closed (sent FIN) before the close. */
  get peerEnded(): boolean {
    return this.sawEnd;
  }

  /** Graceful close: FIN after pending writes. */
  end(): void {
    this.socket.end();
  }

  /** Immediate close of both directions. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Abortive close: TCP RST instead of FIN. */
  reset(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  private deliver(p: Uint8Array): void {
    const w = this.waiters.shift();
    if (w) {
      clearTimeout(w.timer);
      w.resolve(p);
    } else {
      this.queue.push(p);
    }
  }

  private failWaiters(message: string): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(message + this.describeLeftover()));
    }
  }

  private describeLeftover(): string {
    const rest = this.framer.pending();
    return rest.length > 0 ? ` (partial bytes pending: ${toHex(rest.subarray(0, 64))}${rest.length > 64 ? ' ...' : ''})` : '';
  }
}

/** Options for openRawClient. */
export interface RawClientOptions {
  timeoutMs?: number; // connect timeout, default 2000
}

/** A raw TCP client (no MQTT logic) to 127.0.0.1:port, as a PacketConnection. */
export async function openRawClient(port: number, opts: RawClientOptions = {}): Promise<PacketConnection> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PACKET_TIMEOUT_MS;
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => {
      clearTimeout(timer);
      reject(e);
    };
    const timer = setTimeout(() => {
      socket.removeListener('error', onError);
      socket.destroy();
      reject(new Error(`connect to 127.0.0.1:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      resolve();
    });
  });
  return new PacketConnection(socket, `broker 127.0.0.1:${port}`);
}
