/**
 * Fuzzing the decoder at protocol level 5: at least 100,000 inputs per run, aimed at what MQTT 5 adds.
 *
 * Half the inputs are built packet by packet, every type, with property blocks made to break the rules: property
 * identifiers not allowed on the packet (or unknown), duplicates, values cut short or too long, zero where the
 * spec forbids it, byte flags above 1, Variable Byte Integers overlong or not in their shortest form, strings of
 * ill-formed UTF-8 or with U+0000, Property Lengths off by a little, reason codes outside the packet type's own;
 * some of these are mutated further. The rest are byte-level mutations (mutator.ts) of valid MQTT 5 packets, and
 * streams of several inputs. Each input goes to a fresh level-5 decoder in random chunks. Checked:
 *
 * - the only exception ever thrown is MqttProtocolError, the decoder then stays failed, and nothing hangs
 *   (everything is synchronous: the test timeout bounds it);
 * - every error carries a reason code a receiver may send (0x81, 0x82, 0x84, 0x94, 0x95) and cites, if anything,
 *   an MQTT 5 statement;
 * - every packet the decoder returns is one `encode` accepts at its level, and its encoding decodes to an equal
 *   packet;
 * - the inputs reach every kind of property error and plenty of valid packets (so the run means something).
 *
 * The PRNG is seeded and the seed printed. Replay: FUZZ_SEED=<seed> (FUZZ_ITERATIONS=<n>) npx vitest run test/codec/v5-fuzz.test.ts
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, reasonCodeAllowed } from '../../src/codec/index.js';
import { concatBytes } from './arbitraries.js';
import { packet5Arb } from './arbitraries-v5.js';
import { codesSummary, fuzzDecoder } from './fuzz-run.js';
import { Mutator } from './mutator.js';
import { mqtt5StatementIds } from './statements.js';
import { remainingLength } from '../helpers/mqtt-bytes.js';

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const ITERATIONS = Math.max(100_000, Number(process.env.FUZZ_ITERATIONS ?? 100_000));

// Data types by property identifier (Table 2-4), written out here rather than taken from src/.
const BYTE = [0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a];
const U16 = [0x13, 0x21, 0x22, 0x23];
const U32 = [0x02, 0x11, 0x18, 0x27];
const VBI = [0x0b];
const STRING = [0x03, 0x08, 0x12, 0x15, 0x1a, 0x1c, 0x1f];
const BINARY = [0x09, 0x16];
const PAIR = [0x26];
const ALL_IDS = [...BYTE, ...U16, ...U32, ...VBI, ...STRING, ...BINARY, ...PAIR];

/** Identifiers allowed per packet type (0: Will Properties), Table 2-4. */
const ALLOWED: Record<number, number[]> = {
  0: [0x01, 0x02, 0x03, 0x08, 0x09, 0x18, 0x26],
  1: [0x11, 0x15, 0x16, 0x17, 0x19, 0x21, 0x22, 0x26, 0x27],
  2: [0x11, 0x12, 0x13, 0x15, 0x16, 0x1a, 0x1c, 0x1f, 0x21, 0x22, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a],
  3: [0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x23, 0x26],
  4: [0x1f, 0x26], 5: [0x1f, 0x26], 6: [0x1f, 0x26], 7: [0x1f, 0x26],
  8: [0x0b, 0x26], 9: [0x1f, 0x26], 10: [0x26], 11: [0x1f, 0x26],
  14: [0x11, 0x1c, 0x1f, 0x26], 15: [0x15, 0x16, 0x1f, 0x26],
};

const STRING_PIECES: number[][] = [
  [0x61], [0x2f], [0x63, 0x2f, 0x64], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x84], [0xef, 0xbb, 0xbf],
  // ill-formed or forbidden: encoded surrogate, overlong '/', stray bytes, truncated sequence, U+0000, above U+10FFFF
  [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xff], [0x80], [0xe2, 0x82], [0x00], [0xf4, 0x90, 0x80, 0x80], [0x23], [0x2b],
];

/** Each packet type's own reason codes, to pick from. */
const REASON_CODES_OF: Record<number, number[]> = Object.fromEntries(
  [2, 4, 5, 6, 7, 9, 11, 14, 15].map((type) => [type, Array.from({ length: 256 }, (_, c) => c).filter((c) => reasonCodeAllowed(c, type))]),
);

/** Topic filters, valid and not, length-prefixed. */
const FILTERS = ['a/b', '+/x', '#', 'a/#', '$share/g/a', '$share//a', '$share/g', 'a+', 's/+/t/#', '$SYS/#'].map((f) => {
  const bytes = [...new TextEncoder().encode(f)];
  return [(bytes.length >> 8) & 0xff, bytes.length & 0xff, ...bytes];
});

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

/** A minimal Variable Byte Integer. */
const vbi = (n: number): number[] => [...remainingLength(n)];

