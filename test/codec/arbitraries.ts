/**
 * fast-check arbitraries for every valid MQTT 3.1.1 control packet (and the 3.1 CONNECT), plus the small
 * helpers the codec tests share: hex, packet normalisation for deep equality, chunking and decoding.
 *
 * "Valid" means what a conformant sender may put on the wire:
 * - strings are well-formed UTF-8 without U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]; U+FEFF (also leading, where a
 *   careless TextDecoder would strip it) is included because it must be kept [MQTT-1.5.3-3]. The code points the
 *   spec says SHOULD NOT be sent (U+0001..U+001F, U+007F..U+009F, non-characters) are left out here: a receiver
 *   MAY refuse them (section 1.5.3), so they are not "valid packets" for a round trip; the conformance test pins
 *   what our decoder does with them.
 * - topic names are non-empty with no wildcard [MQTT-4.7.3-1] [MQTT-3.3.2-2]; topic filters use wildcards only
 *   as whole levels, '#' last [MQTT-4.7.1-2] [MQTT-4.7.1-3].
 * - packet identifiers are 1..65535 [MQTT-2.3.1-1], present on PUBLISH only when qos > 0 [MQTT-2.3.1-5].
 * - QoS 0 PUBLISH has DUP 0 [MQTT-3.3.1-2]; CONNACK with a non-zero return code has Session Present 0
 *   [MQTT-3.2.2-4]; password only with a user name [MQTT-3.1.2-22]; an empty ClientId needs CleanSession 1
 *   [MQTT-3.1.3-7]; SUBSCRIBE/UNSUBSCRIBE carry at least one filter [MQTT-3.8.3-3] [MQTT-3.10.3-2].
 */
import fc from 'fast-check';
import { PacketDecoder, type Packet } from '../../src/codec/index.js';
import type {
  ConnackPacket,
  ConnectPacket,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  UnsubscribePacket,
  Will,
} from '../../src/codec/packets.js';

// ---------------------------------------------------------------------------------------------------------------
// Helpers shared by the codec tests
// ---------------------------------------------------------------------------------------------------------------

export const DEFAULT_MAX_PACKET_SIZE = 1 << 20;

export function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Parses hex, ignoring spaces (the mosquitto file writes `30 0E 0005 ...`). */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${text}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}

/**
 * A plain-data view of a packet for deep equality: byte fields become `{ hex }` (so a Uint8Array view, a copy
 * and a Buffer compare equal by content), keys whose value is undefined are dropped.
 */
export function normalize(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) {
    return { hex: hex(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  }
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = normalize(v);
    return out;
  }
  return value;
}

/**
 * Places `bytes` inside a larger buffer with 0xEE garbage on both sides and returns the view, so a decoder that
 * ignores `byteOffset` / `byteLength` reads garbage and fails.
 */
export function embedded(bytes: Uint8Array, before = 7, after = 5): Uint8Array {
  const host = new Uint8Array(before + bytes.length + after).fill(0xee);
  host.set(bytes, before);
  return host.subarray(before, before + bytes.length);
}

/** Splits at the given cut points (any order, duplicates and out-of-range values ignored); views, not copies. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

export function bytewise(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(bytes.subarray(i, i + 1));
  return out;
}

export function newDecoder(maxPacketSize = DEFAULT_MAX_PACKET_SIZE): PacketDecoder {
  return new PacketDecoder({ maxPacketSize, protocolLevel: 4 });
}

/** Feeds the chunks to one fresh decoder and returns every packet it produced. Throws what the decoder throws. */
export function decodeChunks(chunks: readonly Uint8Array[], maxPacketSize = DEFAULT_MAX_PACKET_SIZE): Packet[] {
  const decoder = newDecoder(maxPacketSize);
  const out: Packet[] = [];
  for (const c of chunks) for (const p of decoder.push(c)) out.push(p);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Characters and strings
// ---------------------------------------------------------------------------------------------------------------

/** U+0001..U+001F, U+007F..U+009F and the non-characters: SHOULD NOT be sent, a receiver MAY refuse (1.5.3). */
export function isDiscouragedCodePoint(cp: number): boolean {
  return (
    (cp >= 0x01 && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe
  );
}

const ASCII_POOL = [...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_-. $%&@!~=:;,'];
const SPECIAL_POOL = [
  '\uFEFF', // ZERO WIDTH NO-BREAK SPACE: must not be skipped or stripped [MQTT-1.5.3-3]
  'é',
  'ò',
  '€',
  '中',
  'Ŧ',
  '\u00A0',
  '\uFFFD',
  '\u{1F604}',
  '\u{1D11E}',
  '\u{2A6D4}',
  '\u{10000}',
  '\u{10FFFD}',
];

/** One code point that may appear in any MQTT UTF-8 string; `exclude` removes more characters (e.g. wildcards). */
function charArb(exclude: string): fc.Arbitrary<string> {
  const ok = (c: string): boolean => !exclude.includes(c);
  const anyCodePoint = fc
    .string({ unit: 'binary', minLength: 1, maxLength: 1 })
    .filter((c) => {
      const cp = c.codePointAt(0)!;
      return cp !== 0 && !isDiscouragedCodePoint(cp) && ok(c);
    });
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...ASCII_POOL.filter(ok)) },
    { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_POOL.filter(ok)) },
    { weight: 2, arbitrary: anyCodePoint },
  );
}

