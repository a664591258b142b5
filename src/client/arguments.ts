/**
 * The application's arguments to publish(), subscribe() and unsubscribe(), checked before anything
 * is queued or sent: bad input is an InvalidArgumentError at the call that made it. Topic rules,
 * UTF-8 lengths and packet sizes come from the codec, the one place that knows them.
 */
import { publishSize } from '../codec/encode-client.js';
import { varintLength } from '../codec/fixed-header.js';
import type { DisconnectPacket, DisconnectProperties, PublishPacket, PublishProperties, QoS, UserProperties } from '../codec/packets.js';
import { reasonCodeAllowed } from '../codec/reason-codes.js';
import { isSharedFilter, validateTopicFilter } from '../codec/topics.js';
import { describeValue, InvalidArgumentError, quote } from '../errors.js';
import type { MessageProperties } from '../message.js';
import { checkKeys, FILTER_OPTIONS, MESSAGE_PROPERTIES } from '../option-keys.js';
import { checkFlag, checkQos, toBytes, type Payload } from '../options.js';
import { checkProperties, userProperties } from '../options-v5.js';
import type { Limits } from '../session/session.js';
import type { Filter } from './inbox.js';

/** The options of one filter in the object form of subscribe(), and (but qos) of SubscribeOptions for all. */
export interface FilterOptions {
  /** Requested QoS (default: the call's `qos`, else 0). */
  qos?: QoS;
  /** MQTT 5: the broker does not send us our own publishes on this filter (not on a `$share/` filter). */
  noLocal?: boolean;
  /** MQTT 5: messages keep the RETAIN flag they were published with. */
  retainAsPublished?: boolean;
  /** MQTT 5: 0 send retained messages on subscribe (default), 1 only if the subscription is new, 2 never. */
  retainHandling?: 0 | 1 | 2;
}

/**
 * MQTT.js habits caught at the call: a callback after the options (`publish(t, m, { qos: 1 }, cb)`)
 * would otherwise be ignored and never called. Every method returns a promise instead.
 */
export function checkArity(args: IArguments, max: number, method: string): void {
  if (args.length <= max) return;
  const extra: unknown = args[max];
  if (typeof extra === 'function') {
    throw new InvalidArgumentError(`${method}() takes no callback: it returns a promise (await it, or use .then() and .catch())`);
  }
  throw new InvalidArgumentError(`${method}() takes at most ${max} arguments, got ${args.length}`);
}

/**
 * What `subscribe()` takes: one filter, several at the QoS of the options, or a filter-to-options map
 * (`{ 'a/#': { qos: 0 }, c: { qos: 2 } }`) for a QoS (and at MQTT 5 subscription options) per filter.
 */
export type SubscribeInput = string | string[] | Record<string, FilterOptions>;

/** PUBLISH's packet type number: the property set message properties are checked against. */
const PUBLISH = 3;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * A PUBLISH for the session (no packet id yet), or InvalidArgumentError. `limits` are the ones in
 * force: the size is checked against the largest packet we may send and, at MQTT 5 (`v5`), the QoS
 * and retain flag against what the broker said it takes (MQTT-3.2.2-11, MQTT-3.2.2-14), so a publish
 * the broker would refuse is refused at the call, with nothing sent.
 */
export function publishPacket(
  topic: string,
  payload: Payload,
  options: { qos?: QoS; retain?: boolean; properties?: MessageProperties },
  limits: Readonly<Limits>,
  v5: boolean,
): PublishPacket {
  const qos = checkQos(options.qos ?? 0);
  const retain = checkFlag(options.retain, 'retain');
  if (typeof topic !== 'string') throw new InvalidArgumentError(`topic must be a string, got ${describeValue(topic)}`);
  const bytes = toBytes(payload);
  const properties = options.properties === undefined ? undefined : messageProperties(options.properties, v5, bytes);
  // The properties count like payload bytes: both only add to the Remaining Length.
  const extra = v5 ? propertiesLength(properties) : 0;
  let size: number;
  try {
    size = publishSize(topic, qos, bytes.length + extra);
  } catch (err) {
    throw new InvalidArgumentError(`invalid topic ${quote(topic)}: ${(err as Error).message}`);
  }
  if (size > limits.maxPacketSize) {
    const limit = v5 ? `the maximum packet size in force, ${limits.maxPacketSize} (maxPacketSize or the broker's Maximum Packet Size, MQTT-3.2.2-15)` : `maxPacketSize ${limits.maxPacketSize}`;
    throw new InvalidArgumentError(`the PUBLISH would be ${size} bytes, over ${limit}`);
  }
  if (v5) {
    if (qos > limits.maximumQoS) throw new InvalidArgumentError(`the broker takes publishes up to QoS ${limits.maximumQoS} (its Maximum QoS), not QoS ${qos} (MQTT-3.2.2-11)`);
    if (retain && !limits.retainAvailable) throw new InvalidArgumentError('the broker does not keep retained messages (Retain Available 0): publish without retain (MQTT-3.2.2-14)');
  }
  const packet: PublishPacket = { type: 'publish', topic, payload: bytes, qos, retain, dup: false };
  if (properties) packet.properties = properties;
  return packet;
}

