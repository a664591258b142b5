import { describe, expect, it } from 'vitest';
import { LazyOutcome } from '../../src/client/lazy-outcome.js';

/** 'pending', 'resolved' or 'rejected: <message>', after the microtasks queued so far. */
async function stateOf(p: Promise<void>): Promise<string> {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    (e: Error) => (state = `rejected: ${e.message}`),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return state;
}

describe('LazyOutcome: a `closed` promise made on first read', () => {
  it('read before it ends: the same pending promise, then settled by the first end() only', async () => {
    const o = new LazyOutcome();
    const p = o.promise;
    expect(o.promise).toBe(p);
    expect(await stateOf(p)).toBe('pending');
    o.end(new Error('first'));
    o.end();
    o.end(new Error('second'));
    expect(await stateOf(p)).toBe('rejected: first');
    expect(o.promise).toBe(p);
  });

  it('read only after it ended: settled as it ended, the same promise on every read', async () => {
    const resolved = new LazyOutcome();
    resolved.end();
    resolved.end(new Error('too late'));
    expect(await stateOf(resolved.promise)).toBe('resolved');
    expect(resolved.promise).toBe(resolved.promise);

    const rejected = new LazyOutcome();
    rejected.end(new Error('why'));
    rejected.end();
    expect(await stateOf(rejected.promise)).toBe('rejected: why');
    expect(rejected.promise).toBe(rejected.promise);
  });
});
