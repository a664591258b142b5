import type { PublishPacket } from '../codec/packets.js';
import { AbandonedSubscriptionError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Message } from '../message.js';
import type { StatusEvent } from '../status.js';
import type { Timers } from '../session/timers.js';
import { EMPTY_SET, own } from '../session/lazy-collections.js';
import { Subscription, type OverflowPolicy, type SubscriptionOptions } from '../subscription.js';
import { Inbox, type Filter, type InboxOwner, type InboxRouter } from './inbox.js';
import { SubscriptionIds } from './subscription-ids.js';
import type { Counters } from './stats.js';

/** Reading the connection, as the router controls it. */
export interface ReadControl {
  pause(): void;
  resume(): void;
}

export interface RouterSettings {
  highWaterMark: number;
  overflow: OverflowPolicy;
  /** ms a full subscription may stop the reading before it is reported (0: never). */
  stallTimeout: number;
}

/**
 * Incoming messages to the application: every live subscription whose filter matches gets each
 * message once; what matches none goes to `client.messages()`, or is held (see `held`), or
 * counted and dropped. A full subscription stops the client reading (TCP backpressure) until the
 * application takes a message from it; one that stays full for stallTimeout is reported, and one
 * the application never read at all is then set aside so that it cannot hold the client hostage.
 */
export class Router implements InboxRouter, InboxOwner {
  private inboxes: Set<Inbox> = EMPTY_SET;
  /** MQTT 5: the Subscription Identifiers the client assigns, and the filters the broker holds under each. */
  readonly subscriptionIds = new SubscriptionIds();
  /**
   * Subscriptions set aside (never read, full for stallTimeout): no longer routed to, but still
   * subscribed on the broker, and subscribed again after a reconnect, since the application never
   * left them; what arrives for them is unrouted.
   */
  private setAside: Set<Inbox> = EMPTY_SET;
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
  /** Checks for stalled inboxes while reading is paused (at most one pending). */
  private stallTimer: unknown;

  constructor(
    private readonly settings: RouterSettings,
    private readonly reading: ReadControl,
    private readonly counters: Counters,
    private readonly timers: Timers,
    private readonly status: { emit(event: StatusEvent): void },
    private readonly log: Logger | undefined,
  ) {}

  /** Whether reading is paused for a full subscription. */
  get blocked(): boolean {
    return this.blockedCount > 0;
  }

  /** A new inbox for `filters` (not yet routed to: see add()), told to `owner` when left; `limits` are checked (options.ts subscriptionLimits). */
  inbox(filters: readonly Filter[], limits: Required<SubscriptionOptions>, owner: InboxOwner): Inbox {
    return new Inbox(this, owner, filters, ...bounds(limits));
  }

  /** Starts routing to `inbox`; it takes the held messages its filters match. */
  add(inbox: Inbox): void {
    (this.inboxes = own(this.inboxes)).add(inbox);
    if (this.held) this.held = this.held.filter((msg) => (inbox.matches(msg.topic) ? (inbox.push(msg), false) : true));
  }

  /** Forgets `inbox` (routed to, or set aside); false when it was neither. */
  remove(inbox: Inbox): boolean {
    return this.inboxes.delete(inbox) || this.setAside.delete(inbox);
  }

  /** The inboxes whose filters the client keeps subscribed: the live ones and those set aside. */
  subscribed(): Inbox[] {
    return [...this.inboxes, ...this.setAside];
  }

  /** The application is set up (its first subscribe() succeeded): what is still held will not be claimed. */
  releaseHeld(): void {
    if (!this.held) return;
    this.counters.unroutedDropped += this.held.length;
    this.held = undefined;
  }

  /** Filters some live (or set-aside) subscription still uses. */
  filtersInUse(): Set<string> {
    const inUse = new Set<string>();
    for (const inbox of this.subscribed()) for (const f of inbox.filters) inUse.add(f.topicFilter);
    return inUse;
  }

