/**
 * Codec benchmark: our PacketDecoder / encode against mqtt-packet's parser / generate, same process, same data.
 *
 *   npm run bench:codec            (BENCH_ROUNDS=n to change the number of measured rounds, default 7)
 *
 * Decode: one stream of N identical QoS 0 PUBLISH packets (topic 'bench/topic/1'), cut into 1,500-byte chunks
 * (so packets straddle chunks, as they do off a TCP socket). We get Uint8Array views of the chunks,
 * mqtt-packet gets Buffers over the very same bytes. Encode: N calls of encode / mqtt.generate on one packet
 * object each. Each case is warmed up, then measured for several rounds, ours and theirs alternating; the
 * table shows medians. Not a test: it prints figures and whether the targets were met.
 *
 * The MQTT 5 case is the same PUBLISH (64 B payload) carrying a user property, a content type and 16 bytes
 * of correlation data, against mqtt-packet's v5 parser (`parser({ protocolVersion: 5 })`) and generator
 * (`generate(packet, { protocolVersion: 5 })`).
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt-packet';
import {
  encode,
  encodeInto,
  PacketDecoder,
  type Packet,
  type ProtocolLevel,
  type PublishPacket,
  type PublishProperties,
} from '../src/codec/index.js';

const CHUNK = 1500;
const TOPIC = 'bench/topic/1';
const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 5));
const WARMUP = 2;
const MAX_ROUNDS = 15;
const MIN_SECONDS = 1;

interface Case {
  name: string;
  count: number;
  payloadSize: number;
  target: number;
  /** MQTT 5 with these properties; 3.1.1 without. */
  v5?: PublishProperties;
}

const CORRELATION = Uint8Array.from({ length: 16 }, (_, i) => i * 17);

const CASES: Case[] = [
  { name: 'small (64 B payload)', count: 200_000, payloadSize: 64, target: 3 },
  { name: 'large (16 KiB payload)', count: 20_000, payloadSize: 16 * 1024, target: 2 },
  {
    name: 'MQTT 5, 64 B + properties',
    count: 200_000,
    payloadSize: 64,
    target: 3,
    v5: { userProperties: [['trace-id', 'a1b2c3d4']], contentType: 'application/json', correlationData: CORRELATION },
  },
];

/** The same properties in mqtt-packet's shape (user properties as an object, Buffers). */
function theirProperties(p: PublishProperties): mqtt.IPublishPacket['properties'] {
  return {
    userProperties: Object.fromEntries(p.userProperties ?? []),
    contentType: p.contentType,
    correlationData: Buffer.from(p.correlationData!),
  };
}

interface Result {
  /** Wall-clock seconds. */
  seconds: number;
  /** CPU seconds of this process (user + system) over the same span: robust when the machine is busy. */
  cpuSeconds: number;
  packets: number;
  payloadBytes: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

type Counts = Omit<Result, 'seconds' | 'cpuSeconds'>;

function time(run: () => Counts): Result {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = run();
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { ...r, seconds, cpuSeconds: (c.user + c.system) / 1e6 };
}

function makePayload(n: number): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 7 + 3) & 0xff;
  return p;
}

// --- decode --------------------------------------------------------------------------------------------------

function decodeOurs(chunks: readonly Uint8Array[], protocolLevel: ProtocolLevel): Counts {
  const decoder = new PacketDecoder({ maxPacketSize: 1 << 20, protocolLevel });
  let packets = 0;
  let payloadBytes = 0;
  for (const chunk of chunks) {
    const out: Packet[] = decoder.push(chunk);
    for (const p of out) {
      packets++;
      if (p.type === 'publish') payloadBytes += p.payload.length;
    }
  }
  return { packets, payloadBytes };
}

function decodeTheirs(chunks: readonly Buffer[], protocolVersion: number): Counts {
  const parser = mqtt.parser({ protocolVersion });
  let packets = 0;
  let payloadBytes = 0;
  let error: unknown;
  parser.on('packet', (p: mqtt.Packet) => {
    packets++;
    if (p.cmd === 'publish') payloadBytes += (p.payload as Buffer).length;
  });
  parser.on('error', (err: unknown) => {
    error = err;
  });
  for (const chunk of chunks) parser.parse(chunk);
  if (error) throw error;
  return { packets, payloadBytes };
}

