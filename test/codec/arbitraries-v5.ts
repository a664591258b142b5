/**
 * fast-check arbitraries for every valid MQTT 5 control packet, in the form the decoder gives back (so a round
 * trip compares equal): acks, DISCONNECT and AUTH always carry `reasonCode`, subscriptions all three options,
 * and `properties` is absent or has at least one property (an empty one decodes as absent).
 *
 * "Valid" as in arbitraries.ts, plus MQTT 5's rules: each packet type's own reason codes (Table 2-6), properties
 * only where Table 2-4 allows them and once each but User Property (and PUBLISH's Subscription Identifier);
 * Receive Maximum, Maximum Packet Size, Topic Alias and Subscription Identifiers non-zero; Maximum QoS 0 or 1;
 * Authentication Data only with an Authentication Method; an empty PUBLISH topic only with a Topic Alias; No Local
 * never on a shared subscription ($share/<name>/<filter>, section 4.8.2).
 */
import fc from 'fast-check';
import type {
  AckProperties,
  AuthProperties,
  ConnackProperties,
  ConnectProperties,
  DisconnectProperties,
  Packet,
  PublishProperties,
  SubscribeProperties,
  Subscription,
  UserProperties,
  WillProperties,
} from '../../src/codec/index.js';
import { reasonCodeAllowed } from '../../src/codec/index.js';
import { mqttStringArb, packetIdArb, payloadArb, qosArb, topicFilterArb, topicNameArb } from './arbitraries.js';

const codesOf = (type: number): number[] => Array.from({ length: 256 }, (_, c) => c).filter((c) => reasonCodeAllowed(c, type));
const reasonCodeArb = (type: number): fc.Arbitrary<number> => fc.constantFrom(...codesOf(type));

const u16 = fc.integer({ min: 0, max: 0xffff });
const u16NonZero = fc.integer({ min: 1, max: 0xffff });
const u32 = fc.oneof(fc.nat(), fc.constantFrom(0, 0x80000000, 0xffffffff));
const u32NonZero = fc.oneof(fc.integer({ min: 1, max: 0x7fffffff }), fc.constantFrom(0x80000000, 0xffffffff));
const varint = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(127, 128, 16383, 16384, 2097151, 2097152, 268_435_455));
const str = mqttStringArb({ maxLength: 12 });
const bin = fc.uint8Array({ maxLength: 20 });

export const userPropertiesArb: fc.Arbitrary<UserProperties> = fc.array(
  fc.oneof(
    fc.tuple(str, str),
    // the same name again: order and repeats are kept [MQTT-3.3.2-18]
    fc.tuple(fc.constant('k'), str),
  ),
  { minLength: 1, maxLength: 4 },
);

