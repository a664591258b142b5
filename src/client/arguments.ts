/**
 * The application's arguments to publish(), subscribe() and unsubscribe(), checked before anything
 * is queued or sent: bad input is an InvalidArgumentError at the call that made it. Topic rules,
 * UTF-8 lengths and packet sizes come from the codec, the one place that knows them.
 */
import { publishSize } from '../codec/encode-client.js';
import type { PublishPacket, QoS } from '../codec/packets.js';
import { validateTopicFilter } from '../codec/topics.js';
import { describeValue, InvalidArgumentError, quote } from '../errors.js';
import { checkKeys, FILTER_OPTIONS } from '../option-keys.js';
import { checkFlag, checkQos, toBytes, type Payload } from '../options.js';
import type { Filter } from './inbox.js';

/**
 * What `subscribe()` takes: one filter, several at the QoS of the options, or a filter-to-options map
 * (`{ 'a/#': { qos: 0 }, c: { qos: 2 } }`) for a QoS per filter.
 */
export type SubscribeInput =
  | string
  | string[]
  | Record<
      string,
      {
        /** The QoS requested for this filter (default 0). */
        qos?: QoS;
      }
    >;

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

/** A PUBLISH for the session (no packet id yet), or InvalidArgumentError; `maxPacketSize` is the limit in force. */
export function publishPacket(topic: string, payload: Payload, options: { qos?: QoS; retain?: boolean }, maxPacketSize: number): PublishPacket {
  const qos = checkQos(options.qos ?? 0);
  const retain = checkFlag(options.retain, 'retain');
  if (typeof topic !== 'string') throw new InvalidArgumentError(`topic must be a string, got ${describeValue(topic)}`);
  const bytes = toBytes(payload);
  let size: number;
  try {
    size = publishSize(topic, qos, bytes.length);
  } catch (err) {
    throw new InvalidArgumentError(`invalid topic ${quote(topic)}: ${(err as Error).message}`);
  }
  if (size > maxPacketSize) throw new InvalidArgumentError(`the PUBLISH would be ${size} bytes, over maxPacketSize ${maxPacketSize}`);
  return { type: 'publish', topic, payload: bytes, qos, retain, dup: false };
}

/** The filters of a subscribe() call, with their QoS, in request order. */
export function subscribeFilters(input: SubscribeInput, qos: QoS | undefined): Filter[] {
  let list: Filter[];
  if (typeof input === 'string') list = [{ topicFilter: input, qos: checkQos(qos ?? 0) }];
  else if (Array.isArray(input)) list = input.map((topicFilter) => ({ topicFilter, qos: checkQos(qos ?? 0) }));
  else if (input && typeof input === 'object') {
    list = Object.entries(input).map(([topicFilter, o]) => {
      if (o === undefined) throw new InvalidArgumentError(`topic filter ${quote(topicFilter)} needs its options, e.g. { qos: 1 }`);
      checkKeys(o, FILTER_OPTIONS);
      return { topicFilter, qos: checkQos(o.qos ?? qos ?? 0) };
    });
  } else throw new InvalidArgumentError('subscribe takes a topic filter, an array of them, or an object of filter: { qos }');
  if (list.length === 0) throw new InvalidArgumentError('subscribe needs at least one topic filter (MQTT-3.8.3-3)');
  for (const s of list) checkFilter(s.topicFilter);
  return list;
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
