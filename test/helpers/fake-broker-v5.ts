/**
 * MQTT 5 on the byte-level fake broker: what the client writes is decoded at level 5, and what the test
 * sends is encoded at level 5, both by the codec (whose bytes test/codec checks against the spec's
 * vectors and mqtt-packet's fixtures), so a test states packets, not hex.
 */
import { encode, PacketDecoder } from '../../src/codec/index.js';
import type { ConnackProperties, ConnectPacket, Packet, PacketType } from '../../src/codec/packets.js';
import type { ClientOptions, MqttClient } from '../../src/index.js';
import type { Harness } from '../client/helpers.js';
import { within } from '../client/helpers.js';
import type { FakeBroker, FakeConnection } from './fake-broker.js';
import { ManualTimers } from './manual-timers.js';

/** The one packet in `bytes`, decoded as a server decodes it at level 5. */
export function decode5(bytes: Uint8Array): Packet {
  const packets = new PacketDecoder({ protocolLevel: 5 }).push(bytes);
  if (packets.length !== 1) throw new Error(`expected one packet, got ${packets.length}`);
  return packets[0]!;
}

/** Sends `packet` to the client, encoded at level 5. */
export function send5(conn: FakeConnection, packet: Packet): void {
  conn.write(encode(packet, 5));
}

/** The client's next packet, decoded; fails when it is not of `type`. */
export async function next5<T extends PacketType>(conn: FakeConnection, type: T, ms = 2000): Promise<Extract<Packet, { type: T }>> {
  const p = decode5(await conn.nextPacket(ms));
  if (p.type !== type) throw new Error(`expected ${type.toUpperCase()}, got ${JSON.stringify(p)}`);
  return p as Extract<Packet, { type: T }>;
}

/**
 * The client wrote nothing since the test's last read, shown without a time window: the answer to a
 * PUBREL nobody owes (its PUBCOMP) must be the very next packet, and anything the client was about to
 * write because of what happened before would come first.
 */
export async function expectQuiet5(conn: FakeConnection): Promise<void> {
  send5(conn, { type: 'pubrel', packetId: 0xfffe });
  const next = await next5(conn, 'pubcomp');
  if (next.packetId !== 0xfffe) throw new Error(`expected the probe's PUBCOMP, got ${JSON.stringify(next)}`);
}

/** A level-5 client (the results typed as MQTT 5's). */
export function client5(h: Harness, url: string, options: ClientOptions = {}): MqttClient<5> {
  return h.client(url, { ...options, protocolVersion: 5 }) as unknown as MqttClient<5>;
}

export interface Fake5 {
  c: MqttClient<5>;
  conn: FakeConnection;
  timers: ManualTimers;
  fake: FakeBroker;
  /** The CONNECT the client sent. */
  connect: ConnectPacket;
}

/** A level-5 client connected to a fresh fake broker that answered CONNACK 0 with `properties`; ManualTimers, keepalive off. */
export async function connectToFake5(h: Harness, options: ClientOptions = {}, properties?: ConnackProperties): Promise<Fake5> {
  const timers = new ManualTimers();
  const fake = await h.fake();
  const c = client5(h, fake.url, { keepalive: 0, timers, ...options });
  const connecting = c.connect();
  const conn = await fake.nextConnection();
  const connect = await next5(conn, 'connect');
  send5(conn, properties ? { type: 'connack', sessionPresent: false, returnCode: 0, properties } : { type: 'connack', sessionPresent: false, returnCode: 0 });
  await within(connecting, 2000, 'connect');
  return { c, conn, timers, fake, connect };
}