/** Property Length and its own bytes, for a PUBLISH at level 5 (1 byte when there are none). */
function propertiesLength(properties: PublishProperties | undefined): number {
  if (!properties) return 1;
  const n = measured;
  return varintLength(n) + n;
}

/** Set by messageProperties(): the Property Length the checked properties need. */
let measured = 0;

/**
 * A publish's `properties`, checked and copied (the session may change the copy's message expiry as
 * the message waits). Only the application's properties: topic aliases and subscription identifiers
 * are the client's business.
 */
function messageProperties(props: MessageProperties, v5: boolean, payload: Uint8Array): PublishProperties {
  if (!v5) throw new InvalidArgumentError('publish properties are an MQTT 5 feature: set protocolVersion: 5');
  checkKeys(props, MESSAGE_PROPERTIES);
  const copy: PublishProperties = { ...props };
  if (copy.userProperties !== undefined) copy.userProperties = userProperties(copy.userProperties, 'properties.userProperties');
  measured = checkProperties(copy, PUBLISH, 'publish');
  if (copy.payloadFormatIndicator === true) {
    // MQTT-3.3.2-4: a payload said to be UTF-8 must be; the broker may refuse it (0x99) otherwise.
    try {
      strictUtf8.decode(payload);
    } catch {
      throw new InvalidArgumentError('properties.payloadFormatIndicator is true but the payload is not valid UTF-8');
    }
  }
  return copy;
}

/**
 * MQTT 5: the filters a broker said it cannot serve are refused at the call (no SUBSCRIBE is sent):
 * wildcards without Wildcard Subscription Available, `$share/` without Shared Subscription Available.
 */
