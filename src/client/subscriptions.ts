import type { ConnackPacket, QoS } from '../codec/packets.js';
import { reasonCodeName } from '../codec/reason-codes.js';
import { AbortError, SubscribeError, type SubscribeRefusal } from '../errors.js';
import type { Logger } from '../logger.js';
import { CALL_OPTIONS, checkKeys, SUBSCRIBE_OPTIONS } from '../option-keys.js';
import { subscriptionLimits } from '../options.js';
import { Deadline } from '../session/deadline.js';
import { EMPTY_SET, own } from '../session/lazy-collections.js';
import type { Session } from '../session/session.js';
import type { Timers } from '../session/timers.js';
import type { StatusBroadcaster } from '../status.js';
import { Subscription, type SubscriptionOptions } from '../subscription.js';
import { checkSubscribeLimits, subscribeFilters, unsubscribeFilters, type FilterOptions, type SubscribeInput } from './arguments.js';
import type { Filter, Inbox, InboxOwner } from './inbox.js';
import type { Router } from './router.js';
import type { Lifecycle } from './states.js';

/** Options of `subscribe()`: the subscription's buffer, its QoS, and a signal. */
export interface SubscribeOptions extends SubscriptionOptions, Omit<FilterOptions, 'qos'> {
  /** Aborting it before SUBACK rejects with AbortError; the filters are unsubscribed again once granted. */
  signal?: AbortSignal;
  /** Requested QoS for filters given as a string or an array (default 0). */
  qos?: QoS;
}

export interface SubscriptionsParts {
  session: Session;
  router: Router;
  lifecycle: Lifecycle;
  /** Its whenConnected() waits (bounded) for a connection when the client is (re)connecting; throws unless connected. */
  connection: { whenConnected(what: string, signal: AbortSignal | undefined): Promise<void> };
  status: StatusBroadcaster;
  timers: Timers;
  log: Logger | undefined;
  /** MQTT 5: subscription options are sent, and the broker's subscription limits checked. */
  v5: boolean;
  /** clean: true: the broker forgets our subscriptions whenever we disconnect. */
  clean: boolean;
  /** The client's default buffer bound and overflow policy. */
  defaults: Required<SubscriptionOptions>;
}

/**
 * SUBSCRIBE and UNSUBSCRIBE as the application sees them: a subscribe either fully succeeds or leaves
 * nothing behind; leaving a subscription unsubscribes the filters no other live one shares; after a
 * reconnect without a session every live subscription is subscribed again, and what was left while
 * offline in a persistent session is unsubscribed.
 */
export class Subscriptions implements InboxOwner {
  /**
   * Filters the application left while offline in a persistent session: the broker still holds
   * them, so they are unsubscribed after the next CONNACK with sessionPresent.
   */
  private leftOffline: Set<string> = EMPTY_SET;

  constructor(private readonly p: SubscriptionsParts) {}

  /**
   * Resolves after SUBACK with a live Subscription. A 0x80 refusal of any filter rejects with
   * SubscribeError; the filters granted in the same call are then unsubscribed again.
   */
  async subscribe(input: SubscribeInput, options: SubscribeOptions): Promise<Subscription> {
    const p = this.p;
    checkKeys(options, SUBSCRIBE_OPTIONS);
    const filters = subscribeFilters(input, options, p.v5);
    const limits = subscriptionLimits(options, p.defaults);
    await p.connection.whenConnected('subscribe', options.signal);
    if (p.v5) checkSubscribeLimits(filters, p.session.limits);
    const inbox = p.router.inbox(filters, limits, this);
    inbox.awaitingSuback = true;
    // Routed to before SUBSCRIBE goes out: retained messages may arrive in the same read as SUBACK.
    p.router.add(inbox);
    const acked = this.send(inbox, filters);
    let granted: number[];
    try {
      granted = await new Deadline<number[]>(p.timers).follow(acked).abortOn(options.signal).promise;
    } catch (err) {
      p.router.remove(inbox);
      inbox.discard();
      // Aborted while the SUBACK is still to come: undo whatever the broker grants.
      // The undo's own failure (the connection lost meanwhile) is no one's to handle: the filters go with the session.
      if (err instanceof AbortError) acked.then(() => this.unsubscribeUnshared(inbox.topicFilters)).catch(() => {});
      throw err;
    }
    inbox.granted = granted;
    const error = refusal(filters, granted);
    if (error) {
      p.router.remove(inbox);
      inbox.discard();
      await this.unsubscribeUnshared(error.granted.map((f) => f.topicFilter)).catch(() => {});
      throw error;
    }
    p.router.releaseHeld();
    inbox.acknowledged();
    return Subscription.of(inbox);
  }

