import { AsyncQueue } from './async-queue.js';
import { EMPTY_SET, own } from './session/lazy-collections.js';

/** What `client.status()` reports, in order; switch on `type`. */
export type StatusEvent =
  | {
      /** CONNACK 0 arrived. */
      type: 'connected';
      /** The broker resumed a stored session. */
      sessionPresent: boolean;
      /** The broker's address (without user info): with `servers`, the one that answered. */
      url: string;
    }
  | {
      /** An open connection was lost. */
      type: 'disconnected';
      /** Why: the socket error, the keepalive timeout, the protocol error. */
      reason: Error;
    }
  | {
      /** Right after `disconnected` when the client will reconnect: publishes wait for the next connection. */
      type: 'offline';
      /** Publishes waiting: those queued plus those in flight (re-sent after the reconnect). */
      queued: number;
    }
  | {
      /** The next attempt is scheduled. */
      type: 'reconnecting';
      /** Which attempt this is, counted from 1 since the backoff last started over. */
      attempt: number;
      /** ms until it starts (backoff with full jitter). */
      delay: number;
      /** The broker it will try. */
      url: string;
    }
  | {
      /** A failure no call is waiting for: a failed reconnect attempt, a refused re-subscription, a subscription set aside. */
      type: 'error';
      /** What failed. */
      error: Error;
    }
  /**
   * A full subscription has kept the client from reading for `fullFor` ms (stallTimeout, then again
   * every stallTimeout while it lasts): nothing from the broker is read until it is.
   */
  | {
      /** A full subscription is holding the client up. */
      type: 'stalled';
      /** Its topic filters. */
      filters: string[];
      /** Messages it holds. */
      buffered: number;
      /** ms it has been full. */
      fullFor: number;
    }
  | {
      /** The client is finished; the stream ends after this. */
      type: 'closed';
      /** The error that ended it; absent after `end()` (or `destroy()` without one). */
      error?: Error;
    };

/** Each status() call gets its own stream; a reader that falls this far behind loses the oldest events. */
const STATUS_BUFFER = 256;

/** Fans status events out to every open status() iterator. */
export class StatusBroadcaster {
  private streams: Set<AsyncQueue<StatusEvent>> = EMPTY_SET;

  open(): AsyncIterableIterator<StatusEvent> {
    const stream = new StatusStream(this);
    (this.streams = own(this.streams)).add(stream);
    return stream;
  }

  /** A stream ended (read to its end, `return()`ed, or the client finished): it hears no more. */
  closed(stream: AsyncQueue<StatusEvent>): void {
    this.streams.delete(stream);
  }

  emit(event: StatusEvent): void {
    for (const s of this.streams) s.push(event);
  }

  /** The client is finished: every stream ends after what it has buffered. */
  end(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
  }
}

class StatusStream extends AsyncQueue<StatusEvent> {
  // The broadcaster, not its set: the set it holds may be replaced (it starts as the shared empty one).
  constructor(private readonly owner: StatusBroadcaster) {
    super();
  }

  override push(event: StatusEvent): void {
    if (this.buffer.length >= STATUS_BUFFER) this.buffer.shift();
    super.push(event);
  }

  override end(err?: unknown): void {
    this.owner.closed(this);
    super.end(err);
  }
}
