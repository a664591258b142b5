/**
 * MQTT control packets as plain objects, discriminated by `type`, with the spec's names: the MQTT 3.1.1
 * packets, and the fields MQTT 5.0 adds to them (all optional, marked "MQTT 5"), plus AUTH (MQTT 5 only).
 * Byte fields are Uint8Array (never Node's Buffer) so the codec runs in every JavaScript runtime.
 *
 * One shape serves both versions, so the session handles one set of packets. The v5 fields are read and
 * written only when the codec works at protocol level 5 (`encode(packet, 5)`, `PacketDecoder({ protocolLevel:
 * 5 })`); at levels 3 and 4 they are ignored when encoding and never set when decoding.
 *
 * Naming: a field the 3.1.1 packet already had keeps its name in v5 even where the v5 spec renamed it, so
 * code that reads it works at either level. CONNACK `returnCode` and SUBACK `returnCodes` carry the v5 spec's
 * "Reason Codes" at level 5: both versions use 0 for success and 0x80 and above for a refusal (SUBACK: the
 * granted QoS below 0x80), so "did it work" is the same test. Fields new in v5 take the v5 names:
 * `reasonCode` (PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH), `reasonCodes` (UNSUBACK), `properties`.
 */

/** Quality of Service: 0 at most once, 1 at least once, 2 exactly once. */
export type QoS = 0 | 1 | 2;

/** Protocol levels: 3 is MQTT 3.1, 4 is MQTT 3.1.1, 5 is MQTT 5.0. */
export type ProtocolLevel = 3 | 4 | 5;

// ---------------------------------------------------------------------------------------------------------
// MQTT 5 properties (section 2.2.2), one type per packet family with the spec's names in camelCase.
// A decoded packet has `properties` only when its Property Length was not 0.

/** User Properties (0x26) in wire order; a name may repeat [MQTT-3.3.2-18]. */
export type UserProperties = [name: string, value: string][];

/** MQTT 5: the CONNECT Properties (section 3.1.2.11). */
export interface ConnectProperties {
  /** 0x11, seconds; 0xFFFFFFFF means the session never expires. */
  sessionExpiryInterval?: number;
  /** 0x21, 1..65535: QoS 1 and 2 PUBLISHes the client takes unacknowledged. */
  receiveMaximum?: number;
  /** 0x27, 1..4294967295 bytes: the largest packet the client accepts. */
  maximumPacketSize?: number;
  /** 0x22: the highest Topic Alias the client accepts (0: none). */
  topicAliasMaximum?: number;
  /** 0x19 (a byte 0 or 1 on the wire). */
  requestResponseInformation?: boolean;
  /** 0x17 (a byte 0 or 1 on the wire). */
  requestProblemInformation?: boolean;
  /** 0x26, in wire order. */
  userProperties?: UserProperties;
  /** 0x15 */
  authenticationMethod?: string;
  /** 0x16: only together with authenticationMethod. */
  authenticationData?: Uint8Array;
}

/** MQTT 5: the Will Properties of CONNECT (section 3.1.3.2), sent with the will message. */
export interface WillProperties {
  /** 0x18, seconds. */
  willDelayInterval?: number;
  /** 0x01: true when the payload is UTF-8 text (a byte 0 or 1 on the wire). */
  payloadFormatIndicator?: boolean;
  /** 0x02, seconds. */
  messageExpiryInterval?: number;
  /** 0x03 */
  contentType?: string;
  /** 0x08: a topic name, no wildcards [MQTT-3.3.2-14]. */
  responseTopic?: string;
  /** 0x09 */
  correlationData?: Uint8Array;
  /** 0x26, in wire order. */
  userProperties?: UserProperties;
}

/**
 * What the server announces in CONNACK: the limits in force for the connection (absent means the spec's
 * default: no Receive Maximum limit below 65535, QoS 2, retain available, no packet size limit, no topic
 * aliases, every feature available).
 */
