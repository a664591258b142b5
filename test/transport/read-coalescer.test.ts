/**
 * ReadCoalescer (src/transport/read-coalescer.ts) on a hand-driven clock: when it pauses a socket,
 * when it lets go, what it holds back and hands on, and that the application's own pause wins.
 * The real-socket side (a paused node:net socket with readableHighWaterMark 1 leaves the bytes in
 * the kernel) is in node-tcp-coalescing.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ReadCoalescer, type CoalescingClock } from '../../src/transport/read-coalescer.js';
import { ManualTimers } from '../helpers/manual-timers.js';

/** ManualTimers plus the end of an I/O phase, run by hand with endIoPhase(). */
class TestClock extends ManualTimers implements CoalescingClock {
  private phaseEnd: (() => void)[] = [];
  afterPendingReads = (fn: () => void): void => {
    this.phaseEnd.push(fn);
  };
  endIoPhase(): void {
    const fns = this.phaseEnd;
    this.phaseEnd = [];
    for (const fn of fns) fn();
  }
}

/** A socket's pause/resume, recording the calls and the state they leave it in. */
class FakeSource {
  paused = false;
  calls: string[] = [];
  pause(): void {
    this.paused = true;
    this.calls.push('pause');
  }
  resume(): void {
    this.paused = false;
    this.calls.push('resume');
  }
}

function setup() {
  const clock = new TestClock(0);
  const source = new FakeSource();
  const delivered: number[][] = [];
  const coalescer = new ReadCoalescer(source, { onData: (chunk) => delivered.push([...chunk]) }, clock);
  /** A read of `size` bytes (all equal to `tag`), `afterMs` after the previous one (default 1/64 ms, about 16 µs). */
  const read = (tag: number, size = 76, afterMs = BUSY): void => {
    clock.advance(afterMs);
    coalescer.read(new Uint8Array(size).fill(tag));
  };
  const tags = (): number[] => delivered.map((d) => d[0] as number);
  return { clock, source, coalescer, delivered, read, tags };
}

/** Busy reads are this far apart (ms): a power of two, so the clock's sums stay exact. */
const BUSY = 1 / 64;

/** Four busy reads (16 µs apart, 76 bytes): what starts the first pause. */
function busyStreak(t: ReturnType<typeof setup>, firstTag = 1, n = 4): void {
  for (let i = 0; i < n; i++) t.read(firstTag + i);
}

/** After one pause: the socket reads as data arrives, no timer is left, and four busy reads still start the next pause. */
function expectReadingDirectly(t: ReturnType<typeof setup>): void {
  expect(t.source.paused).toBe(false);
  expect(t.clock.count).toBe(0);
  busyStreak(t, 10);
  expect(t.coalescer.pauses).toBe(2);
}

