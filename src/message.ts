import type { PublishPacket, PublishProperties, QoS, UserProperties } from './codec/packets.js';

const utf8 = new TextDecoder();

/**
 * MQTT 5 message properties: what a publish may carry (`publish(topic, payload, { properties })`) and
 * what a received Message carries. Topic aliases and subscription identifiers are not among them: the
 * client handles those itself.
 */
export interface MessageProperties {
  /** Seconds the broker keeps the message for subscribers not yet served; the client also drops it from its offline queue once it has expired. */
  messageExpiryInterval?: number;
  /** A MIME type or any UTF-8 string the application agrees on. */
  contentType?: string;
  /** true: the payload is UTF-8 text (checked when publishing). */
  payloadFormatIndicator?: boolean;
  /** A topic name (no wildcards) for a response (request/response). */
  responseTopic?: string;
  /** Bytes the requester uses to match a response to its request. */
  correlationData?: Uint8Array;
  /** `[name, value]` pairs in order; a name may repeat. */
  userProperties?: UserProperties;
}

/** A received message's properties: no empty object is made for a message that had none. */
const NONE: Readonly<MessageProperties> = Object.freeze({});
const NO_IDS: readonly number[] = Object.freeze([]) as readonly number[];

/**
 * An application message as the subscriber sees it. `payload` may be a view into the bytes read
 * from the socket (no copy); it is yours to keep, and it is never reused by the client.
 */
export class Message {
  /** The topic it was published to (a topic name, never a filter). */
  readonly topic: string;
  /** The application message's bytes; `text()` and `json()` decode them. */
  readonly payload: Uint8Array;
  /** The QoS it was delivered with: the lower of the publisher's and the subscription's granted QoS. */
  readonly qos: QoS;
  /** Set on a retained message the broker sends because of a new subscription. */
  readonly retain: boolean;
  /** The broker says it may have sent this PUBLISH before (QoS 1 and 2 only). */
  readonly dup: boolean;
  /** MQTT 5: the message's properties as the broker forwarded them (an empty object at 3.1.1 or when it had none). */
  readonly properties: Readonly<MessageProperties>;
  /** MQTT 5: the identifiers of the subscriptions it matched, as the broker sent them (empty at 3.1.1). */
  readonly subscriptionIdentifiers: readonly number[];

  constructor(packet: PublishPacket) {
    this.topic = packet.topic;
    this.payload = packet.payload;
    this.qos = packet.qos;
    this.retain = packet.retain;
    this.dup = packet.dup;
    const p = packet.properties;
    // The 3.1.1 path shares two frozen empties: no allocation per message.
    this.properties = p ? applicationProperties(p) : NONE;
    this.subscriptionIdentifiers = p?.subscriptionIdentifiers ?? NO_IDS;
  }

  /** The payload decoded as UTF-8. */
  text(): string {
    return utf8.decode(this.payload);
  }

  /** The payload parsed as JSON (throws SyntaxError when it is not JSON). */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}

/** The application's properties of a received PUBLISH: without the topic alias and subscription identifiers (the client's). */
function applicationProperties(p: PublishProperties): MessageProperties {
  if (p.topicAlias === undefined && p.subscriptionIdentifiers === undefined) return p;
  const { topicAlias: _alias, subscriptionIdentifiers: _ids, ...rest } = p;
  return rest;
}