/** Any MQTT UTF-8 string (may be empty), as used for ClientId, user name. */
export function mqttStringArb(opts: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<string> {
  return fc
    .array(charArb(''), { minLength: opts.minLength ?? 0, maxLength: opts.maxLength ?? 24 })
    .map((cs) => cs.join(''));
}

const asciiLevelChars = ASCII_POOL.filter((c) => !'/+#'.includes(c));
const levelArb = fc.oneof(
  // ASCII-only levels (the common case, and the decoder's fast path for short strings)
  { weight: 8, arbitrary: fc.string({ unit: fc.constantFrom(...asciiLevelChars), maxLength: 16 }) },
  { weight: 6, arbitrary: fc.array(charArb('/+#'), { minLength: 0, maxLength: 10 }).map((cs) => cs.join('')) },
  // long levels so string lengths cross 127/255 (two-byte length prefix, multi-byte remaining length)
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 120, maxLength: 400 }).map((s) => s.replace(/[/+#\0]/g, '_')) },
);

/** A topic name: at least one character, no wildcards, no U+0000 [MQTT-4.7.3-1] [MQTT-3.3.2-2] [MQTT-4.7.3-2]. */
export const topicNameArb: fc.Arbitrary<string> = fc
  .array(levelArb, { minLength: 1, maxLength: 6 })
  .map((levels) => levels.join('/'))
  .filter((t) => t.length > 0 && utf8Length(t) <= 65535);

/** A topic filter: '+' occupies a whole level, '#' is alone or last after '/' [MQTT-4.7.1-2] [MQTT-4.7.1-3]. */
export const topicFilterArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(fc.oneof({ weight: 4, arbitrary: levelArb }, { weight: 1, arbitrary: fc.constant('+') }), {
      minLength: 1,
      maxLength: 6,
    }),
    fc.boolean(),
  )
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((t) => t.length > 0 && utf8Length(t) <= 65535);

// ---------------------------------------------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------------------------------------------

export const qosArb: fc.Arbitrary<QoS> = fc.constantFrom<QoS>(0, 1, 2);
export const packetIdArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1, max: 65535 }),
  fc.constantFrom(1, 255, 256, 0x7fff, 0x8000, 65535),
);

/** Payload bytes: mostly small, sometimes past the 127 / 16383 remaining-length boundaries. */
export const payloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 12, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 64 }) },
  { weight: 4, arbitrary: fc.uint8Array({ minLength: 100, maxLength: 400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 16_000, max: 20_000 }).map((n) => fillPattern(n)) },
);

function fillPattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Packets
// ---------------------------------------------------------------------------------------------------------------

const willArb: fc.Arbitrary<Will> = fc.record({
  topic: topicNameArb,
  payload: payloadArb,
  qos: qosArb,
  retain: fc.boolean(),
});

/** The credentials part of CONNECT: password only together with a user name [MQTT-3.1.2-22]. */
const credentialsArb: fc.Arbitrary<{ username?: string; password?: Uint8Array }> = fc.oneof(
  fc.constant({}),
  mqttStringArb().map((username) => ({ username })),
  fc.tuple(mqttStringArb(), fc.uint8Array({ maxLength: 40 })).map(([username, password]) => ({ username, password })),
);

function buildConnect(
  protocolName: string,
  protocolLevel: number,
  clientId: string,
  clean: boolean,
  keepalive: number,
  creds: { username?: string; password?: Uint8Array },
  will: Will | undefined,
): ConnectPacket {
  const p: ConnectPacket = { type: 'connect', protocolName, protocolLevel, clientId, clean, keepalive };
  if (creds.username !== undefined) p.username = creds.username;
  if (creds.password !== undefined) p.password = creds.password;
  if (will !== undefined) p.will = will;
  return p;
}

/** MQTT 3.1.1 CONNECT (protocol name 'MQTT', level 4). An empty ClientId comes with clean = true [MQTT-3.1.3-7]. */
export const connectArb: fc.Arbitrary<ConnectPacket> = fc
  .tuple(
    mqttStringArb({ maxLength: 30 }),
    fc.boolean(),
    fc.integer({ min: 0, max: 65535 }),
    credentialsArb,
    fc.option(willArb, { nil: undefined }),
  )
  .map(([clientId, clean, keepalive, creds, will]) =>
    buildConnect('MQTT', 4, clientId, clientId === '' ? true : clean, keepalive, creds, will),
  );

