/**
 * The fixed header (MQTT 3.1.1 section 2.2, MQTT 5 section 2.1): packet type, the flag bits the spec reserves
 * per type, and the Remaining Length, a Variable Byte Integer. Shared by the encoder and the decoder so both
 * apply the same tables; MQTT 5 has its own where it differs (AUTH, and packets that grew properties).
 */
import { MqttProtocolError } from '../errors.js';

/** The largest Remaining Length four varint bytes can carry (section 2.2.3). */
export const MAX_REMAINING_LENGTH = 268_435_455;
/** The largest whole packet MQTT can express: type byte + 4 length bytes + MAX_REMAINING_LENGTH. */
export const MAX_PACKET_SIZE = 1 + 4 + MAX_REMAINING_LENGTH;

/** Index = packet type number. -1: unknown type, -2: PUBLISH (flags carry DUP/QoS/RETAIN), else the required flags. */
export const REQUIRED_FLAGS: readonly number[] = [-1, 0, 0, -2, 0, 0, 0b0010, 0, 0b0010, 0, 0b0010, 0, 0, 0, 0, -1];
/** MQTT 5: type 15 is AUTH, flags 0 [MQTT-3.15.1-1]. */
export const REQUIRED_FLAGS_V5: readonly number[] = [...REQUIRED_FLAGS.slice(0, 15), 0];

/** Remaining Length of the fixed-size packets, -1 for the others. */
export const FIXED_LENGTH: readonly number[] = [-1, -1, 2, -1, 2, 2, 2, 2, -1, -1, -1, 2, 0, 0, 0, -1];
/** MQTT 5: only PINGREQ and PINGRESP keep a fixed size; acks, CONNACK and DISCONNECT may carry properties. */
export const FIXED_LENGTH_V5: readonly number[] = FIXED_LENGTH.map((n, type) => (type === 12 || type === 13 ? n : -1));

/**
 * Spec statement for wrong reserved flags: the type's own where it has one, else the general one (3.1.1's
 * ids; a level-5 decoder reports MQTT 5's, see v5-errors.ts).
 */
const FLAGS_STATEMENT = [
  '', 'MQTT-2.2.2-2', 'MQTT-2.2.2-2', '', 'MQTT-2.2.2-2', 'MQTT-2.2.2-2', 'MQTT-3.6.1-1', 'MQTT-2.2.2-2',
  'MQTT-3.8.1-1', 'MQTT-2.2.2-2', 'MQTT-3.10.1-1', 'MQTT-2.2.2-2', 'MQTT-2.2.2-2', 'MQTT-2.2.2-2', 'MQTT-3.14.1-1', 'MQTT-3.15.1-1',
];

export const TYPE_NAMES = [
  'reserved(0)', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP',
  'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH',
];

/**
 * Checks the first byte of a packet (type and flags) against `requiredFlags` (REQUIRED_FLAGS, or
 * REQUIRED_FLAGS_V5 at level 5). Run as soon as that byte arrives, so garbage fails before we wait for, or
 * buffer, anything after it.
 */
export function checkFirstByte(first: number, requiredFlags: readonly number[] = REQUIRED_FLAGS): void {
  const type = first >> 4;
  const flags = first & 0x0f;
  const required = requiredFlags[type]!;
  if (required === -2) {
    const qos = (flags >> 1) & 3;
    if (qos === 3) throw new MqttProtocolError('INVALID_QOS', 'PUBLISH has both QoS bits set', 'MQTT-3.3.1-4');
    if (qos === 0 && (flags & 0x08) !== 0) {
      throw new MqttProtocolError('RESERVED_FLAGS', 'PUBLISH has DUP set with QoS 0', 'MQTT-3.3.1-2');
    }
  } else if (required === -1) {
    throw new MqttProtocolError('UNKNOWN_TYPE', `control packet type ${type} is reserved`);
  } else if (flags !== required) {
    throw new MqttProtocolError(
      'RESERVED_FLAGS',
      `${TYPE_NAMES[type]} fixed-header flags are 0b${flags.toString(2).padStart(4, '0')}, must be 0b${required.toString(2).padStart(4, '0')}`,
      FLAGS_STATEMENT[type],
    );
  }
}

/** Bytes a Variable Byte Integer takes for `value` (0..MAX_REMAINING_LENGTH): 1 to 4, the fewest [MQTT-1.5.5-1]. */
export function varintLength(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : 4;
}

/** Writes `value` (0..MAX_REMAINING_LENGTH) as a Variable Byte Integer at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos] = value;
  return pos + 1;
}

/** Bytes of fixed header (type byte + varint) for a Remaining Length. */
export function headerLength(remaining: number): number {
  return 1 + varintLength(remaining);
}

/** Writes the fixed header at `pos`; returns the position after it. `remaining` <= MAX_REMAINING_LENGTH. */
export function writeHeader(buf: Uint8Array, pos: number, first: number, remaining: number): number {
  buf[pos] = first;
  return writeVarint(buf, pos + 1, remaining);
}
