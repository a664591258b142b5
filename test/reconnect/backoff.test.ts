import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/session/backoff.js';
import type { MqttClient } from '../../src/index.js';
import { ManualTimers, until, useHarness, within } from '../client/helpers.js';
import { startAedesAt, StatusRecorder } from './helpers.js';

/** A random source that returns the given values in turn (then repeats the last). */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] as number;
}

describe('Backoff', () => {
  it('defaults: initialDelay 1000, maxDelay 30000, resetAfter 10000', () => {
    const b = new Backoff();
    expect([b.initialDelay, b.maxDelay, b.resetAfter]).toEqual([1000, 30_000, 10_000]);
    expect(b.attempts).toBe(0);
  });

  it('random 0 always gives 0; random 0.999 gives (almost) the cap min(max, initial * 2^n), which doubles then stops at maxDelay', () => {
    const zero = new Backoff({ initialDelay: 100, maxDelay: 1000 }, () => 0);
    expect(Array.from({ length: 8 }, () => zero.next())).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);

    const top = new Backoff({ initialDelay: 100, maxDelay: 1000 }, () => 0.999);
    const caps = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
    expect(Array.from({ length: 8 }, () => top.next())).toEqual(caps.map((cap) => Math.floor(0.999 * cap)));
    expect(top.attempts).toBe(8);
  });

  it('full jitter: the delay is random * cap, i.e. any point of [0, cap], not cap/2 + jitter', () => {
    const b = new Backoff({ initialDelay: 1000, maxDelay: 8000 }, sequence(0.5, 0.25, 0.125, 0.75, 0.01));
    // caps 1000, 2000, 4000, 8000, 8000
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([500, 500, 500, 6000, 80]);
  });

  it('with Math.random: every delay lies in [0, min(max, initial * 2^n)] and the caps grow (1000 draws per attempt)', () => {
    const initial = 50;
    const max = 1000;
    const maxima: number[] = [];
    for (let n = 0; n < 8; n++) {
      const cap = Math.min(max, initial * 2 ** n);
      const draws = Array.from({ length: 1000 }, () => {
        const b = new Backoff({ initialDelay: initial, maxDelay: max });
        for (let j = 0; j < n; j++) b.next();
        return b.next();
      });
      const outside = draws.filter((d) => !Number.isInteger(d) || d < 0 || d > cap);
      expect(outside, `attempt ${n + 1}: delays outside [0, ${cap}]`).toEqual([]);
      const hi = Math.max(...draws);
      // 1000 uniform draws: the largest is within 2% of the cap (failure odds ~ 0.98^1000).
      expect(hi).toBeGreaterThanOrEqual(cap * 0.98 - 1);
      maxima.push(hi);
    }
    // The spread grows with the attempt number until maxDelay caps it.
    for (let n = 1; n < 5; n++) expect(maxima[n]).toBeGreaterThan(maxima[n - 1] as number);
    expect(maxima[5]).toBeLessThanOrEqual(max);
    expect(maxima[7]).toBeLessThanOrEqual(max);
  });

  it('never exceeds maxDelay, even after 2000 attempts (2^n overflows to Infinity)', () => {
    const b = new Backoff({ initialDelay: 1000, maxDelay: 30_000 }, () => 0.999999);
    let last = 0;
    for (let i = 0; i < 2000; i++) last = b.next();
    expect(last).toBe(Math.floor(0.999999 * 30_000));
    expect(b.attempts).toBe(2000);
  });

  it('reset() starts again from the first cap', () => {
    const b = new Backoff({ initialDelay: 100, maxDelay: 10_000 }, () => 0.999);
    b.next();
    b.next();
    b.next();
    expect(b.attempts).toBe(3);
    expect(b.next()).toBe(799);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(99);
    expect(b.next()).toBe(199);
  });

  it('maxDelay below initialDelay is raised to initialDelay; initialDelay 0 means reconnect at once', () => {
    const b = new Backoff({ initialDelay: 500, maxDelay: 100 }, () => 0.999);
    expect(b.maxDelay).toBe(500);
    expect([b.next(), b.next()]).toEqual([499, 499]);
    const z = new Backoff({ initialDelay: 0 }, () => 0.999);
    expect([z.next(), z.next(), z.next()]).toEqual([0, 0, 0]);
  });

  it('50 instances with Math.random are not in lockstep: their first delays are distinct and spread over [0, initialDelay]', () => {
    const initial = 1000;
    const first = Array.from({ length: 50 }, () => new Backoff({ initialDelay: initial }).next());
    for (const d of first) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(initial);
    }
    // 50 draws from 1000 values: expected ~1.2 collisions; 40 distinct fails with odds < 1e-9.
    expect(new Set(first).size).toBeGreaterThanOrEqual(40);
    // Spread: some in the lowest quarter, some in the highest (each fails with odds 0.75^50 ~ 6e-7).
    expect(Math.min(...first)).toBeLessThan(initial / 4);
    expect(Math.max(...first)).toBeGreaterThan((initial * 3) / 4);
    // Roughly uniform: the mean of 50 uniform draws on [0, 1000) is 500 +- 41 (1 sd); allow 4 sd.
    const mean = first.reduce((a, b) => a + b, 0) / first.length;
    expect(Math.abs(mean - initial / 2)).toBeLessThan(165);
  });
});

