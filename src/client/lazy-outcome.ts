/**
 * How something ended (resolved, or rejected with an error), as a promise made only when someone
 * asks for it: the `closed` of the client, of each subscription and of each connection. Most of them
 * are never read, and a pending promise with its two resolving functions, their context and a no-op
 * catch weighs about 350 bytes; ending one nobody asked for costs two fields.
 *
 * Nobody has to await the promise: it gets a no-op catch when it is made, so an error that ends its
 * owner never becomes an unhandled rejection, whether it was asked for before or after the end.
 */
export class LazyOutcome {
  private made: Promise<void> | undefined;
  private settle: ((err: unknown) => void) | undefined;
  private ended = false;
  private error: unknown;

  /** The same promise on every read: pending, or settled as it ended. */
  get promise(): Promise<void> {
    if (!this.made) {
      const err = this.error;
      this.made = !this.ended
        ? new Promise<void>((resolve, reject) => (this.settle = (e) => (e === undefined ? resolve() : reject(e))))
        : err === undefined
          ? Promise.resolve()
          : Promise.reject(err);
      this.made.catch(() => {});
    }
    return this.made;
  }

  /** Resolves (no `err`) or rejects with `err`; only the first call counts. */
  end(err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = err;
    this.settle?.(err);
    this.settle = undefined;
  }
}