/** MQTT 3.1 CONNECT (protocol name 'MQIsdp', level 3): 3.1 requires a ClientId of 1 to 23 characters. */
export const connectV3Arb: fc.Arbitrary<ConnectPacket> = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 23 }),
    fc.boolean(),
    fc.integer({ min: 0, max: 65535 }),
    credentialsArb,
    fc.option(willArb, { nil: undefined }),
  )
  .map(([clientId, clean, keepalive, creds, will]) => buildConnect('MQIsdp', 3, clientId, clean, keepalive, creds, will));

/** CONNACK: return codes 0..5; Session Present only with return code 0 [MQTT-3.2.2-4]. */
export const connackArb: fc.Arbitrary<ConnackPacket> = fc
  .tuple(fc.boolean(), fc.integer({ min: 0, max: 5 }))
  .map(([sessionPresent, returnCode]) => ({
    type: 'connack' as const,
    sessionPresent: returnCode === 0 ? sessionPresent : false,
    returnCode,
  }));

/** PUBLISH: packetId iff qos > 0 [MQTT-2.3.1-5]; dup only when qos > 0 [MQTT-3.3.1-2]. */
export const publishArb: fc.Arbitrary<PublishPacket> = fc
  .tuple(topicNameArb, payloadArb, qosArb, fc.boolean(), fc.boolean(), packetIdArb)
  .map(([topic, payload, qos, retain, dup, packetId]) => {
    const p: PublishPacket = { type: 'publish', topic, payload, qos, retain, dup: qos > 0 ? dup : false };
    if (qos > 0) p.packetId = packetId;
    return p;
  });

export const pubackArb = packetIdArb.map((packetId) => ({ type: 'puback' as const, packetId }));
export const pubrecArb = packetIdArb.map((packetId) => ({ type: 'pubrec' as const, packetId }));
export const pubrelArb = packetIdArb.map((packetId) => ({ type: 'pubrel' as const, packetId }));
export const pubcompArb = packetIdArb.map((packetId) => ({ type: 'pubcomp' as const, packetId }));
export const unsubackArb = packetIdArb.map((packetId) => ({ type: 'unsuback' as const, packetId }));

export const subscribeArb: fc.Arbitrary<SubscribePacket> = fc.record({
  type: fc.constant('subscribe' as const),
  packetId: packetIdArb,
  subscriptions: fc.array(fc.record({ topicFilter: topicFilterArb, qos: qosArb }), { minLength: 1, maxLength: 8 }),
});

/** SUBACK return codes are 0x00, 0x01, 0x02 or 0x80 [MQTT-3.9.3-2]. */
export const subackArb: fc.Arbitrary<SubackPacket> = fc.record({
  type: fc.constant('suback' as const),
  packetId: packetIdArb,
  returnCodes: fc.array(fc.constantFrom(0, 1, 2, 0x80), { minLength: 1, maxLength: 12 }),
});

export const unsubscribeArb: fc.Arbitrary<UnsubscribePacket> = fc.record({
  type: fc.constant('unsubscribe' as const),
  packetId: packetIdArb,
  topicFilters: fc.array(topicFilterArb, { minLength: 1, maxLength: 8 }),
});

export const pingreqArb = fc.constant({ type: 'pingreq' as const });
export const pingrespArb = fc.constant({ type: 'pingresp' as const });
export const disconnectArb = fc.constant({ type: 'disconnect' as const });

/** One arbitrary per packet type (CONNECT twice: 3.1.1 and 3.1). */
export const packetArbsByType = {
  connect: connectArb,
  connectV3: connectV3Arb,
  connack: connackArb,
  publish: publishArb,
  puback: pubackArb,
  pubrec: pubrecArb,
  pubrel: pubrelArb,
  pubcomp: pubcompArb,
  subscribe: subscribeArb,
  suback: subackArb,
  unsubscribe: unsubscribeArb,
  unsuback: unsubackArb,
  pingreq: pingreqArb,
  pingresp: pingrespArb,
  disconnect: disconnectArb,
} satisfies Record<string, fc.Arbitrary<Packet>>;

/** Any valid packet; PUBLISH is weighted up as it is the bulk of real traffic. */
export const packetArb: fc.Arbitrary<Packet> = fc.oneof(
  ...Object.entries(packetArbsByType).map(([name, arbitrary]) => ({
    weight: name === 'publish' ? 4 : name === 'connect' || name === 'subscribe' ? 2 : 1,
    arbitrary: arbitrary as fc.Arbitrary<Packet>,
  })),
);
