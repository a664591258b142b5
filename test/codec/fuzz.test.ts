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
import { encode, MqttProtocolError, PacketDecoder } from '../../src/codec/index.js';
import { concatBytes, fromHex, normalize, packetArb } from './arbitraries.js';
import { codesSummary, fuzzDecoder } from './fuzz-run.js';
import { Mutator } from './mutator.js';
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
    const cited = new Set<string>();
    const tally = fuzzDecoder(
      SEED,
      ITERATIONS,
      () => {
        const input = m.input();
        return { input, chunks: m.chunks(input), maxPacketSize: m.next() < 0.1 ? 2 + m.int(300) : 1 << 20, protocolLevel: m.next() < 0.1 ? 3 : 4 };
      },
      {
        onError(err, { input }, problem) {
          if (err.statement === undefined) return;
          cited.add(err.statement);
          const known = statements.has(err.statement) || (hasLevel5Connect(input) && statements5.has(err.statement));
          if (!known) problem(`unknown statement ${err.statement}`);
        },
      },
    );
    const { codes } = tally;
    console.log(
      `fuzz: ${tally.inputs} inputs, ${tally.bytes} bytes, ${tally.packets} packets decoded, ${tally.errors} protocol errors; ` +
        `codes ${codesSummary(codes)}; statements cited ${cited.size}`,
    );
    expect(tally.problems.report(), `seed ${SEED}: problems found`).toBe('');
    expect(tally.inputs).toBeGreaterThanOrEqual(100_000);
    // The mutations must reach both sides: plenty of accepted packets and plenty of distinct errors.
    expect(tally.packets).toBeGreaterThan(10_000);
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
