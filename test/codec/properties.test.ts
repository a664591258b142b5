/**
 * Property tests: random valid packets (arbitraries.ts) survive encode -> arbitrary chunking -> decode unchanged,
 * alone and as a stream, and re-encode byte-exact. Set FC_SEED to replay a failure (fast-check prints the seed
 * and path of any counterexample).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, type Packet } from '../../src/codec/index.js';
import {
  bytewise,
  concatBytes,
  decodeChunks,
  embedded,
  hex,
  normalize,
  packetArb,
  packetArbsByType,
  splitAt,
} from './arbitraries.js';

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...(seed !== undefined ? { seed } : {}) });

/** Cut points as fractions of the length, so they are meaningful for any packet size. */
const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });
const toCuts = (fractions: number[], length: number): number[] => fractions.map((f) => Math.floor(f * length));

/** Chunk sizes, cycled over the stream: tiny, mid and MTU-like. */
const chunkSizesArb = fc.array(
  fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 200 }), fc.integer({ min: 1000, max: 1600 })),
  { minLength: 1, maxLength: 10 },
);

function chunkBySizes(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

describe('codec properties', () => {
  it('encode -> split at random points -> decode gives the packet back, and re-encodes byte-exact', () => {
    fc.assert(
      fc.property(packetArb, cutsArb, (packet, fractions) => {
        const bytes = encode(packet);
        const decoded = decodeChunks(splitAt(bytes, toCuts(fractions, bytes.length)));
        expect(normalize(decoded)).toEqual(normalize([packet]));
        expect(hex(encode(decoded[0]!))).toBe(hex(bytes));
      }),
      params(1000),
    );
  });

  it('a stream of many random packets in random chunks decodes to the same sequence', () => {
    fc.assert(
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 40 }), chunkSizesArb, (packets, sizes) => {
        const stream = concatBytes(packets.map((p) => encode(p)));
        const decoded = decodeChunks(chunkBySizes(stream, sizes));
        expect(normalize(decoded)).toEqual(normalize(packets));
      }),
      params(1000),
    );
  });

  it('one byte at a time equals whole (the whole buffer given as a view inside a larger one)', () => {
    fc.assert(
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 3 }), (packets) => {
        const stream = concatBytes(packets.map((p) => encode(p)));
        const whole = decodeChunks([embedded(stream)]);
        const bytes = decodeChunks(bytewise(stream));
        expect(normalize(whole)).toEqual(normalize(packets));
        expect(normalize(bytes)).toEqual(normalize(whole));
      }),
      params(1000),
    );
  });

  describe('every packet type round-trips', () => {
    for (const [name, arb] of Object.entries(packetArbsByType)) {
      it(name, () => {
        fc.assert(
          fc.property(arb as fc.Arbitrary<Packet>, cutsArb, (packet, fractions) => {
            const bytes = encode(packet);
            const decoded = decodeChunks(splitAt(bytes, toCuts(fractions, bytes.length)));
            expect(normalize(decoded)).toEqual(normalize([packet]));
            expect(hex(encode(decoded[0]!))).toBe(hex(bytes));
          }),
          params(name.startsWith('ping') || name === 'disconnect' ? 5 : 200),
        );
      });
    }
  });
});
