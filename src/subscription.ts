import { topicMatches } from './codec/index.js';
import type { QoS } from './codec/packets.js';
import type { Message } from './message.js';
import { AsyncQueue } from './async-queue.js';

/**
 * What happens when a subscription's buffer holds `highWaterMark` messages:
 * - `block` (default): the client stops reading the socket until the consumer catches up, so
 *   nothing is lost and the broker slows down (TCP backpressure).
 * - `drop-oldest` / `drop-newest`: QoS 0 messages are dropped (and counted in `dropped`) to keep
 *   reading; QoS 1 and 2 messages are never dropped, they block as above.
 */
export type OverflowPolicy = 'block' | 'drop-oldest' | 'drop-newest';

export interface SubscriptionOptions {
  /** The most messages buffered before the overflow policy applies (default 1,000). */
  highWaterMark?: number;
  overflow?: OverflowPolicy;
}

/** The client side of a subscription, as the Subscription sees it. */
export interface SubscriptionOwner {
  /** The application is done with `sub`: unsubscribe the filters no other live subscription uses. */
  release(sub: Subscription): Promise<void>;
  /** A message left a buffer: reading may resume. */
  consumed(): void;
}

const SHARE_PREFIX = /^\$share\/[^/]+\//;

/**
 * A live subscription: an async iterator over the messages matching its filters, with a bounded
 * buffer. Leaving a `for await` loop (break, return, throw) ends it and unsubscribes the filters
 * no other live subscription shares.
 */
export class Subscription extends AsyncQueue<Message> implements AsyncDisposable {
  /** The SUBACK return code per filter, in request order. */
  granted: number[] = [];
  /** QoS 0 messages dropped by the overflow policy. */
  dropped = 0;
  readonly highWaterMark: number;
  readonly overflow: OverflowPolicy;
  private releasing: Promise<void> | undefined;
  /** Filters with any `$share/group/` prefix removed: what incoming topics are matched against. */
  private matchFilters: string[];

  constructor(
    private readonly owner: SubscriptionOwner,
    public filters: { topicFilter: string; qos: QoS }[],
    options: SubscriptionOptions = {},
  ) {
    super();
    this.highWaterMark = Math.max(1, options.highWaterMark ?? 1000);
    this.overflow = options.overflow ?? 'block';
    this.matchFilters = filters.map((f) => f.topicFilter.replace(SHARE_PREFIX, ''));
  }

  get topicFilters(): string[] {
    return this.filters.map((f) => f.topicFilter);
  }

  /** QoS 1/2 messages in the buffer: the ones no policy may drop. */
  private reliable = 0;

  /**
   * True when the client should stop reading: the buffer is at its high-water mark and the policy
   * cannot make room (always for 'block'; for the drop policies only when QoS 1/2 messages alone
   * fill it, since those are never dropped).
   */
  get blocked(): boolean {
    if (this.closed) return false;
    const held = this.overflow === 'block' ? this.buffer.length : this.reliable;
    return held >= this.highWaterMark;
  }

  matches(topic: string): boolean {
    for (const f of this.matchFilters) if (topicMatches(f, topic)) return true;
    return false;
  }

  /** Drops filters the application unsubscribed; returns true when none are left. */
  removeFilters(topicFilters: string[]): boolean {
    this.filters = this.filters.filter((f) => !topicFilters.includes(f.topicFilter));
    this.matchFilters = this.filters.map((f) => f.topicFilter.replace(SHARE_PREFIX, ''));
    return this.filters.length === 0;
  }

  /** Called by the router for each matching message; applies the overflow policy to QoS 0. */
  override push(msg: Message): void {
    if (this.buffer.length >= this.highWaterMark && msg.qos === 0 && !this.closed) {
      if (this.overflow === 'drop-newest') {
        this.dropped++;
        return;
      }
      if (this.overflow === 'drop-oldest' && this.buffer.peek()?.qos === 0) {
        this.buffer.shift();
        this.dropped++;
      }
    }
    const before = this.buffer.length;
    super.push(msg);
    if (msg.qos > 0 && this.buffer.length > before) this.reliable++;
  }

  /** Leaving a for-await loop lands here. */
  override async return(): Promise<IteratorResult<Message>> {
    await this.close();
    return { value: undefined, done: true };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Ends the subscription and unsubscribes the filters no other live subscription uses. */
  close(): Promise<void> {
    if (!this.releasing) {
      this.end();
      this.releasing = this.owner.release(this);
    }
    return this.releasing;
  }

  override end(err?: unknown): void {
    if (this.closed) return;
    super.end(err);
    this.owner.consumed();
  }

  /** Discards the buffer (the client dropped this subscription before anyone could read it). */
  discard(): void {
    this.buffer.drain();
    this.reliable = 0;
    this.end();
  }

  protected override taken(msg: Message): void {
    if (msg.qos > 0) this.reliable--;
    if (!this.blocked) this.owner.consumed();
  }
}
