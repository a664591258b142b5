import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/errors.js';
import { Deadline } from '../../src/session/deadline.js';
import { DeadlineQueue, type Timed } from '../../src/session/deadline-queue.js';
import { Fifo } from '../../src/session/fifo.js';
import { settle, track } from './host.js';
import { ManualTimers } from '../helpers/manual-timers.js';

describe('Fifo', () => {
  it('is first in, first out across compactions', () => {
    const q = new Fifo<number>();
    const out: number[] = [];
    for (let i = 0; i < 5000; i++) q.push(i);
    for (let i = 0; i < 3000; i++) out.push(q.shift() as number);
    for (let i = 5000; i < 6000; i++) q.push(i);
    expect(q.length).toBe(3000);
    expect(q.peek()).toBe(3000);
    while (q.length > 0) out.push(q.shift() as number);
    expect(out).toEqual(Array.from({ length: 6000 }, (_, i) => i));
    expect(q.shift()).toBeUndefined();
    expect(q.peek()).toBeUndefined();
  });

  it('remove() takes one item out wherever it is, only from the live part', () => {
    const q = new Fifo<string>();
    for (const s of ['a', 'b', 'c', 'd']) q.push(s);
    expect(q.shift()).toBe('a');
    expect(q.remove('a')).toBe(false);
    expect(q.remove('c')).toBe(true);
    expect(q.remove('c')).toBe(false);
    expect(q.length).toBe(2);
    expect(q.drain()).toEqual(['b', 'd']);
    expect(q.length).toBe(0);
  });
});

describe('Deadline', () => {
  it('settles once: the first of resolve, reject and the timer wins, and settling clears the timer', async () => {
    const clock = new ManualTimers(0);
    const d = new Deadline<number>(clock, () => new TimeoutError('late')).arm(100);
    const t = track(d.promise);
    expect(clock.count).toBe(1);
    d.resolve(1);
    expect(clock.count).toBe(0);
    d.reject(new Error('x'));
    d.resolve(2);
    clock.advance(1000);
    await settle();
    expect(t.value).toBe(1);
    expect(t.settlements).toBe(1);
  });

  it('times out after exactly the armed time; re-arming restarts the clock', async () => {
    const clock = new ManualTimers(0);
    const d = new Deadline<void>(clock, () => new TimeoutError('late')).arm(100);
    const t = track(d.promise);
    clock.advance(90);
    d.arm(100);
    expect(clock.count).toBe(1);
    clock.advance(99);
    await settle();
    expect(t.status).toBe('pending');
    clock.advance(1);
    await settle();
    expect(t.error).toBeInstanceOf(TimeoutError);
  });

  it('arm(0) and arm(Infinity) mean no deadline; arm() after settling arms nothing', () => {
    const clock = new ManualTimers(0);
    const d = new Deadline<void>(clock, () => new TimeoutError('late'));
    d.arm(0);
    d.arm(Infinity);
    expect(clock.count).toBe(0);
    d.arm(50);
    d.arm(0); // disarms
    expect(clock.count).toBe(0);
    d.resolve();
    d.arm(50);
    expect(clock.count).toBe(0);
  });
});

describe('DeadlineQueue', () => {
  const item = (name: string): Timed & { name: string } => ({ name, due: undefined, prevDue: undefined, nextDue: undefined });

  it('expires each item its timeout after its own arm, in order, with one timer; disarm takes an item out wherever it is', () => {
    const clock = new ManualTimers(0);
    const expired: string[] = [];
    const q = new DeadlineQueue<ReturnType<typeof item>>(clock, 100, (i) => expired.push(`${i.name}@${clock.now()}`));
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(item) as [ReturnType<typeof item>, ReturnType<typeof item>, ReturnType<typeof item>, ReturnType<typeof item>];
    q.arm(a);
    clock.advance(10);
    q.arm(b);
    q.arm(c);
    clock.advance(10);
    q.arm(d);
    q.disarm(c); // from the middle
    q.arm(a); // re-armed: now last, due at 120
    expect(clock.count).toBe(1);
    clock.advance(1000);
    expect(expired).toEqual(['b@110', 'd@120', 'a@120']);
    expect(c.due).toBeUndefined();
    expect(clock.count).toBe(0);
  });

  it('drops its timer when the last item is disarmed or on clear(); a zero or infinite timeout arms nothing', () => {
    const clock = new ManualTimers(0);
    const expired: string[] = [];
    const q = new DeadlineQueue<ReturnType<typeof item>>(clock, 100, (i) => expired.push(i.name));
    const a = item('a');
    const b = item('b');
    q.arm(a);
    q.arm(b);
    q.disarm(a);
    expect(clock.count).toBe(1);
    q.disarm(b);
    expect(clock.count).toBe(0);
    q.arm(a);
    q.arm(b);
    q.clear();
    expect(clock.count).toBe(0);
    expect([a.due, b.due, a.nextDue, b.prevDue]).toEqual([undefined, undefined, undefined, undefined]);
    for (const timeout of [0, Infinity]) {
      const never = new DeadlineQueue<ReturnType<typeof item>>(clock, timeout, (i) => expired.push(i.name));
      never.arm(a);
      expect(clock.count).toBe(0);
    }
    clock.advance(1000);
    expect(expired).toEqual([]);
  });
});