export interface ConnackProperties {
  /** 0x11, seconds: the session expiry the server will use. */
  sessionExpiryInterval?: number;
  /** 0x21, 1..65535: QoS 1 and 2 PUBLISHes the server takes unacknowledged. */
  receiveMaximum?: number;
  /** 0x24: 0 or 1 (absent: 2). */
  maximumQoS?: 0 | 1;
  /** 0x25 */
  retainAvailable?: boolean;
  /** 0x27, 1..4294967295: the largest packet the server accepts. */
  maximumPacketSize?: number;
  /** 0x12: the client id the server assigned (the client sent an empty one). */
  assignedClientIdentifier?: string;
  /** 0x22: the highest Topic Alias the server accepts (absent or 0: none). */
  topicAliasMaximum?: number;
  /** 0x1F */
  reasonString?: string;
  /** 0x26, in wire order. */
  userProperties?: UserProperties;
  /** 0x28 */
  wildcardSubscriptionAvailable?: boolean;
  /** 0x29 */
  subscriptionIdentifiersAvailable?: boolean;
  /** 0x2A */
  sharedSubscriptionAvailable?: boolean;
  /** 0x13, seconds: the keep alive the client must use instead of its own [MQTT-3.2.2-21]. */
  serverKeepAlive?: number;
  /** 0x1A */
  responseInformation?: string;
  /** 0x1C */
  serverReference?: string;
  /** 0x15 */
  authenticationMethod?: string;
  /** 0x16 */
  authenticationData?: Uint8Array;
}

