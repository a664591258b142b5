/**
 * MQTT 5 subscription identifiers, which the client assigns itself: one per subscribe() call, so that
 * each incoming message reaches exactly the subscriptions whose identifiers it carries (section
 * 3.8.2.1.2, 3.3.4). Client-side matching cannot be exact where filters overlap across subscriptions
 * or for `$share/...` filters; the broker's identifiers are.
 *
 * The broker keeps one subscription per filter, and a SUBSCRIBE of a filter it holds replaces that
 * subscription, identifier included. So what routes is the filter and the identifier the broker holds
 * it under now (`heldUnder`), written when the SUBSCRIBE goes out, since the broker handles packets in order.
 */
import { EMPTY_MAP, own } from '../session/lazy-collections.js';

/** The highest Subscription Identifier (a Variable Byte Integer, 1 to 268,435,455). */
export const MAX_SUBSCRIPTION_ID = 268_435_455;

export class SubscriptionIds {
  private held: Map<string, number> = EMPTY_MAP;
  private next = 1;

  /** Each subscribed filter, with the identifier the broker holds it under (absent: none). */
  get heldUnder(): ReadonlyMap<string, number> {
    return this.held;
  }

  /**
   * A new identifier, counting up; after 268,435,455 it starts over at 1, skipping those still in use
   * (`inUse`: the identifiers of live subscriptions), so an identifier is only reused once its
   * subscription is gone and no filter is held under it.
   */
  allocate(inUse: () => Iterable<number | undefined>): number {
    if (this.next <= MAX_SUBSCRIPTION_ID) return this.next++;
    const taken = new Set<number | undefined>(inUse());
    for (const id of this.held.values()) taken.add(id);
    for (let id = 1; id <= MAX_SUBSCRIPTION_ID; id++) if (!taken.has(id)) return id;
    // 268 million live subscriptions cannot fit in memory; this line is never reached.
    throw new RangeError('every subscription identifier is in use');
  }

  /** A SUBSCRIBE of `filters` went out with identifier `id` (undefined: without one). */
  subscribed(filters: readonly { topicFilter: string }[], id: number | undefined): void {
    for (const f of filters) {
      if (id === undefined) this.held.delete(f.topicFilter);
      else (this.held = own(this.held)).set(f.topicFilter, id);
    }
  }

  /** An UNSUBSCRIBE of `filters` went out: the broker holds them no more. */
  unsubscribed(filters: readonly string[]): void {
    for (const f of filters) this.held.delete(f);
  }

  /** Starts the counter at `next` (tests of the wrap-around). */
  startAt(next: number): void {
    this.next = next;
  }
}
