import { EMPTY_ARRAY, own } from './lazy-collections.js';

/** A FIFO queue with O(1) push and shift (Array#shift is O(n) on large arrays). */
export class Fifo<T> {
  /** The shared empty array until the first push (most queues of an idle client stay empty). */
  private items: (T | undefined)[] = EMPTY_ARRAY;
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    (this.items = own(this.items)).push(item);
  }

  /** Puts `items` before everything queued, in their order (O(n): for the rare way back). */
  unshift(items: T[]): void {
    if (items.length === 0) return;
    this.items = [...items, ...this.items.slice(this.head)];
    this.head = 0;
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact once the dead prefix is both large and the larger half, so memory stays bounded.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes one item wherever it is (used when a queued operation is aborted). */
  remove(item: T): boolean {
    const i = this.items.indexOf(item, this.head);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** Empties the queue and returns what it held, oldest first. */
  drain(): T[] {
    const out = this.items.slice(this.head) as T[];
    this.items = EMPTY_ARRAY;
    this.head = 0;
    return out;
  }
}
