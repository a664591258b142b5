/**
 * UTF-8 for MQTT strings (section 1.5.3): well-formed, no surrogate code points, no U+0000.
 *
 * Topics, client ids and user names are short and almost always ASCII, so both directions take a plain
 * loop for ASCII and only fall back to TextEncoder/TextDecoder for other text: for strings of a few dozen
 * bytes the loop is several times faster than crossing into the native codec.
 */
import { MqttProtocolError } from '../errors.js';

/** Returned by utf8Length for a string containing U+0000 [MQTT-1.5.3-2]. */
export const HAS_NUL = -1;
/** Returned by utf8Length for a string with an unpaired surrogate, which has no UTF-8 form [MQTT-1.5.3-1]. */
export const LONE_SURROGATE = -2;

/**
 * Bytes `s` takes in UTF-8, or HAS_NUL / LONE_SURROGATE. A sentinel rather than a throw so each caller can
 * report the error under its own code (a bad topic is INVALID_TOPIC, a bad user name INVALID_UTF8).
 */
export function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) return HAS_NUL;
    } else if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A high surrogate followed by a low one is one code point of 4 bytes (2 UTF-16 units, +2 bytes).
      if (c > 0xdbff || i + 1 === n) return LONE_SURROGATE;
      const d = s.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return LONE_SURROGATE;
      bytes += 2;
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

const encoder = new TextEncoder();

/**
 * Writes `s` (already checked by utf8Length, which gave `byteLength`) at `pos`; returns the position after it.
 * No length prefix: callers write that.
 */
export function writeUtf8(buf: Uint8Array, pos: number, s: string, byteLength: number): number {
  const n = s.length;
  if (byteLength === n) {
    for (let i = 0; i < n; i++) buf[pos + i] = s.charCodeAt(i);
    return pos + n;
  }
  encoder.encodeInto(s, buf.subarray(pos, pos + byteLength));
  return pos + byteLength;
}

/** Encodes a checked string into a fresh array (used for cached topics). */
export function utf8Bytes(s: string, byteLength: number): Uint8Array {
  const out = new Uint8Array(byteLength);
  writeUtf8(out, 0, s, byteLength);
  return out;
}

// fatal: reject ill-formed input (overlongs, encoded surrogates, > U+10FFFF, truncated sequences) instead of
// substituting U+FFFD. ignoreBOM: a leading EF BB BF is U+FEFF and must be kept [MQTT-1.5.3-3].
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Up to this many bytes an ASCII string is built by hand; longer ones go to TextDecoder, faster there. */
const SHORT_STRING = 48;

/**
 * Decodes buf[start, end) as an MQTT string, rejecting ill-formed UTF-8 [MQTT-1.5.3-1] and U+0000
 * [MQTT-1.5.3-2] with INVALID_UTF8. A 0x00 byte in UTF-8 can only ever be U+0000, so a byte scan finds it.
 */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  let i = start;
  if (end - start <= SHORT_STRING) {
    let s = '';
    for (; i < end; i++) {
      const b = buf[i]!;
      if (b >= 0x80) break;
      if (b === 0) throw nulError();
      s += String.fromCharCode(b);
    }
    if (i === end) return s;
  }
  for (let j = i; j < end; j++) if (buf[j] === 0) throw nulError();
  try {
    return decoder.decode(buf.subarray(start, end));
  } catch {
    throw new MqttProtocolError('INVALID_UTF8', 'string is not well-formed UTF-8', 'MQTT-1.5.3-1');
  }
}

function nulError(): MqttProtocolError {
  return new MqttProtocolError('INVALID_UTF8', 'string contains U+0000', 'MQTT-1.5.3-2');
}
