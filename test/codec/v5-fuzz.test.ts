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
import { encode, MqttProtocolError, PacketDecoder, reasonCodeAllowed, type Packet, type ProtocolLevel } from '../../src/codec/index.js';
import { concatBytes, hex, normalize } from './arbitraries.js';
import { packet5Arb } from './arbitraries-v5.js';
import { Mutator, Problems } from './mutator.js';
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

/** The level each returned packet was decoded at: the decoder's, switched by CONNECTs as PacketDecoder does. */
function levelsOf(packets: Packet[], start: ProtocolLevel): ProtocolLevel[] {
  let level = start;
  return packets.map((p) => {
    const at = level;
    if (p.type === 'connect' && (p.protocolLevel === 5) !== (level === 5)) level = p.protocolLevel as ProtocolLevel;
    return at;
  });
}

describe('MQTT 5 decoder fuzzing', () => {
  it(`${ITERATIONS} inputs aimed at properties and reason codes: only MqttProtocolError, accepted packets re-encode`, () => {
    console.log(`v5 fuzz seed ${SEED}, ${ITERATIONS} inputs (replay: FUZZ_SEED=${SEED} npx vitest run test/codec/v5-fuzz.test.ts)`);
    const statements = mqtt5StatementIds();
    const seeds = fc.sample(packet5Arb, { numRuns: 400, seed: SEED | 0 }).map((p) => encode(p, 5)).filter((b) => b.length <= 2048);
    const m = new Mutator(SEED, seeds);
    const builder = new Builder(m);
    const stats = { inputs: 0, packets: 0, withProperties: 0, errors: 0 };
    const codes = new Map<string, number>();
    const problems = new Problems();
    const problem = (kind: string, example: string): void => problems.add(kind, example);

    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (let i = 0; i < ITERATIONS; i++) {
        const input = builder.input();
        const chunks = m.chunks(input);
        const maxPacketSize = m.next() < 0.05 ? 2 + m.int(100) : 1 << 20;
        const where = (): string => `seed ${SEED} input #${i} (maxPacketSize ${maxPacketSize}, chunks ${chunks.map((c) => c.length).join(',')}): ${hex(input)}`;
        const decoder = new PacketDecoder({ maxPacketSize, protocolLevel: 5 });
        const got: Packet[] = [];
        let failed: MqttProtocolError | undefined;
        try {
          for (const c of chunks) for (const p of decoder.push(c)) got.push(p);
        } catch (err) {
          if (!(err instanceof MqttProtocolError)) {
            problem(`decoder threw a non-MqttProtocolError: ${String(err)}`, where());
            continue;
          }
          failed = err;
        }
        stats.inputs++;
        stats.packets += got.length;
        if (failed) {
          stats.errors++;
          codes.set(failed.code, (codes.get(failed.code) ?? 0) + 1);
          if (![0x81, 0x82, 0x84, 0x94, 0x95].includes(failed.reasonCode)) problem(`reason code ${failed.reasonCode}`, where());
          if (failed.statement !== undefined && !statements.has(failed.statement)) problem(`not an MQTT 5 statement: ${failed.statement}`, where());
          let again: unknown;
          try {
            decoder.push(Uint8Array.of(0xd0, 0x00));
          } catch (err) {
            again = err;
          }
          if (!(again instanceof MqttProtocolError) || again.code !== 'DECODER_FAILED') problem('decoder did not stay failed', where());
        }
        const levels = levelsOf(got, 5);
        got.forEach((p, k) => {
          if ('properties' in p && p.properties !== undefined) stats.withProperties++;
          const level = levels[k]!;
          let bytes: Uint8Array;
          try {
            bytes = encode(p, level);
          } catch (err) {
            problem(`decode accepted a ${p.type} that encode refuses: ${String(err)}`, `${JSON.stringify(normalize(p))} from ${where()}`);
            return;
          }
          try {
            const again = new PacketDecoder({ maxPacketSize: 1 << 28, protocolLevel: level }).push(bytes);
            if (JSON.stringify(normalize(again)) !== JSON.stringify(normalize([p]))) {
              problem(`re-encoded ${p.type} decodes differently`, `${JSON.stringify(normalize(p))} vs ${JSON.stringify(normalize(again))} from ${where()}`);
            }
          } catch (err) {
            problem(`re-encoded ${p.type} does not decode: ${String(err)}`, `${JSON.stringify(normalize(p))} from ${where()}`);
          }
        });
      }
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }

    console.log(
      `v5 fuzz: ${stats.inputs} inputs, ${stats.packets} packets decoded (${stats.withProperties} with properties), ${stats.errors} protocol errors; ` +
        `codes ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])))}`,
    );
    const report = problems.report();
    expect(report, `seed ${SEED}: problems found`).toBe('');
    expect(stats.inputs).toBeGreaterThanOrEqual(100_000);
    // The inputs must reach both sides: many valid packets (with properties), and every kind of MQTT 5 fault.
    expect(stats.packets).toBeGreaterThan(20_000);
    expect(stats.withProperties).toBeGreaterThan(5_000);
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
