/**
 * Stream framing: turns byte chunks split anywhere into whole packets.
 *
 * ## Who owns the bytes in a decoded packet
 * Byte fields (`payload`, `will.payload`, `password`) are not copied when the whole packet lies inside one
 * chunk: they are views (subarrays) of the chunk you passed to `push`. Do not reuse or mutate that chunk
 * while you still hold packets decoded from it; copy a payload (`payload.slice()`) if you need to keep it
 * past that point. A packet assembled from several chunks gets its bytes in a buffer the decoder gives
 * away and never touches again; up to 32 KiB that is a view into a shared slab, like `encode`'s output:
 * use the view, never its `.buffer`.
 *
 * The decoder keeps no reference to your chunks after `push` returns: only the bytes of a packet that is
 * still incomplete are retained, copied into the decoder's own buffer.
 */
import { MqttProtocolError } from '../errors.js';
import type { ConnectPacket, Packet, ProtocolLevel } from './packets.js';
import {
  checkFirstByte,
  FIXED_LENGTH,
  FIXED_LENGTH_V5,
  MAX_PACKET_SIZE,
  REQUIRED_FLAGS,
  REQUIRED_FLAGS_V5,
  TYPE_NAMES,
} from './fixed-header.js';
import { parseBody } from './parse.js';
import { allocate } from './alloc.js';
import { asV5 } from './v5-errors.js';

/** Options of `new PacketDecoder()`. */
export interface PacketDecoderOptions {
  /**
   * Largest packet accepted, counting the whole packet (fixed header included). Checked from the header,
   * before any of the body is buffered. Default and maximum: 268,435,460, the largest MQTT can express.
   */
  maxPacketSize?: number;
  /**
   * Protocol level of the connection: 4 (MQTT 3.1.1, default), 3 (MQTT 3.1) or 5 (MQTT 5.0). Levels 3 and 4
   * differ in one place: at level 3 the CONNACK flags byte was unused, so it is ignored (sessionPresent
   * false). Level 5 reads MQTT 5 packets (properties, reason codes, AUTH) and its errors cite MQTT 5's
   * statements. A CONNECT decodes at any setting, since it names its own level; a level-5 CONNECT switches
   * the decoder to level 5 for the packets after it (and a 3.1.1 one back): a server learns the level from it.
   */
  protocolLevel?: ProtocolLevel;
}

/** Partial bodies up to this size get their final buffer at once; bigger ones grow as bytes arrive. */
const EAGER_BODY = 64 * 1024;

/** Turns one packet's body into a Packet (parse.ts): every type, or only those a server sends. */
export type BodyParser = (first: number, buf: Uint8Array, start: number, end: number, level: number) => Packet;

/**
 * The framing, with the body parser given: the client passes `parseFromServer`, so its bundle needs
 * no parser for packets only a server receives. `PacketDecoder` is this with every packet type.
 */
export class FrameDecoder {
  /** Largest packet accepted, fixed header included (the option, or the maximum). */
  readonly maxPacketSize: number;
  private level: ProtocolLevel = 4;
  /** The level's tables: the flags each type requires, the Remaining Length of the fixed-size types. */
  private requiredFlags = REQUIRED_FLAGS;
  private fixedLength = FIXED_LENGTH;

  private error: MqttProtocolError | undefined = undefined;
  /**
   * Bytes of a fixed header split across chunks (type byte + at most 4 length bytes); made at the
   * first split header, which many connections never see (a typed array costs ~200 bytes).
   */
  private head: Uint8Array | undefined;
  private headLen = 0;
  /** Body of a packet split across chunks, filled up to bodyLen; null when none is pending. */
  private body: Uint8Array | null = null;
  private bodyLen = 0;
  /** First byte and Remaining Length of the packet whose header was read last. */
  private first = 0;
  private remaining = 0;

  constructor(
    options: PacketDecoderOptions,
    private readonly parse: BodyParser,
  ) {
    const max = options.maxPacketSize ?? MAX_PACKET_SIZE;
    if (!Number.isInteger(max) || max < 2) throw new RangeError(`maxPacketSize must be an integer >= 2, got ${max}`);
    this.maxPacketSize = Math.min(max, MAX_PACKET_SIZE);
    const level = options.protocolLevel ?? 4;
    if (level !== 3 && level !== 4 && level !== 5) throw new RangeError(`protocolLevel must be 3, 4 or 5, got ${String(level)}`);
    this.setLevel(level);
  }

