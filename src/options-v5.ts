/**
 * The MQTT 5 client options: which protocol level the client speaks, and the CONNECT properties and
 * will properties it sends at level 5. Every value is checked here, when the client is made, with the
 * codec's own property rules, so a bad one is an InvalidArgumentError before any socket opens.
 */
import type { ConnectProperties, ProtocolLevel, UserProperties, WillProperties } from './codec/packets.js';
import { measureProperties, WILL } from './codec/properties.js';
import { describeValue, InvalidArgumentError } from './errors.js';
import type { Authenticator } from './session/auth-exchange.js';

/** The options only MQTT 5 has a place for (each refused below level 5, saying how to turn it on). */
export interface Mqtt5Options {
  /**
   * MQTT 5: seconds the broker keeps the session after the connection closes (0 to 0xFFFFFFFF, which
   * means never). Default: 0 with `clean: true`, 0xFFFFFFFF with `clean: false`, so that `clean: false`
   * keeps a session exactly as in MQTT 3.1.1.
   */
  sessionExpiryInterval?: number;
  /** MQTT 5: the most unacknowledged QoS 1 and 2 messages the broker may send us at once (1 to 65535, default 65535). */
  receiveMaximum?: number;
  /** MQTT 5: the highest topic alias we accept from the broker (0 to 65535, default 0: none). */
  topicAliasMaximum?: number;
  /** MQTT 5: ask the broker for Response Information in CONNACK (default false). */
  requestResponseInformation?: boolean;
  /** MQTT 5: whether the broker may send reason strings and user properties on failures (default true). */
  requestProblemInformation?: boolean;
  /** MQTT 5: CONNECT's user properties, `[name, value]` pairs in order (names may repeat). */
  userProperties?: UserProperties;
  /**
   * MQTT 5: follow a DISCONNECT or CONNACK 0x9C (Use another server) / 0x9D (Server moved) to the
   * Server Reference it carries, on the next reconnect (default false: back off and retry our own servers).
   */
  followRedirects?: boolean;
  /**
   * MQTT 5: outgoing topic aliases. `'auto'` (the default) gives a topic one of the broker's aliases
   * from its second use on, within the Topic Alias Maximum the broker's CONNACK announced (none when it
   * announced none); `'off'` never sends one. See docs/mqtt5.md, "Topic aliases".
   */
  topicAliases?: 'auto' | 'off';
  /**
   * MQTT 5 enhanced authentication: the mechanism whose method and data CONNECT carries and which
   * answers the broker's AUTH challenges (`scramSha256()` from `mqttwire/scram` is one). See docs/auth.md.
   */
  auth?: Authenticator;
}

/** The v5 names, in the order ClientOptions lists them. */
export const MQTT5_OPTION_KEYS = [
  'sessionExpiryInterval',
  'receiveMaximum',
  'topicAliasMaximum',
  'requestResponseInformation',
  'requestProblemInformation',
  'userProperties',
  'followRedirects',
  'topicAliases',
  'auth',
] as const satisfies readonly (keyof Mqtt5Options)[];

/** What resolveMqtt5 hands on: the CONNECT properties (level 5 only) and the client's own v5 settings. */
export interface ResolvedMqtt5 {
  /** Sent in CONNECT at level 5; undefined below. */
  connectProperties: ConnectProperties | undefined;
  /** Our Receive Maximum (65535 when not set, the spec's default). */
  receiveMaximum: number;
  /** Our Topic Alias Maximum (0: we accept none). */
  topicAliasMaximum: number;
  followRedirects: boolean;
  /** Whether outgoing topic aliases are on ('auto'). */
  topicAliases: boolean;
  /** The enhanced-authentication mechanism, if one was given. */
  auth: Authenticator | undefined;
}

/** 0xFFFFFFFF: a session that never expires. */
export const NEVER_EXPIRES = 0xffff_ffff;

const SET_V5 = 'set protocolVersion: 5';

/**
 * The protocol level from `protocolVersion` (the documented name) and `protocolLevel` (its alias);
 * both given and different is an error, since one of them would be silently ignored.
 */
export function resolveLevel(version: unknown, level: unknown): ProtocolLevel {
  if (version !== undefined && level !== undefined && version !== level) {
    throw new InvalidArgumentError(`protocolVersion ${describeValue(version)} and protocolLevel ${describeValue(level)} disagree: give one (protocolLevel is an alias of protocolVersion)`);
  }
  const v = version ?? level ?? 4;
  if (v !== 3 && v !== 4 && v !== 5) {
    throw new InvalidArgumentError(`protocolVersion must be 5 (MQTT 5.0), 4 (MQTT 3.1.1, the default) or 3 (MQTT 3.1), got ${describeValue(v)}`);
  }
  return v;
}

type WithMqtt5 = Mqtt5Options & { clean?: boolean; maxPacketSize?: number };

/**
 * The v5 options of `o` at protocol level `level`. Below 5 each one given is refused by name: sent to
 * a 3.1.1 broker it would be dropped without a word. `maxPacketSize` (an option of every level) is
 * also sent at level 5, as Maximum Packet Size, when it was given.
 */
