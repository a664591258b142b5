/**
 * Property tests at protocol level 5: random valid MQTT 5 packets (arbitraries-v5.ts) survive encode -> split
 * anywhere -> decode unchanged, alone and as a stream, and re-encode byte-exact. FC_SEED replays a failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, encodedLength, PacketDecoder, type Packet } from '../../src/codec/index.js';
import { bytewise, concatBytes, embedded, hex, normalize, splitAt } from './arbitraries.js';
import { packet5Arb, packet5ArbsByType } from './arbitraries-v5.js';

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...(seed !== undefined ? { seed } : {}) });

const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });
const toCuts = (fractions: number[], length: number): number[] => fractions.map((f) => Math.floor(f * length));

function decode5(chunks: readonly Uint8Array[]): Packet[] {
  const decoder = new PacketDecoder({ protocolLevel: 5, maxPacketSize: 1 << 20 });
  const out: Packet[] = [];
  for (const c of chunks) out.push(...decoder.push(c));
  expect(decoder.bufferedBytes).toBe(0);
  return out;
}

describe('MQTT 5 codec properties', () => {
  it('encode -> split at random points -> decode gives the packet back, and re-encodes byte-exact', () => {
    fc.assert(
      fc.property(packet5Arb, cutsArb, (packet, fractions) => {
        const bytes = encode(packet, 5);
        expect(encodedLength(packet, 5)).toBe(bytes.length);
        const decoded = decode5(splitAt(bytes, toCuts(fractions, bytes.length)));
        expect(normalize(decoded)).toEqual(normalize([packet]));
        expect(hex(encode(decoded[0]!, 5))).toBe(hex(bytes));
      }),
      params(1000),
    );
  });

  it('a stream of random packets, whole (inside a larger buffer) and one byte at a time', () => {
    fc.assert(
      fc.property(fc.array(packet5Arb, { minLength: 1, maxLength: 20 }), (packets) => {
        const stream = concatBytes(packets.map((p) => encode(p, 5)));
        expect(normalize(decode5([embedded(stream)]))).toEqual(normalize(packets));
        expect(normalize(decode5(bytewise(stream)))).toEqual(normalize(packets));
      }),
      params(300),
    );
  });

  describe('every packet type round-trips', () => {
    for (const [name, arb] of Object.entries(packet5ArbsByType)) {
      it(name, () => {
        fc.assert(
          fc.property(arb, cutsArb, (packet, fractions) => {
            const bytes = encode(packet, 5);
            const decoded = decode5(splitAt(bytes, toCuts(fractions, bytes.length)));
            expect(normalize(decoded)).toEqual(normalize([packet]));
            expect(hex(encode(decoded[0]!, 5))).toBe(hex(bytes));
          }),
          params(name.startsWith('ping') ? 2 : 200),
        );
      });
    }
  });
});
