import { describe, expect, it } from 'vitest';
import { emptyArray, emptyMap, emptySet, ownArray, ownMap, ownSet } from '../../src/session/lazy-collections.js';
import { Fifo } from '../../src/session/fifo.js';
import { PacketIdAllocator } from '../../src/session/packet-ids.js';
import { MemoryStore } from '../../src/store/store.js';

describe('lazy collections: the shared empty Set and Map, and owning one on first write', () => {
  it('the shared ones read as empty and refuse every write, naming the fix', () => {
    const set = emptySet<number>();
    const map = emptyMap<string, number>();
    expect([set.size, set.has(1), [...set]]).toEqual([0, false, []]);
    expect([map.size, map.get('a'), map.has('a'), [...map.entries()]]).toEqual([0, undefined, false, []]);
    // Deleting and clearing an empty collection change nothing: allowed, as on any empty one.
    expect(set.delete(1)).toBe(false);
    expect(map.delete('a')).toBe(false);
    set.clear();
    map.clear();
    expect(() => set.add(1)).toThrow('mqttwire internal error: a write to the shared empty Set (use ownSet())');
    expect(() => map.set('a', 1)).toThrow('mqttwire internal error: a write to the shared empty Map (use ownMap())');
    expect([set.size, map.size]).toEqual([0, 0]);
  });

  it('ownSet()/ownMap() give each owner its own on the first write, and keep it after', () => {
    const a = ownSet(emptySet<number>()).add(1);
    const b = ownSet(emptySet<number>());
    expect(b).not.toBe(a);
    expect([...b]).toEqual([]);
    expect(ownSet(a)).toBe(a);
    const m = ownMap(emptyMap<string, number>()).set('x', 1);
    expect(ownMap(m)).toBe(m);
    expect(ownMap(emptyMap<string, number>()).get('x')).toBeUndefined();
    // The shared ones stayed empty.
    expect([emptySet<number>().size, emptyMap<string, number>().size]).toEqual([0, 0]);
  });

  it('the shared empty array is frozen (a push throws); ownArray() gives each owner its own, and a Fifo drained goes back to it', () => {
    const shared = emptyArray<number>();
    expect(() => shared.push(1)).toThrow(TypeError);
    expect(shared).toEqual([]);
    const mine = ownArray(shared);
    mine.push(1);
    expect([mine, ownArray(mine) === mine, ownArray(shared)]).toEqual([[1], true, []]);
    const a = new Fifo<number>();
    const b = new Fifo<number>();
    a.push(1);
    expect([a.length, b.length, b.shift()]).toEqual([1, 0, undefined]);
    expect(a.drain()).toEqual([1]);
    a.push(2);
    expect([a.shift(), a.length, emptyArray<number>().length]).toEqual([2, 0, 0]);
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