  /** The protocol level packets are decoded at: the one given, or the last CONNECT's. */
  get protocolLevel(): ProtocolLevel {
    return this.level;
  }

  private setLevel(level: ProtocolLevel): void {
    this.level = level;
    this.requiredFlags = level === 5 ? REQUIRED_FLAGS_V5 : REQUIRED_FLAGS;
    this.fixedLength = level === 5 ? FIXED_LENGTH_V5 : FIXED_LENGTH;
  }

  /** The error that failed the decoder, if any. */
  get failure(): MqttProtocolError | undefined {
    return this.error;
  }

  /** Bytes held for an incomplete packet. */
  get bufferedBytes(): number {
    return this.headLen + this.bodyLen;
  }

  /** Forgets any partial packet and any failure, for a new stream. */
  reset(): void {
    this.error = undefined;
    this.headLen = 0;
    this.body = null;
    this.bodyLen = 0;
  }

  /**
   * Feeds the next bytes of the stream; returns the packets they complete (possibly none). Bytes of an
   * incomplete packet are copied and kept for the next call. Throws MqttProtocolError on malformed input.
   *
   * Byte fields of a returned packet that lay wholly inside `chunk` are views into `chunk`: don't reuse or
   * mutate `chunk` while you hold them.
   */
  push(chunk: Uint8Array): Packet[] {
    if (this.error !== undefined) {
      const e = this.error;
      throw new MqttProtocolError('DECODER_FAILED', `the decoder failed earlier (${e.code}: ${e.message})`, undefined, e.reasonCode);
    }
    const out: Packet[] = [];
    try {
      const end = chunk.length;
      let pos = 0;
      if (this.headLen !== 0) {
        // Finish a split header one byte at a time: it is at most 4 more bytes.
        const head = this.head!;
        let hl = 0;
        while (hl === 0 && pos < end) {
          head[this.headLen++] = chunk[pos++]!;
          hl = this.readHeader(head, 0, this.headLen);
        }
        if (hl === 0) return out;
        this.headLen = 0;
        pos = this.takeBody(chunk, pos, end, out);
      } else if (this.body !== null) {
        pos = this.appendBody(chunk, end, out);
      }
      // The hot path: whole packets parsed straight out of the chunk.
      while (pos < end) {
        const hl = this.readHeader(chunk, pos, end);
        if (hl === 0) {
          const head = (this.head ??= new Uint8Array(5));
          for (let i = pos; i < end; i++) head[this.headLen++] = chunk[i]!;
          break;
        }
        pos = this.takeBody(chunk, pos + hl, end, out);
      }
      return out;
    } catch (err) {
      throw this.fail(err);
    }
  }

  /** Records the error that fails the stream; returns what to throw (the error as MQTT 5 tells it at level 5). */
  private fail(err: unknown): unknown {
    if (this.level === 5) err = asV5(err);
    this.error = err instanceof MqttProtocolError ? err : new MqttProtocolError('DECODER_FAILED', String(err));
    this.headLen = 0;
    this.body = null;
    this.bodyLen = 0;
    return err;
  }

