/** What bench/e2e.ts and bench/e2e-worker.ts share: the payload format, the tally, the result lines. */

export const PAYLOAD_SIZE = 64;
export const SEQ_DIGITS = 10;
/** The subscriber gives up after this long without a message (once the first one arrived). */
export const IDLE_MS = 3000;
/** ... and after this long waiting for the first one. */
export const FIRST_MESSAGE_MS = 20_000;

export type Role = 'pub' | 'sub' | 'rtt';
/** mqttwire-direct: mqttwire with read coalescing off (the Node transport as it was before it). */
export type WorkerLib = 'mqttwire' | 'mqttwire-direct' | 'mqttjs' | 'mqttjs-await';
export type QoS = 0 | 1 | 2;
/** The MQTT protocol level both clients of a run connect with: 4 is 3.1.1, 5 is MQTT 5. */
export type Protocol = 4 | 5;

export interface Cpu {
  user: number;
  system: number;
}

/** Read and write system calls of the whole process (Linux /proc/self/io), over the same span as `cpu`. */
export interface Syscalls {
  reads: number;
  writes: number;
}

export interface SubResult {
  role: 'sub';
  /** Distinct messages received. */
  received: number;
  duplicates: number;
  outOfOrder: number;
  /** From the first message to the last one, ms. */
  elapsedMs: number;
  /** CPU microseconds from `ready` to the last message (or the idle timeout). */
  cpu: Cpu;
  syscalls?: Syscalls;
  timedOut: boolean;
}

export interface PubResult {
  role: 'pub';
  sent: number;
  errors: number;
  /** From the first publish call until every publish completed (QoS 0 written, 1 PUBACK, 2 PUBCOMP), ms. */
  elapsedMs: number;
  cpu: Cpu;
  syscalls?: Syscalls;
  firstError?: string;
}

/** One client publishing to a topic it subscribes to, one message in flight at a time. */
export interface RttResult {
  role: 'rtt';
  /** Round trips in µs (publish called to message received), in the order measured. */
  samplesUs: number[];
  /** CPU µs over all round trips. */
  cpu: Cpu;
  errors: number;
  firstError?: string;
}

/** The payload line of message `seq` (also what mosquitto_pub -l gets, one per line). */
export function payloadText(seq: number): string {
  const digits = String(seq).padStart(SEQ_DIGITS, '0');
  return digits + 'x'.repeat(PAYLOAD_SIZE - SEQ_DIGITS);
}

/** The sequence number in a payload, or -1. */
export function payloadSeq(p: Uint8Array): number {
  if (p.length < SEQ_DIGITS) return -1;
  let n = 0;
  for (let i = 0; i < SEQ_DIGITS; i++) {
    const d = (p[i] as number) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Counts distinct, duplicate and out-of-order messages. */
export class Tally {
  received = 0;
  duplicates = 0;
  outOfOrder = 0;
  foreign = 0;
  firstAt = 0;
  lastAt = 0;
  private readonly seen: Uint8Array;
  private maxSeq = -1;

  constructor(readonly count: number) {
    this.seen = new Uint8Array(count);
  }

  /** Returns true once `count` distinct messages are in. */
  add(seq: number, now: number): boolean {
    if (seq < 0 || seq >= this.count) {
      this.foreign++;
      return false;
    }
    if (this.received === 0 && this.duplicates === 0) this.firstAt = now;
    this.lastAt = now;
    if (this.seen[seq] === 1) {
      this.duplicates++;
      return false;
    }
    this.seen[seq] = 1;
    if (seq < this.maxSeq) this.outOfOrder++;
    else this.maxSeq = seq;
    this.received++;
    return this.received === this.count;
  }
}
