/**
 * Topic names and topic filters (MQTT 3.1.1 section 4.7): validation and matching.
 * Works on JS strings with charCodeAt and no splitting, so matching allocates nothing.
 */
import { MqttProtocolError, quote } from '../errors.js';
import { HAS_NUL, LONE_SURROGATE, utf8Length } from './utf8.js';
import { protocolError5 } from './v5-errors.js';

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

/**
 * Checks `topic` as a Topic Name and returns its UTF-8 byte length (what the encoder needs anyway).
 * `wildcardStatement` lets PUBLISH report MQTT-3.3.2-2 while other uses report the general MQTT-4.7.1-1.
 */
export function checkTopicName(topic: string, wildcardStatement = 'MQTT-4.7.1-1'): number {
  if (typeof topic !== 'string') throw invalid('topic name must be a string');
  const bytes = checkCommon(topic, 'topic name');
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === PLUS || c === HASH) {
      throw invalid(`topic name ${quote(topic)} must not contain wildcards`, wildcardStatement);
    }
  }
  return bytes;
}

/** Checks `filter` as a Topic Filter and returns its UTF-8 byte length. */
export function checkTopicFilter(filter: string): number {
  if (typeof filter !== 'string') throw invalid('topic filter must be a string');
  const bytes = checkCommon(filter, 'topic filter');
  const n = filter.length;
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === HASH) {
      // '#' on its own or after '/', and last [MQTT-4.7.1-2].
      if (i !== n - 1 || (i > 0 && filter.charCodeAt(i - 1) !== SLASH)) {
        throw invalid(`'#' must be the last level of topic filter ${quote(filter)}`, 'MQTT-4.7.1-2');
      }
    } else if (c === PLUS) {
      // '+' occupies a whole level [MQTT-4.7.1-3].
      if ((i > 0 && filter.charCodeAt(i - 1) !== SLASH) || (i < n - 1 && filter.charCodeAt(i + 1) !== SLASH)) {
        throw invalid(`'+' must occupy a whole level of topic filter ${quote(filter)}`, 'MQTT-4.7.1-3');
      }
    }
  }
  return bytes;
}

const SHARE_PREFIX = '$share/';

/**
 * MQTT 5 (section 4.8.2): is the (already checked) topic filter a Shared Subscription's, `$share/` then a
 * ShareName of at least one character without '/', '+' or '#', then '/' and a topic filter? Throws
 * INVALID_TOPIC for a filter that starts with `$share/` but is not one [MQTT-4.8.2-1] [MQTT-4.8.2-2].
 * (In MQTT 3.1.1 `$share/...` is an ordinary filter.)
 */
export function isSharedFilter(filter: string): boolean {
  if (!filter.startsWith(SHARE_PREFIX)) return false;
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  const shareName = filter.slice(SHARE_PREFIX.length, slash < 0 ? undefined : slash);
  if (shareName.length === 0) {
    throw protocolError5('INVALID_TOPIC', `shared subscription ${JSON.stringify(filter)} has an empty ShareName`, 'MQTT-4.8.2-1');
  }
  if (slash < 0 || slash === filter.length - 1 || shareName.includes('+') || shareName.includes('#')) {
    throw protocolError5(
      'INVALID_TOPIC',
      `shared subscription ${JSON.stringify(filter)} needs $share/<ShareName>/<filter>, the ShareName without '+' or '#'`,
      'MQTT-4.8.2-2',
    );
  }
  return true;
}

/**
 * Checks the byte form of a decoded PUBLISH topic for wildcards: UTF-8 continuation and lead bytes are all
 * >= 0x80, so a '+' or '#' byte is always that character.
 */
export function topicBytesHaveWildcard(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b === PLUS || b === HASH) return true;
  }
  return false;
}

function checkCommon(s: string, what: string): number {
  if (s.length === 0) throw invalid(`${what} must be at least one character`, 'MQTT-4.7.3-1');
  const bytes = utf8Length(s);
  if (bytes === HAS_NUL) throw invalid(`${what} must not contain U+0000`, 'MQTT-4.7.3-2');
  if (bytes === LONE_SURROGATE) throw invalid(`${what} contains an unpaired surrogate (not UTF-8 encodable)`, 'MQTT-1.5.3-1');
  if (bytes > 0xffff) throw invalid(`${what} is ${bytes} bytes in UTF-8; the limit is 65535`, 'MQTT-4.7.3-3');
  return bytes;
}

function invalid(message: string, statement?: string): MqttProtocolError {
  return new MqttProtocolError('INVALID_TOPIC', message, statement);
}

/** Throws MqttProtocolError INVALID_TOPIC unless `topic` is a valid Topic Name (what PUBLISH carries). */
export function validateTopicName(topic: string): void {
  checkTopicName(topic);
}

/** Throws MqttProtocolError INVALID_TOPIC unless `filter` is a valid Topic Filter (what SUBSCRIBE carries). */
export function validateTopicFilter(filter: string): void {
  checkTopicFilter(filter);
}

/** Whether `topic` is a valid Topic Name: not empty, no wildcards, no U+0000, encodable UTF-8 of at most 65535 bytes. */
export function isValidTopicName(topic: string): boolean {
  try {
    checkTopicName(topic);
    return true;
  } catch {
    return false;
  }
}

/** Whether `filter` is a valid Topic Filter: as a topic name, but `+` and `#` allowed as whole levels, `#` only last. */
export function isValidTopicFilter(filter: string): boolean {
  try {
    checkTopicFilter(filter);
    return true;
  } catch {
    return false;
  }
}

/**
 * Does Topic Name `topic` match Topic Filter `filter` (section 4.7)? Both are assumed valid (validate them
 * where they enter); matching is exact, with no normalisation [MQTT-4.7.3-4].
 * - `+` matches exactly one level, possibly empty: `a/+` matches `a/`.
 * - `#` matches the parent level and any number of child levels: `a/#` matches `a`, `a/b`, `a/b/c`.
 * - Topics starting with `$` are not matched by a filter starting with a wildcard [MQTT-4.7.2-1].
 */
export function topicMatches(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  if (tl > 0 && fl > 0 && topic.charCodeAt(0) === DOLLAR) {
    const f0 = filter.charCodeAt(0);
    if (f0 === PLUS || f0 === HASH) return false;
  }
  let fi = 0;
  let ti = 0;
  while (fi < fl) {
    const c = filter.charCodeAt(fi);
    if (c === HASH) return true;
    if (c === PLUS) {
      while (ti < tl && topic.charCodeAt(ti) !== SLASH) ti++;
      fi++;
      continue;
    }
    if (ti < tl && topic.charCodeAt(ti) === c) {
      fi++;
      ti++;
      continue;
    }
    // The topic ended where the filter has '/#' left: '#' also matches the parent level.
    return ti === tl && c === SLASH && fi + 2 === fl && filter.charCodeAt(fi + 1) === HASH;
  }
  return ti === tl;
}