/** MQTT 5: the PUBLISH Properties (section 3.3.2.3). */
export interface PublishProperties {
  /** 0x01: true when the payload is UTF-8 text (a byte 0 or 1 on the wire). */
  payloadFormatIndicator?: boolean;
  /** 0x02, seconds. */
  messageExpiryInterval?: number;
  /** 0x23, 1..65535. With an alias the topic may be '' (the alias stands for it). */
  topicAlias?: number;
  /** 0x08: a topic name, no wildcards [MQTT-3.3.2-14]. */
  responseTopic?: string;
  /** 0x09 */
  correlationData?: Uint8Array;
  /** 0x26, in wire order. */
  userProperties?: UserProperties;
  /** 0x0B, each 1..268435455, in wire order: a server sends one per matching subscription that has one. */
  subscriptionIdentifiers?: number[];
  /** 0x03 */
  contentType?: string;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK carry these two. */
export interface AckProperties {
  /** 0x1F */
  reasonString?: string;
  /** 0x26, in wire order. */
  userProperties?: UserProperties;
}

/** MQTT 5: the SUBSCRIBE Properties (section 3.8.2.1). */
export interface SubscribeProperties {
  /** 0x0B, 1..268435455: given back on every PUBLISH this subscription matches. */
  subscriptionIdentifier?: number;
  /** 0x26, in wire order. */
  userProperties?: UserProperties;
}

/** MQTT 5: the UNSUBSCRIBE Properties (section 3.10.2.1): User Properties only. */
export interface UnsubscribeProperties {
  /** 0x26, in wire order. */
  userProperties?: UserProperties;
}

/** MQTT 5: the DISCONNECT Properties (section 3.14.2.2). */
export interface DisconnectProperties {
  /** 0x11, seconds (client to server only). */
  sessionExpiryInterval?: number;
  /** 0x1F */
  reasonString?: string;
  /** 0x26, in wire order. */
  userProperties?: UserProperties;
  /** 0x1C */
  serverReference?: string;
}

/** MQTT 5: the AUTH Properties (section 3.15.2.2). */
export interface AuthProperties {
  /** 0x15 */
  authenticationMethod?: string;
  /** 0x16: only together with authenticationMethod. */
  authenticationData?: Uint8Array;
  /** 0x1F */
  reasonString?: string;
  /** 0x26, in wire order. */
  userProperties?: UserProperties;
}

/** Every MQTT 5 property under its name (what any `properties` object may hold). */
export type Properties = ConnectProperties &
  WillProperties &
  ConnackProperties &
  PublishProperties &
  SubscribeProperties &
  DisconnectProperties &
  AuthProperties;

// ---------------------------------------------------------------------------------------------------------
// Packets

/** The will message of a CONNECT: published by the server if the connection ends without DISCONNECT. */
export interface Will {
  /** A topic name, no wildcards. */
  topic: string;
  /** The message (may be empty). */
  payload: Uint8Array;
  /** Will QoS. */
  qos: QoS;
  /** Will Retain. */
  retain: boolean;
  /** MQTT 5: the Will Properties. */
  properties?: WillProperties;
}

/** CONNECT (type 1), client to server: opens the session. */
export interface ConnectPacket {
  /** Discriminant. */
  type: 'connect';
  /** 'MQTT' for levels 4 (3.1.1) and 5 (5.0), 'MQIsdp' for level 3 (3.1). */
  protocolName: string;
  /** 3, 4 or 5. A CONNECT names its own level, so it is encoded and decoded by it, whatever level is set. */
  protocolLevel: number;
  /** Client Identifier; empty asks the server to assign one (in 3.1.1 only together with `clean`). */
  clientId: string;
  /** CleanSession (3.1.1) / Clean Start (5). */
  clean: boolean;
  /** Keep Alive, seconds (0: off). */
  keepalive: number;
  /** User Name. */
  username?: string;
  /** At levels 4 the user name must come with it; MQTT 3.1 and 5 allow a password alone. */
  password?: Uint8Array;
  /** The will message, if any. */
  will?: Will;
  /** MQTT 5 */
  properties?: ConnectProperties;
}

/** CONNACK (type 2), server to client: the answer to CONNECT. */
export interface ConnackPacket {
  /** Discriminant. */
  type: 'connack';
  /** The server resumed a session it kept for this client id. */
  sessionPresent: boolean;
  /**
   * 3.1.1: the Connect Return Code (0 accepted, 1..5 refused). MQTT 5: the Connect Reason Code (0 success,
   * 0x80 and above refused; see REASON_CODES). A level-5 decoder also reads the 3.1.1 CONNACK a server that
   * does not speak MQTT 5 answers with: returnCode 1, no properties (see docs/codec.md).
   */
  returnCode: number;
  /** MQTT 5 */
  properties?: ConnackProperties;
}

/** PUBLISH (type 3), either way: an application message. */
export interface PublishPacket {
  /** Discriminant. */
  type: 'publish';
  /** MQTT 5: may be '' when `properties.topicAlias` is set. */
  topic: string;
  /** The application message (may be empty). */
  payload: Uint8Array;
  /** QoS level of this delivery. */
  qos: QoS;
  /** RETAIN flag. */
  retain: boolean;
  /** DUP flag: a re-delivery of an earlier attempt (always false at QoS 0). */
  dup: boolean;
  /** Present exactly when qos > 0. */
  packetId?: number;
  /** MQTT 5 */
  properties?: PublishProperties;
}

/**
 * The MQTT 5 fields of PUBACK, PUBREC, PUBREL and PUBCOMP. A level-5 decoder always sets `reasonCode` (0 when
 * the packet left it out); encode leaves out what it can (reason code 0 and no properties: 4 bytes).
 */
interface AckFields {
  /** MQTT 5: the packet type's Reason Code (see REASON_CODES); 0 or absent is Success. */
  reasonCode?: number;
  /** MQTT 5 */
  properties?: AckProperties;
}

/** PUBACK (type 4): the answer to a QoS 1 PUBLISH. */
export interface PubackPacket extends AckFields {
  /** Discriminant. */
  type: 'puback';
  /** The packet identifier of the packet it answers. */
  packetId: number;
}
/** PUBREC (type 5): the first answer to a QoS 2 PUBLISH. */
export interface PubrecPacket extends AckFields {
  /** Discriminant. */
  type: 'pubrec';
  /** The packet identifier of the packet it answers. */
  packetId: number;
}
/** PUBREL (type 6): the answer to PUBREC, releasing the QoS 2 message. */
export interface PubrelPacket extends AckFields {
  /** Discriminant. */
  type: 'pubrel';
  /** The packet identifier of the packet it answers. */
  packetId: number;
}
/** PUBCOMP (type 7): the answer to PUBREL, completing the QoS 2 flow. */
export interface PubcompPacket extends AckFields {
  /** Discriminant. */
  type: 'pubcomp';
  /** The packet identifier of the packet it answers. */
  packetId: number;
}

/** UNSUBACK (type 11), server to client: the answer to UNSUBSCRIBE. */
export interface UnsubackPacket {
  /** Discriminant. */
  type: 'unsuback';
  /** The UNSUBSCRIBE's packet identifier. */
  packetId: number;
  /** MQTT 5 (required there): one UNSUBACK Reason Code per filter, in order. 3.1.1's UNSUBACK has none. */
  reasonCodes?: number[];
  /** MQTT 5 */
  properties?: AckProperties;
}

/** One entry of a SUBSCRIBE: a topic filter and its subscription options. */
export interface Subscription {
  /** A topic filter; wildcards allowed. */
  topicFilter: string;
  /** Requested QoS (MQTT 5: the Maximum QoS subscription option). */
  qos: QoS;
  /** MQTT 5: don't send me my own messages (not on a shared subscription [MQTT-3.8.3-4]). Default false. */
  noLocal?: boolean;
  /** MQTT 5: keep the RETAIN flag as published. Default false. */
  retainAsPublished?: boolean;
  /** MQTT 5: 0 send retained messages on subscribe (default), 1 only for a new subscription, 2 never. */
  retainHandling?: 0 | 1 | 2;
}

/** SUBSCRIBE (type 8), client to server. */
export interface SubscribePacket {
  /** Discriminant. */
  type: 'subscribe';
  /** Non-zero; the SUBACK carries it back. */
  packetId: number;
  /** At least one [MQTT-3.8.3-3]. */
  subscriptions: Subscription[];
  /** MQTT 5 */
  properties?: SubscribeProperties;
}

/** SUBACK (type 9), server to client: the answer to SUBSCRIBE. */
export interface SubackPacket {
  /** Discriminant. */
  type: 'suback';
  /** The SUBSCRIBE's packet identifier. */
  packetId: number;
  /**
   * One per requested filter, in order. 3.1.1: 0, 1, 2 (granted QoS) or 0x80 (failure). MQTT 5: the SUBACK
   * Reason Codes: 0, 1, 2 granted, 0x80 and above refused (see REASON_CODES).
   */
  returnCodes: number[];
  /** MQTT 5 */
  properties?: AckProperties;
}

/** UNSUBSCRIBE (type 10), client to server. */
export interface UnsubscribePacket {
  /** Discriminant. */
  type: 'unsubscribe';
  /** Non-zero; the UNSUBACK carries it back. */
  packetId: number;
  /** At least one [MQTT-3.10.3-2]. */
  topicFilters: string[];
  /** MQTT 5 */
  properties?: UnsubscribeProperties;
}

/** PINGREQ (type 12), client to server: keepalive. */
export interface PingreqPacket {
  /** Discriminant. */
  type: 'pingreq';
}
/** PINGRESP (type 13), server to client: the answer to PINGREQ. */
export interface PingrespPacket {
  /** Discriminant. */
  type: 'pingresp';
}

/** DISCONNECT (type 14): client to server in 3.1.1, either way in MQTT 5. */
export interface DisconnectPacket {
  /** Discriminant. */
  type: 'disconnect';
  /** MQTT 5: the DISCONNECT Reason Code (0 or absent: Normal disconnection). Always set by a level-5 decoder. */
  reasonCode?: number;
  /** MQTT 5 */
  properties?: DisconnectProperties;
}

/** MQTT 5 only: enhanced authentication (section 3.15). */
export interface AuthPacket {
  /** Discriminant. */
  type: 'auth';
  /** 0 Success, 0x18 Continue authentication, 0x19 Re-authenticate. */
  reasonCode: number;
  /** Authentication Method and Data, and the rest; absent when there are none. */
  properties?: AuthProperties;
}

/** Every control packet; narrow on `type`. */
export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

/** A packet's `type`: `'connect'`, `'connack'`, ... `'auth'`. */
export type PacketType = Packet['type'];

/** Packets that carry only a packet identifier in 3.1.1 (and reason codes and properties in MQTT 5). */
export type AckPacket = PubackPacket | PubrecPacket | PubrelPacket | PubcompPacket | UnsubackPacket;

/** Control packet type numbers from the fixed header (MQTT 3.1.1 section 2.2.1; AUTH is MQTT 5 only). */
export const PACKET_TYPE_CODES = {
  /** Client to server: connection request. */
  connect: 1,
  /** Server to client: connect acknowledgment. */
  connack: 2,
  /** Either way: publish message. */
  publish: 3,
  /** Either way: QoS 1 publish acknowledgment. */
  puback: 4,
  /** Either way: QoS 2 publish received (part 1). */
  pubrec: 5,
  /** Either way: QoS 2 publish release (part 2). */
  pubrel: 6,
  /** Either way: QoS 2 publish complete (part 3). */
  pubcomp: 7,
  /** Client to server: subscribe request. */
  subscribe: 8,
  /** Server to client: subscribe acknowledgment. */
  suback: 9,
  /** Client to server: unsubscribe request. */
  unsubscribe: 10,
  /** Server to client: unsubscribe acknowledgment. */
  unsuback: 11,
  /** Client to server: ping request. */
  pingreq: 12,
  /** Server to client: ping response. */
  pingresp: 13,
  /** Client to server (either way in MQTT 5): disconnect notification. */
  disconnect: 14,
  /** MQTT 5, either way: authentication exchange. */
  auth: 15,
} as const satisfies Record<PacketType, number>;
