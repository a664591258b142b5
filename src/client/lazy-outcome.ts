/**
 * How something ended (resolved, or rejected with an error), as a promise made only when someone
 * asks for it: the `closed` of the client, of each subscription and of each connection. Most of them
 * are never read, and a pending promise with its two resolving functions, their context and a no-op
 * catch weighs about 350 bytes; settling one nobody asked for costs a field.
 *
 * Nobody has to await the promise: it gets a no-op catch when it is made, so an error that ends its
 * owner never becomes an unhandled rejection, whether it was asked for before or after it settled.
 */
export class LazyOutcome {
  private made: Promise<void> | undefined;
  private settle: { resolve(): void; reject(err: unknown): void } | undefined;
  private state: 'pending' | 'resolved' | 'rejected' = 'pending';
  private error: unknown;

  /** The same promise on every read: pending, or settled as the outcome was. */
  get promise(): Promise<void> {
    if (this.made) return this.made;
    if (this.state === 'resolved') this.made = Promise.resolve();
    else if (this.state === 'rejected') this.made = Promise.reject(this.error);
    else this.made = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.made.catch(() => {});
    return this.made;
  }

  /** Resolves, unless already settled. */
  resolve(): void {
    if (this.state !== 'pending') return;
    this.state = 'resolved';
    this.settle?.resolve();
    this.settle = undefined;
  }

  /** Rejects with `err`, unless already settled. */
  reject(err: unknown): void {
    if (this.state !== 'pending') return;
    this.state = 'rejected';
    this.error = err;
    this.settle?.reject(err);
    this.settle = undefined;
  }
}
