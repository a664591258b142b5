/**
 * The on-disk format of FileStore's log: record encoding, CRC-32 framing and the replay parser.
 * Pure functions over byte buffers (no file system here) so they can be tested in isolation.
 *
 * File layout (all integers little-endian):
 *
 *   header   8 bytes   "mqwlog" 0x00 <version=1>
 *   frame*             one per record:
 *     len    u32       byte length of body (>= 1)
 *     crc    u32       CRC-32 (IEEE, reflected, as zlib/PNG) over the 4 `len` bytes, then body
 *     body   len bytes type u8, then per type:
 *       1 META         clientId (UTF-8, rest of body); always the first record
 *       2 PUT_OUT      seq f64, flags u8, packetId u16, topicLen u32, topic UTF-8, payload (rest of body)
 *       3 UPDATE_OUT   seq f64, flags u8, packetId u16  (topic and payload unchanged since the last PUT_OUT)
 *       4 DEL_OUT      seq f64
 *       5 PUT_IN       packetId u16
 *       6 DEL_IN       packetId u16
 *       7 CLEAR_IN
 *       8 PUT_OUT_5    as PUT_OUT, with propsLen u32 and the PUBLISH's MQTT 5 properties (encoded as in
 *                      the packet: Property Length, then the properties) between topic and payload;
 *                      written only for a message that has properties, so a 3.1.1 log never holds one
 *       9 EXPIRES_AT   seq f64, expiresAt f64 (ms since the epoch): when the Message Expiry Interval of
 *                      the outgoing record `seq` runs out; follows that record's PUT_OUT_5
 *   flags: bits 0-1 qos, bit 2 retain, bit 3 packetId present, bit 4 released.
 *
 * Replay applies records in order and stops at the first frame that is incomplete, fails its CRC,
 * or does not decode; everything from there on is a torn tail and is discarded.
 */
import type { PublishProperties, QoS } from '../codec/packets.js';
import { varintLength } from '../codec/fixed-header.js';
import { measureProperties, readProperties, writeProperties } from '../codec/properties.js';
import type { OutgoingRecord } from './store.js';

export const MAGIC = Buffer.from('mqwlog\0\x01', 'latin1');
export const HEADER_SIZE = MAGIC.length;
export const FRAME_OVERHEAD = 8;

export const RecordType = {
  Meta: 1,
  PutOut: 2,
  UpdateOut: 3,
  DelOut: 4,
  PutIn: 5,
  DelIn: 6,
  ClearIn: 7,
  PutOut5: 8,
  ExpiresAt: 9,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const PUT_FIXED = 16; // type + seq + flags + packetId + topicLen
const UPDATE_SIZE = 12; // type + seq + flags + packetId
const DEL_OUT_SIZE = 9;
const EXPIRES_AT_SIZE = 17; // type + seq + expiresAt
const IN_SIZE = 3;

const FLAG_RETAIN = 0x04;
const FLAG_HAS_ID = 0x08;
const FLAG_RELEASED = 0x10;

// ---- CRC-32 (IEEE 802.3, polynomial 0xEDB88320 reflected), slicing-by-4 ------------------------

const CRC_TABLE = /* @__PURE__ */ (() => {
  const t = new Int32Array(256 * 4);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let s = 1; s < 4; s++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[s * 256 + n] = c;
    }
  }
  return t;
})();

/**
 * CRC-32 of `buf[start, end)`. Pass the previous result as `crc` to continue over another range
 * (`crc32(b, 4, 9, crc32(a))` is the CRC of a followed by b[4..9)).
 */
