/**
 * Mutation fuzzing of the decoder: at least 100,000 inputs per run, built from valid seeds (the mqtt_fuzz valid
 * cases, the mosquitto server-to-client cases and encodings of random valid packets) by bit flips, byte changes,
 * inserts, deletes, truncation, Remaining Length / string length changes, splices and concatenation, plus some
 * plain random bytes. Each input goes to a fresh decoder in random chunks. Checked:
 *
 * - the only exception ever thrown is MqttProtocolError (and the decoder then stays failed);
 * - nothing hangs (everything is synchronous: the test timeout bounds it);
 * - every packet the decoder returns is one `encode` accepts, and its encoding decodes to an equal packet;
 * - every `statement` an error cites is a real MQTT 3.1.1 normative statement id (or MQTT 5.0's, for an input
 *   holding a level-5 CONNECT: a CONNECT names its own level, and errors about it cite that level's spec).
 *
 * The PRNG is seeded; the seed is printed. Replay with FUZZ_SEED=<seed> (and FUZZ_ITERATIONS=<n> to change the
 * count) npx vitest run test/codec/fuzz.test.ts
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, MqttProtocolError, PacketDecoder, type Packet } from '../../src/codec/index.js';
import { concatBytes, fromHex, hex, normalize, packetArb } from './arbitraries.js';
import { Mutator, Problems } from './mutator.js';
import { mqtt5StatementIds } from './statements.js';

const FIXTURES = new URL('../fixtures/conformance/', import.meta.url);
const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const ITERATIONS = Math.max(100_000, Number(process.env.FUZZ_ITERATIONS ?? 100_000));


/** Does `input` hold the protocol name and level of a level-5 CONNECT ('MQTT', 5)? */
function hasLevel5Connect(input: Uint8Array): boolean {
  const v5 = [0x4d, 0x51, 0x54, 0x54, 0x05];
  for (let i = 0; i + v5.length <= input.length; i++) if (v5.every((b, j) => input[i + j] === b)) return true;
  return false;
}

const seedCache = new Map<number, Uint8Array[]>();

function buildSeeds(seed: number): Uint8Array[] {
  const cached = seedCache.get(seed);
  if (cached) return cached;
  const valid = load<Record<string, string[]>>('mqtt_fuzz-valid-cases.json');
  const mosquitto = load<{ msgs: { type: string; payload: string }[] }[]>('mosquitto-server-to-client-v311.json');
  const seeds = [
    ...Object.values(valid).flat().map(fromHex),
    ...mosquitto.flatMap((c) => c.msgs.map((m) => fromHex(m.payload))),
  ];
  // Encodings of random valid packets (deterministic from the seed); keep them small so mutation stays cheap.
  for (const p of fc.sample(packetArb, { numRuns: 400, seed: seed | 0 })) {
    const bytes = encode(p);
    if (bytes.length <= 2048) seeds.push(bytes);
  }
  seedCache.set(seed, seeds);
  return seeds;
}

