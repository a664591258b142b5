/**
 * The Store contract (src/store/store.ts), written once and run against every store.
 * `reopen()` is what a restart looks like for that store: for MemoryStore the same instance opened
 * again, for FileStore a new instance on the same directory.
 */
import { describe, expect, it } from 'vitest';
import type { QoS } from '../../src/codec/packets.js';
import { MemoryStore, type OutgoingRecord, type Store, type StoreSnapshot } from '../../src/store/store.js';
import { prng } from '../helpers/prng.js';
export { prng };

export interface StoreHarness {
  /** A fresh, empty store, already opened for `clientId`. */
  store: Store;
  /** Flushes and closes (where that applies) the current store, and opens it again as a restart would. */
  reopen(): Promise<{ store: Store; snapshot: StoreSnapshot }>;
  cleanup(): Promise<void>;
}

export type HarnessFactory = (clientId: string) => Promise<{ harness: StoreHarness; snapshot: StoreSnapshot }>;

export function rec(seq: number, extra: Partial<OutgoingRecord> = {}): OutgoingRecord {
  return {
    seq,
    topic: `t/${seq}`,
    payload: new Uint8Array([seq & 255, (seq >> 8) & 255, 7]),
    qos: 1,
    retain: false,
    ...extra,
  };
}

export const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
export const UNICODE_TOPIC = 'sensör/温度/😀/\u00e9\u0301/end';


async function withHarness(factory: HarnessFactory, fn: (h: StoreHarness, snapshot: StoreSnapshot) => Promise<void>): Promise<void> {
  const { harness, snapshot } = await factory('contract-client');
  try {
    await fn(harness, snapshot);
  } finally {
    await harness.cleanup();
  }
}

