/**
 * status() streams leave the broadcaster when they end: a stream the application stopped reading
 * must not go on receiving (and buffering) every event for the client's life.
 */
import { describe, expect, it } from 'vitest';
import { StatusBroadcaster } from '../../src/status.js';

describe('StatusBroadcaster', () => {
  it('a stream that ends (the first one included) is no longer fed; one still open is', async () => {
    const b = new StatusBroadcaster();
    const first = b.open();
    const second = b.open();
    expect(b.openStreams).toBe(2);
    await first.return?.();
    expect(b.openStreams).toBe(1);
    b.emit({ type: 'closed' });
    // The control: the stream still open got the event.
    expect((await second.next()).value).toMatchObject({ type: 'closed' });
    await second.return?.();
    expect(b.openStreams).toBe(0);
  });
});