export function crc32(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  const t = CRC_TABLE;
  let c = ~crc;
  let i = start;
  const end4 = start + ((end - start) & ~3);
  while (i < end4) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
    i += 4;
  }
  while (i < end) c = t[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// ---- Encoding -----------------------------------------------------------------------------------

export function outgoingFlags(r: Pick<OutgoingRecord, 'qos' | 'retain' | 'packetId' | 'released'>): number {
  return r.qos | (r.retain ? FLAG_RETAIN : 0) | (r.packetId !== undefined ? FLAG_HAS_ID : 0) | (r.released ? FLAG_RELEASED : 0);
}

/** Checks the parts of a record the format cannot represent, before anything is encoded. */
export function validateOutgoing(r: OutgoingRecord): void {
  if (r.qos !== 0 && r.qos !== 1 && r.qos !== 2) throw new RangeError(`FileStore: invalid qos ${String(r.qos)}`);
  if (r.packetId !== undefined && !(Number.isInteger(r.packetId) && r.packetId >= 0 && r.packetId <= 0xffff)) {
    throw new RangeError(`FileStore: invalid packetId ${String(r.packetId)}`);
  }
  if (typeof r.topic !== 'string') throw new TypeError('FileStore: topic must be a string');
  if (!(r.payload instanceof Uint8Array)) throw new TypeError('FileStore: payload must be a Uint8Array');
  if (r.expiresAt !== undefined && !Number.isFinite(r.expiresAt)) throw new RangeError(`FileStore: invalid expiresAt ${String(r.expiresAt)}`);
}

/**
 * A growable byte buffer of framed records. `length` only advances once a record is complete, so a
 * throw half-way through encoding leaves the buffer as it was.
 */
export class LogEncoder {
  buf: Buffer;
  length = 0;
  records = 0;

  constructor(private readonly initialCapacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialCapacity);
  }

  /** Forgets the content; drops an oversized buffer (a big payload passed through) for a fresh one. */
  reset(): void {
    this.length = 0;
    this.records = 0;
    if (this.buf.length > 4 * this.initialCapacity) this.buf = Buffer.allocUnsafe(this.initialCapacity);
  }

  header(): void {
    this.reserve(HEADER_SIZE);
    MAGIC.copy(this.buf, this.length);
    this.length += HEADER_SIZE;
  }

  meta(clientId: string): void {
    const n = Buffer.byteLength(clientId, 'utf8');
    const body = this.begin(1 + n);
    this.buf[body] = RecordType.Meta;
    this.buf.write(clientId, body + 1, n, 'utf8');
    this.end(1 + n);
  }

  putOut(r: OutgoingRecord): void {
    const topicLen = Buffer.byteLength(r.topic, 'utf8');
    const props = r.properties ? encodeProperties(r.properties) : undefined;
    const fixed = props ? PUT_FIXED + 4 + props.length : PUT_FIXED;
    const len = fixed + topicLen + r.payload.length;
    const body = this.begin(len);
    const b = this.buf;
    b[body] = props ? RecordType.PutOut5 : RecordType.PutOut;
    b.writeDoubleLE(r.seq, body + 1);
    b[body + 9] = outgoingFlags(r);
    b.writeUInt16LE(r.packetId ?? 0, body + 10);
    b.writeUInt32LE(topicLen, body + 12);
    b.write(r.topic, body + PUT_FIXED, topicLen, 'utf8');
    let at = body + PUT_FIXED + topicLen;
    if (props) {
      b.writeUInt32LE(props.length, at);
      b.set(props, at + 4);
      at += 4 + props.length;
    }
    b.set(r.payload, at);
    this.end(len);
    if (r.expiresAt !== undefined) this.expiresAt(r.seq, r.expiresAt);
  }

  private expiresAt(seq: number, expiresAt: number): void {
    const body = this.begin(EXPIRES_AT_SIZE);
    this.buf[body] = RecordType.ExpiresAt;
    this.buf.writeDoubleLE(seq, body + 1);
    this.buf.writeDoubleLE(expiresAt, body + 9);
    // Part of its PUT_OUT_5, not a record of its own in compaction's count (log records vs live ones).
    this.end(EXPIRES_AT_SIZE, false);
  }

  updateOut(seq: number, flags: number, packetId: number): void {
    const body = this.begin(UPDATE_SIZE);
    const b = this.buf;
    b[body] = RecordType.UpdateOut;
    b.writeDoubleLE(seq, body + 1);
    b[body + 9] = flags;
    b.writeUInt16LE(packetId, body + 10);
    this.end(UPDATE_SIZE);
  }

  delOut(seq: number): void {
    const body = this.begin(DEL_OUT_SIZE);
    this.buf[body] = RecordType.DelOut;
    this.buf.writeDoubleLE(seq, body + 1);
    this.end(DEL_OUT_SIZE);
  }

  putIn(packetId: number): void {
    this.inRecord(RecordType.PutIn, packetId);
  }

  delIn(packetId: number): void {
    this.inRecord(RecordType.DelIn, packetId);
  }

  clearIn(): void {
    const body = this.begin(1);
    this.buf[body] = RecordType.ClearIn;
    this.end(1);
  }

  private inRecord(type: RecordType, packetId: number): void {
    const body = this.begin(IN_SIZE);
    this.buf[body] = type;
    this.buf.writeUInt16LE(packetId, body + 1);
    this.end(IN_SIZE);
  }

  /** Reserves room for a frame of `len` body bytes; returns where the body goes. */
  private begin(len: number): number {
    this.reserve(FRAME_OVERHEAD + len);
    return this.length + FRAME_OVERHEAD;
  }

  private end(len: number, counts = true): void {
    const at = this.length;
    const b = this.buf;
    b.writeUInt32LE(len, at);
    b.writeUInt32LE(crc32(b, at + FRAME_OVERHEAD, at + FRAME_OVERHEAD + len, crc32(b, at, at + 4)), at + 4);
    this.length = at + FRAME_OVERHEAD + len;
    if (counts) this.records++;
  }

  private reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}

