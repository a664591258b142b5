import { Fifo } from './session/fifo.js';

/**
 * A single-consumer async iterator fed by push(): the shared core of subscriptions and status
 * streams. Ending it lets the consumer read what is buffered, then finishes (or throws `err`).
 * The bound and what to do at it belong to the owner; this class only counts.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  protected readonly buffer = new Fifo<T>();
  /**
   * The pending next()'s resolve, alone: an error settles it through resolve(rejected promise), so
   * a consumer waiting costs no reject function and no object to hold the pair.
   */
  private waiter: ((r: IteratorResult<T> | Promise<never>) => void) | undefined;
  protected ended = false;
  private endError: unknown;

  /** Whether end() was called (what is buffered may still be read). */
  get hasEnded(): boolean {
    return this.ended;
  }

  /** Items waiting to be read. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Hands `item` to a waiting consumer, or buffers it. Ignored once ended. */
  push(item: T): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w({ value: item, done: false });
      return;
    }
    this.buffer.push(item);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) {
      const item = this.buffer.shift() as T;
      this.taken(item);
      return Promise.resolve({ value: item, done: false });
    }
    if (this.ended) {
      return this.endError === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.endError);
    }
    if (this.waiter) return Promise.reject(new Error('next() called again before the previous call settled'));
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  async return(): Promise<IteratorResult<T>> {
    this.end();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** No more items: the consumer drains the buffer, then the iterator is done, or throws `err`. */
  end(err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.endError = err;
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w(err === undefined ? { value: undefined, done: true } : Promise.reject(err));
  }

  /** Called after the consumer took a buffered item. */
  protected taken(_item: T): void {}
}
