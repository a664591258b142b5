/**
 * mqtt-packet 9.0.2's own fixtures (test/fixtures/conformance/mqtt-packet-fixtures.json): reading them, and the
 * adapter from mqtt-packet's packet objects to ours, for the 3.1.1 and the MQTT 5 conformance tests.
 */
import type { Packet } from '../../src/codec/index.js';
import { fromHex, utf8 } from './arbitraries.js';

export type FixtureBytes = { $hex: string } | { $len: number; $fill: number | null; $headHex: string };
export interface Fixture {
  kind: string;
  args: unknown[];
}
export type MpObject = Record<string, unknown>;

export const isHex = (v: unknown): v is { $hex: string } => typeof v === 'object' && v !== null && '$hex' in v;
export const isBig = (v: unknown): v is { $len: number; $fill: number | null; $headHex: string } =>
  typeof v === 'object' && v !== null && '$len' in v;

/** The fixtures about MQTT 5: a protocolVersion 5 option or packet, or properties. */
export const isMqtt5 = (f: Fixture): boolean => {
  const s = JSON.stringify(f.args);
  return s.includes('"protocolVersion":5') || s.includes('"properties":');
};

export const fixtureName = (f: Fixture & { index: number }): string =>
  `#${f.index} ${f.kind === 'testGenerateErrorMultipleCmds' ? String(f.args[1]) : String(f.args[0])}`;

/** Materialises fixture bytes. `{ $len, $fill, $headHex }` (the 256 MiB fixtures) is head + fill (0 if null). */
export function fixtureBytes(v: FixtureBytes): Uint8Array {
  if (isHex(v)) return fromHex(v.$hex);
  const out = new Uint8Array(v.$len);
  if (v.$fill) out.fill(v.$fill);
  out.set(fromHex(v.$headHex));
  return out;
}

/** mqtt-packet strings may be Buffers (`{ $hex }`); other values pass through untouched (generate errors). */
function mpString(v: unknown): unknown {
  return isHex(v) ? new TextDecoder().decode(fromHex(v.$hex)) : v;
}
/** mqtt-packet byte fields may be strings (UTF-8) or Buffers. */
function mpBytes(v: unknown): unknown {
  if (isHex(v) || isBig(v)) return fixtureBytes(v);
  if (typeof v === 'string') return utf8(v);
  return v;
}

/**
 * mqtt-packet's MQTT 5 properties to ours: userProperties `{ name: value | value[] }` become [name, value]
 * pairs (mqtt-packet writes them grouped by name, in key order, which is the order on the wire), binary data
 * becomes bytes, and PUBLISH's subscriptionIdentifier (a number or an array) becomes subscriptionIdentifiers.
 */
function mpProperties(o: unknown, cmd: string): unknown {
  if (typeof o !== 'object' || o === null) return o;
  const out: MpObject = {};
  for (const [k, v] of Object.entries(o as MpObject)) {
    if (k === 'userProperties') {
      out.userProperties = Object.entries(v as MpObject).flatMap(([name, value]) =>
        (Array.isArray(value) ? value : [value]).map((x) => [name, x]),
      );
    } else if (k === 'correlationData' || k === 'authenticationData') {
      out[k] = mpBytes(v);
    } else if (k === 'subscriptionIdentifier' && cmd === 'publish') {
      out.subscriptionIdentifiers = Array.isArray(v) ? v : [v];
    } else {
      out[k] = v;
    }
  }
  return out;
}

/**
 * The adapter: an mqtt-packet packet object (its field names: cmd, messageId, protocolId, protocolVersion,
 * granted, unsubscriptions, reasonCode, nl/rap/rh...) to ours. `v5`: the object is an MQTT 5 packet (reason
 * codes, subscription options; an ack without reasonCode has reason code 0). Values are not validated, so
 * generate-error fixtures keep their bad values and reach `encode` as a JavaScript caller would pass them.
 */
export function fromMqttPacket(o: MpObject, v5 = false): Packet {
  const p = fromMqttPacketFields(o, v5) as MpObject;
  if (o.properties !== undefined) p.properties = mpProperties(o.properties, String(o.cmd));
  return p as unknown as Packet;
}

function fromMqttPacketFields(o: MpObject, v5: boolean): unknown {
  const id = o.messageId;
  switch (o.cmd) {
    case 'connect': {
      const p: MpObject = {
        type: 'connect',
        protocolName: o.protocolId ?? 'MQTT',
        protocolLevel: o.protocolVersion ?? 4,
        clientId: mpString(o.clientId),
        clean: o.clean ?? true,
        keepalive: o.keepalive ?? 0,
      };
      if (o.username !== undefined) p.username = mpString(o.username);
      if (o.password !== undefined) p.password = mpBytes(o.password);
      if (o.will !== undefined) {
        const w = o.will as MpObject;
        p.will =
          typeof w === 'object' && w !== null
            ? { topic: w.topic, payload: mpBytes(w.payload), qos: w.qos ?? 0, retain: w.retain ?? false }
            : w;
        if (typeof w === 'object' && w !== null && w.properties !== undefined) {
          (p.will as MpObject).properties = mpProperties(w.properties, 'will');
        }
      }
      if (o.bridgeMode === true) p.protocolLevel = (p.protocolLevel as number) | 0x80;
      return p;
    }
    case 'connack':
      return { type: 'connack', sessionPresent: o.sessionPresent ?? false, returnCode: v5 ? o.reasonCode : o.returnCode };
    case 'publish': {
      const qos = (o.qos ?? 0) as number;
      const p: MpObject = {
        type: 'publish',
        topic: mpString(o.topic),
        payload: mpBytes(o.payload ?? new Uint8Array(0)),
        qos,
        retain: o.retain ?? false,
        dup: o.dup ?? false,
      };
      if (qos > 0) p.packetId = id;
      return p;
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return v5 ? { type: o.cmd, packetId: id, reasonCode: o.reasonCode ?? 0 } : { type: o.cmd, packetId: id };
    case 'unsuback':
      return v5 ? { type: 'unsuback', packetId: id, reasonCodes: o.granted } : { type: 'unsuback', packetId: id };
    case 'subscribe':
      return {
        type: 'subscribe',
        packetId: id,
        subscriptions: (o.subscriptions as MpObject[]).map((s) =>
          v5
            ? { topicFilter: s.topic, qos: s.qos, noLocal: s.nl ?? false, retainAsPublished: s.rap ?? false, retainHandling: s.rh ?? 0 }
            : { topicFilter: s.topic, qos: s.qos },
        ),
      };
    case 'suback':
      return { type: 'suback', packetId: id, returnCodes: o.granted };
    case 'unsubscribe':
      return { type: 'unsubscribe', packetId: id, topicFilters: o.unsubscriptions };
    case 'disconnect':
    case 'auth':
      return v5 ? { type: o.cmd, reasonCode: o.reasonCode ?? 0 } : { type: o.cmd };
    case 'pingreq':
    case 'pingresp':
      return { type: o.cmd };
    default:
      return { ...o, type: o.cmd };
  }
}