/** Builds MQTT 5 packets, mostly well-formed, with the property and reason-code faults described above. */
class Builder {
  constructor(private readonly m: Mutator) {}

  private chance(p: number): boolean {
    return this.m.next() < p;
  }

  /** A Variable Byte Integer for `n`: minimal, or now and then padded (0x80 0x00...), or 5 bytes long. */
  private varint(n: number): number[] {
    const r = this.m.next();
    if (r < 0.93) return vbi(n);
    const v = vbi(n);
    if (r < 0.97) {
      v[v.length - 1]! |= 0x80;
      return [...v, 0x00];
    }
    return [0xff, 0xff, 0xff, 0xff, 0x7f];
  }

  /** A length-prefixed UTF-8 string, sometimes ill-formed or with its length off. */
  private string(bad = 0.08): number[] {
    const bytes: number[] = [];
    const pieces = this.m.int(4);
    for (let i = 0; i < pieces; i++) bytes.push(...this.m.pick(this.chance(bad) ? STRING_PIECES : STRING_PIECES.slice(0, 7)));
    const length = this.chance(0.03) ? Math.max(0, bytes.length + this.m.pick([-2, -1, 1, 3])) : bytes.length;
    return [...u16(length), ...bytes];
  }

  private binary(): number[] {
    const bytes = Array.from({ length: this.m.int(6) }, () => this.m.int(256));
    return [...u16(bytes.length), ...bytes];
  }

  private value(id: number): number[] {
    const m = this.m;
    if (BYTE.includes(id)) return [this.chance(0.85) ? m.int(2) : m.byte()];
    if (U16.includes(id)) return this.chance(0.95) ? u16(this.chance(0.1) ? 0 : m.int(65536)) : [m.int(256)];
    if (U32.includes(id)) return this.chance(0.95) ? [...u16(m.int(65536)), ...u16(this.chance(0.1) ? 0 : m.int(65536))] : [m.int(256), m.int(256)];
    if (VBI.includes(id)) return this.varint(this.chance(0.1) ? 0 : m.pick([1, 127, 128, 300, 16384, 268_435_455, m.int(1 << 21)]));
    if (BINARY.includes(id)) return this.binary();
    if (PAIR.includes(id)) return [...this.string(), ...this.string()];
    if (STRING.includes(id)) return this.string();
    return Array.from({ length: m.int(4) }, () => m.byte()); // an unknown identifier: anything
  }

  /** Property Length and properties for a set of `type` (0: Will Properties). */
  properties(type: number): number[] {
    const m = this.m;
    const props: number[][] = [];
    const count = m.pick([0, 0, 1, 1, 2, 3, 5]);
    for (let i = 0; i < count; i++) {
      const r = m.next();
      if (r < 0.1 && props.length > 0) {
        props.push(m.pick(props)); // the same property again
        continue;
      }
      const id = r < 0.82 ? m.pick(ALLOWED[type]!) : r < 0.95 ? m.pick(ALL_IDS) : m.int(256);
      props.push([id, ...this.value(id)]);
    }
    const body = props.flat();
    const length = this.chance(0.04) ? Math.max(0, body.length + m.pick([-2, -1, 1, 2])) : body.length;
    return [...this.varint(length), ...body];
  }

  private reasonCode(type: number): number {
    return this.chance(0.75) ? this.m.pick(REASON_CODES_OF[type]!) : this.m.byte();
  }

  private packetId(): number[] {
    return u16(this.chance(0.03) ? 0 : 1 + this.m.int(65535));
  }

  private filter(): number[] {
    return this.chance(0.05) ? this.string(0.5) : this.m.pick(FILTERS);
  }

