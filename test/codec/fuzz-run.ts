/**
 * The loop both decoder fuzz tests share (fuzz.test.ts at 3.1.1, v5-fuzz.test.ts at level 5): each input goes to a
 * fresh decoder in its chunks, and the invariants that hold at every level are checked here:
 *
 * - the only exception ever thrown is MqttProtocolError, and the decoder then stays failed;
 * - every packet the decoder returns is one `encode` accepts at the level it was decoded at, and its encoding
 *   decodes to an equal packet.
 *
 * What is particular to a level (which statements and reason codes an error may cite, what the inputs must reach)
 * stays with its test, through `onError` and `onPacket`.
 */
import { encode, MqttProtocolError, PacketDecoder, type Packet, type ProtocolLevel } from '../../src/codec/index.js';
import { hex, normalize } from './arbitraries.js';
import { Problems } from './mutator.js';

/** One input of a run, as its test made it. */
export interface FuzzInput {
  input: Uint8Array;
  chunks: Uint8Array[];
  maxPacketSize: number;
  protocolLevel: ProtocolLevel;
}

/** What a run counted. */
export interface FuzzTally {
  inputs: number;
  bytes: number;
  packets: number;
  errors: number;
  /** Errors by code. */
  codes: Map<string, number>;
  problems: Problems;
}

export interface FuzzChecks {
  /** Called for each MqttProtocolError; `problem(kind)` records one with this input as its example. */
  onError?(err: MqttProtocolError, input: FuzzInput, problem: (kind: string) => void): void;
  /** Called for each packet decoded. */
  onPacket?(packet: Packet): void;
}

/** The decoder's level for each returned packet: the one it started at, switched by CONNECTs as PacketDecoder does. */
export function levelsOf(packets: Packet[], start: ProtocolLevel): ProtocolLevel[] {
  let level = start;
  return packets.map((p) => {
    const at = level;
    if (p.type === 'connect' && (p.protocolLevel === 5) !== (level === 5)) level = p.protocolLevel as ProtocolLevel;
    return at;
  });
}

/** Runs `count` inputs from `make(i)`; `seed` only names the run in the problems' examples. */
export function fuzzDecoder(seed: number, count: number, make: (i: number) => FuzzInput, checks: FuzzChecks = {}): FuzzTally {
  const tally: FuzzTally = { inputs: 0, bytes: 0, packets: 0, errors: 0, codes: new Map(), problems: new Problems() };
  // Tens of thousands of errors are thrown; capturing their stacks would be most of the run time.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (let i = 0; i < count; i++) {
      const c = make(i);
      const where = (): string =>
        `seed ${seed} input #${i} (maxPacketSize ${c.maxPacketSize}, level ${c.protocolLevel}, chunks ${c.chunks.map((b) => b.length).join(',')}): ${hex(c.input)}`;
      const problem = (kind: string, example = where()): void => tally.problems.add(kind, example);
      const decoder = new PacketDecoder({ maxPacketSize: c.maxPacketSize, protocolLevel: c.protocolLevel });
      const got: Packet[] = [];
      let failed: MqttProtocolError | undefined;
      try {
        for (const chunk of c.chunks) for (const p of decoder.push(chunk)) got.push(p);
      } catch (err) {
        if (!(err instanceof MqttProtocolError)) {
          problem(`decoder threw a non-MqttProtocolError: ${String(err)}`);
          continue;
        }
        failed = err;
      }
      tally.inputs++;
      tally.bytes += c.input.length;
      tally.packets += got.length;
      if (failed) {
        tally.errors++;
        tally.codes.set(failed.code, (tally.codes.get(failed.code) ?? 0) + 1);
        checks.onError?.(failed, c, (kind) => problem(kind));
        if (!failsAgain(decoder)) problem('decoder did not stay failed');
      }
      const levels = levelsOf(got, c.protocolLevel);
      got.forEach((p, k) => {
        checks.onPacket?.(p);
        const roundTrip = reencodes(p, levels[k]!);
        if (roundTrip) problem(roundTrip, `${JSON.stringify(normalize(p))} from ${where()}`);
      });
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  return tally;
}

/** A failed decoder refuses whatever comes next (here a well-formed PINGRESP) with DECODER_FAILED. */
function failsAgain(decoder: PacketDecoder): boolean {
  try {
    decoder.push(Uint8Array.of(0xd0, 0x00));
  } catch (err) {
    return err instanceof MqttProtocolError && err.code === 'DECODER_FAILED';
  }
  return false;
}

/** undefined when `p` encodes at `level` and decodes back to an equal packet; otherwise what went wrong. */
function reencodes(p: Packet, level: ProtocolLevel): string | undefined {
  let bytes: Uint8Array;
  try {
    bytes = encode(p, level);
  } catch (err) {
    return `decode accepted a ${p.type} that encode refuses: ${String(err)}`;
  }
  try {
    const again = new PacketDecoder({ maxPacketSize: 1 << 28, protocolLevel: level }).push(bytes);
    if (JSON.stringify(normalize(again)) !== JSON.stringify(normalize([p]))) return `re-encoded ${p.type} decodes differently: ${JSON.stringify(normalize(again))}`;
  } catch (err) {
    return `re-encoded ${p.type} does not decode: ${String(err)}`;
  }
  return undefined;
}

/** The error codes of a run, most frequent first, for its summary line. */
export function codesSummary(codes: Map<string, number>): string {
  return JSON.stringify(Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])));
}
