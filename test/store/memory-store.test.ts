import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/store.js';
import { memoryHarness, rec, storeContract } from './contract.js';

storeContract('MemoryStore', memoryHarness);

describe('MemoryStore', () => {
  it('a second client given the same instance resumes where the first stopped', async () => {
    const store = new MemoryStore();
    await store.open('c1');
    store.putOutgoing(rec(1));
    store.putIncoming(4);
    await store.close();
    expect(await store.open('c1')).toEqual({ outgoing: [rec(1)], incoming: [4] });
  });

  it('separate instances share nothing', async () => {
    const a = new MemoryStore();
    const b = new MemoryStore();
    await a.open('c1');
    a.putOutgoing(rec(1));
    expect(await b.open('c1')).toEqual({ outgoing: [], incoming: [] });
  });

  it("keeps records per client id: open(clientId) returns only that client id's, and never hands them to another [MQTT-3.1.3-2]", async () => {
    const store = new MemoryStore();
    await store.open('a');
    store.putOutgoing(rec(1));
    store.putIncoming(7);
    await store.close();
    expect(await store.open('b')).toEqual({ outgoing: [], incoming: [] });
    store.putOutgoing(rec(2));
    store.putIncoming(8);
    await store.close();
    expect(await store.open('a')).toEqual({ outgoing: [rec(1)], incoming: [7] });
    await store.close();
    expect(await store.open('b')).toEqual({ outgoing: [rec(2)], incoming: [8] });
  });

  it('serves one client at a time: a second open() before close() is refused (two live clients would write the same records)', async () => {
    const store = new MemoryStore();
    await store.open('a');
    await expect(store.open('b')).rejects.toThrow('MemoryStore: already open for client id "a"');
    await expect(store.open('a')).rejects.toThrow('MemoryStore: already open for client id "a"');
    await store.close();
    await expect(store.open('b')).resolves.toEqual({ outgoing: [], incoming: [] });
  });
});