  /** One packet: first byte, Remaining Length, body. */
  packet(): Uint8Array {
    const m = this.m;
    const type = m.pick([1, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    let first = type << 4;
    let body: number[];
    switch (type) {
      case 1: {
        const flags = this.chance(0.9) ? m.pick([0x02, 0x00, 0x06, 0x0e, 0x16, 0x36, 0xc2, 0x42, 0x82, 0xee]) : m.byte();
        body = [0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, this.chance(0.95) ? 5 : m.pick([4, 3, 6]), flags, ...u16(m.int(65536))];
        body.push(...this.properties(1), ...this.string(0.03));
        if (flags & 0x04) body.push(...this.properties(0), ...this.string(0.03), ...this.binary());
        if (flags & 0x80) body.push(...this.string());
        if (flags & 0x40) body.push(...this.binary());
        break;
      }
      case 2:
        body = [this.chance(0.9) ? m.int(2) : m.byte(), this.reasonCode(2), ...this.properties(2)];
        break;
      case 3: {
        const qos = this.chance(0.97) ? m.int(3) : 3;
        first |= (qos << 1) | (qos > 0 && this.chance(0.3) ? 0x08 : 0) | m.int(2);
        body = [...(this.chance(0.1) ? [0, 0] : this.string(0.05)), ...(qos > 0 ? this.packetId() : []), ...this.properties(3)];
        for (let n = m.int(8); n > 0; n--) body.push(m.int(256));
        break;
      }
      case 4:
      case 5:
      case 6:
      case 7:
        if (type === 6) first |= 0x02;
        body = this.packetId();
        if (this.chance(0.7)) body.push(this.reasonCode(type), ...(this.chance(0.7) ? this.properties(type) : []));
        break;
      case 8:
      case 10:
        first |= 0x02;
        body = [...this.packetId(), ...this.properties(type)];
        for (let n = this.chance(0.97) ? 1 + m.int(3) : 0; n > 0; n--) {
          body.push(...this.filter());
          // Options: QoS, No Local, Retain As Published, Retain Handling (3 is a Protocol Error), reserved bits.
          if (type === 8) body.push(this.chance(0.9) ? m.int(0x40) & ~(this.chance(0.5) ? 0x04 : 0) : m.byte());
        }
        break;
      case 9:
      case 11:
        body = [...this.packetId(), ...this.properties(type)];
        for (let n = this.chance(0.97) ? 1 + m.int(4) : 0; n > 0; n--) body.push(this.reasonCode(type));
        break;
      case 14:
      case 15:
        body = this.chance(0.2) ? [] : [this.reasonCode(type), ...(this.chance(0.8) ? this.properties(type) : [])];
        break;
      default: // PINGREQ, PINGRESP
        body = this.chance(0.95) ? [] : [0];
    }
    const remaining = this.chance(0.03) ? Math.max(0, body.length + m.pick([-1, 1])) : body.length;
    return Uint8Array.from([first, ...this.varint(remaining), ...body]);
  }

  /** One input: a built packet (30% of them mutated further), a few in a row, or a mutated valid packet. */
  input(): Uint8Array {
    const m = this.m;
    const r = m.next();
    if (r < 0.5) {
      const p = this.packet();
      return this.chance(0.3) ? m.mutate(p) : p;
    }
    if (r < 0.6) return concatBytes(Array.from({ length: 2 + m.int(4) }, () => this.packet()));
    return m.input();
  }
}

describe('MQTT 5 decoder fuzzing', () => {
  it(`${ITERATIONS} inputs aimed at properties and reason codes: only MqttProtocolError, accepted packets re-encode`, () => {
    console.log(`v5 fuzz seed ${SEED}, ${ITERATIONS} inputs (replay: FUZZ_SEED=${SEED} npx vitest run test/codec/v5-fuzz.test.ts)`);
    const statements = mqtt5StatementIds();
    const seeds = fc.sample(packet5Arb, { numRuns: 400, seed: SEED | 0 }).map((p) => encode(p, 5)).filter((b) => b.length <= 2048);
    const m = new Mutator(SEED, seeds);
    const builder = new Builder(m);
    let withProperties = 0;
    const tally = fuzzDecoder(
      SEED,
      ITERATIONS,
      () => {
        const input = builder.input();
        return { input, chunks: m.chunks(input), maxPacketSize: m.next() < 0.05 ? 2 + m.int(100) : 1 << 20, protocolLevel: 5 };
      },
      {
        onError(err, _input, problem) {
          if (![0x81, 0x82, 0x84, 0x94, 0x95].includes(err.reasonCode)) problem(`reason code ${err.reasonCode}`);
          if (err.statement !== undefined && !statements.has(err.statement)) problem(`not an MQTT 5 statement: ${err.statement}`);
        },
        onPacket(p) {
          if ('properties' in p && p.properties !== undefined) withProperties++;
        },
      },
    );
    const { codes } = tally;
    console.log(
      `v5 fuzz: ${tally.inputs} inputs, ${tally.packets} packets decoded (${withProperties} with properties), ${tally.errors} protocol errors; ` +
        `codes ${codesSummary(codes)}`,
    );
    expect(tally.problems.report(), `seed ${SEED}: problems found`).toBe('');
    expect(tally.inputs).toBeGreaterThanOrEqual(100_000);
    // The inputs must reach both sides: many valid packets (with properties), and every kind of MQTT 5 fault.
    expect(tally.packets).toBeGreaterThan(20_000);
    expect(withProperties).toBeGreaterThan(5_000);
    for (const code of [
      'INVALID_PROPERTY',
      'DUPLICATE_PROPERTY',
      'INVALID_PROPERTY_VALUE',
      'INVALID_REASON_CODE',
      'MALFORMED_LENGTH',
      'INVALID_UTF8',
      'INVALID_TOPIC',
      'INVALID_SUBSCRIPTION_OPTIONS',
      'TRUNCATED',
      'TRAILING_BYTES',
      'PACKET_TOO_LARGE',
    ]) {
      expect(codes.get(code) ?? 0, `seed ${SEED}: ${code} errors`).toBeGreaterThan(100);
    }
  }, 120_000);
});