export function storeContract(name: string, factory: HarnessFactory): void {
  describe(`${name}: Store contract`, () => {
    it('a fresh store opens empty', async () => {
      await withHarness(factory, async (_h, snapshot) => {
        expect(snapshot).toEqual({ outgoing: [], incoming: [] });
      });
    });

    it('round-trips records exactly: binary payloads (all 256 byte values, empty), unicode topics, every qos, retain; sorted by seq', async () => {
      await withHarness(factory, async (h) => {
        const records: OutgoingRecord[] = [
          rec(5, { topic: UNICODE_TOPIC, payload: ALL_BYTES, qos: 2, retain: true }),
          rec(1, { payload: new Uint8Array(0), qos: 0 }),
          rec(3, { topic: '', payload: new Uint8Array(70_000).fill(0xfe), qos: 1, packetId: 65535 }),
          rec(2, { topic: 'a/+/#', qos: 2, packetId: 1, released: true }),
          rec(4, { seq: 2 ** 40 }),
        ];
        for (const r of records) h.store.putOutgoing(r);
        h.store.flush();
        const expected = [...records].sort((a, b) => a.seq - b.seq);
        const { snapshot } = await h.reopen();
        expect(snapshot.outgoing).toEqual(expected);
        expect(snapshot.outgoing.map((r) => r.seq)).toEqual([1, 2, 3, 5, 2 ** 40]);
        expect(snapshot.outgoing[3]!.topic).toBe(UNICODE_TOPIC);
        expect([...snapshot.outgoing[3]!.payload]).toEqual([...ALL_BYTES]);
        expect(snapshot.outgoing[0]!.payload).toBeInstanceOf(Uint8Array);
        expect(snapshot.outgoing[0]!.payload.length).toBe(0);
      });
    });

    it('stores the bytes of a payload that is a view into a larger buffer', async () => {
      await withHarness(factory, async (h) => {
        const big = Uint8Array.from({ length: 100 }, (_, i) => i);
        h.store.putOutgoing(rec(1, { payload: big.subarray(10, 20) }));
        h.store.putOutgoing(rec(2, { payload: Buffer.from('héllo', 'utf8') }));
        h.store.flush();
        const { snapshot } = await h.reopen();
        expect([...snapshot.outgoing[0]!.payload]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
        expect(new TextDecoder().decode(snapshot.outgoing[1]!.payload)).toBe('héllo');
      });
    });

    it('MQTT 5 records keep their properties and expiry time through updates and a restart; a 3.1.1 record gets neither', async () => {
      await withHarness(factory, async (h) => {
        const properties = { messageExpiryInterval: 60, contentType: 'text/plain', userProperties: [['k', '1'], ['k', '2']] as [string, string][] };
        h.store.putOutgoing(rec(1, { qos: 1, properties, expiresAt: 1_700_000_060_000 }));
        h.store.putOutgoing(rec(2, { qos: 2, properties: { contentType: 'a' } }));
        h.store.putOutgoing(rec(3, { qos: 1 }));
        h.store.flush();
        h.store.putOutgoing(rec(1, { qos: 1, packetId: 4, properties, expiresAt: 1_700_000_060_000 }));
        h.store.flush();
        const { snapshot } = await h.reopen();
        expect(snapshot.outgoing).toEqual([
          rec(1, { qos: 1, packetId: 4, properties, expiresAt: 1_700_000_060_000 }),
          rec(2, { qos: 2, properties: { contentType: 'a' } }),
          rec(3, { qos: 1 }),
        ]);
        expect('expiresAt' in snapshot.outgoing[1]!).toBe(false);
        expect('properties' in snapshot.outgoing[2]!).toBe(false);
      });
    });

    it('updates a record in place: packetId assigned, then released; a new payload replaces the old one', async () => {
      await withHarness(factory, async (h) => {
        h.store.putOutgoing(rec(1, { qos: 2 }));
        h.store.putOutgoing(rec(2, { qos: 1 }));
        h.store.flush();
        h.store.putOutgoing(rec(1, { qos: 2, packetId: 17 }));
        h.store.putOutgoing(rec(2, { qos: 1, packetId: 18 }));
        h.store.flush();
        h.store.putOutgoing(rec(1, { qos: 2, packetId: 17, released: true }));
        h.store.putOutgoing(rec(2, { qos: 1, packetId: 99, payload: new Uint8Array([1, 2, 3, 4]), topic: 'moved', retain: true }));
        h.store.flush();
        let { snapshot } = await h.reopen();
        expect(snapshot.outgoing).toEqual([
          rec(1, { qos: 2, packetId: 17, released: true }),
          rec(2, { qos: 1, packetId: 99, payload: new Uint8Array([1, 2, 3, 4]), topic: 'moved', retain: true }),
        ]);
        // An update can also take the packet id away again (e.g. the session forgot in-flight ids).
        const store = (await h.reopen()).store;
        store.putOutgoing(rec(1, { qos: 2 }));
        store.flush();
        ({ snapshot } = await h.reopen());
        expect(snapshot.outgoing[0]).toEqual(rec(1, { qos: 2 }));
        expect(snapshot.outgoing[0]!.packetId).toBeUndefined();
        expect(snapshot.outgoing[0]!.released).toBeFalsy();
      });
    });

    it('deletes outgoing records; deleting a missing seq is a no-op; a deleted seq can be put again', async () => {
      await withHarness(factory, async (h) => {
        for (let s = 1; s <= 5; s++) h.store.putOutgoing(rec(s));
        h.store.deleteOutgoing(2);
        h.store.deleteOutgoing(4);
        h.store.deleteOutgoing(42);
        h.store.flush();
        const first = await h.reopen();
        const store = first.store;
        let snapshot = first.snapshot;
        expect(snapshot.outgoing.map((r) => r.seq)).toEqual([1, 3, 5]);
        store.deleteOutgoing(1);
        store.putOutgoing(rec(2, { topic: 'again' }));
        store.flush();
        ({ snapshot } = await h.reopen());
        expect(snapshot.outgoing).toEqual([rec(2, { topic: 'again' }), rec(3), rec(5)]);
      });
    });

    it('keeps incoming QoS 2 ids: add (idempotent), delete, clear', async () => {
      await withHarness(factory, async (h) => {
        h.store.putIncoming(1);
        h.store.putIncoming(65535);
        h.store.putIncoming(7);
        h.store.putIncoming(7);
        h.store.deleteIncoming(1);
        h.store.deleteIncoming(12345);
        h.store.flush();
        let { snapshot, store } = await h.reopen();
        expect([...snapshot.incoming].sort((a, b) => a - b)).toEqual([7, 65535]);
        store.clearIncoming();
        store.putIncoming(3);
        store.flush();
        ({ snapshot, store } = await h.reopen());
        expect(snapshot.incoming).toEqual([3]);
        store.clearIncoming();
        store.flush();
        ({ snapshot } = await h.reopen());
        expect(snapshot.incoming).toEqual([]);
      });
    });

    it('the snapshot and the store do not share mutable records with the caller', async () => {
      await withHarness(factory, async (h) => {
        const r = rec(1, { packetId: 5 });
        h.store.putOutgoing(r);
        r.packetId = 6;
        r.topic = 'changed';
        h.store.flush();
        const { snapshot } = await h.reopen();
        expect(snapshot.outgoing[0]).toEqual(rec(1, { packetId: 5 }));
        snapshot.outgoing[0]!.topic = 'mutated';
        snapshot.incoming.push(9);
        const again = await h.reopen();
        expect(again.snapshot.outgoing[0]!.topic).toBe('t/1');
        expect(again.snapshot.incoming).toEqual([]);
      });
    });

    it('reopening yields the same snapshot, at every point of a random sequence of mutations', async () => {
      await withHarness(factory, async (h) => {
        const rand = prng(1234);
        const model = new Map<number, OutgoingRecord>();
        const incoming = new Set<number>();
        let store = h.store;
        for (let step = 0; step < 1500; step++) {
          const x = rand();
          const seq = 1 + Math.floor(rand() * 40);
          if (x < 0.35) {
            const r = rec(seq, {
              qos: (1 + Math.floor(rand() * 2)) as QoS,
              payload: Uint8Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)),
            });
            store.putOutgoing(r);
            model.set(seq, r);
          } else if (x < 0.55) {
            const old = model.get(seq);
            if (old) {
              const r = { ...old, packetId: 1 + Math.floor(rand() * 65535), ...(old.qos === 2 && rand() < 0.5 ? { released: true } : {}) };
              store.putOutgoing(r);
              model.set(seq, r);
            }
          } else if (x < 0.75) {
            store.deleteOutgoing(seq);
            model.delete(seq);
          } else if (x < 0.87) {
            store.putIncoming(seq);
            incoming.add(seq);
          } else if (x < 0.97) {
            store.deleteIncoming(seq);
            incoming.delete(seq);
          } else {
            store.clearIncoming();
            incoming.clear();
          }
          if (rand() < 0.3) store.flush();
          if (rand() < 0.03) {
            store.flush();
            const re = await h.reopen();
            store = re.store;
            expect(re.snapshot.outgoing).toEqual([...model.values()].sort((a, b) => a.seq - b.seq));
            expect(new Set(re.snapshot.incoming)).toEqual(incoming);
          }
        }
        store.flush();
        const re = await h.reopen();
        expect(re.snapshot.outgoing).toEqual([...model.values()].sort((a, b) => a.seq - b.seq));
        expect(new Set(re.snapshot.incoming)).toEqual(incoming);
      });
    });

    it('flush() with nothing to flush and close() are harmless, and a store can be reopened after close()', async () => {
      await withHarness(factory, async (h) => {
        h.store.flush();
        h.store.flush();
        h.store.putOutgoing(rec(1));
        h.store.flush();
        h.store.flush();
        const { snapshot } = await h.reopen();
        expect(snapshot.outgoing).toEqual([rec(1)]);
      });
    });
  });
}

/** MemoryStore's harness: a restart is the same instance opened again. */
export const memoryHarness: HarnessFactory = async () => {
  const store = new MemoryStore();
  const snapshot = await store.open('c1');
  const harness: StoreHarness = {
    store,
    async reopen() {
      store.flush();
      await store.close();
      return { store, snapshot: await store.open('c1') };
    },
    async cleanup() {
      await store.close();
    },
  };
  return { harness, snapshot };
};