// --- encode --------------------------------------------------------------------------------------------------

function encodeOurs(packet: PublishPacket, count: number, level: ProtocolLevel): Counts {
  let bytes = 0;
  // The 3.1.1 call as applications write it (no level argument); the level-5 one with it.
  if (level === 5) for (let i = 0; i < count; i++) bytes += encode(packet, 5).length;
  else for (let i = 0; i < count; i++) bytes += encode(packet).length;
  return { packets: count, payloadBytes: bytes };
}

/** Informational: the same packet written into one reused buffer, i.e. encode without the allocation. */
function encodeIntoOurs(packet: PublishPacket, count: number, size: number, level: ProtocolLevel): Counts {
  const buf = new Uint8Array(size);
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += encodeInto(packet, buf, 0, level);
  return { packets: count, payloadBytes: bytes };
}

function encodeTheirs(packet: mqtt.IPublishPacket, count: number, protocolVersion: number): Counts {
  let bytes = 0;
  const opts = { protocolVersion };
  for (let i = 0; i < count; i++) bytes += mqtt.generate(packet, opts).length;
  return { packets: count, payloadBytes: bytes };
}

// --- driver --------------------------------------------------------------------------------------------------

interface Row {
  op: string;
  name: string;
  ours: Result;
  theirs: Result;
  rounds: number;
  streamBytes: number;
  target: number;
}

function measure(
  op: string,
  c: Case,
  streamBytes: number,
  ours: () => Counts,
  theirs: () => Counts,
  check: (r: Counts, who: string) => void,
): Row {
  const o: Result[] = [];
  const t: Result[] = [];
  // At least ROUNDS measured rounds; short cases go on (up to MAX_ROUNDS) until each side has MIN_SECONDS of
  // measurements, so their medians do not hang on a handful of 100 ms samples.
  const measuredSeconds = (rs: Result[]): number => rs.slice(WARMUP).reduce((a, r) => a + r.seconds, 0);
  for (
    let round = 0;
    round < WARMUP + ROUNDS || (round < WARMUP + MAX_ROUNDS && Math.min(measuredSeconds(o), measuredSeconds(t)) < MIN_SECONDS);
    round++
  ) {
    // Alternate who goes first so neither always runs on the other's garbage.
    const pair = round % 2 ? [() => t.push(time(theirs)), () => o.push(time(ours))] : [() => o.push(time(ours)), () => t.push(time(theirs))];
    for (const run of pair) run();
  }
  for (const r of o) check(r, 'ours');
  for (const r of t) check(r, 'mqtt-packet');
  const pick = (rs: Result[]): Result => {
    const measured = rs.slice(WARMUP);
    return {
      ...measured[0]!,
      seconds: median(measured.map((r) => r.seconds)),
      cpuSeconds: median(measured.map((r) => r.cpuSeconds)),
    };
  };
  return { op, name: c.name, ours: pick(o), theirs: pick(t), rounds: o.length - WARMUP, streamBytes, target: c.target };
}

