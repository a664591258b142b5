import { EMPTY_SET, own } from './lazy-collections.js';

/**
 * Packet identifiers: handed out in order from 1, skipping ids still in use, wrapping after
 * 65535 back to 1 (MQTT-2.3.1-1: a new packet must use an id not currently in use).
 */
export class PacketIdAllocator {
  private inUse: Set<number> = EMPTY_SET;
  private next = 1;

  /** Returns a free id, or undefined when all 65535 are taken. */
  allocate(): number | undefined {
    if (this.inUse.size >= 65535) return undefined;
    let id = this.next;
    while (this.inUse.has(id)) id = id === 65535 ? 1 : id + 1;
    (this.inUse = own(this.inUse)).add(id);
    this.next = id === 65535 ? 1 : id + 1;
    return id;
  }

  /** Marks an id as taken (used when restoring a session's in-flight messages). */
  reserve(id: number): void {
    (this.inUse = own(this.inUse)).add(id);
  }

  release(id: number): void {
    this.inUse.delete(id);
    // A client at rest holds no id: the emptied set's backing store goes back.
    if (this.inUse.size === 0) this.inUse = EMPTY_SET;
  }

  has(id: number): boolean {
    return this.inUse.has(id);
  }

  get size(): number {
    return this.inUse.size;
  }
}
