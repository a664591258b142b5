import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/store.js';
import { memoryHarness, rec, storeContract } from './contract.js';

storeContract('MemoryStore', memoryHarness);

describe('MemoryStore', () => {
  it('a second client given the same instance resumes where the first stopped', async () => {
    const store = new MemoryStore();
    await store.open();
    store.putOutgoing(rec(1));
    store.putIncoming(4);
    await store.close();
    expect(await store.open()).toEqual({ outgoing: [rec(1)], incoming: [4] });
  });

  it('separate instances share nothing', async () => {
    const a = new MemoryStore();
    const b = new MemoryStore();
    a.putOutgoing(rec(1));
    expect(await b.open()).toEqual({ outgoing: [], incoming: [] });
  });
});
