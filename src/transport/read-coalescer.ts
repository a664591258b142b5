import { EMPTY_ARRAY, own } from '../session/lazy-collections.js';
import type { Timers } from '../session/timers.js';

/** What the coalescer pauses and resumes: a socket (node:net). */
export interface ReadSource {
  pause(): void;
  resume(): void;
}

/** The coalescer's view of time: timers, a sub-millisecond clock, and the end of an I/O phase. */
export interface CoalescingClock extends Timers {
  /**
   * Runs `fn` once the reads that were already waiting when it was called have been delivered.
   * Node: setImmediate, which runs after the event loop's poll phase.
   */
  afterPendingReads(fn: () => void): void;
}

/**
 * Reads closer together than this (start to start, ms) count as busy traffic. A read every
 * 200 µs is 5,000 wake-ups a second: below that they cost too little to trade any latency for.
 */
const BUSY_GAP_MS = 0.2;
/**
 * Reads of this many bytes or more carry enough packets to pay for their own wake-up: a peer that
 * fills them is not the one-segment-per-packet stream coalescing is for.
 */
const SMALL_READ = 8 * 1024;
/** How long a pause lets bytes pile up in the kernel (ms). Node's timers go no lower than 1 ms. */
const PAUSE_MS = 1;
/** Busy reads in a row before the first pause... */
const FIRST_STREAK = 4;
/** ... and the most it grows to after pauses that gathered nothing (a request/response exchange). */
const MAX_STREAK = 256;

const nodeClock: CoalescingClock = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  // Gaps between busy reads are tens of µs: Date.now() cannot see them.
  now: () => performance.now(),
  afterPendingReads: (fn) => void setImmediate(fn),
};

type State = 'direct' | 'holding' | 'gathering';

/**
 * Adaptive read coalescing, the way network cards moderate interrupts. A broker writes each packet
 * as its own TCP segment, so a busy subscriber is woken for every two or three packets, and the
 * wake-up (syscall, event-loop turn, stream events) costs more than decoding the packets. When
 * reads come back small and close together, the coalescer pauses the socket for PAUSE_MS and lets
 * the kernel gather what arrives meanwhile into one read; when traffic is light, every read goes
 * through as it arrives, so a lone message waits for nothing.
 *
 * Only one-way traffic is coalesced: a read that follows a write of ours breaks the streak, and a
 * write during a pause ends coalescing. Whatever we write may be answered (a PUBACK that frees the
 * broker's in-flight window, a PUBLISH whose PUBACK frees ours, a request and its response), and an
 * answer must not wait: delaying acks would throttle every QoS 1/2 flow to one window per pause.
 * Those flows batch by themselves anyway, since acks come back in bursts.
 *
 * It keeps pausing only while pauses pay. When a pause ends, what it gathered (the reads that are
 * waiting at that moment) is held back until the event loop's I/O phase is over and then handed on
 * together: held back, so the application cannot answer any of it, and so nothing an answer brings
 * back can be counted as gathered. Those bytes must be at least twice a busy read's. A pause that
 * gathers less (an exchange answered elsewhere, on another connection, say) sends the coalescer
 * back to reading as data arrives and doubles the streak of busy reads it wants before it tries
 * again (4, 8, ... at most 256).
 *
 * Only reading is delayed, by at most PAUSE_MS plus timer slack and one turn of the event loop.
 * The application's own pause (a subscription's buffer is full) wins: a coalescing pause that ends
 * never resumes a socket the application paused. Idle, it holds no timer: it costs a connection a
 * few numbers.
 */
export class ReadCoalescer {
  private state: State = 'direct';
  private lastReadAt = Number.NEGATIVE_INFINITY;
  /** Busy reads in a row, and their bytes. */
  private streak = 0;
  private streakBytes = 0;
  /** Busy reads needed before the next pause. */
  private needed = FIRST_STREAK;
  /** Mean size of the busy reads before the current run of pauses. */
  private baseline = 0;
  /** What the pause that just ended gathered, held back until it is judged. */
  private gathered: Uint8Array[] = EMPTY_ARRAY;
  private gatheredBytes = 0;
  private timer: unknown;
  private appPaused = false;
  private stopped = false;
  /** We wrote since the last read (or since the current pause began). */
  private wrote = false;
  /** Pauses taken (for tests and benchmarks). */
  pauses = 0;

