import type { PublishPacket } from '../codec/packets.js';
import { Message } from '../message.js';
import type { Timers } from '../session/timers.js';
import { Subscription, type OverflowPolicy, type SubscriptionOptions } from '../subscription.js';
import { Inbox, type Filter } from './inbox.js';
import type { Counters } from './stats.js';

/** Reading the connection, as the router controls it. */
export interface ReadControl {
  pause(): void;
  resume(): void;
}

export interface RouterSettings {
  highWaterMark: number;
  overflow: OverflowPolicy;
}

/**
 * Incoming messages to the application: every live subscription whose filter matches gets each
 * message once; what matches none goes to `client.messages()`, or is held (see `held`), or
 * counted and dropped. A full subscription stops the client reading (TCP backpressure) until the
 * application takes a message from it.
 */
export class Router {
  private readonly inboxes = new Set<Inbox>();
  private unrouted: { inbox: Inbox; sub: Subscription } | undefined;
  /**
   * Unrouted messages held until the application first calls messages(): a resumed session
   * (clean: false) delivers right after CONNACK, before the application could subscribe again.
   * A subscribe() takes the held messages its filters match; once the first subscribe() has
   * succeeded the application is set up, and what is still held is counted and dropped, like any
   * unrouted message nobody reads. Bounded by highWaterMark; the oldest are dropped beyond it.
   */
  private held: Message[] | undefined = [];
  /** Inboxes at their high-water mark: while there are any, the client does not read. */
  private blockedCount = 0;
  private readonly hooks = {
    blocked: (_inbox: Inbox, blocked: boolean): void => this.blockedChanged(blocked),
    leave: async (inbox: Inbox): Promise<void> => this.leaveUnrouted(inbox),
  };

  constructor(
    private readonly settings: RouterSettings,
    private readonly reading: ReadControl,
    private readonly counters: Counters,
    private readonly timers: Timers,
  ) {}

  /** Whether reading is paused for a full subscription. */
  get blocked(): boolean {
    return this.blockedCount > 0;
  }

  /** A new inbox for `filters` (not yet routed to: see add()); `limits` are checked (options.ts subscriptionLimits). */
  inbox(filters: readonly Filter[], limits: Required<SubscriptionOptions>, leave: (inbox: Inbox) => Promise<void>): Inbox {
    const hooks = { blocked: this.hooks.blocked, leave };
    return new Inbox(hooks, filters, ...bounds(limits), () => this.timers.now());
  }

  /** Starts routing to `inbox`; it takes the held messages its filters match. */
  add(inbox: Inbox): void {
    this.inboxes.add(inbox);
    if (this.held) this.held = this.held.filter((msg) => (inbox.matches(msg.topic) ? (inbox.push(msg), false) : true));
  }

  /** Stops routing to `inbox`; false when it was not routed to. */
  remove(inbox: Inbox): boolean {
    return this.inboxes.delete(inbox);
  }

  /** The live inboxes (for re-subscribing and unsubscribing). */
  live(): IterableIterator<Inbox> {
    return this.inboxes.values();
  }

  /** The application is set up (its first subscribe() succeeded): what is still held will not be claimed. */
  releaseHeld(): void {
    if (!this.held) return;
    this.counters.unroutedDropped += this.held.length;
    this.held = undefined;
  }

  /** Filters some live subscription still uses. */
  filtersInUse(): Set<string> {
    const inUse = new Set<string>();
    for (const inbox of this.inboxes) for (const f of inbox.filters) inUse.add(f.topicFilter);
    return inUse;
  }

  /** Every message that matched no live subscription; the same stream until it ends. */
  messages(limits: Required<SubscriptionOptions>, closed: boolean): Subscription {
    if (this.unrouted && !this.unrouted.inbox.hasEnded) return this.unrouted.sub;
    const inbox = new Inbox(this.hooks, [], ...bounds(limits), () => this.timers.now());
    this.unrouted = { inbox, sub: Subscription.of(inbox) };
    for (const msg of this.held ?? []) inbox.push(msg);
    this.held = undefined;
    if (closed) inbox.end();
    return this.unrouted.sub;
  }

  /** Matches an incoming message to every live subscription whose filter matches, once each. */
  route(packet: PublishPacket): void {
    this.counters.messagesIn++;
    const msg = new Message(packet);
    let matched = false;
    for (const inbox of this.inboxes) {
      if (inbox.matches(msg.topic)) {
        matched = true;
        inbox.push(msg);
      }
    }
    if (matched) return;
    if (this.unrouted) this.unrouted.inbox.push(msg);
    else if (this.held) {
      if (this.held.push(msg) > this.settings.highWaterMark) {
        this.held.shift();
        this.counters.unroutedDropped++;
      }
    } else this.counters.unroutedDropped++;
  }

  /** The client is finished: every subscription ends (with `err` when it failed). */
  end(err: unknown): void {
    for (const inbox of this.inboxes) inbox.end(err);
    this.inboxes.clear();
    this.unrouted?.inbox.end(err);
  }

  private blockedChanged(blocked: boolean): void {
    const before = this.blockedCount;
    this.blockedCount += blocked ? 1 : -1;
    if (before === 0 && blocked) this.reading.pause();
    else if (this.blockedCount === 0 && !blocked) this.reading.resume();
  }

  private leaveUnrouted(inbox: Inbox): void {
    if (this.unrouted?.inbox === inbox) this.unrouted = undefined;
  }
}

/** An inbox's bound (at least one message) and policy. */
function bounds(limits: Required<SubscriptionOptions>): [number, OverflowPolicy] {
  return [Math.max(1, limits.highWaterMark), limits.overflow];
}
