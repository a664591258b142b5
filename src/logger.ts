import type { Packet } from './codec/packets.js';
import { reasonCodeName } from './codec/reason-codes.js';
import { describeValue, InvalidArgumentError } from './errors.js';

/**
 * Receives one readable line per packet and connection event, starting with the client id
 * (`mqttwire3f2a9c01b7de > PUBLISH topic="a/b" qos=1 id=7 payload=5B`), so one logger can serve
 * several clients. No timestamp: a logger has its own clock and format.
 */
export type Logger = (line: string) => void;

/**
 * The logger for these options: the `logger` given, or stderr for `debug: true` or MQTTWIRE_DEBUG.
 * Each line starts with the client id (`-` when the broker is to assign one); stderr lines also
 * with `mqttwire` and the time, so two clients in one process never print the same line.
 */
export function resolveLogger(options: { logger?: unknown; debug?: unknown }, clientId: string): Logger | undefined {
  if (options.logger !== undefined && typeof options.logger !== 'function') {
    throw new InvalidArgumentError(`logger must be a function taking one line, got ${describeValue(options.logger)}`);
  }
  if (options.debug !== undefined && typeof options.debug !== 'boolean') {
    throw new InvalidArgumentError(`debug must be true or false, got ${describeValue(options.debug)}`);
  }
  const id = clientId === '' ? '-' : clientId;
  const user = options.logger as Logger | undefined;
  if (user) return (line) => user(`${id} ${line}`);
  if (options.debug === true || debugFromEnv()) {
    return (line) => console.error(`mqttwire ${new Date().toISOString()} ${id} ${line}`);
  }
  return undefined;
}

/**
 * MQTTWIRE_DEBUG read as people write it: 1, true, yes or on (any case) turn the log on; 0, false,
 * no, off or empty leave it off. Where the runtime lets us read it: Deno without --allow-env throws.
 */
export function debugFromEnv(): boolean {
  let value: string | undefined;
  try {
    value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.MQTTWIRE_DEBUG;
  } catch {
    return false;
  }
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}

/**
 * A client as util.inspect shows it (`MqttClient { url: ..., clientId: ..., state: ... }`): chosen
 * fields only, because the client's own fields hold the password. `inspect` is Node's, handed to
 * the custom-inspect hook, so the fields are styled like the rest of the output.
 */
export function describeClient(name: string, fields: Record<string, unknown>, options?: object, inspect?: (value: unknown, options: object) => string): string {
  return `${name} ${inspect && options ? inspect(fields, options) : JSON.stringify(fields)}`;
}

/**
 * One line per packet; a password is never printed, only whether one was sent. MQTT 5 packets also
 * show their properties (`props={...}`, binary values as `<N bytes>`, never their content) and reason
 * codes with their names (`rc=0x87 (Not authorized)`), after the packet's fields. A CONNACK or SUBACK is
 * shown the MQTT 5 way when it has properties or a code only MQTT 5 has (the line does not know the
 * connection's level), else as at 3.1.1.
 */
export function describePacket(p: Packet): string {
  const props = 'properties' in p ? p.properties : undefined;
  let line = p.type.toUpperCase();
  /** MQTT 5 reason codes, shown with their names after the packet's own fields. */
  let codes: readonly number[] | undefined;
  switch (p.type) {
    case 'connect':
      line += ` clientId=${JSON.stringify(p.clientId)} level=${p.protocolLevel} clean=${p.clean} keepalive=${p.keepalive}` +
        (p.username !== undefined ? ` username=${JSON.stringify(p.username)}` : '') +
        (p.password !== undefined ? ' password=***' : '') +
        (p.will ? ` will=${JSON.stringify(p.will.topic)} willQos=${p.will.qos} willRetain=${p.will.retain}${describeProperties(p.will.properties, 'willProps')}` : '');
      break;
    case 'connack':
      if (props || p.returnCode >= 0x80) codes = [p.returnCode];
      else line += ` returnCode=${p.returnCode}`;
      line += ` sessionPresent=${p.sessionPresent}`;
      break;
    case 'publish':
      line += ` topic=${JSON.stringify(p.topic)} qos=${p.qos}` + (p.packetId !== undefined ? ` id=${p.packetId}` : '') +
        `${p.retain ? ' retain' : ''}${p.dup ? ' dup' : ''} payload=${p.payload.length}B`;
      break;
    case 'subscribe':
      line += ` id=${p.packetId} ${p.subscriptions.map((s) => `${JSON.stringify(s.topicFilter)}@${s.qos}${s.noLocal ? ' noLocal' : ''}${s.retainAsPublished ? ' retainAsPublished' : ''}${s.retainHandling ? ` retainHandling=${s.retainHandling}` : ''}`).join(' ')}`;
      break;
    case 'suback':
      line += ` id=${p.packetId}`;
      if (props || p.returnCodes.some((c) => c > 0x80)) codes = p.returnCodes;
      else line += ` returnCodes=${p.returnCodes.map((c) => (c === 0x80 ? '0x80' : String(c))).join(',')}`;
      break;
    case 'unsubscribe':
      line += ` id=${p.packetId} ${p.topicFilters.map((f) => JSON.stringify(f)).join(' ')}`;
      break;
    case 'unsuback':
      line += ` id=${p.packetId}`;
      codes = p.reasonCodes;
      break;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      line += ` id=${p.packetId}`;
      if (p.reasonCode !== undefined) codes = [p.reasonCode];
      break;
    case 'disconnect':
    case 'auth':
      if (p.reasonCode !== undefined) codes = [p.reasonCode];
  }
  if (codes) line += ` ${codes.map((c) => `rc=0x${c.toString(16).padStart(2, '0')} (${reasonCodeName(c, p.type) ?? 'unknown reason code'})`).join(', ')}`;
  return line + describeProperties(props);
}

/**
 * ` props={contentType="text/plain", userProperties=[["k","v"]], messageExpiryInterval=60}` in the
 * packet's order, or '' for none. Bytes (correlation and authentication data) only by their length.
 */
function describeProperties(props: object | undefined, label = 'props'): string {
  if (props === undefined) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    parts.push(`${key}=${value instanceof Uint8Array ? `<${value.length} bytes>` : JSON.stringify(value)}`);
  }
  return parts.length > 0 ? ` ${label}={${parts.join(', ')}}` : '';
}
