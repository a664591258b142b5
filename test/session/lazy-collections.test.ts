import { describe, expect, it } from 'vitest';
import { EMPTY_ARRAY, EMPTY_MAP, EMPTY_SET, own } from '../../src/session/lazy-collections.js';
import { Fifo } from '../../src/session/fifo.js';
import { PacketIdAllocator } from '../../src/session/packet-ids.js';
import { MemoryStore } from '../../src/store/store.js';

describe('lazy collections: the shared empty Set, Map and array, and owning one on first write', () => {
  it('the shared ones read as empty and refuse every write', () => {
    const set: Set<number> = EMPTY_SET;
    const map: Map<string, number> = EMPTY_MAP;
    const array: number[] = EMPTY_ARRAY;
    expect([set.size, set.has(1), [...set]]).toEqual([0, false, []]);
    expect([map.size, map.get('a'), map.has('a'), [...map.entries()]]).toEqual([0, undefined, false, []]);
    // Deleting and clearing an empty collection change nothing: allowed, as on any empty one.
    expect(set.delete(1)).toBe(false);
    expect(map.delete('a')).toBe(false);
    set.clear();
    map.clear();
    expect(() => set.add(1)).toThrow('mqttwire internal error: a write to a shared empty collection (use own())');
    expect(() => map.set('a', 1)).toThrow('mqttwire internal error: a write to a shared empty collection (use own())');
    expect(() => array.push(1)).toThrow(TypeError);
    expect([set.size, map.size, array.length]).toEqual([0, 0, 0]);
  });

  it('own() gives each owner its own on the first write, and keeps it after', () => {
    const a = own<Set<number>>(EMPTY_SET).add(1);
    const b = own<Set<number>>(EMPTY_SET);
    expect(b).not.toBe(a);
    expect([...b]).toEqual([]);
    expect(own(a)).toBe(a);
    const m = own<Map<string, number>>(EMPTY_MAP).set('x', 1);
    expect(own(m)).toBe(m);
    expect(own<Map<string, number>>(EMPTY_MAP).get('x')).toBeUndefined();
    const arr = own<number[]>(EMPTY_ARRAY);
    arr.push(1);
    expect([arr, own(arr) === arr, own<number[]>(EMPTY_ARRAY)]).toEqual([[1], true, []]);
    // The shared ones stayed empty.
    expect([EMPTY_SET.size, EMPTY_MAP.size, EMPTY_ARRAY.length]).toEqual([0, 0, 0]);
  });

  it('Fifos own their items on the first push and give them back when drained', () => {
    const a = new Fifo<number>();
    const b = new Fifo<number>();
    a.push(1);
    expect([a.length, b.length, b.shift()]).toEqual([1, 0, undefined]);
    expect(a.drain()).toEqual([1]);
    a.push(2);
    expect([a.shift(), a.length, EMPTY_ARRAY.length]).toEqual([2, 0, 0]);
  });

  it('two owners that start from the shared empty one never see each other (packet ids, a MemoryStore)', async () => {
    const one = new PacketIdAllocator();
    const two = new PacketIdAllocator();
    expect(one.allocate()).toBe(1);
    expect([two.has(1), two.size]).toEqual([false, 0]);
    expect(two.allocate()).toBe(1);

    const s1 = new MemoryStore();
    const s2 = new MemoryStore();
    await s1.open('a');
    await s2.open('a');
    s1.putIncoming(7);
    s1.putOutgoing({ seq: 1, topic: 't', payload: new Uint8Array([1]), qos: 1, retain: false });
    expect(await reopen(s2, 'a')).toEqual({ outgoing: [], incoming: [] });
    expect(await reopen(s1, 'a')).toEqual({ outgoing: [{ seq: 1, topic: 't', payload: new Uint8Array([1]), qos: 1, retain: false }], incoming: [7] });
    // Another client id on the same store starts empty.
    expect(await reopen(s1, 'b')).toEqual({ outgoing: [], incoming: [] });
  });
});

async function reopen(store: MemoryStore, clientId: string): Promise<unknown> {
  await store.close();
  return store.open(clientId);
}