function main(): void {
  const cpus = os.cpus();
  console.log(
    `machine: ${os.availableParallelism()} CPUs (${cpus[0]?.model.trim() ?? 'unknown'}), node ${process.version}, ` +
      `${os.platform()} ${os.arch()}; mqtt-packet ${readVersion()}; ${WARMUP} warm-up rounds, then ${ROUNDS}..${MAX_ROUNDS} measured, medians`,
  );
  const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`load average at start: ${load()}`);
  const rows: Row[] = [];
  const started = performance.now();

  for (const c of CASES) {
    const payload = makePayload(c.payloadSize);
    const level: ProtocolLevel = c.v5 ? 5 : 4;
    const ourPacket: PublishPacket = { type: 'publish', topic: TOPIC, payload, qos: 0, retain: false, dup: false };
    const theirPacket: mqtt.IPublishPacket = {
      cmd: 'publish',
      topic: TOPIC,
      payload: Buffer.from(payload),
      qos: 0,
      retain: false,
      dup: false,
    };
    if (c.v5) {
      ourPacket.properties = c.v5;
      theirPacket.properties = theirProperties(c.v5);
    }

    // Same bytes from both encoders, or the comparison means nothing.
    const one = encode(ourPacket, level);
    const theirsOne = mqtt.generate(theirPacket, { protocolVersion: level });
    if (Buffer.compare(Buffer.from(one), theirsOne) !== 0) throw new Error(`${c.name}: encoders disagree`);

    const stream = new Uint8Array(one.length * c.count);
    for (let i = 0; i < c.count; i++) stream.set(one, i * one.length);
    const ourChunks: Uint8Array[] = [];
    const theirChunks: Buffer[] = [];
    for (let at = 0; at < stream.length; at += CHUNK) {
      const end = Math.min(stream.length, at + CHUNK);
      ourChunks.push(stream.subarray(at, end));
      theirChunks.push(Buffer.from(stream.buffer, stream.byteOffset + at, end - at));
    }

    const checkDecode = (r: Counts, who: string): void => {
      if (r.packets !== c.count || r.payloadBytes !== c.count * c.payloadSize) {
        throw new Error(`${c.name} decode (${who}): ${r.packets} packets / ${r.payloadBytes} payload bytes, expected ${c.count} / ${c.count * c.payloadSize}`);
      }
    };
    rows.push(measure('decode', c, stream.length, () => decodeOurs(ourChunks, level), () => decodeTheirs(theirChunks, level), checkDecode));

    const checkEncode = (r: Counts, who: string): void => {
      if (r.packets !== c.count || r.payloadBytes !== stream.length) {
        throw new Error(`${c.name} encode (${who}): ${r.payloadBytes} bytes, expected ${stream.length}`);
      }
    };
    rows.push(measure('encode', c, stream.length, () => encodeOurs(ourPacket, c.count, level), () => encodeTheirs(theirPacket, c.count, level), checkEncode));
    rows.push({
      ...measure(
        'encodeInto*',
        c,
        stream.length,
        () => encodeIntoOurs(ourPacket, c.count, one.length, level),
        () => encodeTheirs(theirPacket, c.count, level),
        checkEncode,
      ),
      target: 0,
    });
  }

  printTable(rows);
  console.log(`load average at end: ${load()}`);
  console.log(`total time ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

function readVersion(): string {
  try {
    const url = new URL('../node_modules/mqtt-packet/package.json', import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

function printTable(rows: Row[]): void {
  const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const header = [
    'operation',
    'case',
    'packets',
    'rounds',
    'ours pkt/s',
    'ours MB/s',
    'mqtt-packet pkt/s',
    'mqtt-packet MB/s',
    'ours/theirs',
    'ratio by CPU time',
    'target',
    'met',
  ];
  const lines = rows.map((r) => {
    const ourRate = r.ours.packets / r.ours.seconds;
    const theirRate = r.theirs.packets / r.theirs.seconds;
    const ratio = ourRate / theirRate;
    const cpuRatio = r.theirs.cpuSeconds / r.ours.cpuSeconds;
    return [
      r.op,
      r.name,
      fmt(r.ours.packets),
      String(r.rounds),
      fmt(ourRate),
      fmt(r.streamBytes / r.ours.seconds / 1e6, 1),
      fmt(theirRate),
      fmt(r.streamBytes / r.theirs.seconds / 1e6, 1),
      `${ratio.toFixed(2)}x`,
      `${cpuRatio.toFixed(2)}x`,
      r.target ? `>= ${r.target}x` : '-',
      r.target ? (ratio >= r.target ? 'yes' : 'NO') : '-',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log();
  console.log(row(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) console.log(row(l));
  console.log('\npkt/s and MB/s from wall-clock medians; MB/s counts whole packets on the wire, MB = 10^6 bytes.');
  console.log('"ratio by CPU time" compares median process CPU time instead (less sensitive to a busy machine).');
  console.log('encodeInto*: informational, not a target: our encodeInto into one reused buffer (no allocation) vs generate.');
}

main();