  constructor(
    private readonly source: ReadSource,
    /** Whose onData() gets the bytes (the transport's handlers). */
    private readonly sink: { onData(chunk: Uint8Array): void },
    private readonly clock: CoalescingClock = nodeClock,
  ) {}

  /** True while a coalescing pause holds the socket. */
  get holding(): boolean {
    return this.state === 'holding';
  }

  /** The application wants no data for now (backpressure). */
  pause(): void {
    this.appPaused = true;
    this.source.pause();
  }

  /** The application wants data again; during a coalescing pause the socket resumes when the pause ends. */
  resume(): void {
    this.appPaused = false;
    if (this.state !== 'holding' && !this.stopped) this.source.resume();
  }

  /** We are writing to the socket: the peer may answer, and an answer must not wait. */
  noteWrite(): void {
    this.wrote = true;
  }

  /** One read from the socket. */
  read(chunk: Uint8Array): void {
    if (this.stopped) return;
    if (this.state === 'gathering') {
      (this.gathered = own(this.gathered)).push(chunk);
      this.gatheredBytes += chunk.length;
      return;
    }
    this.sink.onData(chunk);
    if (this.state !== 'direct' || this.stopped) return;
    const now = this.clock.now();
    const gap = now - this.lastReadAt;
    this.lastReadAt = now;
    if (chunk.length >= SMALL_READ) {
      this.streak = 0;
      this.streakBytes = 0;
      return;
    }
    // A read long after the one before, or after we wrote (a conversation: acks, a request and
    // its answer), starts a new streak.
    if (gap > BUSY_GAP_MS || this.wrote) this.streak = this.streakBytes = 0;
    this.wrote = false;
    this.streak++;
    this.streakBytes += chunk.length;
    if (this.streak < this.needed) return;
    this.baseline = this.streakBytes / this.streak;
    this.hold();
  }

  /**
   * The stream is gone: no timer may outlive it, and nothing resumes it. `flush`: hand on what a
   * pause gathered first (the socket closed after sending it); false when the client dropped it.
   */
  stop(flush: boolean): void {
    if (this.stopped) return;
    if (flush) this.handOn();
    this.stopped = true;
    this.gathered = EMPTY_ARRAY;
    this.state = 'direct';
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private hold(): void {
    this.state = 'holding';
    this.pauses++;
    if (!this.appPaused) this.source.pause();
    this.timer = this.clock.setTimeout(() => this.release(), PAUSE_MS);
  }

  /** The pause is over: gather what waits, judge it once the I/O phase is over. */
  private release(): void {
    this.timer = undefined;
    if (this.stopped) return;
    if (this.appPaused) return this.readDirect();
    this.state = 'gathering';
    this.source.resume();
    this.clock.afterPendingReads(() => this.judge());
  }

  private judge(): void {
    if (this.state !== 'gathering' || this.stopped) return;
    const bytes = this.gatheredBytes;
    this.handOn();
    if (this.stopped) return;
    // We wrote meanwhile: an answer may be on its way, read it as it comes.
    const wrote = this.wrote;
    this.wrote = false;
    if (bytes >= 2 * this.baseline && !this.appPaused && !wrote) {
      this.needed = FIRST_STREAK;
      this.hold();
      return;
    }
    // Nothing waited (traffic stopped), or too little to pay for the wait (then the next attempt
    // wants a longer streak): read as data arrives.
    if (bytes > 0 && bytes < 2 * this.baseline && !wrote) this.needed = Math.min(MAX_STREAK, this.needed * 2);
    this.readDirect();
  }

  /** Hands on what was gathered, in order. */
  private handOn(): void {
    const chunks = this.gathered;
    if (chunks.length === 0) return;
    this.gathered = EMPTY_ARRAY;
    this.gatheredBytes = 0;
    this.state = 'direct';
    for (const chunk of chunks) {
      if (this.stopped) return;
      this.sink.onData(chunk);
    }
  }

  private readDirect(): void {
    this.state = 'direct';
    this.streak = 0;
    this.streakBytes = 0;
    this.lastReadAt = this.clock.now();
  }
}
