import { describe, expect, it } from 'vitest';
import { PacketIdAllocator } from '../../src/session/packet-ids.js';

/** Allocates `n` ids, failing fast (without expect() per step) if any comes back undefined. */
function allocateMany(ids: PacketIdAllocator, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = ids.allocate();
    if (id === undefined) throw new Error(`allocation ${i} returned undefined`);
    out.push(id);
  }
  return out;
}

describe('PacketIdAllocator (MQTT-2.3.1-1, MQTT-2.3.1-2)', () => {
  it('hands out 1, 2, 3, ... in order (never 0)', () => {
    const ids = new PacketIdAllocator();
    expect(allocateMany(ids, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(ids.size).toBe(5);
    expect(ids.has(3)).toBe(true);
    expect(ids.has(6)).toBe(false);
  });

  it('a released id is free again but the counter keeps going forward', () => {
    const ids = new PacketIdAllocator();
    allocateMany(ids, 3);
    ids.release(2);
    expect(ids.has(2)).toBe(false);
    expect(ids.size).toBe(2);
    expect(ids.allocate()).toBe(4);
  });

  it('skips ids in use (reserved ones included)', () => {
    const ids = new PacketIdAllocator();
    ids.reserve(1);
    ids.reserve(2);
    ids.reserve(4);
    expect(ids.allocate()).toBe(3);
    expect(ids.allocate()).toBe(5);
    expect(ids.size).toBe(5);
  });

  it('wraps after 65535 to 1, skipping ids still in use', () => {
    const ids = new PacketIdAllocator();
    const all = allocateMany(ids, 65535);
    expect(all[0]).toBe(1);
    expect(all[65534]).toBe(65535);
    expect(new Set(all).size).toBe(65535);
    ids.release(2);
    ids.release(65535);
    ids.release(1);
    // The counter is past 65535: it wraps to 1 first.
    expect(ids.allocate()).toBe(1);
    expect(ids.allocate()).toBe(2);
    expect(ids.allocate()).toBe(65535);
    expect(ids.allocate()).toBeUndefined();
  });

  it('wraps from 65535 to 1 (never 0): after 65535 allocations and releases the next id is 1', () => {
    const ids = new PacketIdAllocator();
    allocateMany(ids, 65535);
    for (let i = 1; i <= 65535; i++) ids.release(i);
    expect(ids.size).toBe(0);
    expect(ids.allocate()).toBe(1);
  });

  it('when the counter reaches a 65535 that is in use, the search wraps to 1', () => {
    const ids = new PacketIdAllocator();
    allocateMany(ids, 65534); // 1..65534, counter at 65535
    ids.reserve(65535);
    ids.release(1);
    ids.release(7);
    expect(ids.allocate()).toBe(1);
    expect(ids.allocate()).toBe(7);
    expect(ids.allocate()).toBeUndefined();
  });

  it('exhaustion returns undefined and takes nothing; a release makes that id the next one', () => {
    const ids = new PacketIdAllocator();
    allocateMany(ids, 65535);
    expect(ids.size).toBe(65535);
    expect(ids.allocate()).toBeUndefined();
    expect(ids.allocate()).toBeUndefined();
    expect(ids.size).toBe(65535);
    ids.release(40000);
    expect(ids.allocate()).toBe(40000);
    expect(ids.allocate()).toBeUndefined();
  });

  it('after a wrap, the ids still in use from the first round are skipped', () => {
    const ids = new PacketIdAllocator();
    allocateMany(ids, 65535);
    for (let i = 1; i <= 65535; i++) if (i % 3 !== 0) ids.release(i);
    // 3, 6, 9, ... are still in use.
    expect(allocateMany(ids, 5)).toEqual([1, 2, 4, 5, 7]);
  });
});
