/**
 * The default clock of the session's deadlines does not follow a step of the system clock: a wall
 * clock set an hour forward must not time out every publish in flight or send PINGREQ at once, and
 * one set back must not hold them back for an hour.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { globalTimers } from '../../src/session/timers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('globalTimers.now()', () => {
  it('reads epoch milliseconds that go on steadily when Date.now() steps forward or back', () => {
    const before = globalTimers.now();
    expect(Math.abs(before - Date.now())).toBeLessThan(1000); // an epoch time, like Date.now()
    const wall = Date.now();
    for (const step of [3_600_000, -3_600_000]) {
      const spy = vi.spyOn(Date, 'now').mockReturnValue(wall + step);
      expect(Date.now()).toBe(wall + step); // the control: the wall clock did step
      const after = globalTimers.now();
      expect(after).toBeGreaterThanOrEqual(before);
      expect(after - before).toBeLessThan(1000);
      spy.mockRestore();
    }
  });
});
