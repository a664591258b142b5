/**
 * Byte-level mutations of valid packets for the decoder fuzz tests (fuzz.test.ts, v5-fuzz.test.ts): bit flips,
 * byte changes, inserts, deletes, truncation, Remaining Length / string length changes, splices and
 * concatenation, plus some plain random bytes, and random chunking. Deterministic from its seed.
 */
import { concatBytes } from './arbitraries.js';
import { remainingLength } from '../helpers/mqtt-bytes.js';
import { prng } from '../helpers/prng.js';

const INTERESTING = [0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xff, 0xfe, 0x2b, 0x23, 0x2f, 0xc0, 0xed, 0xef, 0xf4, 0x10, 0x30];

export class Mutator {
  readonly next: () => number;
  constructor(
    seed: number,
    private readonly seeds: readonly Uint8Array[],
  ) {
    this.next = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  byte(): number {
    return this.next() < 0.4 ? this.pick(INTERESTING) : this.int(256);
  }
  seed(): Uint8Array {
    return this.pick(this.seeds);
  }

  /** One input: a seed with 1..4 mutations, or (5%) random bytes. */
  input(): Uint8Array {
    if (this.next() < 0.05) {
      const out = new Uint8Array(this.int(64));
      for (let i = 0; i < out.length; i++) out[i] = this.int(256);
      return out;
    }
    let bytes: Uint8Array = this.seed().slice();
    const rounds = 1 + this.int(4);
    for (let r = 0; r < rounds; r++) bytes = this.mutate(bytes);
    return bytes;
  }

  mutate(b: Uint8Array): Uint8Array {
    const pos = (extra = 0): number => this.int(b.length + extra);
    switch (this.int(11)) {
      case 0: // bit flip
        if (b.length) b[pos()]! ^= 1 << this.int(8);
        return b;
      case 1: // byte set
        if (b.length) b[pos()] = this.byte();
        return b;
      case 2: {
        // insert 1..4 bytes
        const at = pos(1);
        const ins = new Uint8Array(1 + this.int(4));
        for (let i = 0; i < ins.length; i++) ins[i] = this.byte();
        return concatBytes([b.subarray(0, at), ins, b.subarray(at)]);
      }
      case 3: {
        // delete 1..4 bytes
        const at = pos();
        return concatBytes([b.subarray(0, at), b.subarray(at + 1 + this.int(4))]);
      }
      case 4: // truncate
        return b.slice(0, pos());
      case 5: // Remaining Length byte: raw change
        if (b.length > 1) b[1 + this.int(Math.min(4, b.length - 1))] = this.byte();
        return b;
      case 6:
        // Remaining Length re-encoded off by a little (or a lot), so the varint stays well-formed
        return this.relength(b);
      case 7: {
        // a 2-byte string length / packet id somewhere: set to a small or boundary value
        if (b.length < 4) return b;
        const at = 2 + this.int(b.length - 3);
        const v = this.pick([0, 1, 2, 3, 0xff, 0x100, 0xffff, this.int(40), b.length - at]);
        b[at] = (v >> 8) & 0xff;
        b[at + 1] = v & 0xff;
        return b;
      }
      case 8: {
        // splice: our prefix + another seed's suffix
        const other = this.seed();
        return concatBytes([b.subarray(0, pos(1)), other.subarray(this.int(other.length + 1))]);
      }
      case 9: // concatenate another whole seed (multi-packet streams)
        return this.next() < 0.5 ? concatBytes([b, this.seed()]) : concatBytes([this.seed(), b]);
      default: {
        // duplicate a region
        if (!b.length) return b;
        const at = pos();
        const len = 1 + this.int(Math.min(8, b.length - at));
        return concatBytes([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
      }
    }
  }

  private relength(b: Uint8Array): Uint8Array {
    if (b.length < 2) return b;
    let i = 1;
    let value = 0;
    let mul = 1;
    for (; i < b.length && i < 5; i++) {
      value += (b[i]! & 0x7f) * mul;
      mul *= 128;
      if (b[i]! < 0x80) break;
    }
    const delta = this.pick([-2, -1, 1, 2, 127, 128, -128, 16384, 1 << 21, 1 << 27]);
    const target = Math.max(0, Math.min(268_435_455, value + delta));
    return concatBytes([b.subarray(0, 1), remainingLength(target), b.subarray(i + 1)]);
  }

  /** Random chunking: whole, one byte at a time, or random sizes. */
  chunks(bytes: Uint8Array): Uint8Array[] {
    const mode = this.next();
    if (mode < 0.25) return [bytes];
    const out: Uint8Array[] = [];
    if (mode < 0.35) {
      for (let i = 0; i < bytes.length; i++) out.push(bytes.subarray(i, i + 1));
      return out;
    }
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + this.int(Math.max(1, Math.min(bytes.length - at, this.next() < 0.5 ? 8 : 300)));
      out.push(bytes.subarray(at, at + n));
      at += n;
    }
    return out;
  }
}


/**
 * What a fuzz run found, grouped by kind (digits masked) with the first few examples each, so one run shows
 * every kind of problem instead of stopping at the first.
 */
export class Problems {
  private readonly byKind = new Map<string, { count: number; examples: string[] }>();

  add(kind: string, example: string): void {
    const key = kind.replace(/\d+/g, 'N');
    const entry = this.byKind.get(key) ?? { count: 0, examples: [] };
    entry.count++;
    if (entry.examples.length < 3) entry.examples.push(example);
    this.byKind.set(key, entry);
  }

  /** '' when nothing was found. */
  report(): string {
    return [...this.byKind].map(([k, v]) => `${v.count} x ${k}\n    ${v.examples.join('\n    ')}`).join('\n');
  }
}
