import { topicMatches } from '../codec/topics.js';
import type { Subscription } from '../codec/packets.js';
import { AsyncQueue } from '../async-queue.js';
import { LazyOutcome } from './lazy-outcome.js';
import type { Message } from '../message.js';
import type { OverflowPolicy } from '../subscription.js';

/** A filter as subscribed: its QoS and, at MQTT 5, its subscription options (the codec's Subscription). */
export type Filter = Subscription;

/** What an inbox tells the router that routes to it. */
export interface InboxRouter {
  /** The inbox filled up (true) or has room again (false): the router pauses or resumes reading. */
  blockedChanged(inbox: Inbox, blocked: boolean): void;
  /** The client's clock, ms. */
  now(): number;
}

/** Who made the inbox (the subscriptions, or the router for messages()). */
export interface InboxOwner {
  /** The application left it (unsubscribe(), break, return()): unsubscribe what no other live subscription uses. */
  left(inbox: Inbox): Promise<void>;
}

const SHARE_PREFIX = /^\$share\/[^/]+\//;

/**
 * The client's side of one subscription: its filters, its SUBACK codes and its bounded buffer with
 * the overflow policy. The router writes here; the application sees it only through the read-only
 * Subscription (src/subscription.ts), so nothing it can reach changes what the client does.
 */
export class Inbox extends AsyncQueue<Message> {
  granted: readonly number[] = [];
  /** MQTT 5: the Subscription Identifier the client gave this subscription (undefined: none yet). */
  subscriptionId: number | undefined;
  /** QoS 0 messages dropped by the overflow policy. */
  dropped = 0;
  /** Whether the application ever asked for a message. */
  read = false;
  /** Full: the router stops reading until the application takes a message. */
  isBlocked = false;
  /**
   * subscribe() still waits for its SUBACK. Nobody can read it yet, so it never counts as full: the
   * SUBACK that hands it to the application may be behind the messages that fill it (a resumed session).
   */
  awaitingSuback = false;
  /** When it last filled up (the client's clock, ms). */
  fullSince = 0;
  /** When the router next reports it stalled, while it stays full. */
  stallDue = 0;
  /** How it stopped receiving; its promise is made when someone reads `closed`. */
  private readonly outcome = new LazyOutcome();
  /**
   * Filters with their `$share/group/` prefixes removed, what incoming topics are matched against;
   * undefined when no filter has one (the filters themselves are matched: no copy per subscription).
   */
  private matchFilters: string[] | undefined;
  /** QoS 1/2 messages in the buffer: the ones no policy may drop. */
  reliable = 0;
  private leaving: Promise<void> | undefined;

  constructor(
    private readonly router: InboxRouter,
    private readonly owner: InboxOwner,
    public filters: readonly Filter[],
    readonly highWaterMark: number,
    readonly overflow: OverflowPolicy,
  ) {
    super();
    this.matchFilters = matchable(filters);
  }

  /** Settles when it stops receiving: resolves when left or ended normally, rejects with the error that ended it. */
  get closed(): Promise<void> {
    return this.outcome.promise;
  }

  get topicFilters(): string[] {
    return this.filters.map((f) => f.topicFilter);
  }

  matches(topic: string): boolean {
    const stripped = this.matchFilters;
    if (stripped) {
      for (const f of stripped) if (topicMatches(f, topic)) return true;
    } else for (const f of this.filters) if (topicMatches(f.topicFilter, topic)) return true;
    return false;
  }

  /**
   * MQTT 5: whether a message carrying Subscription Identifiers `ids` is for this subscription: they
   * include its own and a filter matches, or one of its filters that the broker holds under one of them
   * matches the topic (the broker holds a filter
   * under the identifier of the last SUBSCRIBE of it: `heldUnder`). A filter held without an
   * identifier is matched as in matches().
   */
  matchesIds(topic: string, ids: readonly number[], heldUnder: ReadonlyMap<string, number>): boolean {
    // Its own identifier: the broker says the message is for this subscription (also when a later,
    // refused SUBSCRIBE of one of its filters left `heldUnder` naming another identifier).
    if (this.subscriptionId !== undefined && ids.includes(this.subscriptionId)) return this.matches(topic);
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) {
      const id = heldUnder.get((filters[i] as Filter).topicFilter);
      if ((id === undefined || ids.includes(id)) && topicMatches(this.matchFilter(i), topic)) return true;
    }
    return false;
  }

  /** What topics are matched against for filter `i`. */
  private matchFilter(i: number): string {
    return this.matchFilters?.[i] ?? (this.filters[i] as Filter).topicFilter;
  }

  /** Drops filters the application unsubscribed; returns true when none are left. */
  removeFilters(topicFilters: readonly string[]): boolean {
    this.filters = this.filters.filter((f) => !topicFilters.includes(f.topicFilter));
    this.matchFilters = matchable(this.filters);
    return this.filters.length === 0;
  }

  /** Called by the router for each matching message; applies the overflow policy to QoS 0. */
  override push(msg: Message): void {
    const buffer = this.buffer;
    if (buffer.length >= this.highWaterMark && msg.qos === 0 && !this.ended) {
      if (this.overflow === 'drop-newest') {
        this.dropped++;
        return;
      }
      if (this.overflow === 'drop-oldest' && buffer.peek()?.qos === 0) {
        buffer.shift();
        this.dropped++;
      }
    }
    const before = buffer.length;
    super.push(msg);
    if (buffer.length === before) return; // handed straight to a waiting reader, or ended
    if (msg.qos > 0) this.reliable++;
    if (!this.isBlocked && this.full()) this.setBlocked(true);
  }

  /** The SUBACK came: from now on a full buffer stops the client reading. */
  acknowledged(): void {
    this.awaitingSuback = false;
    if (!this.isBlocked && this.full()) this.setBlocked(true);
  }

  /** No more messages: what is buffered can still be read, then the iterator finishes (or throws `err`). */
  override end(err?: unknown): void {
    if (this.ended) return;
    super.end(err);
    if (this.isBlocked) this.setBlocked(false);
    this.outcome.end(err);
  }

  /** Ends it and forgets its buffer (the client dropped it before anyone could read it). */
  discard(): void {
    this.buffer.drain();
    this.reliable = 0;
    this.end();
  }

  /** The application leaves: it ends now, and the filters no other live subscription uses are unsubscribed. */
  leave(): Promise<void> {
    if (!this.leaving) {
      this.end();
      this.leaving = this.owner.left(this);
    }
    return this.leaving;
  }

  protected override taken(msg: Message): void {
    if (msg.qos > 0) this.reliable--;
    if (this.isBlocked && !this.full()) this.setBlocked(false);
  }

  /**
   * At the high-water mark with no way to make room: always for 'block'; for the drop policies only
   * when QoS 1/2 messages alone fill it, since those are never dropped.
   */
  private full(): boolean {
    if (this.ended || this.awaitingSuback) return false;
    return (this.overflow === 'block' ? this.buffer.length : this.reliable) >= this.highWaterMark;
  }

  private setBlocked(blocked: boolean): void {
    this.isBlocked = blocked;
    if (blocked) this.fullSince = this.router.now();
    this.router.blockedChanged(this, blocked);
  }
}

/** The filters without their `$share/group/` prefixes, or undefined when none has one (the filters are then matched as they are). */
function matchable(filters: readonly Filter[]): string[] | undefined {
  if (!filters.some((f) => SHARE_PREFIX.test(f.topicFilter))) return undefined;
  return filters.map((f) => f.topicFilter.replace(SHARE_PREFIX, ''));
}
