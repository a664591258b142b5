/**
 * Byte-level helpers for the test harness.
 *
 * Deliberately independent of the project's codec (src/codec): the harness must be able to judge the
 * codec, so it frames and builds packets on its own, with as little logic as possible.
 */

/** Bytes from a hex string; whitespace, `:` and `,` separators are ignored: `hex('20 02 00 00')`. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/[\s:,]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new Error(`hex(): not an even-length hex string: ${JSON.stringify(text)}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Lower-case hex with a space between bytes: `toHex(hex('2002 0000')) === '20 02 00 00'`. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** `Uint8Array` from either bytes or a hex string (the form every harness `write()` accepts). */
export function asBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? hex(data) : data;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** The MQTT control packet type (upper nibble of the first byte): 1 CONNECT ... 14 DISCONNECT. */
export function packetType(packet: Uint8Array): number {
  return (packet[0] ?? 0) >> 4;
}

export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const;

export type FrameResult =
  | { kind: 'packet'; length: number } // a whole packet of `length` bytes starts at the offset
  | { kind: 'incomplete' } // need more bytes
  | { kind: 'malformed'; reason: string }; // the remaining length is not a valid variable byte integer

/**
 * Looks for one whole packet at `offset`: fixed header byte, Remaining Length (1..4 bytes, 7 bits each,
 * high bit = continuation), then that many bytes.
 */
export function frameAt(buf: Uint8Array, offset = 0): FrameResult {
  let multiplier = 1;
  let remaining = 0;
  for (let i = 0; i < 4; i++) {
    const at = offset + 1 + i;
    if (at >= buf.length) return { kind: 'incomplete' };
    const b = buf[at]!;
    remaining += (b & 0x7f) * multiplier;
    if ((b & 0x80) === 0) {
      const length = 1 + (i + 1) + remaining;
      return offset + length <= buf.length ? { kind: 'packet', length } : { kind: 'incomplete' };
    }
    multiplier *= 128;
  }
  return { kind: 'malformed', reason: 'remaining length longer than 4 bytes' };
}

/**
 * Incremental framer: push chunks as they arrive, take whole packets out.
 * After a malformed length it stays failed (`error` is set) and yields nothing more.
 */
export class PacketFramer {
  private buf: Uint8Array = new Uint8Array(0);
  error: string | undefined;

  push(chunk: Uint8Array): Uint8Array[] {
    this.buf = this.buf.length === 0 ? Uint8Array.from(chunk) : concatBytes(this.buf, chunk);
    const packets: Uint8Array[] = [];
    if (this.error !== undefined) return packets;
    let offset = 0;
    while (offset < this.buf.length) {
      const r = frameAt(this.buf, offset);
      if (r.kind === 'incomplete') break;
      if (r.kind === 'malformed') {
        this.error = r.reason;
        break;
      }
      packets.push(this.buf.slice(offset, offset + r.length));
      offset += r.length;
    }
    this.buf = this.buf.slice(offset);
    return packets;
  }

  /** Bytes received but not yet part of a whole packet. */
  pending(): Uint8Array {
    return this.buf;
  }
}

// ---------------------------------------------------------------------------------------------
// Minimal hand-rolled packet builders (MQTT 3.1.1), for raw-socket peers in harness tests.

function u16(n: number): Uint8Array {
  return Uint8Array.of((n >> 8) & 0xff, n & 0xff);
}

function str(s: string | Uint8Array): Uint8Array {
  const b = typeof s === 'string' ? utf8(s) : s;
  return concatBytes(u16(b.length), b);
}

/** A Variable Byte Integer (the Remaining Length's encoding) in its shortest form. */
export function remainingLength(n: number): Uint8Array {
  const out: number[] = [];
  do {
    let digit = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) digit |= 0x80;
    out.push(digit);
  } while (n > 0);
  return Uint8Array.from(out);
}

/** Fixed header + body. */
export function packet(firstByte: number, ...body: Uint8Array[]): Uint8Array {
  const b = concatBytes(...body);
  return concatBytes(Uint8Array.of(firstByte), remainingLength(b.length), b);
}

export interface ConnectFields {
  clientId?: string;
  clean?: boolean; // default true
  keepalive?: number; // default 60
  username?: string;
  password?: string | Uint8Array;
  will?: { topic: string; payload: string | Uint8Array; qos?: 0 | 1 | 2; retain?: boolean };
  protocolLevel?: number; // default 4 (3.1.1)
}

