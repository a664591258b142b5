import { describeValue, InvalidArgumentError, quote } from './errors.js';

/**
 * The names an options object may carry. An unknown name is refused rather than ignored: a
 * misspelt option, or one from another client (MQTT.js's `keepAlive`, `reconnectPeriod`), would
 * otherwise leave the default in force without a word.
 */
export interface KnownKeys {
  /** Names the error: "unknown publish option ...". */
  what: string;
  keys: readonly string[];
  /** Accepted but never listed or suggested: internal names (`@internal` options such as the tests' clock). */
  hidden?: readonly string[];
  /** Names the application may bring from elsewhere (MQTT.js, MQTT 5), with what to do instead. */
  foreign?: Readonly<Record<string, string>>;
}

/** SUBSCRIBE's own properties (MQTT.js's `properties`): the client assigns subscription identifiers itself. */
const MQTT5 = 'SUBSCRIBE properties are not an option: the client assigns subscription identifiers itself';

/** Throws InvalidArgumentError for a non-object, or naming every key `known` does not list. */
export function checkKeys(options: unknown, known: KnownKeys): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(`${known.what} options must be an object, got ${describeValue(options)}`);
  }
  // for...in rather than Object.keys: publish() runs this for every message, and this allocates nothing.
  let unknown: string[] | undefined;
  for (const key in options) {
    if (known.keys.includes(key) || known.hidden?.includes(key) || !Object.hasOwn(options, key)) continue;
    (unknown ??= []).push(`${quote(key)}${advice(key, known)}`);
  }
  // All of them at once: options brought from MQTT.js rarely come alone.
  if (unknown) throw new InvalidArgumentError(`unknown ${known.what} option${unknown.length > 1 ? 's' : ''} ${unknown.join('; ')}`);
}

function advice(key: string, known: KnownKeys): string {
  const foreign = known.foreign?.[key];
  if (foreign !== undefined) return `: ${foreign}`;
  const near = nearest(key, known.keys);
  return near === undefined ? ` (known: ${known.keys.join(', ')})` : `: did you mean ${quote(near)}?`;
}

/** The known name closest to `key` (case ignored), if it is close enough to be a slip of the keyboard. */
export function nearest(key: string, candidates: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance (insert, delete, substitute one character), on one row of memory. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

export const CALL_OPTIONS: KnownKeys = { what: 'call', keys: ['signal'] };

export const PUBLISH_OPTIONS: KnownKeys = {
  what: 'publish',
  keys: ['qos', 'retain', 'signal', 'properties'],
  foreign: {
    dup: 'the client sets DUP itself when it sends a message again',
    cbStorePut: 'publish() resolves when the message is acknowledged (QoS 1/2) or written (QoS 0)',
  },
};

/** A publish's MQTT 5 `properties`: the application's own (topic aliases and subscription identifiers are the client's). */
export const MESSAGE_PROPERTIES: KnownKeys = {
  what: 'publish properties',
  keys: ['messageExpiryInterval', 'contentType', 'payloadFormatIndicator', 'responseTopic', 'correlationData', 'userProperties'],
  foreign: {
    topicAlias: 'topic aliases are the client\'s own business',
    subscriptionIdentifiers: 'a client must not send subscription identifiers in a PUBLISH (MQTT-3.3.4-6)',
  },
};

export const SUBSCRIPTION_OPTIONS: KnownKeys = { what: 'subscription', keys: ['highWaterMark', 'overflow'] };

export const SUBSCRIBE_OPTIONS: KnownKeys = {
  what: 'subscribe',
  keys: ['qos', 'signal', 'highWaterMark', 'overflow', 'noLocal', 'retainAsPublished', 'retainHandling'],
  foreign: { nl: 'mqttwire calls it "noLocal"', rap: 'mqttwire calls it "retainAsPublished"', rh: 'mqttwire calls it "retainHandling"', properties: MQTT5 },
};

/** The value of each filter in `subscribe({ 'a/#': { qos: 1 } })`. */
export const FILTER_OPTIONS: KnownKeys = {
  what: 'topic filter',
  keys: ['qos', 'noLocal', 'retainAsPublished', 'retainHandling'],
  foreign: { nl: 'mqttwire calls it "noLocal"', rap: 'mqttwire calls it "retainAsPublished"', rh: 'mqttwire calls it "retainHandling"' },
};

export const END_OPTIONS: KnownKeys = { what: 'end', keys: ['timeout', 'signal', 'reasonCode', 'sessionExpiryInterval', 'reasonString', 'userProperties'] };
