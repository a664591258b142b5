/**
 * status() streams leave the broadcaster when they end: a stream the application stopped reading
 * must not go on receiving (and buffering) every event for the client's life.
 */
import { describe, expect, it } from 'vitest';
import { StatusBroadcaster } from '../../src/status.js';

/** The broadcaster's open streams, read from its private set (it has no API for a count). */
const open = (b: StatusBroadcaster): number => (b as unknown as { streams: Set<unknown> }).streams.size;

describe('StatusBroadcaster', () => {
  it('a stream that ends (the first one included) is no longer fed; one still open is', async () => {
    const b = new StatusBroadcaster();
    const first = b.open();
    const second = b.open();
    expect(open(b)).toBe(2);
    await first.return?.();
    expect(open(b)).toBe(1);
    b.emit({ type: 'closed' });
    // The control: the stream still open got the event.
    expect((await second.next()).value).toMatchObject({ type: 'closed' });
    await second.return?.();
    expect(open(b)).toBe(0);
  });
});
