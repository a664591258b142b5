import type { QoS } from './codec/packets.js';
import type { Inbox } from './client/inbox.js';
import type { Message } from './message.js';

/**
 * What happens when a subscription's buffer holds `highWaterMark` messages:
 * - `block` (default): the client stops reading the socket until the consumer catches up, so
 *   nothing is lost and the broker slows down (TCP backpressure).
 * - `drop-oldest` / `drop-newest`: QoS 0 messages are dropped (and counted in `dropped`) to keep
 *   reading; QoS 1 and 2 messages are never dropped, they block as above.
 */
export type OverflowPolicy = 'block' | 'drop-oldest' | 'drop-newest';

/** A subscription's buffer bound and overflow policy (defaults: the client's `highWaterMark` and `overflow`). */
export interface SubscriptionOptions {
  /** The most messages buffered before the overflow policy applies (default 1,000). */
  highWaterMark?: number;
  /** What happens when the buffer is full (default 'block'). */
  overflow?: OverflowPolicy;
}

/**
 * A live subscription: an async iterator over the messages matching its filters, with a bounded
 * buffer. There is one way to leave it: leaving a `for await` loop (break, return, throw) or
 * calling `unsubscribe()` ends it and unsubscribes the filters no other live subscription shares
 * (`await using` does the same). Made by `client.subscribe()` and `client.messages()`.
 */
export class Subscription implements AsyncIterableIterator<Message>, AsyncDisposable {
  readonly #inbox: Inbox;

  private constructor(inbox: Inbox) {
    this.#inbox = inbox;
  }

  /** @internal The client's side of it lives in `inbox`; the application sees it read-only. */
  static of(inbox: Inbox): Subscription {
    return new Subscription(inbox);
  }

  /** The SUBACK return code per filter, in request order (0x80: refused). */
  get granted(): readonly number[] {
    return this.#inbox.granted;
  }

  /** The filters it receives, with the QoS requested. */
  get filters(): readonly {
    /** The topic filter as subscribed. */
    readonly topicFilter: string;
    /** The QoS requested for it (what the broker granted is in `granted`). */
    readonly qos: QoS;
  }[] {
    return this.#inbox.filters;
  }

  /** The filter strings alone, in request order. */
  get topicFilters(): string[] {
    return this.#inbox.topicFilters;
  }

  /** QoS 0 messages dropped by the overflow policy. */
  get dropped(): number {
    return this.#inbox.dropped;
  }

  /** Messages waiting to be read. */
  get buffered(): number {
    return this.#inbox.buffered;
  }

  /** The most messages it buffers before `overflow` applies. */
  get highWaterMark(): number {
    return this.#inbox.highWaterMark;
  }

  /** What it does when the buffer is full. */
  get overflow(): OverflowPolicy {
    return this.#inbox.overflow;
  }

  /**
   * Settles when the subscription stops receiving: resolves when it was left or the client ended,
   * rejects with the error that ended it otherwise (the client destroyed with an error, a lost
   * connection with no reconnect, a filter refused on re-subscription). Buffered messages can
   * still be read after it settles.
   */
  get closed(): Promise<void> {
    return this.#inbox.closed;
  }

  /**
   * The next message; waits for one. Once the subscription has ended and its buffer is empty it is
   * done, or throws the error that ended it (see `closed`).
   */
  next(): Promise<IteratorResult<Message>> {
    const inbox = this.#inbox;
    inbox.read = true;
    return inbox.next();
  }

  /** Leaves the subscription (what `break` in a `for await` loop calls): see unsubscribe(). */
  async return(): Promise<IteratorResult<Message>> {
    await this.unsubscribe();
    return { value: undefined, done: true };
  }

  /**
   * Leaves the subscription: it receives nothing more (what is buffered can still be read), and
   * its filters that no other live subscription uses are unsubscribed; resolves after the UNSUBACK.
   * For `client.messages()` it only stops the stream.
   */
  unsubscribe(): Promise<void> {
    return this.#inbox.leave();
  }

  /** `for await (const msg of sub)`: the subscription is its own iterator. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** `await using sub = await client.subscribe(...)`: the same as unsubscribe(). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.unsubscribe();
  }
}
