/**
 * Sets, Maps and arrays made on first write. Most clients never put anything in most of their collections
 * (in-flight publishes, QoS 2 ids, pending SUBACKs, subscriptions set aside, ...), yet an empty Set
 * or Map still costs its backing store, 150 to 190 bytes; a dozen of them per client were a fifth of
 * a client's memory. So such a field starts as the shared empty collection, which reads like any
 * empty one (size, has, get, delete, clear, iteration) and refuses every write; the owner takes its
 * own at the first write:
 *
 *   private inflight = emptyMap<number, Flow>();
 *   (this.inflight = ownMap(this.inflight)).set(id, flow);
 *
 * A write that forgot ownMap()/ownSet() throws instead of leaking into every other client's state.
 * Arrays the same way (an empty one is a 32-byte object of its own): emptyArray() is frozen, and
 * ownArray() gives the owner its own.
 */

class SharedEmptySet<T> extends Set<T> {
  override add(): this {
    throw new Error('mqttwire internal error: a write to the shared empty Set (use ownSet())');
  }
}

class SharedEmptyMap<K, V> extends Map<K, V> {
  override set(): this {
    throw new Error('mqttwire internal error: a write to the shared empty Map (use ownMap())');
  }
}

const EMPTY_SET: Set<never> = new SharedEmptySet<never>();
const EMPTY_MAP: Map<never, never> = new SharedEmptyMap<never, never>();
const EMPTY_ARRAY: never[] = Object.freeze([]) as never[];

/** The shared empty Set: read it freely, replace it with ownSet() before adding. */
export function emptySet<T>(): Set<T> {
  return EMPTY_SET;
}

/** The shared empty Map: read it freely, replace it with ownMap() before setting. */
export function emptyMap<K, V>(): Map<K, V> {
  return EMPTY_MAP;
}

/** The shared empty array (frozen: a push throws): read it freely, replace it with ownArray() before writing. */
export function emptyArray<T>(): T[] {
  return EMPTY_ARRAY;
}

/** `array` itself, or a new array of the owner's when it is still the shared empty one. */
export function ownArray<T>(array: T[]): T[] {
  return array === EMPTY_ARRAY ? [] : array;
}

/** `set` itself, or a new Set of the owner's when it is still the shared empty one. */
export function ownSet<T>(set: Set<T>): Set<T> {
  return set === EMPTY_SET ? new Set<T>() : set;
}

/** `map` itself, or a new Map of the owner's when it is still the shared empty one. */
export function ownMap<K, V>(map: Map<K, V>): Map<K, V> {
  return map === EMPTY_MAP ? new Map<K, V>() : map;
}
