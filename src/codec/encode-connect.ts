/**
 * CONNECT -> bytes, at the level the packet names (3: MQTT 3.1, 4: MQTT 3.1.1, 5: MQTT 5.0), whatever level
 * the rest of the connection is encoded at: the CONNECT is what tells the server the level. MQTT 5 adds the
 * CONNECT Properties after Keep Alive and the Will Properties before the Will Topic (sections 3.1.2.11, 3.1.3.2).
 */
import type { ConnectPacket } from './packets.js';
import { writeHeader } from './fixed-header.js';
import { measureProperties, WILL, writeProperties } from './properties.js';
import { checkTopicName } from './topics.js';
import { varintLength } from './fixed-header.js';
import { asV5 } from './v5-errors.js';
import { bytesLength, checkQos, checkRemaining, err, stringLength, writeBytes, writeString, writeU16 } from './write-fields.js';

/** Property Lengths of the CONNECT measured last, for writeConnect right after. */
let propsLength = 0;
let willPropsLength = 0;

/** Protocol name each supported level must carry. */
function protocolNameFor(level: number): string {
  if (level === 4 || level === 5) return 'MQTT';
  if (level === 3) return 'MQIsdp';
  throw err('INVALID_PROTOCOL', `protocol level must be 5 (MQTT 5.0), 4 (MQTT 3.1.1) or 3 (MQTT 3.1), got ${String(level)}`, 'MQTT-3.1.2-2');
}

/** Validates a CONNECT and returns its Remaining Length. Errors about a level-5 CONNECT cite MQTT 5. */
export function measureConnect(p: ConnectPacket): number {
  if (p.protocolLevel !== 5) return measureConnectAt(p, p.protocolLevel ?? 4);
  try {
    return measureConnectAt(p, 5);
  } catch (e) {
    throw asV5(e);
  }
}

function measureConnectAt(p: ConnectPacket, level: number): number {
  const name = protocolNameFor(level);
  if (p.protocolName !== undefined && p.protocolName !== name) {
    throw err('INVALID_PROTOCOL', `protocol level ${level} is named ${JSON.stringify(name)}, not ${JSON.stringify(p.protocolName)}`, 'MQTT-3.1.2-1');
  }
  const k = p.keepalive;
  if (typeof k !== 'number' || !(k >= 0 && k <= 0xffff) || k % 1 !== 0) {
    throw err('INVALID_CONNECT_FLAGS', `keepalive must be an integer 0..65535 seconds, got ${String(k)}`);
  }
  // The client id is checked as a string only. An empty id without CleanSession [MQTT-3.1.3-7], or a 3.1 id
  // outside 1..23 bytes, is a well-formed packet the server refuses with CONNACK 0x02, so the codec writes
  // it (as it decodes it); keeping a client from sending one is the session's job.
  const idLen = stringLength(p.clientId, 'client identifier');
  let n = 2 + name.length + 1 + 1 + 2 + 2 + idLen;
  const v5 = level === 5;
  if (v5) {
    propsLength = measureProperties(p.properties, 1);
    n += varintLength(propsLength) + propsLength;
  }
  const will = p.will;
  if (will != null) {
    n += 2 + checkTopicName(will.topic) + 2 + bytesLength(will.payload, 'will payload');
    checkQos(will.qos, 'will', 'MQTT-3.1.2-14');
    if (v5) {
      willPropsLength = measureProperties(will.properties, WILL);
      n += varintLength(willPropsLength) + willPropsLength;
    }
  }
  if (p.username != null) n += 2 + stringLength(p.username, 'user name');
  if (p.password != null) {
    // MQTT 3.1 did not forbid a password alone, MQTT 5 allows it again (section 3.1.2.9).
    if (level === 4 && p.username == null) throw err('INVALID_CONNECT_FLAGS', 'a password requires a user name in MQTT 3.1.1', 'MQTT-3.1.2-22');
    n += 2 + bytesLength(p.password, 'password');
  }
  return checkRemaining(n, 'CONNECT');
}

/** Writes the CONNECT measured just before. */
export function writeConnect(p: ConnectPacket, buf: Uint8Array, pos: number, remaining: number): number {
  const level = p.protocolLevel ?? 4;
  pos = writeHeader(buf, pos, 0x10, remaining);
  pos = writeString(buf, pos, protocolNameFor(level));
  buf[pos++] = level;
  const will = p.will;
  let flags = p.clean ? 0x02 : 0;
  if (will != null) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password != null) flags |= 0x40;
  if (p.username != null) flags |= 0x80;
  buf[pos++] = flags;
  pos = writeU16(buf, pos, p.keepalive);
  if (level === 5) pos = writeProperties(buf, pos, p.properties, propsLength);
  pos = writeString(buf, pos, p.clientId);
  if (will != null) {
    if (level === 5) pos = writeProperties(buf, pos, will.properties, willPropsLength);
    pos = writeString(buf, pos, will.topic);
    pos = writeU16(buf, pos, will.payload.length);
    pos = writeBytes(buf, pos, will.payload);
  }
  if (p.username != null) pos = writeString(buf, pos, p.username);
  if (p.password != null) {
    pos = writeU16(buf, pos, p.password.length);
    pos = writeBytes(buf, pos, p.password);
  }
  return pos;
}
