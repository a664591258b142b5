/**
 * Packet -> bytes, every packet type in both directions: mqttwire/codec's encoder. The packets a client
 * sends are measured and written by encode-client.ts (the client's own encoder, which says how); this adds
 * the ones only a server sends (CONNACK, SUBACK, UNSUBACK, PINGRESP) and the entry points.
 */
import { type Packet, type ProtocolLevel } from './packets.js';
import { headerLength, TYPE_NAMES, writeHeader } from './fixed-header.js';
import { checkReasonCode } from './reason-codes.js';
import {
  encodeWith,
  measureAt,
  measureFromClient,
  propsLength,
  withProperties,
  writeFromClient,
} from './encode-client.js';
import { writeProperties } from './properties.js';
import { checkPacketId, checkRemaining, err, FIRST_BYTE, writeU16 } from './write-fields.js';

export { publishSize } from './encode-client.js';

/**
 * Encodes one packet for a connection at `protocolLevel` (4: MQTT 3.1.1, the default; 3: MQTT 3.1; 5: MQTT
 * 5.0). Throws MqttProtocolError if the packet breaks a rule (nothing is written then). The result is yours
 * (the codec never writes it again), but packets up to 32 KiB are views into a shared slab (see alloc.ts):
 * use the view's bytes, not its `.buffer`.
 */
export function encode(packet: Packet, protocolLevel: ProtocolLevel = 4): Uint8Array {
  return encodeWith(packet, protocolLevel, measure, write);
}

/**
 * Bytes `encode(packet, protocolLevel)` would produce (validating the packet on the way): what to compare
 * with the peer's Maximum Packet Size before sending.
 */
export function encodedLength(packet: Packet, protocolLevel: ProtocolLevel = 4): number {
  const remaining = measureAt(packet, protocolLevel, measure);
  return headerLength(remaining) + remaining;
}

/**
 * Encodes `packet` into `buf` at `offset` and returns the offset just past it, so several packets can be
 * packed into one write buffer without intermediate arrays. Throws RangeError if it does not fit (nothing is
 * written then).
 */
export function encodeInto(packet: Packet, buf: Uint8Array, offset = 0, protocolLevel: ProtocolLevel = 4): number {
  const remaining = measureAt(packet, protocolLevel, measure);
  const total = headerLength(remaining) + remaining;
  if (!(offset >= 0) || offset + total > buf.length) {
    throw new RangeError(`packet needs ${total} bytes at offset ${offset}; the buffer has ${buf.length}`);
  }
  return write(packet, buf, offset, remaining, protocolLevel === 5);
}

/** The server's packets here, the others (and an unknown type) in measureFromClient. */
function measure(p: Packet, v5: boolean): number {
  switch (p.type) {
    case 'connack': {
      const rc = p.returnCode;
      // 3.1.1: 6..255 are reserved for future use, not forbidden: written as given, like the decoder reads them.
      if (v5) checkReasonCode(rc, 2);
      else if (rc !== (rc & 0xff)) throw err('INVALID_RETURN_CODE', `CONNACK return code must be an integer 0..255, got ${String(rc)}`);
      if (p.sessionPresent && rc !== 0) {
        throw err(v5 ? 'INVALID_REASON_CODE' : 'INVALID_RETURN_CODE', `CONNACK with Session Present must have return code 0, got ${rc}`, v5 ? 'MQTT-3.2.2-6' : 'MQTT-3.2.2-4');
      }
      return v5 ? withProperties(2, p.properties, 2) : 2;
    }
    case 'suback':
    case 'unsuback': {
      const type = p.type === 'suback' ? 9 : 11;
      checkPacketId(p.packetId, TYPE_NAMES[type]!);
      // 3.1.1's UNSUBACK is the packet id alone; MQTT 5 answers each filter with a reason code.
      if (p.type === 'unsuback' && !v5) return 2;
      const codes = p.type === 'suback' ? p.returnCodes : p.reasonCodes;
      if (!Array.isArray(codes) || codes.length === 0) throw err('EMPTY_SUBSCRIPTION', `${TYPE_NAMES[type]} needs a code per topic filter`);
      for (const rc of codes) {
        if (v5) checkReasonCode(rc, type);
        else if (rc !== 0 && rc !== 1 && rc !== 2 && rc !== 0x80) {
          throw err('INVALID_RETURN_CODE', `SUBACK return code must be 0, 1, 2 or 0x80, got ${String(rc)}`, 'MQTT-3.9.3-2');
        }
      }
      return v5 ? withProperties(2 + codes.length, p.properties, type) : checkRemaining(2 + codes.length, 'SUBACK');
    }
    case 'pingresp':
      return 0;
  }
  return measureFromClient(p, v5);
}

function write(p: Packet, buf: Uint8Array, pos: number, remaining: number, v5: boolean): number {
  switch (p.type) {
    case 'connack':
      pos = writeHeader(buf, pos, 0x20, remaining);
      buf[pos] = p.sessionPresent ? 1 : 0;
      buf[pos + 1] = p.returnCode;
      return v5 ? writeProperties(buf, pos + 2, p.properties, propsLength) : pos + 2;
    case 'suback':
    case 'unsuback':
      pos = writeU16(buf, writeHeader(buf, pos, FIRST_BYTE[p.type], remaining), p.packetId);
      if (!v5 && p.type === 'unsuback') return pos;
      if (v5) pos = writeProperties(buf, pos, p.properties, propsLength);
      for (const rc of p.type === 'suback' ? p.returnCodes : p.reasonCodes!) buf[pos++] = rc;
      return pos;
    case 'pingresp':
      return writeHeader(buf, pos, 0xd0, 0);
  }
  return writeFromClient(p, buf, pos, remaining, v5);
}
