import type { Timers } from './timers.js';

/** What a DeadlineQueue links together: it owns these fields, set them to undefined when creating one. */
export interface Timed {
  /** When this item's deadline falls (the Timers clock), while it is armed. */
  due: number | undefined;
  prevDue: Timed | undefined;
  nextDue: Timed | undefined;
}

/**
 * Deadlines for many items that all wait the same time, with one timer. The in-flight window arms
 * one per QoS 1/2 publish as it is sent (and again at PUBREC, on a re-send, when reading resumes);
 * a timer armed and cleared per message cost about 5% of a QoS 1 publisher's CPU.
 *
 * Every item is armed with the same timeout at a time that only moves forward, so its deadline is
 * never earlier than any armed before it: the items are a list in deadline order, and the only
 * timer needed is the head's. The list is threaded through the items themselves (nothing is
 * allocated per arm) and an item leaves it at once when disarmed, so nothing settled stays
 * reachable from here. The timer goes when the list empties.
 */
export class DeadlineQueue<T extends Timed> {
  private head: Timed | undefined;
  private tail: Timed | undefined;
  /** Set exactly while the list is not empty (for the head's deadline). */
  private timer: unknown;

  /** `expire` runs for each item whose deadline passed, in deadline order, after it left the list. */
  constructor(
    private readonly timers: Timers,
    private readonly timeoutMs: number,
    private readonly expire: (item: T) => void,
  ) {}

  /** Starts (or restarts) `item`'s deadline: the timeout from now. A timeout of 0 or Infinity arms nothing (as Deadline.arm). */
  arm(item: T): void {
    if (!(this.timeoutMs > 0 && this.timeoutMs < Infinity)) return;
    if (item.due !== undefined) this.unlink(item);
    item.due = this.timers.now() + this.timeoutMs;
    item.prevDue = this.tail;
    if (this.tail) this.tail.nextDue = item;
    else this.head = item;
    this.tail = item;
    if (this.timer === undefined) this.schedule();
  }

  /** Stops `item`'s deadline (settled, or paused); nothing if it had none. */
  disarm(item: T): void {
    if (item.due === undefined) return;
    this.unlink(item);
    if (!this.head) this.stop();
  }

  /** Stops every deadline. */
  clear(): void {
    while (this.head) this.unlink(this.head);
    this.stop();
  }

  private unlink(item: Timed): void {
    const { prevDue: prev, nextDue: next } = item;
    if (prev) prev.nextDue = next;
    else this.head = next;
    if (next) next.prevDue = prev;
    else this.tail = prev;
    item.due = item.prevDue = item.nextDue = undefined;
  }

  /** The timer for the head's deadline; at least 1 ms, so a clock read a little behind the timer's own cannot spin. */
  private schedule(): void {
    this.timer = this.timers.setTimeout(() => this.sweep(), Math.max(1, (this.head?.due as number) - this.timers.now()));
  }

  private stop(): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The timer fired: every item due by now expires, oldest first; then the timer follows the new head. */
  private sweep(): void {
    this.timer = undefined;
    const now = this.timers.now();
    for (let item = this.head; item && (item.due as number) <= now; item = this.head) {
      this.unlink(item);
      this.expire(item as T);
    }
    // An expire() that armed an item scheduled for it; the head may be due sooner.
    this.stop();
    if (this.head) this.schedule();
  }
}