  /** Sends UNSUBSCRIBE and resolves on UNSUBACK (with its reason codes at MQTT 5); subscriptions left with no filter end. */
  async unsubscribe(topicFilters: string | string[], options: { signal?: AbortSignal }): Promise<number[]> {
    const p = this.p;
    const filters = unsubscribeFilters(topicFilters);
    checkKeys(options, CALL_OPTIONS);
    const signal = options.signal;
    await p.connection.whenConnected('unsubscribe', signal);
    for (const inbox of p.router.subscribed()) {
      if (inbox.removeFilters(filters)) {
        p.router.remove(inbox);
        inbox.end();
      }
    }
    p.router.subscriptionIds.unsubscribed(filters);
    return new Deadline<number[]>(p.timers).follow(p.session.unsubscribe(filters)).abortOn(signal).promise;
  }

  /**
   * CONNACK 0. Without a session on the broker every live subscription is subscribed again (before
   * anything else goes out) and its SUBACK checked again; with one, what was left offline goes.
   */
  resubscribe(connack: ConnackPacket): void {
    const p = this.p;
    if (connack.sessionPresent) {
      this.unsubscribeLeftOffline();
      return;
    }
    this.leftOffline.clear(); // the broker has no session, so nothing of it to undo
    for (const inbox of p.router.subscribed()) {
      if (inbox.granted.length === 0) continue; // its own SUBSCRIBE is still on the way
      const filters = inbox.filters;
      this.send(inbox, [...filters]).then(
        (granted) => {
          inbox.granted = granted;
          const error = refusal(filters, granted);
          if (!error) return;
          p.status.emit({ type: 'error', error });
          p.router.remove(inbox);
          inbox.end(error);
          // As subscribe() does: a subscription either stands whole or leaves nothing subscribed.
          this.unsubscribeUnshared(error.granted.map((f) => f.topicFilter)).catch(() => {});
        },
        // Lost again before SUBACK: the next reconnect subscribes again.
        () => {},
      );
    }
  }

  /** InboxOwner: the application left `inbox` (unsubscribe(), break, return()). */
  async left(inbox: Inbox): Promise<void> {
    if (!this.p.router.remove(inbox)) return;
    await this.unsubscribeUnshared(inbox.topicFilters).catch((err: unknown) => this.p.log?.(`unsubscribe after leaving a subscription failed: ${String(err)}`));
  }

  private unsubscribeLeftOffline(): void {
    const inUse = this.p.router.filtersInUse();
    const left = [...this.leftOffline].filter((f) => !inUse.has(f));
    this.leftOffline.clear();
    if (left.length === 0) return;
    this.p.router.subscriptionIds.unsubscribed(left);
    this.p.session.unsubscribe(left).catch(() => {
      // Lost again before UNSUBACK: try once more after the next reconnect.
      for (const f of left) (this.leftOffline = own(this.leftOffline)).add(f);
    });
  }

  /** Unsubscribes those of `filters` that no live subscription still uses. */
  private async unsubscribeUnshared(filters: string[]): Promise<void> {
    const p = this.p;
    const inUse = p.router.filtersInUse();
    const unused = [...new Set(filters)].filter((f) => !inUse.has(f));
    if (unused.length === 0) return;
    const state = p.lifecycle.state;
    if (state !== 'connected') {
      if (state === 'reconnecting' && !p.clean) for (const f of unused) (this.leftOffline = own(this.leftOffline)).add(f);
      return;
    }
    p.router.subscriptionIds.unsubscribed(unused);
    await p.session.unsubscribe(unused);
  }

  /**
   * SUBSCRIBE `filters` for `inbox`. MQTT 5, where the broker allows them: with the inbox's Subscription
   * Identifier (given on its first SUBSCRIBE and kept for every re-subscription), so the router knows
   * exactly which subscriptions each message is for.
   */
  private send(inbox: Inbox, filters: Filter[]): Promise<number[]> {
    const p = this.p;
    const ids = p.router.subscriptionIds;
    let id: number | undefined;
    if (p.session.limits.subscriptionIdentifiersAvailable) id = inbox.subscriptionId ??= ids.allocate(() => p.router.subscribed().map((i) => i.subscriptionId));
    ids.subscribed(filters, id);
    return p.session.subscribe(filters, id);
  }

}

/**
 * The SubscribeError for the filters SUBACK refused, or undefined when all were granted. A refusal is
 * 0x80 at 3.1.1 and any code of 0x80 or more at MQTT 5 (0x87 Not authorized, 0x8F Topic Filter
 * invalid, 0x97 Quota exceeded, 0x9E Shared Subscriptions not supported, ...), each named.
 */
function refusal(filters: readonly Filter[], granted: number[]): SubscribeError | undefined {
  if (!granted.some((code) => code >= 0x80)) return undefined;
  const refused: SubscribeRefusal[] = [];
  const ok: { topicFilter: string; qos: number }[] = [];
  filters.forEach((f, i) => {
    const code = granted[i] as number;
    if (code < 0x80) ok.push({ topicFilter: f.topicFilter, qos: code });
    else refused.push({ topicFilter: f.topicFilter, reasonCode: code, reason: reasonCodeName(code, 'suback') ?? 'unknown reason code' });
  });
  return new SubscribeError(refused.map((r) => r.topicFilter), ok, refused);
}
