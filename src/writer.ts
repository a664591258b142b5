import { encodeFromClient, withTopicAlias } from './codec/encode-client.js';
import { parseFromServer } from './codec/parse.js';
import type { Packet, ProtocolLevel, PublishPacket } from './codec/packets.js';
import { ConnectionClosedError } from './errors.js';
import { EMPTY_ARRAY, own } from './session/lazy-collections.js';
import type { Transport } from './transport/transport.js';

/**
 * Coalesces every packet produced in the same tick into one transport write: a burst of small
 * publishes costs one syscall, not one each. `whenWritten()` is the backpressure signal for
 * QoS 0: it resolves once the batch is handed over and the transport is not congested.
 *
 * If the connection fails before a batch is handed over, its QoS 0 PUBLISHes certainly never left
 * this process: with `requeue` they go back to the session (see fail()), and the batch's waiters
 * follow them to the next connection instead of rejecting. Bytes already handed to the transport
 * may have reached the broker, so they are never given back (QoS 0 is at most once).
 */
export class PacketWriter {
  // The three lists start (and after each batch start again) as the shared empty array.
  private chunks: Uint8Array[] = EMPTY_ARRAY;
  private size = 0;
  private scheduled = false;
  private congested = false;
  private batchWaiters: Waiter[] = EMPTY_ARRAY;
  private drainWaiters: Waiter[] = EMPTY_ARRAY;
  /** One promise per batch, shared by every caller of whenWritten() in that tick. */
  private batchPromise: Promise<void> | undefined;
  private failed: Error | undefined;
  bytesOut = 0;

  constructor(
    private readonly transport: Transport,
    private readonly onPacket?: (packet: Packet) => void,
    /** Its flush() runs right before bytes go to the transport (the store makes its changes durable). */
    private readonly store?: { flush(): void },
    /** The connection's protocol level: every packet is encoded at it. */
    private readonly level: ProtocolLevel = 4,
    /**
     * Its requeue() takes back the QoS 0 PUBLISHes of a batch the connection never handed over, in
     * order (the session); its promise settles when they are finally written (or cannot be). Without
     * it they fail with the batch.
     */
    private readonly requeue?: QoS0Requeue,
  ) {}

  /**
   * Encodes `packet` into the batch. `topicAlias` (MQTT 5 PUBLISH only; see encodeFromClient): the
   * alias it goes with, 0 for none; the packet itself never carries it.
   */
  write(packet: Packet, topicAlias = 0): void {
    if (this.failed) return;
    const bytes = encodeFromClient(packet, this.level, topicAlias);
    this.onPacket?.(topicAlias ? withTopicAlias(packet as PublishPacket, topicAlias) : packet);
    (this.chunks = own(this.chunks)).push(bytes);
    this.size += bytes.length;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  whenWritten(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (!this.scheduled && !this.congested) return Promise.resolve();
    if (!this.scheduled) return new Promise((resolve, reject) => (this.drainWaiters = own(this.drainWaiters)).push({ resolve, reject }));
    // A burst of QoS 0 publishes in one tick would otherwise allocate a promise and a waiter each.
    this.batchPromise ??= new Promise((resolve, reject) => (this.batchWaiters = own(this.batchWaiters)).push({ resolve, reject }));
    return this.batchPromise;
  }

  /** Writes what is batched now (also used right before closing). */
  flush(): void {
    this.scheduled = false;
    if (this.failed || this.chunks.length === 0) return;
    const data = this.chunks.length === 1 ? (this.chunks[0] as Uint8Array) : concat(this.chunks, this.size);
    this.chunks = EMPTY_ARRAY;
    this.size = 0;
    this.store?.flush();
    this.bytesOut += data.length;
    const ok = this.transport.write(data);
    const waiters = this.batchWaiters;
    this.batchWaiters = EMPTY_ARRAY;
    this.batchPromise = undefined;
    if (ok && !this.congested) {
      for (const w of waiters) w.resolve();
    } else {
      this.congested = true;
      if (waiters.length > 0) (this.drainWaiters = own(this.drainWaiters)).push(...waiters);
    }
  }

  onDrain(): void {
    this.congested = false;
    const waiters = this.drainWaiters;
    this.drainWaiters = EMPTY_ARRAY;
    settle(waiters);
  }

  /**
   * The connection is gone: nothing more is written. What was handed over and waits for drain
   * rejects with `err`; the batch not handed over either rejects too, or, when it holds QoS 0
   * PUBLISHes and `requeue` takes them, settles with them on a later connection.
   */
  fail(err: Error = new ConnectionClosedError('the connection closed')): void {
    if (this.failed) return;
    this.failed = err;
    // Read back from the batch's own bytes, here and only here: the QoS 0 path pays nothing for it.
    const unsent = this.requeue ? unsentQos0(this.chunks, this.level) : [];
    this.chunks = EMPTY_ARRAY;
    const batch = this.batchWaiters;
    if (unsent.length > 0 && this.requeue) {
      this.requeue.requeue(unsent).then(() => settle(batch), (e: unknown) => settle(batch, e));
    } else settle(batch, err);
    settle(this.drainWaiters, err);
    this.batchWaiters = EMPTY_ARRAY;
    this.drainWaiters = EMPTY_ARRAY;
    this.batchPromise = undefined;
  }
}

/** Where the QoS 0 PUBLISHes of a batch never handed over go back (the session). */
export interface QoS0Requeue {
  requeue(packets: PublishPacket[]): Promise<void>;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * The QoS 0 PUBLISHes among a batch's encoded packets (one packet per chunk), in order, decoded
 * again. The server-to-client parser reads them: a PUBLISH has the same layout both ways.
 */
function unsentQos0(chunks: Uint8Array[], level: ProtocolLevel): PublishPacket[] {
  const out: PublishPacket[] = [];
  for (const c of chunks) {
    const first = c[0] as number;
    if (first >> 4 !== 3 || (first & 0x06) !== 0) continue; // not a PUBLISH, or QoS 1/2 (the session re-sends those)
    let body = 1;
    while ((c[body] as number) & 0x80) body++; // the Remaining Length's continuation bytes
    out.push(parseFromServer(first, c, body + 1, c.length, level) as PublishPacket);
  }
  return out;
}

/** Resolves every waiter, or rejects each with `err` when there is one. */
function settle(waiters: Waiter[], err?: unknown): void {
  for (const w of waiters) {
    if (err === undefined) w.resolve();
    else w.reject(err);
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