/** PUBLISH's packet type number, the property set the codec checks. */
const PUBLISH = 3;

/** A PUBLISH's properties as the packet carries them (Property Length first), or undefined for none. */
function encodeProperties(p: PublishProperties): Uint8Array | undefined {
  const n = measureProperties(p, PUBLISH);
  if (n === 0) return undefined;
  const out = new Uint8Array(varintLength(n) + n);
  writeProperties(out, 0, p, n);
  return out;
}

// ---- Replay -------------------------------------------------------------------------------------

export interface ReplayResult {
  /** UTF-8 bytes of the META record's client id, if the log has one. */
  clientId: Buffer | undefined;
  outgoing: Map<number, OutgoingRecord>;
  incoming: Set<number>;
  /** Records applied (META included). */
  records: number;
  /** Offset just past the last good record: the file's valid length. */
  goodEnd: number;
  /** Why replay stopped before the end of the data, if it did. */
  tornReason: string | undefined;
}

export type HeaderCheck = 'ok' | 'empty' | 'foreign' | 'version';

/** Classifies the first bytes of a log file. A strict prefix of the header is a creation cut short. */
export function checkHeader(data: Uint8Array): HeaderCheck {
  const n = Math.min(data.length, HEADER_SIZE);
  for (let i = 0; i < n; i++) {
    if (data[i] !== MAGIC[i]) return i === HEADER_SIZE - 1 ? 'version' : 'foreign';
  }
  return data.length < HEADER_SIZE ? 'empty' : 'ok';
}

function copyBytes(src: Buffer, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(src.subarray(start, end));
  return out;
}

function applyFlags(r: OutgoingRecord, flags: number, packetId: number): void {
  r.qos = (flags & 3) as QoS;
  r.retain = (flags & FLAG_RETAIN) !== 0;
  if (flags & FLAG_HAS_ID) r.packetId = packetId;
  else delete r.packetId;
  if (flags & FLAG_RELEASED) r.released = true;
  else delete r.released;
}

function validFlags(flags: number): boolean {
  return (flags & 3) !== 3 && (flags & ~0x1f) === 0;
}

/** The properties of a PUT_OUT_5 record at `at` (u32 length, then the packet's encoding), or undefined when they do not decode. */
function readStoredProperties(data: Buffer, at: number, end: number): PublishProperties | undefined {
  if (end - at < 4) return undefined;
  const n = data.readUInt32LE(at);
  if (n > end - at - 4) return undefined;
  // Copied: the file's buffer is not kept, and byte properties (correlationData) would view into it.
  const bytes = copyBytes(data, at + 4, at + 4 + n);
  try {
    return (readProperties(bytes, 0, bytes.length, PUBLISH) ?? undefined) as PublishProperties | undefined;
  } catch {
    return undefined;
  }
}

