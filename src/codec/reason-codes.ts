/**
 * MQTT 5 Reason Codes (section 2.4, Table 2-6): one table of code, name and the packet types that may carry
 * it. The decoder checks every received reason code against it [MQTT-3.2.2-8] [MQTT-3.4.2-1] ... and encode
 * refuses to send one the packet type does not allow; errors and debug logs take the names from it.
 */
import { TYPE_NAMES } from './fixed-header.js';
import { PACKET_TYPE_CODES, type PacketType } from './packets.js';
import { protocolError5 } from './v5-errors.js';

// Packet type numbers as bits (section 2.1.2).
const CONNACK = 1 << 2;
const PUBACK = 1 << 4;
const PUBREC = 1 << 5;
const PUBREL = 1 << 6;
const PUBCOMP = 1 << 7;
const SUBACK = 1 << 9;
const UNSUBACK = 1 << 11;
const DISCONNECT = 1 << 14;
const AUTH = 1 << 15;
const PUB_ACKS = PUBACK | PUBREC;
/** The codes that refuse one request: CONNACK, PUBACK, PUBREC, SUBACK, UNSUBACK and DISCONNECT carry them. */
const REFUSALS = CONNACK | PUB_ACKS | SUBACK | UNSUBACK | DISCONNECT;

/** [code, name, packet types (bit n = type n)]. 0x00 has three names, one per group of packet types. */
export type ReasonCodeEntry = readonly [code: number, name: string, packetTypes: number];

/**
 * The table as [name, packet types], in code order: rows carry no code, so a browser bundle carries none
 * (they are the row's comment). The codes below 0x80 are LOW_CODES; from 0x80 to 0xA2 each code has one row.
 */
const ROWS: readonly (readonly [string, number])[] = [
  ['Success', CONNACK | PUB_ACKS | PUBREL | PUBCOMP | UNSUBACK | AUTH], // 0x00
  ['Normal disconnection', DISCONNECT], // 0x00
  ['Granted QoS 0', SUBACK], // 0x00
  ['Granted QoS 1', SUBACK], // 0x01
  ['Granted QoS 2', SUBACK], // 0x02
  ['Disconnect with Will Message', DISCONNECT], // 0x04
  ['No matching subscribers', PUB_ACKS], // 0x10
  ['No subscription existed', UNSUBACK], // 0x11
  ['Continue authentication', AUTH], // 0x18
  ['Re-authenticate', AUTH], // 0x19
  ['Unspecified error', REFUSALS], // 0x80
  ['Malformed Packet', CONNACK | DISCONNECT], // 0x81
  ['Protocol Error', CONNACK | DISCONNECT], // 0x82
  ['Implementation specific error', REFUSALS], // 0x83
  ['Unsupported Protocol Version', CONNACK], // 0x84
  ['Client Identifier not valid', CONNACK], // 0x85
  ['Bad User Name or Password', CONNACK], // 0x86
  ['Not authorized', REFUSALS], // 0x87
  ['Server unavailable', CONNACK], // 0x88
  ['Server busy', CONNACK | DISCONNECT], // 0x89
  ['Banned', CONNACK], // 0x8a
  ['Server shutting down', DISCONNECT], // 0x8b
  ['Bad authentication method', CONNACK | DISCONNECT], // 0x8c
  ['Keep Alive timeout', DISCONNECT], // 0x8d
  ['Session taken over', DISCONNECT], // 0x8e
  ['Topic Filter invalid', SUBACK | UNSUBACK | DISCONNECT], // 0x8f
  ['Topic Name invalid', CONNACK | PUB_ACKS | DISCONNECT], // 0x90
  ['Packet Identifier in use', PUB_ACKS | SUBACK | UNSUBACK], // 0x91
  ['Packet Identifier not found', PUBREL | PUBCOMP], // 0x92
  ['Receive Maximum exceeded', DISCONNECT], // 0x93
  ['Topic Alias invalid', DISCONNECT], // 0x94
  ['Packet too large', CONNACK | DISCONNECT], // 0x95
  ['Message rate too high', DISCONNECT], // 0x96
  ['Quota exceeded', CONNACK | PUB_ACKS | SUBACK | DISCONNECT], // 0x97
  ['Administrative action', DISCONNECT], // 0x98
  ['Payload format invalid', CONNACK | PUB_ACKS | DISCONNECT], // 0x99
  ['Retain not supported', CONNACK | DISCONNECT], // 0x9a
  ['QoS not supported', CONNACK | DISCONNECT], // 0x9b
  ['Use another server', CONNACK | DISCONNECT], // 0x9c
  ['Server moved', CONNACK | DISCONNECT], // 0x9d
  ['Shared Subscriptions not supported', SUBACK | DISCONNECT], // 0x9e
  ['Connection rate exceeded', CONNACK | DISCONNECT], // 0x9f
  ['Maximum connect time', DISCONNECT], // 0xa0
  ['Subscription Identifiers not supported', SUBACK | DISCONNECT], // 0xa1
  ['Wildcard Subscriptions not supported', SUBACK | DISCONNECT], // 0xa2
];
const LOW_CODES = [0x00, 0x00, 0x00, 0x01, 0x02, 0x04, 0x10, 0x11, 0x18, 0x19];

/**
 * MQTT 5's Reason Codes (section 2.4), each with its name and the packet types that may carry it; 0x00,
 * named differently per packet type, has one entry per name.
 */
export const REASON_CODES: readonly ReasonCodeEntry[] = ROWS.map(([name, types], i) => [
  LOW_CODES[i] ?? 0x80 + i - LOW_CODES.length,
  name,
  types,
]);

/** For each code 0..255, the packet types (as bits) that may carry it: one array read per check. */
const ALLOWED = new Uint16Array(256);
for (const [code, , types] of REASON_CODES) ALLOWED[code]! |= types;

/** May a packet of type number `type` (2 CONNACK ... 15 AUTH) carry reason code `code`? */
export function reasonCodeAllowed(code: number, type: number): boolean {
  return code === (code & 0xff) && ((ALLOWED[code]! >> type) & 1) === 1;
}

/**
 * The spec's name for `code` on a packet of `type`, e.g. reasonCodeName(0x00, 'disconnect') is 'Normal
 * disconnection'; undefined when that packet type may not carry the code.
 */
export function reasonCodeName(code: number, type: PacketType): string | undefined {
  const bit = 1 << PACKET_TYPE_CODES[type];
  for (const [c, name, types] of REASON_CODES) if (c === code && (types & bit) !== 0) return name;
  return undefined;
}

/**
 * The statement that binds the sender of a packet type to its own reason codes: MQTT-3.<type>.2-1, but
 * CONNACK's MQTT-3.2.2-8 and SUBACK's / UNSUBACK's MQTT-3.<type>.3-2.
 */
const statementFor = (type: number): string => `MQTT-3.${type}.${type === 2 ? '2-8' : type === 9 || type === 11 ? '3-2' : '2-1'}`;

/** Throws INVALID_REASON_CODE (a Protocol Error) unless a packet of type number `type` may carry `code`. */
export function checkReasonCode(code: unknown, type: number): void {
  if (typeof code !== 'number' || !reasonCodeAllowed(code, type)) {
    const shown = typeof code === 'number' ? `0x${code.toString(16).padStart(2, '0')}` : String(code);
    throw protocolError5('INVALID_REASON_CODE', `${TYPE_NAMES[type]} may not carry reason code ${shown}`, statementFor(type));
  }
}
