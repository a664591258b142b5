import type { Packet } from './codec/packets.js';

/** Receives one readable line per event. */
export type Logger = (line: string) => void;

/** The logger for these options: an explicit one, `debug: true`, or MQTTWIRE_DEBUG=1 in the environment. */
export function resolveLogger(options: { logger?: Logger; debug?: boolean }): Logger | undefined {
  if (options.logger) return options.logger;
  if (options.debug || debugFromEnv()) return (line) => console.error(`mqttwire ${line}`);
  return undefined;
}

/** MQTTWIRE_DEBUG=1, where the runtime lets us read it: Deno without --allow-env throws on process.env reads. */
function debugFromEnv(): boolean {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    return env?.MQTTWIRE_DEBUG === '1';
  } catch {
    return false;
  }
}

/**
 * A client as util.inspect shows it (`MqttClient { url: ..., clientId: ..., state: ... }`): chosen
 * fields only, because the client's own fields hold the password. `inspect` is Node's, handed to
 * the custom-inspect hook, so the fields are styled like the rest of the output.
 */
export function describeClient(name: string, fields: Record<string, unknown>, options?: object, inspect?: (value: unknown, options: object) => string): string {
  return `${name} ${inspect && options ? inspect(fields, options) : JSON.stringify(fields)}`;
}

/** One line per packet; a password is never printed, only whether one was sent. */
export function describePacket(p: Packet): string {
  const name = p.type.toUpperCase();
  switch (p.type) {
    case 'connect':
      return `${name} clientId=${JSON.stringify(p.clientId)} level=${p.protocolLevel} clean=${p.clean} keepalive=${p.keepalive}` +
        (p.username !== undefined ? ` username=${JSON.stringify(p.username)}` : '') +
        (p.password !== undefined ? ' password=***' : '') +
        (p.will ? ` will=${JSON.stringify(p.will.topic)} willQos=${p.will.qos} willRetain=${p.will.retain}` : '');
    case 'connack':
      return `${name} returnCode=${p.returnCode} sessionPresent=${p.sessionPresent}`;
    case 'publish':
      return `${name} topic=${JSON.stringify(p.topic)} qos=${p.qos}` + (p.packetId !== undefined ? ` id=${p.packetId}` : '') +
        `${p.retain ? ' retain' : ''}${p.dup ? ' dup' : ''} payload=${p.payload.length}B`;
    case 'subscribe':
      return `${name} id=${p.packetId} ${p.subscriptions.map((s) => `${JSON.stringify(s.topicFilter)}@${s.qos}`).join(' ')}`;
    case 'suback':
      return `${name} id=${p.packetId} returnCodes=${p.returnCodes.map((c) => (c === 0x80 ? '0x80' : String(c))).join(',')}`;
    case 'unsubscribe':
      return `${name} id=${p.packetId} ${p.topicFilters.map((f) => JSON.stringify(f)).join(' ')}`;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'unsuback':
      return `${name} id=${p.packetId}`;
    default:
      return name;
  }
}
