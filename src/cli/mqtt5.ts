/**
 * MQTT 5 on the command line: -V/--protocol-version and -D/--property in mosquitto_pub/sub's spelling
 * (`-D publish user-property NAME VALUE`), turned into the client's options, publish properties,
 * will properties and end() options. Every mistake is a UsageError naming the option and the fix.
 */
import type { ClientOptions, EndOptions, MessageProperties } from '../index.js';
import { isValidTopicName } from '../index.js';
import { UsageError, type OptionSpec, type ParsedArgs } from './args.js';

export type ProtocolVersion = 3 | 4 | 5;

/** mosquitto's names of the versions (5, 311, 31, mqttv5, mqttv311, mqttv31), and our option's numbers (5, 4, 3). */
const VERSIONS: Record<string, ProtocolVersion> = { '5': 5, mqttv5: 5, '311': 4, '4': 4, mqttv311: 4, '31': 3, '3': 3, mqttv31: 3 };

/** The packets -D may add properties to, as mosquitto_pub names them. */
export type PropertyCommand = 'connect' | 'publish' | 'will' | 'disconnect';

/** What the value of a property is, on the command line. */
type Kind = 'u32' | 'u16' | 'positive-u16' | 'positive-u32' | 'string' | 'bytes' | 'pair' | 'zero-one' | 'topic';

/** A property we send: its kind and the client's name for it. */
interface Supported {
  kind: Kind;
  key: string;
}
/** A property mosquitto_pub knows that we refuse, and why. */
interface Refused {
  refused: string;
}

const MESSAGE_PROPERTIES: Record<string, Supported | Refused> = {
  'content-type': { kind: 'string', key: 'contentType' },
  'correlation-data': { kind: 'bytes', key: 'correlationData' },
  'message-expiry-interval': { kind: 'u32', key: 'messageExpiryInterval' },
  'payload-format-indicator': { kind: 'zero-one', key: 'payloadFormatIndicator' },
  'response-topic': { kind: 'topic', key: 'responseTopic' },
  'user-property': { kind: 'pair', key: 'userProperties' },
};

/** Per command, every property mosquitto_pub/sub accept there (so an unknown pair lists what is accepted). */
const PROPERTIES: Record<PropertyCommand, Record<string, Supported | Refused>> = {
  connect: {
    'session-expiry-interval': { kind: 'u32', key: 'sessionExpiryInterval' },
    'receive-maximum': { kind: 'positive-u16', key: 'receiveMaximum' },
    'maximum-packet-size': { kind: 'positive-u32', key: 'maxPacketSize' },
    'request-problem-information': { kind: 'zero-one', key: 'requestProblemInformation' },
    'request-response-information': { kind: 'zero-one', key: 'requestResponseInformation' },
    'user-property': { kind: 'pair', key: 'userProperties' },
    'topic-alias-maximum': { kind: 'u16', key: 'topicAliasMaximum' },
    'authentication-method': { refused: 'enhanced authentication is not in the CLI (the library has the auth option)' },
    'authentication-data': { refused: 'enhanced authentication is not in the CLI (the library has the auth option)' },
  },
  publish: {
    ...MESSAGE_PROPERTIES,
    'topic-alias': { refused: 'the client assigns topic aliases itself' },
  },
  will: {
    ...MESSAGE_PROPERTIES,
    'will-delay-interval': { kind: 'u32', key: 'willDelayInterval' },
  },
  disconnect: {
    'session-expiry-interval': { kind: 'u32', key: 'sessionExpiryInterval' },
    'user-property': { kind: 'pair', key: 'userProperties' },
  },
};

/** mosquitto's other -D commands, refused with the reason. */
const OTHER_COMMANDS: Record<string, string> = {
  pubrel: 'the client sends PUBREL without properties',
  auth: 'enhanced authentication is not in the CLI',
  subscribe: 'the client sends SUBSCRIBE without user properties',
  unsubscribe: 'the CLI does not unsubscribe',
};

export const PROTOCOL_OPTION: OptionSpec = {
  long: 'protocol-version',
  short: 'V',
  value: '5|311|31',
  help: 'MQTT version: 5 (also mqttv5), 311 (mqttv311 or 4, the default) or 31 (mqttv31 or 3)',
};

/** -D takes three words, four for user-property (a name and a value). */
export function propertyOption(commands: readonly PropertyCommand[]): OptionSpec {
  return {
    long: 'property',
    short: 'D',
    value: 'COMMAND PROPERTY VALUE',
    repeat: true,
    words: (w) => (w[1]?.toLowerCase() === 'user-property' ? 4 : 3),
    help: `MQTT 5 property (needs -V 5), e.g. -D ${commands.includes('publish') ? 'publish content-type text/plain' : 'connect session-expiry-interval 60'}; user-property takes NAME VALUE; COMMAND: ${commands.join(', ')}`,
  };
}

/** -V's value as the client's protocolVersion (undefined: not given, the client's default 4). */
export function parseProtocolVersion(value: string | undefined): ProtocolVersion | undefined {
  if (value === undefined) return undefined;
  const v = VERSIONS[value.trim().toLowerCase()];
  if (v === undefined) throw new UsageError(`-V/--protocol-version must be 5, 311 or 31 (also mqttv5, mqttv311, mqttv31, 4, 3), got "${value}"`);
  return v;
}