export function resolveMqtt5(o: WithMqtt5, level: ProtocolLevel, clean: boolean, maxPacketSize: number | undefined): ResolvedMqtt5 {
  if (level !== 5) {
    for (const key of MQTT5_OPTION_KEYS) {
      if (o[key] !== undefined) throw new InvalidArgumentError(`${key} is an MQTT 5 option: ${SET_V5}`);
    }
    return { connectProperties: undefined, receiveMaximum: 65535, topicAliasMaximum: 0, followRedirects: false, topicAliases: false, auth: undefined };
  }
  const props: ConnectProperties = {};
  const expiry = integer(o.sessionExpiryInterval, 0, NEVER_EXPIRES, 'sessionExpiryInterval') ?? (clean ? 0 : NEVER_EXPIRES);
  // 0 is the spec's default: left out, the CONNECT is as small as it can be.
  if (expiry !== 0) props.sessionExpiryInterval = expiry;
  const receiveMaximum = integer(o.receiveMaximum, 1, 65535, 'receiveMaximum');
  if (receiveMaximum !== undefined && receiveMaximum !== 65535) props.receiveMaximum = receiveMaximum;
  if (maxPacketSize !== undefined) props.maximumPacketSize = Math.min(maxPacketSize, NEVER_EXPIRES);
  const topicAliasMaximum = integer(o.topicAliasMaximum, 0, 65535, 'topicAliasMaximum');
  if (topicAliasMaximum) props.topicAliasMaximum = topicAliasMaximum;
  if (flag(o.requestResponseInformation, 'requestResponseInformation')) props.requestResponseInformation = true;
  if (flag(o.requestProblemInformation, 'requestProblemInformation') === false) props.requestProblemInformation = false;
  if (o.userProperties !== undefined) props.userProperties = userProperties(o.userProperties, 'userProperties');
  checkProperties(props, CONNECT, 'CONNECT');
  return {
    connectProperties: Object.keys(props).length > 0 ? props : undefined,
    receiveMaximum: receiveMaximum ?? 65535,
    topicAliasMaximum: topicAliasMaximum ?? 0,
    followRedirects: flag(o.followRedirects, 'followRedirects') ?? false,
    topicAliases: topicAliases(o.topicAliases),
    auth: authenticator(o.auth),
  };
}

function topicAliases(value: unknown): boolean {
  if (value === undefined || value === 'auto') return true;
  if (value === 'off') return false;
  throw new InvalidArgumentError(`topicAliases must be 'auto' or 'off', got ${describeValue(value)}`);
}

/** The `auth` option: an object with a method name and an onChallenge function (docs/auth.md). */
function authenticator(value: unknown): Authenticator | undefined {
  if (value === undefined) return undefined;
  const a = value as Partial<Authenticator> | null;
  if (typeof a !== 'object' || a === null || typeof a.method !== 'string' || a.method === '' || typeof a.onChallenge !== 'function') {
    throw new InvalidArgumentError(`auth must be an authenticator { method, data?, onChallenge(data), verifyFinal?(data), start?() } such as scramSha256() returns, got ${describeValue(value)}`);
  }
  if (a.data !== undefined && !(a.data instanceof Uint8Array)) throw new InvalidArgumentError(`auth.data must be a Uint8Array, got ${describeValue(a.data)}`);
  return a as Authenticator;
}

/** The will's `properties` (level 5 only), checked with the codec's rules for Will Properties. */
export function resolveWillProperties(props: unknown, level: ProtocolLevel): WillProperties | undefined {
  if (props === undefined) return undefined;
  if (level !== 5) throw new InvalidArgumentError(`will.properties is an MQTT 5 option: ${SET_V5}`);
  if (typeof props !== 'object' || props === null) throw new InvalidArgumentError(`will.properties must be an object, got ${describeValue(props)}`);
  const p = props as WillProperties;
  if (p.userProperties !== undefined) userProperties(p.userProperties, 'will.properties.userProperties');
  checkProperties(p, WILL, 'will');
  return p;
}

/** `[name, value]` pairs: one shape only (a plain object would lose order and repeated names). */
export function userProperties(value: unknown, what: string): UserProperties {
  if (!Array.isArray(value) || !value.every((pair) => Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string')) {
    throw new InvalidArgumentError(`${what} must be an array of [name, value] string pairs, got ${describeValue(value)}`);
  }
  return value as UserProperties;
}

/** CONNECT's packet type number, the property set measureProperties checks against. */
const CONNECT = 1;

/** The codec's property rules (types, ranges, UTF-8, topic names), as an InvalidArgumentError naming `what`. */
export function checkProperties(props: object, type: number, what: string): number {
  try {
    return measureProperties(props, type);
  } catch (err) {
    throw new InvalidArgumentError(`invalid ${what} properties: ${(err as Error).message}`);
  }
}

function integer(value: unknown, min: number, max: number, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

function flag(value: unknown, what: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${what} must be true or false, got ${describeValue(value)}`);
  return value;
}