describe('ReadCoalescer', () => {
  it('light traffic: every read is handed on at once, the socket is never paused and no timer is left', () => {
    const t = setup();
    for (let i = 1; i <= 50; i++) t.read(i, 76, 1); // one read a millisecond
    expect(t.tags()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(t.source.calls).toEqual([]);
    expect(t.coalescer.pauses).toBe(0);
    expect(t.clock.count).toBe(0);
    // Positive control: the same reads 16 µs apart do start a pause.
    busyStreak(t, 51);
    expect(t.coalescer.pauses).toBe(1);
  });

  it('busy small reads: pauses for 1 ms after four of them, then hands on what waited together and pauses again', () => {
    const t = setup();
    busyStreak(t);
    expect(t.tags()).toEqual([1, 2, 3, 4]); // the reads that started it were not held back
    expect(t.source.paused).toBe(true);
    expect(t.coalescer.holding).toBe(true);
    expect(t.clock.dueIn).toEqual([1]);

    t.clock.advance(1 - BUSY);
    expect(t.source.paused).toBe(true);
    t.clock.advance(BUSY);
    expect(t.source.paused).toBe(false);
    // What waited in the kernel (one read buffered during the pause, one big read) is held back
    // until the I/O phase ends: the application cannot answer it before it is judged.
    t.coalescer.read(new Uint8Array(76).fill(5));
    t.coalescer.read(new Uint8Array(5000).fill(6));
    expect(t.tags()).toEqual([1, 2, 3, 4]);
    t.clock.endIoPhase();
    expect(t.tags()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.delivered[5]?.length).toBe(5000);
    // It gathered far more than a busy read: pause again.
    expect(t.source.paused).toBe(true);
    expect(t.coalescer.pauses).toBe(2);
    expect(t.clock.dueIn).toEqual([1]);
  });

  it('a pause that gathers no more than a busy read ends coalescing, and each such pause doubles the streak needed, up to 256', () => {
    const t = setup();
    let tag = 1;
    const streaksNeeded: number[] = [];
    for (let attempt = 0; attempt < 9; attempt++) {
      const before = t.coalescer.pauses;
      let reads = 0;
      while (t.coalescer.pauses === before) {
        t.read(tag++);
        reads++;
        if (reads > 1000) throw new Error('no pause');
      }
      streaksNeeded.push(reads);
      t.clock.advance(1);
      // The pause gathered one packet (say the answer to a request sent on another connection): no better than a busy read.
      t.coalescer.read(new Uint8Array(76).fill(tag++));
      t.clock.endIoPhase();
      expect(t.source.paused).toBe(false);
      expect(t.coalescer.holding).toBe(false);
    }
    expect(streaksNeeded).toEqual([4, 8, 16, 32, 64, 128, 256, 256, 256]);
    // Every read handed on, in order (a tag is one byte: it wraps at 256).
    expect(t.tags()).toEqual(Array.from({ length: tag - 1 }, (_, i) => (i + 1) % 256));
  });

  it('a pause that pays resets the streak to four', () => {
    const t = setup();
    busyStreak(t);
    t.clock.advance(1);
    t.coalescer.read(new Uint8Array(76).fill(5));
    t.clock.endIoPhase(); // unproductive: 8 needed next
    for (let i = 0; i < 8; i++) t.read(10 + i);
    expect(t.coalescer.pauses).toBe(2);
    t.clock.advance(1);
    t.coalescer.read(new Uint8Array(2000).fill(20));
    t.clock.endIoPhase(); // productive: pauses again at once
    expect(t.coalescer.pauses).toBe(3);
    t.clock.advance(1);
    t.clock.endIoPhase(); // nothing waited: traffic stopped
    expect(t.source.paused).toBe(false);
    busyStreak(t, 30);
    expect(t.coalescer.pauses).toBe(4);
  });

  it('traffic we answer is read as it arrives: a read after a write of ours starts a new streak', () => {
    const t = setup();
    for (let i = 0; i < 100; i++) {
      t.read(i);
      t.coalescer.noteWrite(); // a PUBACK, or the next request of a request/response loop
    }
    expect(t.coalescer.pauses).toBe(0);
    expect(t.source.calls).toEqual([]);
    // Positive control: the same reads without the writes.
    busyStreak(t, 200);
    expect(t.coalescer.pauses).toBe(1);
  });

  it('a write during a pause ends coalescing when the pause is over, without raising the streak', () => {
    const t = setup();
    busyStreak(t);
    t.coalescer.noteWrite();
    t.clock.advance(1);
    t.coalescer.read(new Uint8Array(5000).fill(5)); // plenty gathered: it would pay
    t.clock.endIoPhase();
    expect(t.tags()).toEqual([1, 2, 3, 4, 5]);
    expectReadingDirectly(t);
  });

  it('traffic that stops during a pause ends coalescing without raising the streak', () => {
    const t = setup();
    busyStreak(t);
    t.clock.advance(1);
    t.clock.endIoPhase(); // nothing at all waited
    expectReadingDirectly(t);
  });

  it('reads of 8 KiB or more, or more than 200 µs apart, never start a pause', () => {
    const t = setup();
    for (let i = 0; i < 20; i++) t.read(i, 8 * 1024);
    for (let i = 0; i < 20; i++) t.read(i, 76, 0.25);
    expect(t.coalescer.pauses).toBe(0);
    // A long gap breaks a streak: three busy reads, a pause in traffic, three more: still none.
    t.read(1, 76, 5);
    busyStreak(t, 2, 2);
    t.read(4, 76, 5);
    busyStreak(t, 5, 2);
    expect(t.coalescer.pauses).toBe(0);
    t.read(7); // the fourth in a row
    expect(t.coalescer.pauses).toBe(1);
  });

  it("the application's pause wins: a coalescing pause that ends does not resume a socket the application paused", () => {
    const t = setup();
    busyStreak(t);
    t.coalescer.pause(); // a subscription filled up during the coalescing pause
    t.clock.advance(1);
    expect(t.source.paused).toBe(true);
    expect(t.source.calls).toEqual(['pause', 'pause']);
    t.coalescer.resume();
    expect(t.source.paused).toBe(false);
    expect(t.clock.count).toBe(0);
  });

  it('the application resuming during a coalescing pause does not cut it short', () => {
    const t = setup();
    t.read(1);
    t.coalescer.pause();
    t.coalescer.resume();
    expect(t.source.calls).toEqual(['pause', 'resume']);
    busyStreak(t, 2);
    t.coalescer.pause();
    t.coalescer.resume();
    expect(t.source.paused).toBe(true);
    t.clock.advance(1);
    expect(t.source.paused).toBe(false);
  });

  it('the application pausing while gathered reads are handed on: no new pause, the socket stays paused', () => {
    const t = setup();
    busyStreak(t);
    t.clock.advance(1);
    t.coalescer.read(new Uint8Array(3000).fill(5));
    t.coalescer.pause();
    t.clock.endIoPhase();
    expect(t.tags()).toEqual([1, 2, 3, 4, 5]);
    expect(t.source.paused).toBe(true);
    expect(t.coalescer.pauses).toBe(1);
    expect(t.clock.count).toBe(0);
  });

  it('stop(true) hands on what a pause gathered (the peer sent it before closing); stop(false) drops it; neither leaves a timer', () => {
    for (const flush of [true, false]) {
      const t = setup();
      busyStreak(t);
      t.clock.advance(1);
      t.coalescer.read(new Uint8Array(76).fill(5));
      t.coalescer.stop(flush);
      expect(t.tags()).toEqual(flush ? [1, 2, 3, 4, 5] : [1, 2, 3, 4]);
      t.clock.endIoPhase();
      t.coalescer.resume();
      t.coalescer.read(new Uint8Array(76).fill(6));
      expect(t.tags()).toEqual(flush ? [1, 2, 3, 4, 5] : [1, 2, 3, 4]);
      expect(t.source.paused).toBe(false);
    }
    const t = setup();
    busyStreak(t);
    expect(t.clock.count).toBe(1);
    t.coalescer.stop(true);
    expect(t.clock.count).toBe(0);
  });
});