/** `properties` absent, or an object of some of `fields` (never an empty one). */
function propertiesArb<T extends object>(fields: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T | undefined> {
  return fc.option(
    fc.record(fields, { requiredKeys: [] }).filter((p) => Object.keys(p).length > 0),
    { nil: undefined, freq: 2 },
  ) as fc.Arbitrary<T | undefined>;
}

/** Authentication Data only with a method (3.1.2.11.10 and its like). */
const withAuthRule = <T extends { authenticationMethod?: string; authenticationData?: Uint8Array }>(p: T | undefined): T | undefined => {
  if (p === undefined || p.authenticationData === undefined || p.authenticationMethod !== undefined) return p;
  const { authenticationData: _, ...rest } = p;
  return Object.keys(rest).length > 0 ? (rest as T) : undefined;
};

const messageProperties = {
  payloadFormatIndicator: fc.boolean(),
  messageExpiryInterval: u32,
  contentType: str,
  responseTopic: topicNameArb,
  correlationData: bin,
  userProperties: userPropertiesArb,
};

const connectPropertiesArb = propertiesArb<ConnectProperties>({
  sessionExpiryInterval: u32,
  receiveMaximum: u16NonZero,
  maximumPacketSize: u32NonZero,
  topicAliasMaximum: u16,
  requestResponseInformation: fc.boolean(),
  requestProblemInformation: fc.boolean(),
  userProperties: userPropertiesArb,
  authenticationMethod: str,
  authenticationData: bin,
}).map(withAuthRule);

const willPropertiesArb = propertiesArb<WillProperties>({ willDelayInterval: u32, ...messageProperties });

const connackPropertiesArb = propertiesArb<ConnackProperties>({
  sessionExpiryInterval: u32,
  receiveMaximum: u16NonZero,
  maximumQoS: fc.constantFrom<0 | 1>(0, 1),
  retainAvailable: fc.boolean(),
  maximumPacketSize: u32NonZero,
  assignedClientIdentifier: str,
  topicAliasMaximum: u16,
  reasonString: str,
  userProperties: userPropertiesArb,
  wildcardSubscriptionAvailable: fc.boolean(),
  subscriptionIdentifiersAvailable: fc.boolean(),
  sharedSubscriptionAvailable: fc.boolean(),
  serverKeepAlive: u16,
  responseInformation: str,
  serverReference: str,
  authenticationMethod: str,
  authenticationData: bin,
}).map(withAuthRule);

const publishPropertiesArb = propertiesArb<PublishProperties>({
  ...messageProperties,
  topicAlias: u16NonZero,
  subscriptionIdentifiers: fc.array(varint, { minLength: 1, maxLength: 3 }),
});

const ackPropertiesArb = propertiesArb<AckProperties>({ reasonString: str, userProperties: userPropertiesArb });

export const connect5Arb: fc.Arbitrary<Packet> = fc
  .record({
    clientId: mqttStringArb({ maxLength: 23 }),
    clean: fc.boolean(),
    keepalive: u16,
    username: fc.option(str, { nil: undefined }),
    // MQTT 5 allows a password without a user name (3.1.2.9)
    password: fc.option(bin, { nil: undefined }),
    will: fc.option(
      fc.record({ topic: topicNameArb, payload: payloadArb, qos: qosArb, retain: fc.boolean(), properties: willPropertiesArb }),
      { nil: undefined },
    ),
    properties: connectPropertiesArb,
  })
  .map(({ username, password, will, properties, ...rest }) => {
    const p: Record<string, unknown> = { type: 'connect', protocolName: 'MQTT', protocolLevel: 5, ...rest };
    if (username !== undefined) p.username = username;
    if (password !== undefined) p.password = password;
    if (will !== undefined) {
      const { properties: willProperties, ...w } = will;
      p.will = willProperties === undefined ? w : will;
    }
    if (properties !== undefined) p.properties = properties;
    return p as unknown as Packet;
  });

export const connack5Arb: fc.Arbitrary<Packet> = fc
  .tuple(fc.boolean(), reasonCodeArb(2), connackPropertiesArb)
  .map(([sessionPresent, returnCode, properties]) => ({
    type: 'connack' as const,
    sessionPresent: returnCode === 0 ? sessionPresent : false,
    returnCode,
    ...(properties && { properties }),
  }));

export const publish5Arb: fc.Arbitrary<Packet> = fc
  .tuple(topicNameArb, payloadArb, qosArb, fc.boolean(), fc.boolean(), packetIdArb, publishPropertiesArb, fc.boolean())
  .map(([topic, payload, qos, retain, dup, packetId, properties, dropTopic]) => {
    const p: Extract<Packet, { type: 'publish' }> = { type: 'publish', topic, payload, qos, retain, dup: qos > 0 ? dup : false };
    if (qos > 0) p.packetId = packetId;
    if (properties) p.properties = properties;
    // With a Topic Alias the topic name may be empty (3.3.2.3.4).
    if (dropTopic && properties?.topicAlias !== undefined) p.topic = '';
    return p;
  });

const ackArb = (type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', number: number): fc.Arbitrary<Packet> =>
  fc.tuple(packetIdArb, reasonCodeArb(number), ackPropertiesArb).map(([packetId, reasonCode, properties]) => ({
    type,
    packetId,
    reasonCode,
    ...(properties && { properties }),
  }));

const shareNameArb = fc.string({ unit: fc.constantFrom(...'abcxyz09_-$'), minLength: 1, maxLength: 6 });
const plainFilterArb = topicFilterArb.filter((f) => !f.startsWith('$share/'));

const subscriptionArb: fc.Arbitrary<Subscription> = fc.oneof(
  fc.record({
    topicFilter: plainFilterArb,
    qos: qosArb,
    noLocal: fc.boolean(),
    retainAsPublished: fc.boolean(),
    retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
  }),
  // a shared subscription: No Local must be 0 [MQTT-3.8.3-4]
  fc.record({
    topicFilter: fc.tuple(shareNameArb, plainFilterArb).map(([name, filter]) => `$share/${name}/${filter}`),
    qos: qosArb,
    noLocal: fc.constant(false),
    retainAsPublished: fc.boolean(),
    retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
  }),
);

export const subscribe5Arb: fc.Arbitrary<Packet> = fc
  .tuple(packetIdArb, fc.array(subscriptionArb, { minLength: 1, maxLength: 5 }), propertiesArb<SubscribeProperties>({ subscriptionIdentifier: varint, userProperties: userPropertiesArb }))
  .map(([packetId, subscriptions, properties]) => ({ type: 'subscribe' as const, packetId, subscriptions, ...(properties && { properties }) }));

export const suback5Arb: fc.Arbitrary<Packet> = fc
  .tuple(packetIdArb, fc.array(reasonCodeArb(9), { minLength: 1, maxLength: 8 }), ackPropertiesArb)
  .map(([packetId, returnCodes, properties]) => ({ type: 'suback' as const, packetId, returnCodes, ...(properties && { properties }) }));

export const unsubscribe5Arb: fc.Arbitrary<Packet> = fc
  .tuple(packetIdArb, fc.array(fc.oneof(plainFilterArb, fc.constant('$share/g/a/#')), { minLength: 1, maxLength: 5 }), propertiesArb({ userProperties: userPropertiesArb }))
  .map(([packetId, topicFilters, properties]) => ({ type: 'unsubscribe' as const, packetId, topicFilters, ...(properties && { properties }) }));

export const unsuback5Arb: fc.Arbitrary<Packet> = fc
  .tuple(packetIdArb, fc.array(reasonCodeArb(11), { minLength: 1, maxLength: 8 }), ackPropertiesArb)
  .map(([packetId, reasonCodes, properties]) => ({ type: 'unsuback' as const, packetId, reasonCodes, ...(properties && { properties }) }));

export const disconnect5Arb: fc.Arbitrary<Packet> = fc
  .tuple(
    reasonCodeArb(14),
    propertiesArb<DisconnectProperties>({ sessionExpiryInterval: u32, reasonString: str, userProperties: userPropertiesArb, serverReference: str }),
  )
  .map(([reasonCode, properties]) => ({ type: 'disconnect' as const, reasonCode, ...(properties && { properties }) }));

export const auth5Arb: fc.Arbitrary<Packet> = fc
  .tuple(
    reasonCodeArb(15),
    propertiesArb<AuthProperties>({ authenticationMethod: str, authenticationData: bin, reasonString: str, userProperties: userPropertiesArb }).map(withAuthRule),
  )
  .map(([reasonCode, properties]) => ({ type: 'auth' as const, reasonCode, ...(properties && { properties }) }));

/** One arbitrary per MQTT 5 packet type. */
export const packet5ArbsByType = {
  connect: connect5Arb,
  connack: connack5Arb,
  publish: publish5Arb,
  puback: ackArb('puback', 4),
  pubrec: ackArb('pubrec', 5),
  pubrel: ackArb('pubrel', 6),
  pubcomp: ackArb('pubcomp', 7),
  subscribe: subscribe5Arb,
  suback: suback5Arb,
  unsubscribe: unsubscribe5Arb,
  unsuback: unsuback5Arb,
  pingreq: fc.constant<Packet>({ type: 'pingreq' }),
  pingresp: fc.constant<Packet>({ type: 'pingresp' }),
  disconnect: disconnect5Arb,
  auth: auth5Arb,
} satisfies Record<Packet['type'], fc.Arbitrary<Packet>>;

/** Any valid MQTT 5 packet; PUBLISH weighted up, as in real traffic. */
export const packet5Arb: fc.Arbitrary<Packet> = fc.oneof(
  ...Object.entries(packet5ArbsByType).map(([name, arbitrary]) => ({ weight: name === 'publish' ? 4 : 1, arbitrary })),
);
