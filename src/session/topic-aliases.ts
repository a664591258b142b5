/**
 * MQTT 5 topic aliases, both ways, for one network connection (section 3.3.2.3.4). No I/O: the session
 * makes a fresh pair on every CONNECT, since a mapping never outlives its connection (MQTT-3.3.2-7).
 *
 * - IncomingAliases resolves the broker's aliases within the Topic Alias Maximum we announced and turns
 *   every abuse (over our maximum, an unknown alias with no topic) into an MqttProtocolError carrying
 *   the reason code the DISCONNECT sends, never a crash.
 * - OutgoingAliases chooses which of our topics get one of the broker's aliases (`topicAliases: 'auto'`).
 */
import { WITH_TOPIC } from '../codec/encode-client.js';
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
  /**
   * Its uses, each weighted by when it came: a use at publish count t adds 2^(t / halfLife) (forward
   * decay). Dividing by 2^(now / halfLife) gives the decayed score (uses halved every halfLife
   * publishes); every candidate has the same divisor, so comparing weights compares scores, and a use
   * costs one addition: no exponent is computed per publish.
   */
  weight: number;
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
 *
 * A topic that holds its alias costs one Map lookup and one addition per publish, and nothing is
 * allocated: apply() returns the alias as a number for the encoder (encodeFromClient), never a packet.
 */
export class OutgoingAliases {
  private readonly seen = new Map<string, Candidate>();
  /** alias - 1 -> topic holding it. */
  private readonly holders: string[] = [];
  /** The weight a use adds now: 2^(publishes / halfLife), since the last rescale. */
  private unit = 1;
  /** What `unit` is multiplied by at each publish: 2^(1 / halfLife). */
  private readonly step: number;
  private readonly capacity: number;
  /** How many times an alias changed hands (for tests and the debug log). */
  replacements = 0;

  /**
   * `maximum`: the broker's Topic Alias Maximum from CONNACK (0: it takes none, and nothing is aliased).
   * `fits`: whether `packet` sent with its topic and alias `topicAlias` is within the broker's Maximum
   * Packet Size; asked only when a topic would take a new alias (the property adds 3 bytes to that one
   * packet), which it then does not.
   */
  constructor(
    readonly maximum: number,
    private readonly fits: (packet: PublishPacket, topicAlias: number) => boolean = () => true,
  ) {
    this.step = Math.pow(2, 1 / Math.max(64, 8 * maximum));
    this.capacity = Math.max(256, 4 * maximum);
  }

  /** The topic `alias` holds now (undefined when none). */
  topicOf(alias: number): string | undefined {
    return this.holders[alias - 1];
  }

  /**
   * How `packet` goes on the wire, as encodeFromClient() takes it: 0 without an alias; the alias alone
   * when the broker already knows it (the topic is left out); the alias with WITH_TOPIC set when the
   * topic takes it now (the topic and the alias both go). The packet itself is never changed: a
   * re-send after a reconnect must carry its full topic.
   */
  apply(packet: PublishPacket): number {
    const topic = packet.topic;
    if (this.maximum === 0 || topic.length < MIN_TOPIC_LENGTH) return 0;
    if ((this.unit *= this.step) > RESCALE_ABOVE) this.rescale();
    const c = this.seen.get(topic);
    if (c === undefined) {
      if (this.seen.size >= this.capacity) this.forgetUnaliased();
      this.seen.set(topic, { weight: this.unit, alias: 0 });
      return 0;
    }
    c.weight += this.unit;
    if (c.alias !== 0) return c.alias;
    const alias = this.candidateAlias(c);
    // The property's 3 bytes must keep this PUBLISH within the broker's Maximum Packet Size: checked
    // before an alias changes hands.
    if (alias === 0 || !this.fits(packet, alias | WITH_TOPIC)) return 0;
    const loser = this.holders[alias - 1];
    if (loser !== undefined) {
      (this.seen.get(loser) as Candidate).alias = 0;
      this.replacements++;
    }
    c.alias = alias;
    this.holders[alias - 1] = topic;
    return alias | WITH_TOPIC;
  }

  /** An alias `c` may take: a free one, or the weakest holder's when `c` has proven clearly hotter; 0 for none. */
  private candidateAlias(c: Candidate): number {
    if (this.holders.length < this.maximum) return this.holders.length + 1;
    let weakest = 0;
    let weakestWeight = Infinity;
    for (let i = 0; i < this.holders.length; i++) {
      const w = (this.seen.get(this.holders[i] as string) as Candidate).weight;
      if (w < weakestWeight) {
        weakestWeight = w;
        weakest = i + 1;
      }
    }
    return c.weight > REPLACE_RATIO * weakestWeight ? weakest : 0;
  }

  /** Brings every weight back near 1 before the numbers overflow (every 256 half-lives; O(topics seen)). */
  private rescale(): void {
    for (const c of this.seen.values()) c.weight /= this.unit;
    this.unit = 1;
  }

  private forgetUnaliased(): void {
    for (const [topic, c] of this.seen) if (c.alias === 0) this.seen.delete(topic);
  }
}

/** Topics shorter than this gain nothing from an alias (two bytes of alias against their own bytes). */
const MIN_TOPIC_LENGTH = 3;
/** How much hotter a topic must be than an alias's holder to take it over. */
const REPLACE_RATIO = 2;
/** 2^256: weights stay far below the largest double (about 2^1024) between rescales. */
const RESCALE_ABOVE = 2 ** 256;