export function connectPacket(f: ConnectFields = {}): Uint8Array {
  let flags = 0;
  if (f.clean ?? true) flags |= 0x02;
  if (f.will) flags |= 0x04 | ((f.will.qos ?? 0) << 3) | (f.will.retain ? 0x20 : 0);
  if (f.password !== undefined) flags |= 0x40;
  if (f.username !== undefined) flags |= 0x80;
  const parts = [str('MQTT'), Uint8Array.of(f.protocolLevel ?? 4, flags), u16(f.keepalive ?? 60), str(f.clientId ?? '')];
  if (f.will) parts.push(str(f.will.topic), str(f.will.payload));
  if (f.username !== undefined) parts.push(str(f.username));
  if (f.password !== undefined) parts.push(str(f.password));
  return packet(0x10, ...parts);
}

export function subscribePacket(packetId: number, filters: Array<[topic: string, qos: 0 | 1 | 2]>): Uint8Array {
  return packet(0x82, u16(packetId), ...filters.map(([t, q]) => concatBytes(str(t), Uint8Array.of(q))));
}

export function unsubscribePacket(packetId: number, filters: string[]): Uint8Array {
  return packet(0xa2, u16(packetId), ...filters.map((t) => str(t)));
}

export function publishPacket(p: {
  topic: string;
  payload?: string | Uint8Array;
  qos?: 0 | 1 | 2;
  retain?: boolean;
  dup?: boolean;
  packetId?: number;
}): Uint8Array {
  const qos = p.qos ?? 0;
  const first = 0x30 | (p.dup ? 0x08 : 0) | (qos << 1) | (p.retain ? 0x01 : 0);
  const payload = typeof p.payload === 'string' ? utf8(p.payload) : (p.payload ?? new Uint8Array(0));
  if (qos > 0 && p.packetId === undefined) throw new Error('publishPacket: QoS > 0 needs a packetId');
  return packet(first, str(p.topic), qos > 0 ? u16(p.packetId!) : new Uint8Array(0), payload);
}

/** PUBACK / PUBREC / PUBREL / PUBCOMP / UNSUBACK: type byte + packet id. */
export function ackPacket(kind: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'unsuback', packetId: number): Uint8Array {
  const first = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70, unsuback: 0xb0 }[kind];
  return packet(first, u16(packetId));
}

export function connackPacket(returnCode: number, sessionPresent = false): Uint8Array {
  return Uint8Array.of(0x20, 0x02, sessionPresent ? 1 : 0, returnCode);
}

export function subackPacket(packetId: number, codes: number[]): Uint8Array {
  return packet(0x90, u16(packetId), Uint8Array.from(codes));
}

export const PINGREQ = Uint8Array.of(0xc0, 0x00);
export const PINGRESP = Uint8Array.of(0xd0, 0x00);
export const DISCONNECT = Uint8Array.of(0xe0, 0x00);

/** Return codes of a SUBACK packet (bytes after the packet id). */
export function subackCodes(suback: Uint8Array): number[] {
  const r = frameAt(suback);
  if (r.kind !== 'packet' || packetType(suback) !== PacketType.SUBACK) throw new Error(`not a SUBACK: ${toHex(suback)}`);
  const headerLen = r.length - remainingLengthOf(suback);
  return Array.from(suback.subarray(headerLen + 2));
}

/** Packet id of an ack/SUBACK/PUBLISH-with-QoS: first two bytes of the variable header (for PUBLISH, after the topic). */
export function packetIdOf(p: Uint8Array): number {
  const r = frameAt(p);
  if (r.kind !== 'packet') throw new Error(`not a whole packet: ${toHex(p)}`);
  let at = r.length - remainingLengthOf(p);
  if (packetType(p) === PacketType.PUBLISH) at += 2 + ((p[at]! << 8) | p[at + 1]!);
  return (p[at]! << 8) | p[at + 1]!;
}

function remainingLengthOf(p: Uint8Array): number {
  let multiplier = 1;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const b = p[i] ?? 0;
    value += (b & 0x7f) * multiplier;
    if ((b & 0x80) === 0) break;
    multiplier *= 128;
  }
  return value;
}