/** The -D properties, by command, in the shapes the client takes. */
export interface CliProperties {
  connect: Partial<Pick<ClientOptions, 'sessionExpiryInterval' | 'receiveMaximum' | 'maxPacketSize' | 'requestProblemInformation' | 'requestResponseInformation' | 'userProperties'>>;
  publish: MessageProperties;
  will: MessageProperties & { willDelayInterval?: number };
  disconnect: Pick<EndOptions, 'sessionExpiryInterval' | 'userProperties'>;
}

/**
 * Reads every -D of `args`; `commands` are the ones this CLI command takes. A -D at a level below 5
 * is refused (mosquitto_pub switches to MQTT 5 silently; here the level is never a surprise).
 */
export function parseProperties(args: ParsedArgs, version: ProtocolVersion | undefined, commands: readonly PropertyCommand[]): CliProperties {
  const out: CliProperties = { connect: {}, publish: {}, will: {}, disconnect: {} };
  const uses = args.words('property');
  if (uses.length === 0) return out;
  if (version !== 5) throw new UsageError(`-D/--property is MQTT 5 only: add -V 5${version !== undefined ? ` (not -V ${args.string('protocol-version') ?? ''})` : ''}`);
  for (const [commandWord = '', nameWord = '', ...values] of uses) {
    const command = commandWord.toLowerCase();
    const name = nameWord.toLowerCase();
    const shown = `-D ${commandWord} ${nameWord}`;
    if (!(commands as readonly string[]).includes(command)) {
      const why = OTHER_COMMANDS[command];
      throw new UsageError(`-D: ${why ? `"${commandWord}" properties are not supported here: ${why}` : `unknown command "${commandWord}"`} (this command takes: ${commands.join(', ')})`);
    }
    const table = PROPERTIES[command as PropertyCommand];
    const entry = table[name];
    if (entry === undefined) throw new UsageError(`${shown}: unknown property for ${command} (known: ${Object.keys(table).join(', ')})`);
    if ('refused' in entry) throw new UsageError(`${shown}: not supported: ${entry.refused}`);
    const target = out[command as PropertyCommand] as Record<string, unknown>;
    const value = values[0] ?? '';
    if (entry.kind === 'pair') {
      target[entry.key] = [...((target[entry.key] as [string, string][] | undefined) ?? []), [value, values[1] ?? '']];
    } else {
      target[entry.key] = propertyValue(entry.kind, value, shown);
    }
  }
  return out;
}

function propertyValue(kind: Exclude<Kind, 'pair'>, value: string, shown: string): unknown {
  switch (kind) {
    case 'string':
      return value;
    case 'bytes':
      // As mosquitto_pub: the argument's bytes (UTF-8).
      return new TextEncoder().encode(value);
    case 'topic':
      if (value === '' || !isValidTopicName(value)) throw new UsageError(`${shown}: "${value}" is not a valid topic name`);
      return value;
    case 'zero-one':
      if (value !== '0' && value !== '1') throw new UsageError(`${shown} must be 0 or 1, got "${value}"`);
      return value === '1';
    case 'u16':
      return whole(value, 0, 0xffff, shown);
    case 'positive-u16':
      return whole(value, 1, 0xffff, shown);
    case 'u32':
      return whole(value, 0, 0xffff_ffff, shown);
    case 'positive-u32':
      return whole(value, 1, 0xffff_ffff, shown);
  }
}

function whole(value: string, min: number, max: number, shown: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${shown} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

/** The subscription options of sub, as mosquitto_sub spells the one it has (--retain-as-published). */
export const SUBSCRIPTION_OPTIONS: OptionSpec[] = [
  { long: 'no-local', help: 'the broker does not send us our own messages (needs -V 5, as the next two)' },
  { long: 'retain-as-published', help: 'keep the RETAIN flag as published (not only on retained messages sent at subscribe)' },
  { long: 'retain-handling', value: '0|1|2', help: 'retained messages at subscribe: 0 send (default), 1 only for a new subscription, 2 never' },
];

/** The subscription options given (each refused below MQTT 5, saying how to turn it on). */
export function parseSubscriptionOptions(args: ParsedArgs, version: ProtocolVersion | undefined): { noLocal?: true; retainAsPublished?: true; retainHandling?: 0 | 1 | 2 } {
  const given = SUBSCRIPTION_OPTIONS.filter((o) => args.has(o.long));
  if (given.length === 0) return {};
  if (version !== 5) throw new UsageError(`--${given[0]?.long} is an MQTT 5 subscription option: add -V 5`);
  const out: { noLocal?: true; retainAsPublished?: true; retainHandling?: 0 | 1 | 2 } = {};
  if (args.flag('no-local')) out.noLocal = true;
  if (args.flag('retain-as-published')) out.retainAsPublished = true;
  const rh = args.string('retain-handling');
  if (rh !== undefined) {
    if (rh !== '0' && rh !== '1' && rh !== '2') throw new UsageError(`--retain-handling must be 0, 1 or 2, got "${rh}"`);
    out.retainHandling = Number(rh) as 0 | 1 | 2;
  }
  return out;
}
