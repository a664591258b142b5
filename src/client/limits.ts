import type { QoS } from '../codec/packets.js';
import type { Limits } from '../session/session.js';

/**
 * The limits in force on a connection as `client.limits` shows them, with MQTT 5's names: what the
 * broker's CONNACK announced, or the spec's defaults where it said nothing (and at 3.1.1, where
 * CONNACK carries none of them).
 */
export interface ConnectionLimits {
  /** The broker's Receive Maximum: QoS 1 and 2 publishes it takes unacknowledged (65535 when unannounced). */
  readonly receiveMaximum: number;
  /** The highest QoS the broker accepts in a publish; above it publish() rejects at the call. */
  readonly maximumQoS: QoS;
  /** Whether the broker keeps retained messages; if not, a retained publish() rejects at the call. */
  readonly retainAvailable: boolean;
  /** The largest packet we send, in bytes: the smaller of the broker's Maximum Packet Size and our maxPacketSize. */
  readonly maximumPacketSize: number;
  /** The highest topic alias the broker accepts from us (0: none). */
  readonly topicAliasMaximum: number;
  /** The keepalive in force, in seconds: the broker's Server Keep Alive, or ours. */
  readonly serverKeepAlive: number;
  /** Whether the broker takes wildcard filters; if not, such a subscribe() rejects at the call. */
  readonly wildcardSubscriptionAvailable: boolean;
  /** Always false at 3.1.1, which has no subscription identifiers. */
  readonly subscriptionIdentifiersAvailable: boolean;
  /** False at 3.1.1: shared subscriptions are an MQTT 5 feature (a 3.1.1 broker may still offer them). */
  readonly sharedSubscriptionAvailable: boolean;
  /** The client identifier the broker assigned (we sent an empty one), if it did. */
  readonly assignedClientIdentifier: string | undefined;
}

export function connectionLimits(l: Readonly<Limits>): ConnectionLimits {
  return Object.freeze({
    receiveMaximum: l.receiveMaximum,
    maximumQoS: l.maximumQoS,
    retainAvailable: l.retainAvailable,
    maximumPacketSize: l.maxPacketSize,
    topicAliasMaximum: l.topicAliasMaximum,
    serverKeepAlive: l.keepalive,
    wildcardSubscriptionAvailable: l.wildcardSubscriptionAvailable,
    subscriptionIdentifiersAvailable: l.subscriptionIdentifiersAvailable,
    sharedSubscriptionAvailable: l.sharedSubscriptionAvailable,
    assignedClientIdentifier: l.assignedClientIdentifier,
  });
}
