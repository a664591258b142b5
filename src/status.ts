import { AsyncQueue } from './async-queue.js';

/** What `client.status()` reports, in order. */
export type StatusEvent =
  | { type: 'connected'; sessionPresent: boolean; url: string }
  | { type: 'disconnected'; reason: Error }
  | { type: 'offline'; queued: number }
  | { type: 'reconnecting'; attempt: number; delay: number; url: string }
  | { type: 'error'; error: Error }
  /**
   * A full subscription has kept the client from reading for `fullFor` ms (stallTimeout, then again
   * every stallTimeout while it lasts): nothing from the broker is read until it is.
   */
  | { type: 'stalled'; filters: string[]; buffered: number; fullFor: number }
  | { type: 'closed'; error?: Error };

/** Each status() call gets its own stream; a reader that falls this far behind loses the oldest events. */
const STATUS_BUFFER = 256;

/** Fans status events out to every open status() iterator. */
export class StatusBroadcaster {
  private readonly streams = new Set<AsyncQueue<StatusEvent>>();

  open(): AsyncIterableIterator<StatusEvent> {
    const stream = new StatusStream(this.streams);
    this.streams.add(stream);
    return stream;
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
  constructor(private readonly owners: Set<AsyncQueue<StatusEvent>>) {
    super();
  }

  override push(event: StatusEvent): void {
    if (this.buffer.length >= STATUS_BUFFER) this.buffer.shift();
    super.push(event);
  }

  override end(err?: unknown): void {
    this.owners.delete(this);
    super.end(err);
  }
}
