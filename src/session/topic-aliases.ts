/**
 * MQTT 5 topic aliases, both ways, for one network connection (section 3.3.2.3.4). No I/O: the session
 * makes a fresh pair on every CONNECT, since a mapping never outlives its connection (MQTT-3.3.2-7).
 *
 * - IncomingAliases resolves the broker's aliases within the Topic Alias Maximum we announced and turns
 *   every abuse (over our maximum, an unknown alias with no topic) into an MqttProtocolError carrying
 *   the reason code the DISCONNECT sends, never a crash.
 * - OutgoingAliases chooses which of our topics get one of the broker's aliases (`topicAliases: 'auto'`).
 */
import type { PublishPacket } from '../codec/packets.js';
import { MqttProtocolError } from '../errors.js';

/** The broker's aliases on this connection: alias -> topic, within our Topic Alias Maximum. */
export class IncomingAliases {
  private readonly topics = new Map<number, string>();

  /** `maximum`: the Topic Alias Maximum we sent in CONNECT (0: the broker may send none). */
  constructor(private readonly maximum: number) {}

  /**
   * Sets `packet.topic` from its alias when the topic is empty, and records the mapping when both are
   * given (a new topic for a known alias replaces it). Alias 0 never reaches here: the codec refuses it
   * with 0x94 (MQTT-3.3.2-8).
   */
  resolve(packet: PublishPacket, alias: number): void {
    if (alias > this.maximum) {
      throw new MqttProtocolError('TOPIC_ALIAS_INVALID', `the broker sent topic alias ${alias}; our Topic Alias Maximum is ${this.maximum}`, 'MQTT-3.3.2-11');
    }
    if (packet.topic !== '') {
      this.topics.set(alias, packet.topic);
      return;
    }
    const topic = this.topics.get(alias);
    // Section 3.3.2.3.4: an empty topic with an alias that has no mapping is a Protocol Error (0x82).
    if (topic === undefined) throw new MqttProtocolError('UNEXPECTED_PACKET', `the broker sent topic alias ${alias} with an empty topic before it said which topic the alias stands for`);
    packet.topic = topic;
  }
}

/** One topic the outgoing policy has seen recently. */
interface Candidate {
  /** Uses, decayed with age: the score at logical time `at`. */
  score: number;
  /** The publish count when `score` was last brought up to date. */
  at: number;
  /** The alias it holds (0: none). */
  alias: number;
}

/**
 * Which of our topics hold the broker's aliases. Each topic has a score: its uses, halved every
 * `halfLife` publishes (logical time, so no clock is needed). A topic gets a free alias on its second
 * recent use (a one-off publish never pays the three bytes of the property); once every alias is taken, a
 * topic takes the alias of the lowest-scored holder only when its own score is more than twice that
 * holder's. With more hot topics than aliases their scores stay close, so no alias changes hands over
 * and over (each change costs a full topic on the wire), while a topic that has really become hotter
 * still wins one. The table of topics seen is bounded: when it fills, the topics without an alias are
 * forgotten (amortised O(1) per publish).
 */
export class OutgoingAliases {
  private readonly seen = new Map<string, Candidate>();
  /** alias - 1 -> topic holding it. */
  private readonly holders: string[] = [];
  private now = 0;
  private readonly halfLife: number;
  private readonly capacity: number;
  /** How many times an alias changed hands (for tests and the debug log). */
  replacements = 0;

  /**
   * `maximum`: the broker's Topic Alias Maximum from CONNACK (0: it takes none, and nothing is aliased).
   * `fits`: whether a PUBLISH is within the broker's Maximum Packet Size; asked only when a topic would
   * take a new alias (the property adds 3 bytes to that one packet), which it then does not.
   */
  constructor(
    readonly maximum: number,
    private readonly fits: (packet: PublishPacket) => boolean = () => true,
  ) {
    this.halfLife = Math.max(64, 8 * maximum);
    this.capacity = Math.max(256, 4 * maximum);
  }

  /** The topic `alias` holds now (undefined when none). */
  topicOf(alias: number): string | undefined {
    return this.holders[alias - 1];
  }

  /**
   * The packet to write for `packet`: the same object when it goes out without an alias, otherwise a
   * copy with the Topic Alias property, and with an empty topic when the broker already knows the alias.
   * The caller's packet is never changed: a re-send after a reconnect must carry its full topic.
   */
  apply(packet: PublishPacket): PublishPacket {
    const topic = packet.topic;
    if (this.maximum === 0 || topic.length < MIN_TOPIC_LENGTH) return packet;
    const now = ++this.now;
    let c = this.seen.get(topic);
    if (c === undefined) {
      if (this.seen.size >= this.capacity) this.forgetUnaliased();
      c = { score: 1, at: now, alias: 0 };
      this.seen.set(topic, c);
      return packet;
    }
    c.score = this.decayed(c) + 1;
    c.at = now;
    if (c.alias !== 0) return withAlias(packet, '', c.alias);
    // Any alias number measures the same (two bytes): check before an alias changes hands.
    if (!this.fits(withAlias(packet, topic, 1))) return packet;
    const alias = this.claim(c);
    if (alias === 0) return packet;
    c.alias = alias;
    this.holders[alias - 1] = topic;
    return withAlias(packet, topic, alias);
  }

  /** An alias for `c`: a free one, or the weakest holder's when `c` has proven clearly hotter; 0 for none. */
  private claim(c: Candidate): number {
    if (this.holders.length < this.maximum) return this.holders.length + 1;
    let weakest = 0;
    let weakestScore = Infinity;
    for (let i = 0; i < this.holders.length; i++) {
      const holder = this.seen.get(this.holders[i] as string) as Candidate;
      const s = this.decayed(holder);
      if (s < weakestScore) {
        weakestScore = s;
        weakest = i + 1;
      }
    }
    if (!(c.score > REPLACE_RATIO * weakestScore)) return 0;
    const loser = this.seen.get(this.holders[weakest - 1] as string) as Candidate;
    loser.alias = 0;
    this.replacements++;
    return weakest;
  }

  private decayed(c: Candidate): number {
    return c.score * Math.pow(0.5, (this.now - c.at) / this.halfLife);
  }

  private forgetUnaliased(): void {
    for (const [topic, c] of this.seen) if (c.alias === 0) this.seen.delete(topic);
  }
}

/** Topics shorter than this gain nothing from an alias (two bytes of alias against their own bytes). */
const MIN_TOPIC_LENGTH = 3;
/** How much hotter a topic must be than an alias's holder to take it over. */
const REPLACE_RATIO = 2;

function withAlias(packet: PublishPacket, topic: string, topicAlias: number): PublishPacket {
  return { ...packet, topic, properties: { ...packet.properties, topicAlias } };
}