  /**
   * Reads a fixed header at buf[pos..end). Returns its length, or 0 if it is not complete yet. Sets
   * `first` and `remaining`. Rejects bad type/flags, a varint over 4 bytes (at level 5 also one longer than
   * it needs [MQTT-1.5.5-1]), a wrong length for a fixed-size packet and an oversize packet as soon as the
   * bytes showing it are there.
   */
  private readHeader(buf: Uint8Array, pos: number, end: number): number {
    const first = buf[pos]!;
    checkFirstByte(first, this.requiredFlags);
    let remaining = 0;
    let shift = 0;
    let i = pos + 1;
    for (;;) {
      if (i === end) return 0;
      const b = buf[i++]!;
      remaining += (b & 0x7f) << shift;
      if (b < 0x80) {
        // 3.1.1 has no rule against a padded Remaining Length (0x80 0x00), MQTT 5 does.
        if (b === 0 && shift !== 0 && this.level === 5) {
          throw new MqttProtocolError('MALFORMED_LENGTH', 'Remaining Length is not in its shortest form', 'MQTT-1.5.5-1');
        }
        break;
      }
      shift += 7;
      if (shift === 28) throw new MqttProtocolError('MALFORMED_LENGTH', 'Remaining Length is longer than 4 bytes');
    }
    const type = first >> 4;
    const fixed = this.fixedLength[type]!;
    if (fixed >= 0 && remaining !== fixed) {
      throw new MqttProtocolError(
        remaining < fixed ? 'TRUNCATED' : 'TRAILING_BYTES',
        `${TYPE_NAMES[type]} Remaining Length is ${remaining}, must be ${fixed}`,
      );
    }
    const hl = i - pos;
    if (hl + remaining > this.maxPacketSize) {
      throw new MqttProtocolError(
        'PACKET_TOO_LARGE',
        `${TYPE_NAMES[type]} of ${hl + remaining} bytes exceeds maxPacketSize ${this.maxPacketSize}`,
      );
    }
    this.first = first;
    this.remaining = remaining;
    return hl;
  }

  /** The header is read and the body starts at chunk[pos]: parse it in place, or start buffering it. */
  private takeBody(chunk: Uint8Array, pos: number, end: number, out: Packet[]): number {
    const remaining = this.remaining;
    if (end - pos >= remaining) {
      this.emit(this.parse(this.first, chunk, pos, pos + remaining, this.level), out);
      return pos + remaining;
    }
    // Allocate what has arrived (doubling later), not what the header announces, so a peer cannot make us
    // reserve megabytes by sending a few header bytes.
    const avail = end - pos;
    // Up to 32 KiB the body is a view into a shared slab (see alloc.ts): a new ArrayBuffer per packet
    // costs more than copying 16 KiB into it.
    const body = remaining <= EAGER_BODY ? allocate(remaining) : new Uint8Array(Math.min(remaining, Math.max(EAGER_BODY, avail * 2)));
    body.set(chunk.subarray(pos, end));
    this.body = body;
    this.bodyLen = avail;
    return end;
  }

  /** Continues a split body from chunk[0]; returns how much of the chunk it used. */
  private appendBody(chunk: Uint8Array, end: number, out: Packet[]): number {
    let body = this.body!;
    const remaining = this.remaining;
    const take = Math.min(remaining - this.bodyLen, end);
    const filled = this.bodyLen + take;
    if (filled > body.length) {
      const grown = new Uint8Array(Math.min(remaining, Math.max(filled, body.length * 2)));
      grown.set(body.subarray(0, this.bodyLen));
      body = this.body = grown;
    }
    body.set(take === end ? chunk : chunk.subarray(0, take), this.bodyLen);
    this.bodyLen = filled;
    if (filled === remaining) {
      this.body = null;
      this.bodyLen = 0;
      this.emit(this.parse(this.first, body, 0, remaining, this.level), out);
    }
    return take;
  }

  /**
   * Hands a packet out. A CONNECT (the only type below 0x20) of level 5 switches the decoder to level 5 for
   * what follows, one of level 3 or 4 switches a level-5 decoder to its level: a client may send packets
   * right after CONNECT, before the server could change the setting. (3 and 4 differ only in a CONNACK a
   * server never receives, so CONNECT does not switch between them.)
   */
  private emit(packet: Packet, out: Packet[]): void {
    if (this.first < 0x20) {
      const level = (packet as ConnectPacket).protocolLevel as ProtocolLevel;
      if ((level === 5) !== (this.level === 5)) this.setLevel(level);
    }
    out.push(packet);
  }
}

/**
 * Decodes MQTT 5.0 / 3.1.1 / 3.1 packets from a byte stream, in both directions (client and server packets).
 *
 * Once a push throws, the decoder is failed for good (the stream has lost its framing): every later `push`
 * throws MqttProtocolError `DECODER_FAILED`, and `failure` holds the first error. Call `reset()` to use
 * it for a new stream.
 */
export class PacketDecoder extends FrameDecoder {
  constructor(options: PacketDecoderOptions = {}) {
    super(options, parseBody);
  }
}
