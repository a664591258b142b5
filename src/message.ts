import type { PublishPacket, QoS } from './codec/packets.js';

const utf8 = new TextDecoder();

/**
 * An application message as the subscriber sees it. `payload` may be a view into the bytes read
 * from the socket (no copy); it is yours to keep, and it is never reused by the client.
 */
export class Message {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
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