/** Replays the records of a log whose header has been checked. Never throws on bad data. */
export function replay(data: Buffer): ReplayResult {
  const outgoing = new Map<number, OutgoingRecord>();
  const incoming = new Set<number>();
  let clientId: Buffer | undefined;
  let records = 0;
  let at = HEADER_SIZE;
  let tornReason: string | undefined;
  const size = data.length;

  while (at < size) {
    if (size - at < FRAME_OVERHEAD) {
      tornReason = 'incomplete frame header';
      break;
    }
    const len = data.readUInt32LE(at);
    if (len === 0 || len > size - at - FRAME_OVERHEAD) {
      tornReason = len === 0 ? 'zero-length frame' : 'incomplete frame body';
      break;
    }
    const body = at + FRAME_OVERHEAD;
    const end = body + len;
    if (crc32(data, body, end, crc32(data, at, at + 4)) !== data.readUInt32LE(at + 4)) {
      tornReason = 'checksum mismatch';
      break;
    }
    const type = data[body]!;
    let ok = true;
    switch (type) {
      case RecordType.Meta:
        if (records === 0) clientId = data.subarray(body + 1, end);
        else ok = false;
        break;
      case RecordType.PutOut:
      case RecordType.PutOut5: {
        if (len < PUT_FIXED) {
          ok = false;
          break;
        }
        const flags = data[body + 9]!;
        const topicLen = data.readUInt32LE(body + 12);
        if (!validFlags(flags) || topicLen > len - PUT_FIXED) {
          ok = false;
          break;
        }
        const topicEnd = body + PUT_FIXED + topicLen;
        let payloadStart = topicEnd;
        let properties: PublishProperties | undefined;
        if (type === RecordType.PutOut5) {
          properties = readStoredProperties(data, topicEnd, end);
          if (!properties) {
            ok = false;
            break;
          }
          payloadStart = topicEnd + 4 + data.readUInt32LE(topicEnd);
        }
        const r: OutgoingRecord = {
          seq: data.readDoubleLE(body + 1),
          topic: data.toString('utf8', body + PUT_FIXED, topicEnd),
          payload: copyBytes(data, payloadStart, end),
          qos: 0,
          retain: false,
        };
        if (properties) r.properties = properties;
        applyFlags(r, flags, data.readUInt16LE(body + 10));
        outgoing.set(r.seq, r);
        break;
      }
      case RecordType.UpdateOut: {
        const flags = data[body + 9]!;
        if (len !== UPDATE_SIZE || !validFlags(flags)) {
          ok = false;
          break;
        }
        const r = outgoing.get(data.readDoubleLE(body + 1));
        if (r) applyFlags(r, flags, data.readUInt16LE(body + 10));
        break;
      }
      case RecordType.DelOut:
        if (len !== DEL_OUT_SIZE) ok = false;
        else outgoing.delete(data.readDoubleLE(body + 1));
        break;
      case RecordType.ExpiresAt: {
        const r = len === EXPIRES_AT_SIZE ? outgoing.get(data.readDoubleLE(body + 1)) : undefined;
        const expiresAt = len === EXPIRES_AT_SIZE ? data.readDoubleLE(body + 9) : NaN;
        // It follows its own PUT_OUT_5: one for a record not there, or not a time, is not ours.
        if (r === undefined || !Number.isFinite(expiresAt)) ok = false;
        else r.expiresAt = expiresAt;
        break;
      }
      case RecordType.PutIn:
      case RecordType.DelIn:
        if (len !== IN_SIZE) ok = false;
        else if (type === RecordType.PutIn) incoming.add(data.readUInt16LE(body + 1));
        else incoming.delete(data.readUInt16LE(body + 1));
        break;
      case RecordType.ClearIn:
        if (len !== 1) ok = false;
        else incoming.clear();
        break;
      default:
        ok = false;
    }
    if (!ok) {
      tornReason = `malformed record (type ${type})`;
      break;
    }
    if (type !== RecordType.ExpiresAt) records++; // counted with its PUT_OUT_5, as the encoder counts it
    at = end;
  }
  return { clientId, outgoing, incoming, records, goodEnd: at, tornReason };
}