describe('decoder fuzzing', () => {
  it(`${ITERATIONS} mutated inputs: only MqttProtocolError, and accepted packets re-encode`, () => {
    console.log(`fuzz seed ${SEED}, ${ITERATIONS} inputs (replay: FUZZ_SEED=${SEED} npx vitest run test/codec/fuzz.test.ts)`);
    const statements = new Set(load<{ id: string }[]>('mqtt311-normative-statements.json').map((s) => s.id));
    const statements5 = mqtt5StatementIds();
    const seeds = buildSeeds(SEED);
    const m = new Mutator(SEED, seeds);
    const stats = { inputs: 0, packets: 0, errors: 0, bytes: 0 };
    const codes = new Map<string, number>();
    const cited = new Set<string>();
    // Problems grouped by kind (digits masked), with the first few examples each, so one run shows them all.
    const problems = new Problems();
    const problem = (kind: string, example: string): void => problems.add(kind, example);

    // Tens of thousands of errors are thrown; capturing their stacks would be most of the run time.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (let i = 0; i < ITERATIONS; i++) {
        const input = m.input();
        const chunks = m.chunks(input);
        const maxPacketSize = m.next() < 0.1 ? 2 + m.int(300) : 1 << 20;
        const protocolLevel = m.next() < 0.1 ? 3 : 4;
        const where = (): string =>
          `seed ${SEED} input #${i} (maxPacketSize ${maxPacketSize}, level ${protocolLevel}, ` +
          `chunks ${chunks.map((c) => c.length).join(',')}): ${hex(input)}`;
        const decoder = new PacketDecoder({ maxPacketSize, protocolLevel });
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
        stats.bytes += input.length;
        stats.packets += got.length;
        if (failed) {
          stats.errors++;
          codes.set(failed.code, (codes.get(failed.code) ?? 0) + 1);
          if (failed.statement !== undefined) {
            cited.add(failed.statement);
            const known = statements.has(failed.statement) || (hasLevel5Connect(input) && statements5.has(failed.statement));
            if (!known) problem(`unknown statement ${failed.statement}`, where());
          }
          let again: unknown;
          try {
            decoder.push(Uint8Array.of(0xc0, 0x00));
          } catch (err) {
            again = err;
          }
          if (!(again instanceof MqttProtocolError)) problem('decoder did not stay failed', where());
        }
        for (const p of got) {
          let bytes: Uint8Array;
          try {
            bytes = encode(p);
          } catch (err) {
            problem(`decode accepted a ${p.type} that encode refuses: ${String(err)}`, `${JSON.stringify(normalize(p))} from ${where()}`);
            continue;
          }
          try {
            const again = new PacketDecoder({ maxPacketSize: 1 << 28, protocolLevel }).push(bytes);
            if (JSON.stringify(normalize(again)) !== JSON.stringify(normalize([p]))) {
              problem(`re-encoded ${p.type} decodes differently`, `${JSON.stringify(normalize(p))} vs ${JSON.stringify(normalize(again))} from ${where()}`);
            }
          } catch (err) {
            problem(`re-encoded ${p.type} does not decode: ${String(err)}`, `${JSON.stringify(normalize(p))} from ${where()}`);
          }
        }
      }
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }

    console.log(
      `fuzz: ${stats.inputs} inputs, ${stats.bytes} bytes, ${stats.packets} packets decoded, ${stats.errors} protocol errors; ` +
        `codes ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])))}; statements cited ${cited.size}`,
    );
    const report = problems.report();
    expect(report, `seed ${SEED}: problems found`).toBe('');
    expect(stats.inputs).toBeGreaterThanOrEqual(100_000);
    // The mutations must reach both sides: plenty of accepted packets and plenty of distinct errors.
    expect(stats.packets).toBeGreaterThan(10_000);
    expect(codes.size).toBeGreaterThanOrEqual(10);
  }, 60_000);

  it('accepted packets re-encode: edge inputs the mutations rarely reach', () => {
    // Well-formed packets the decoder accepts on purpose (the spec wants the receiver to answer them, not to
    // drop the connection). The same invariant as above applies: what decode accepts, encode must accept.
    const cases: [string, string, 3 | 4][] = [
      ['CONNACK return code 6 (reserved, passed to the caller)', '20020006', 4],
      ['CONNACK return code 255', '200200ff', 4],
      ['CONNECT 3.1.1, empty ClientId with CleanSession 0 (server answers CONNACK 0x02, MQTT-3.1.3-8)', '100c00044d5154540400001e0000', 4],
      ['CONNECT 3.1, empty ClientId', '100e00064d514973647003 02001e0000', 4],
      ['CONNECT 3.1, 24-byte ClientId', '102600064d514973647003 02001e0018' + '61'.repeat(24), 4],
      ['CONNECT 3.1, password without user name', '101500064d5149736470 03 42001e 000161 000470617373', 4],
      ['CONNACK at level 3 with flags 0x01 (ignored at level 3)', '20020100', 3],
      ['PUBLISH with a non-minimal Remaining Length (0x85 0x00)', '3085000003612f62', 4],
    ];
    const failures: string[] = [];
    for (const [name, h, protocolLevel] of cases) {
      const packets = new PacketDecoder({ protocolLevel }).push(fromHex(h));
      expect(packets, name).toHaveLength(1);
      try {
        const again = new PacketDecoder({ protocolLevel }).push(encode(packets[0]!));
        expect(normalize(again), name).toEqual(normalize(packets));
      } catch (err) {
        failures.push(`${name}: ${h} decodes to ${JSON.stringify(normalize(packets[0]))}, encode throws ${String(err)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('a long random stream of valid packets with mutations sprinkled in fails cleanly', () => {
    // One decoder, a 200 KB stream: the framing must hold (or fail with a protocol error) across many packets.
    const decodesCleanly = (b: Uint8Array): boolean => {
      try {
        return new PacketDecoder({ maxPacketSize: 1 << 20, protocolLevel: 4 }).push(b).length === 1;
      } catch {
        return false;
      }
    };
    const valid = buildSeeds(SEED).filter(decodesCleanly);
    const m = new Mutator(SEED ^ 0x9e3779b9, valid);
    // Even rounds are clean and must yield every packet; odd rounds carry 1 to 3 mutated inputs at
    // random places and must either fail with a protocol error or go on decoding. Which rounds are
    // clean is fixed, not drawn: with mutations drawn per packet, some seeds left no clean round.
    let mutatedRounds = 0;
    let failedRounds = 0;
    for (let round = 0; round < 20; round++) {
      const clean = round % 2 === 0;
      const badAt = new Set<number>();
      if (!clean) for (let k = 1 + m.int(3); badAt.size < k; ) badAt.add(m.int(400));
      const parts: Uint8Array[] = [];
      for (let n = 0; n < 400; n++) parts.push(badAt.has(n) ? m.input() : m.seed());
      const stream = concatBytes(parts);
      const decoder = new PacketDecoder({ maxPacketSize: 1 << 20, protocolLevel: 4 });
      let count = 0;
      try {
        for (const c of m.chunks(stream)) count += decoder.push(c).length;
      } catch (err) {
        if (!(err instanceof MqttProtocolError)) throw new Error(`seed ${SEED} round ${round}: ${String(err)}`, { cause: err });
        expect(clean, `seed ${SEED} round ${round}: a clean stream failed: ${String(err)}`).toBe(false);
        failedRounds++;
        continue;
      }
      if (clean) expect(count, `seed ${SEED} round ${round}`).toBe(400);
      else mutatedRounds++;
    }
    // Some mutated round must reach the framing and fail (each does with high odds; 10 all passing
    // would mean the mutations no longer reach the decoder).
    expect(failedRounds, `seed ${SEED}: ${mutatedRounds} mutated rounds decoded without error`).toBeGreaterThan(0);
  });
});