export function checkSubscribeLimits(filters: readonly Filter[], limits: Readonly<Limits>): void {
  for (const f of filters) {
    const filter = f.topicFilter;
    if (isSharedFilter(filter)) {
      if (!limits.sharedSubscriptionAvailable) throw new InvalidArgumentError(`the broker does not support shared subscriptions (Shared Subscription Available 0): ${quote(filter)}`);
    } else if (!limits.wildcardSubscriptionAvailable && /[+#]/.test(filter)) {
      throw new InvalidArgumentError(`the broker does not support wildcard subscriptions (Wildcard Subscription Available 0): ${quote(filter)}`);
    }
  }
}

/**
 * The filters of a subscribe() call, with their QoS (and at MQTT 5 their subscription options), in
 * request order. `call` holds the options the call gives for every filter; a filter's own win.
 */
export function subscribeFilters(input: SubscribeInput, call: FilterOptions, v5: boolean): Filter[] {
  let list: Filter[];
  if (typeof input === 'string') list = [filterOf(input, {}, call, v5)];
  else if (Array.isArray(input)) list = input.map((topicFilter) => filterOf(topicFilter, {}, call, v5));
  else if (input && typeof input === 'object') {
    list = Object.entries(input).map(([topicFilter, o]) => {
      if (o === undefined) throw new InvalidArgumentError(`topic filter ${quote(topicFilter)} needs its options, e.g. { qos: 1 }`);
      checkKeys(o, FILTER_OPTIONS);
      return filterOf(topicFilter, o, call, v5);
    });
  } else throw new InvalidArgumentError('subscribe takes a topic filter, an array of them, or an object of filter: { qos }');
  if (list.length === 0) throw new InvalidArgumentError('subscribe needs at least one topic filter (MQTT-3.8.3-3)');
  for (const s of list) checkFilter(s.topicFilter);
  return list;
}

const SUBSCRIPTION_OPTION_NAMES = ['noLocal', 'retainAsPublished', 'retainHandling'] as const;

/** One filter's QoS and MQTT 5 subscription options (only those set: a 3.1.1 filter stays { topicFilter, qos }). */
function filterOf(topicFilter: string, own: FilterOptions, call: FilterOptions, v5: boolean): Filter {
  const filter: Filter = { topicFilter, qos: checkQos(own.qos ?? call.qos ?? 0) };
  for (const name of SUBSCRIPTION_OPTION_NAMES) {
    const value = own[name] ?? call[name];
    if (value === undefined) continue;
    if (!v5) throw new InvalidArgumentError(`${name} is an MQTT 5 subscription option: set protocolVersion: 5`);
    if (name === 'retainHandling') {
      if (value !== 0 && value !== 1 && value !== 2) throw new InvalidArgumentError(`retainHandling must be 0, 1 or 2, got ${describeValue(value)}`);
      filter.retainHandling = value;
    } else filter[name] = checkFlag(value, name);
  }
  if (filter.noLocal && isSharedFilter(topicFilter)) {
    throw new InvalidArgumentError(`noLocal cannot be set on the shared subscription ${quote(topicFilter)} (MQTT-3.8.3-4)`);
  }
  return filter;
}

/** The filters of an unsubscribe() call. */
export function unsubscribeFilters(topicFilters: string | string[]): string[] {
  const filters = typeof topicFilters === 'string' ? [topicFilters] : [...topicFilters];
  if (filters.length === 0) throw new InvalidArgumentError('unsubscribe needs at least one topic filter');
  for (const f of filters) checkFilter(f);
  return filters;
}

function checkFilter(filter: string): void {
  try {
    validateTopicFilter(filter);
  } catch (err) {
    throw new InvalidArgumentError(`invalid topic filter ${quote(filter)}: ${(err as Error).message}`);
  }
}

/** DISCONNECT's packet type number: its reason codes and properties are checked against it. */
const DISCONNECT = 14;

/**
 * The DISCONNECT `end()` sends: a bare one at 3.1.1 (the v5 fields refused), at MQTT 5 with the
 * reason code and properties given, each checked by the codec's rules. `connectExpiry` is the Session
 * Expiry Interval CONNECT sent: from 0 it may not be raised (section 3.14.2.2.2: a Protocol Error, with no statement number).
 */
export function disconnectPacket(
  o: { reasonCode?: number; sessionExpiryInterval?: number; reasonString?: string; userProperties?: UserProperties },
  v5: boolean,
  connectExpiry: number,
): DisconnectPacket {
  const packet: DisconnectPacket = { type: 'disconnect' };
  const given = o.reasonCode !== undefined || o.sessionExpiryInterval !== undefined || o.reasonString !== undefined || o.userProperties !== undefined;
  if (!given) return packet;
  if (!v5) throw new InvalidArgumentError('end() takes reasonCode, sessionExpiryInterval, reasonString and userProperties at MQTT 5 only: set protocolVersion: 5');
  if (o.reasonCode !== undefined) {
    if (typeof o.reasonCode !== 'number' || !reasonCodeAllowed(o.reasonCode, DISCONNECT) || SERVER_ONLY.has(o.reasonCode)) {
      throw new InvalidArgumentError(`reasonCode ${describeValue(o.reasonCode)} is not a DISCONNECT reason code a client sends (0x00 Normal disconnection, 0x04 Disconnect with Will Message, 0x80 and above)`);
    }
    packet.reasonCode = o.reasonCode;
  }
  const properties: DisconnectProperties = {};
  if (o.sessionExpiryInterval !== undefined) {
    if (connectExpiry === 0 && o.sessionExpiryInterval !== 0) {
      throw new InvalidArgumentError('sessionExpiryInterval cannot be raised from 0 at DISCONNECT (MQTT 5.0 section 3.14.2.2.2): connect with a sessionExpiryInterval (or clean: false) instead');
    }
    properties.sessionExpiryInterval = o.sessionExpiryInterval;
  }
  if (o.reasonString !== undefined) properties.reasonString = o.reasonString;
  if (o.userProperties !== undefined) properties.userProperties = userProperties(o.userProperties, 'userProperties');
  if (Object.keys(properties).length > 0) {
    checkProperties(properties, DISCONNECT, 'DISCONNECT');
    packet.properties = properties;
  }
  return packet;
}

/** DISCONNECT codes only a server sends (Table 2-6's "Sent by" column). */
const SERVER_ONLY: ReadonlySet<number> = new Set([0x87, 0x89, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2]);
