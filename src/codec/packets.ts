/**
 * MQTT 3.1.1 control packets as plain objects, discriminated by `type`, with the spec's names.
 * Byte fields are Uint8Array (never Node's Buffer) so the codec runs in every JavaScript runtime.
 */

export type QoS = 0 | 1 | 2;

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
}

export interface ConnectPacket {
  type: 'connect';
  /** 'MQTT' for level 4 (3.1.1), 'MQIsdp' for level 3 (3.1). */
  protocolName: string;
  protocolLevel: number;
  clientId: string;
  clean: boolean;
  keepalive: number;
  username?: string;
  password?: Uint8Array;
  will?: Will;
}

export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  returnCode: number;
}

export interface PublishPacket {
  type: 'publish';
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present exactly when qos > 0. */
  packetId?: number;
}

export interface PubackPacket { type: 'puback'; packetId: number }
export interface PubrecPacket { type: 'pubrec'; packetId: number }
export interface PubrelPacket { type: 'pubrel'; packetId: number }
export interface PubcompPacket { type: 'pubcomp'; packetId: number }
export interface UnsubackPacket { type: 'unsuback'; packetId: number }

export interface Subscription {
  topicFilter: string;
  qos: QoS;
}

export interface SubscribePacket {
  type: 'subscribe';
  packetId: number;
  subscriptions: Subscription[];
}

export interface SubackPacket {
  type: 'suback';
  packetId: number;
  /** 0, 1, 2 (granted QoS) or 0x80 (failure), one per requested filter in order. */
  returnCodes: number[];
}

export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: number;
  topicFilters: string[];
}

export interface PingreqPacket { type: 'pingreq' }
export interface PingrespPacket { type: 'pingresp' }
export interface DisconnectPacket { type: 'disconnect' }

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
  | DisconnectPacket;

export type PacketType = Packet['type'];

/** Packets that carry only a packet identifier. */
export type AckPacket = PubackPacket | PubrecPacket | PubrelPacket | PubcompPacket | UnsubackPacket;

/** Control packet type numbers from the fixed header (MQTT 3.1.1 section 2.2.1). */
export const PACKET_TYPE_CODES = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
} as const satisfies Record<PacketType, number>;
