/**
 * The client codec as the conformance tests see it at one protocol level: decode what a server sends, encode what
 * the client sends, the error of each refusal, and builders of the packets the tests vary. codec.test.ts (3.1.1)
 * and codec5.test.ts (MQTT 5) use the same ones, each at its own level.
 */
import { expect } from 'vitest';
import { encode, MqttProtocolError, type ConnectPacket, type Packet, type ProtocolLevel, type PublishPacket, type Subscription } from '../../src/codec/index.js';
import { FrameDecoder } from '../../src/codec/decoder.js';
import { parseFromServer } from '../../src/codec/parse.js';
import { hex, toHex, utf8 } from '../helpers/mqtt-bytes.js';

export function codecAt(level: ProtocolLevel) {
  /** What the client's decoder makes of `bytes` from a server. */
  const decode = (bytes: Uint8Array | string): Packet[] =>
    new FrameDecoder(level === 5 ? { protocolLevel: 5 } : {}, parseFromServer).push(typeof bytes === 'string' ? hex(bytes) : bytes);

  /** The MqttProtocolError the client's decoder throws for `bytes`; fails if it accepts them. */
  const rejected = (bytes: Uint8Array | string): MqttProtocolError => {
    let packets: Packet[] | undefined;
    try {
      packets = decode(bytes);
    } catch (err) {
      expect(err).toBeInstanceOf(MqttProtocolError);
      return err as MqttProtocolError;
    }
    throw new Error(`decoded ${JSON.stringify(packets)} from ${typeof bytes === 'string' ? bytes : toHex(bytes)}, expected a protocol error`);
  };

  /** The MqttProtocolError encode() throws for `packet` at this level; fails if it writes it. */
  const refused = (packet: unknown): MqttProtocolError => {
    let bytes: Uint8Array | undefined;
    try {
      bytes = encode(packet as Packet, level);
    } catch (err) {
      expect(err).toBeInstanceOf(MqttProtocolError);
      return err as MqttProtocolError;
    }
    throw new Error(`encoded ${JSON.stringify(packet)} as ${toHex(bytes)}, expected a refusal`);
  };

  const bytesOf = (p: Packet): string => toHex(encode(p, level));
  const publish = (topic: string, extra: Partial<PublishPacket> = {}): PublishPacket => ({ type: 'publish', topic, payload: utf8('x'), qos: 0, retain: false, dup: false, ...extra });
  const connect = (extra: Partial<ConnectPacket> = {}): ConnectPacket => ({ type: 'connect', protocolName: 'MQTT', protocolLevel: level, clientId: 'c', clean: true, keepalive: 0, ...extra });
  /** A SUBSCRIBE of QoS 0 filters; `options` (MQTT 5 subscription options, or anything a test wants to try) go on each. */
  const subscribe = (filters: string | string[], options: Partial<Subscription> | Record<string, unknown> = {}): Packet =>
    ({ type: 'subscribe', packetId: 1, subscriptions: [filters].flat().map((topicFilter) => ({ topicFilter, qos: 0, ...options })) }) as Packet;
  const unsubscribe = (...topicFilters: string[]): Packet => ({ type: 'unsubscribe', packetId: 1, topicFilters });

  /** Every string field a client sends at this level, holding `s`. */
  const everyClientString = (s: string): [string, Packet][] => [
    ['PUBLISH topic', publish(`a${s}`)],
    ['SUBSCRIBE filter', subscribe(`a${s}`)],
    ['UNSUBSCRIBE filter', unsubscribe(`a${s}`)],
    ['CONNECT client id', connect({ clientId: `a${s}` })],
    ['CONNECT user name', connect({ username: `a${s}` })],
    ['CONNECT will topic', connect({ will: { topic: `a${s}`, payload: utf8('w'), qos: 0, retain: false } })],
    ...(level === 5
      ? ([
          ['Content Type', publish('a', { properties: { contentType: `a${s}` } })],
          ['Response Topic', publish('a', { properties: { responseTopic: `a${s}` } })],
          ['User Property', publish('a', { properties: { userProperties: [['k', `a${s}`]] } })],
          ['PUBACK Reason String', { type: 'puback', packetId: 1, reasonCode: 0x80, properties: { reasonString: `a${s}` } }],
          ['AUTH Authentication Method', { type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: `a${s}` } }],
        ] as [string, Packet][])
      : []),
  ];

  return { decode, rejected, refused, bytesOf, publish, connect, subscribe, unsubscribe, everyClientString };
}
