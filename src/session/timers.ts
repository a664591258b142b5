/**
 * The session's only view of time. The defaults are the runtime's global timers (which vitest's
 * fake timers replace in tests); a host with its own clock can pass another implementation.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Milliseconds since the epoch, from a clock that never steps (see globalTimers). */
  now(): number;
}

/**
 * The wall clock when the process started plus the monotonic time since. Deadlines compare readings
 * of it (keepalive, the in-flight window's ack timeout, message expiry), so a step of the system
 * clock (NTP correcting it, a VM resumed, someone setting it) neither fires them early nor holds
 * them back, as a step of Date.now() would. It is still an epoch time, so a message's expiry time
 * kept in a store across a restart compares with the next process's clock.
 */
const steadyNow: () => number =
  typeof performance === 'object' && typeof performance.now === 'function' && performance.timeOrigin > 0
    ? () => performance.timeOrigin + performance.now()
    : () => Date.now();

export const globalTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: steadyNow,
};
