import type { PublishPacket, QoS } from './codec/packets.js';

const utf8 = new TextDecoder();

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

  constructor(packet: PublishPacket) {
    this.topic = packet.topic;
    this.payload = packet.payload;
    this.qos = packet.qos;
    this.retain = packet.retain;
    this.dup = packet.dup;
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