  /** Every message that matched no live subscription; the same stream until it ends. */
  messages(limits: Required<SubscriptionOptions>, closed: boolean): Subscription {
    if (this.unrouted && !this.unrouted.inbox.hasEnded) return this.unrouted.sub;
    const inbox = new Inbox(this, this, [], ...bounds(limits));
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
    // MQTT 5: the broker names the subscriptions a message is for; without identifiers, match the topic.
    const ids = packet.properties?.subscriptionIdentifiers;
    const held = this.subscriptionIds.heldUnder;
    for (const inbox of this.inboxes) {
      if (ids === undefined ? inbox.matches(msg.topic) : inbox.matchesIds(msg.topic, ids, held)) {
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
    this.timers.clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    for (const inbox of this.inboxes) inbox.end(err);
    this.inboxes.clear();
    this.setAside.clear();
    this.unrouted?.inbox.end(err);
  }

  /** InboxRouter: `inbox` filled up or has room again. */
  blockedChanged(inbox: Inbox, blocked: boolean): void {
    const before = this.blockedCount;
    this.blockedCount += blocked ? 1 : -1;
    if (blocked) inbox.stallDue = inbox.fullSince + this.settings.stallTimeout;
    if (before === 0 && blocked) {
      this.log?.(`reading paused: subscription ${describe(inbox)} is full (${inbox.buffered} messages)`);
      this.reading.pause();
      // Left pending across short pauses: a slow reader that fills and drains costs no timer per pause.
      if (this.stallTimer === undefined) this.armStallCheck(this.settings.stallTimeout);
    } else if (this.blockedCount === 0 && !blocked) {
      this.log?.('reading resumed');
      this.reading.resume();
    }
  }

  private armStallCheck(ms: number): void {
    if (this.settings.stallTimeout <= 0) return;
    this.stallTimer = this.timers.setTimeout(() => {
      this.stallTimer = undefined;
      this.checkStalls();
    }, ms);
  }

  /** Reports every inbox full for stallTimeout, and sets aside those the application never read. */
  private checkStalls(): void {
    if (this.blockedCount === 0) return;
    const now = this.timers.now();
    const timeout = this.settings.stallTimeout;
    let next = Infinity;
    for (const inbox of this.blockedInboxes()) {
      if (inbox.stallDue > now) {
        next = Math.min(next, inbox.stallDue);
        continue;
      }
      const fullFor = now - inbox.fullSince;
      this.log?.(`subscription ${describe(inbox)} has been full (${inbox.buffered} messages) for ${fullFor} ms: nothing is read from the broker until it is read`);
      this.status.emit({ type: 'stalled', filters: inbox.topicFilters, buffered: inbox.buffered, fullFor });
      if (!inbox.read) {
        this.abandon(inbox, fullFor);
        continue;
      }
      inbox.stallDue = now + timeout;
      next = Math.min(next, inbox.stallDue);
    }
    if (this.blockedCount > 0 && next !== Infinity) this.armStallCheck(next - now);
  }

  /**
   * An inbox the application never read, full for stallTimeout: it cannot hold the client hostage.
   * It stops receiving (its buffer stays readable, then its iterator throws why) and messages for its
   * filters become unrouted; its filters stay subscribed, since the application never left it.
   */
  private abandon(inbox: Inbox, fullFor: number): void {
    const error = new AbandonedSubscriptionError(inbox.topicFilters, inbox.buffered, inbox.reliable, fullFor);
    this.log?.(error.message);
    if (this.unrouted?.inbox === inbox) this.unrouted = undefined;
    else if (this.inboxes.delete(inbox)) (this.setAside = own(this.setAside)).add(inbox);
    inbox.end(error);
    this.status.emit({ type: 'error', error });
  }

  private *blockedInboxes(): Generator<Inbox> {
    for (const inbox of [...this.inboxes]) if (inbox.isBlocked) yield inbox;
    const unrouted = this.unrouted?.inbox;
    if (unrouted?.isBlocked) yield unrouted;
  }

  /** InboxRouter: the client's clock. */
  now(): number {
    return this.timers.now();
  }

  /** InboxOwner of messages(): the application left it; the next messages() makes a new one. */
  async left(inbox: Inbox): Promise<void> {
    if (this.unrouted?.inbox === inbox) this.unrouted = undefined;
  }
}

/** An inbox's bound (at least one message) and policy. */
function bounds(limits: Required<SubscriptionOptions>): [number, OverflowPolicy] {
  return [Math.max(1, limits.highWaterMark), limits.overflow];
}

/** How log lines name an inbox: its filters, or what messages() is. */
function describe(inbox: Inbox): string {
  return inbox.filters.length > 0 ? JSON.stringify(inbox.topicFilters) : 'messages()';
}