describe('clients reconnecting after a broker restart', () => {
  const h = useHarness();

  it('50 clients lose the broker at once: their reconnect delays are spread over [0, initialDelay], and all come back', async () => {
    const b = await startAedesAt();
    h.defer(() => b.stop());
    const timers = new ManualTimers(); // one clock for all: the delays are recorded, not slept
    const initialDelay = 1000;
    const clients: MqttClient[] = [];
    const status: StatusRecorder[] = [];
    for (let i = 0; i < 50; i++) {
      const c = h.client(b.url, { clientId: `herd-${i}`, keepalive: 0, timers, reconnect: { initialDelay, maxDelay: 30_000 } });
      status.push(new StatusRecorder(c));
      clients.push(c);
    }
    await within(Promise.all(clients.map((c) => c.connect())), 5000, '50 connects');

    await b.stop();
    const first = await Promise.all(status.map((s) => s.next('reconnecting')));
    expect(first.map((e) => e.attempt)).toEqual(Array(50).fill(1));
    expect(first.every((e) => e.url === b.url)).toBe(true);
    const delays = first.map((e) => e.delay);
    for (const d of delays) {
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(initialDelay);
    }
    expect(new Set(delays).size).toBeGreaterThanOrEqual(40); // not lockstep
    expect(Math.min(...delays)).toBeLessThan(initialDelay / 4);
    expect(Math.max(...delays)).toBeGreaterThan((initialDelay * 3) / 4);
    // The clock is the client's: the pending reconnect timers are exactly these delays.
    expect(timers.dueIn).toEqual([...delays].sort((x, y) => x - y));

    await b.start(); // same port, new broker
    // Half the spread: only the clients whose delay has passed come back.
    timers.advance(initialDelay / 2);
    const early = delays.filter((d) => d <= initialDelay / 2).length;
    await until(() => clients.filter((c) => c.connected).length === early, 5000, () => `${early} clients back`);
    expect(clients.filter((c) => c.connected).length).toBe(early);
    timers.advance(initialDelay / 2);
    await until(() => clients.every((c) => c.connected), 5000, () => `all back (${clients.filter((c) => c.connected).length}/50)`);
    expect(clients.map((c) => c.stats().reconnects)).toEqual(Array(50).fill(1));
    expect(status.every((s) => s.types().join(',') === 'connected,disconnected,offline,reconnecting,connected')).toBe(true);
    await until(() => b.events.filter((e) => e.type === 'client').length === 50, 2000, 'the broker registered 50 clients');
  });
});
