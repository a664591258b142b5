/**
 * Sets, Maps and arrays made on first write. Most clients never put anything in most of their
 * collections (in-flight publishes, QoS 2 ids, pending SUBACKs, subscriptions set aside, ...), yet an
 * empty Set or Map still costs its backing store, 150 to 190 bytes, and an empty array 32; a dozen
 * of them per client were a fifth of a client's memory. So such a field starts as the shared empty
 * one, which reads like any empty collection (size, has, get, delete, clear, iteration) and refuses
 * every write; the owner takes its own at the first write:
 *
 *   private inflight: Map<number, Flow> = EMPTY_MAP;
 *   (this.inflight = own(this.inflight)).set(id, flow);
 *
 * A write that forgot own() throws (the array is frozen) instead of leaking into every other
 * client's state.
 */

function refuse(): never {
  throw new Error('mqttwire internal error: a write to a shared empty collection (use own())');
}

class SharedEmptySet extends Set<never> {
  override add(): never {
    return refuse();
  }
}

class SharedEmptyMap extends Map<never, never> {
  override set(): never {
    return refuse();
  }
}

/** The shared empty Set: read it freely, take your own with own() before adding. */
export const EMPTY_SET: Set<never> = new SharedEmptySet();
/** The shared empty Map: read it freely, take your own with own() before setting. */
export const EMPTY_MAP: Map<never, never> = new SharedEmptyMap();
/** The shared empty array (frozen): read it freely, take your own with own() before writing. */
export const EMPTY_ARRAY: never[] = Object.freeze([]) as never[];

/** `c` itself, or a new empty one of the owner's when it is one of the shared empty collections. */
export function own<C extends Set<unknown> | Map<unknown, unknown> | unknown[]>(c: C): C {
  const x: unknown = c;
  return (x === EMPTY_SET ? new Set() : x === EMPTY_MAP ? new Map() : x === EMPTY_ARRAY ? [] : c) as C;
}
