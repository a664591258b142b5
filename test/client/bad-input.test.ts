import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, MqttClient, type QoS } from '../../src/index.js';
import { PacketType } from '../helpers/fake-broker.js';
import { PacketLog, rejection, tick, track, useHarness } from './helpers.js';

const h = useHarness();

/** Rejects at once (no network round trip needed) with InvalidArgumentError. */
async function expectInvalid(p: Promise<unknown>, message?: RegExp): Promise<void> {
  const t = track(p);
  await tick();
  expect(t.status).toBe('rejected');
  expect(t.error).toBeInstanceOf(InvalidArgumentError);
  expect(t.error).toMatchObject({ code: 'INVALID_ARGUMENT', name: 'InvalidArgumentError' });
  if (message) expect((t.error as Error).message).toMatch(message);
}

describe('bad input is refused at once and nothing is sent', () => {
  it('publish: wildcard, empty, NUL and unpaired-surrogate topics; QoS 3; a non-payload', async () => {
    const b = await h.aedes();
    const log = new PacketLog();
    const c = await h.connected(b.url, { logger: log.logger });
    await expectInvalid(c.publish('a/+', 'x'), /a\/\+/);
    await expectInvalid(c.publish('a/#', 'x', { qos: 1 }));
    await expectInvalid(c.publish('#', 'x'));
    await expectInvalid(c.publish('', 'x'));
    await expectInvalid(c.publish('a\u0000b', 'x'));
    await expectInvalid(c.publish('a\uD800', 'x'));
    await expectInvalid(c.publish('ok', 'x', { qos: 3 as QoS }), /qos/i);
    await expectInvalid(c.publish('ok', 'x', { qos: -1 as QoS }));
    await expectInvalid(c.publish('ok', 'x', { qos: '1' as unknown as QoS }));
    await expectInvalid(c.publish('ok', 42 as unknown as string));
    // The only valid one: an empty payload is fine.
    await expect(c.publish('ok', '', { qos: 1 })).resolves.toBeUndefined();
    expect(log.out('PUBLISH')).toEqual(['> PUBLISH topic="ok" qos=1 id=1 payload=0B']);
    expect(b.events.filter((e) => e.type === 'publish').map((e) => (e as { topic: string }).topic)).toEqual(['ok']);
    expect(c.connected).toBe(true);
  });

  it('publish: a payload making the PUBLISH larger than maxPacketSize', async () => {
    const b = await h.aedes();
    const log = new PacketLog();
    const c = await h.connected(b.url, { logger: log.logger, maxPacketSize: 100 });
    await expectInvalid(c.publish('t', new Uint8Array(200), { qos: 1 }), /maxPacketSize/);
    await expectInvalid(c.publish('t', new Uint8Array(97)));
    expect(log.out('PUBLISH')).toEqual([]);
    expect(c.stats().messagesOut).toBe(0);
    expect(c.connected).toBe(true);
  });

  it('publish: a PUBLISH of exactly maxPacketSize bytes is not "over" it and is sent', async () => {
    const fake = await h.fake();
    const c = h.client(fake.url, { maxPacketSize: 100 });
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write('20 02 00 00');
    await connecting;
    // 1 type byte + 1 length byte + 2 + 1 (topic "t") + 95 payload bytes = 100 bytes.
    await expect(c.publish('t', new Uint8Array(95))).resolves.toBeUndefined();
    const p = await conn.expectPacket(PacketType.PUBLISH);
    expect(p.length).toBe(100);
    // One byte more is over.
    await expectInvalid(c.publish('t', new Uint8Array(96)));
    await conn.expectNoPacket(30);
  });

  it('subscribe: invalid filters, no filters, QoS 3', async () => {
    const b = await h.aedes();
    const log = new PacketLog();
    const c = await h.connected(b.url, { logger: log.logger });
    await expectInvalid(c.subscribe('a/#/b'), /a\/#\/b/);
    await expectInvalid(c.subscribe('a+'));
    await expectInvalid(c.subscribe('a/b#'));
    await expectInvalid(c.subscribe(''));
    await expectInvalid(c.subscribe([]));
    await expectInvalid(c.subscribe({}));
    await expectInvalid(c.subscribe(['ok/a', 'bad/#/x']));
    await expectInvalid(c.subscribe('ok/a', { qos: 3 as QoS }));
    await expectInvalid(c.subscribe({ 'ok/a': { qos: 5 as QoS } }));
    expect(log.out('SUBSCRIBE')).toEqual([]);
    expect(b.events.filter((e) => e.type === 'subscribe')).toEqual([]);
  });

  it('unsubscribe: invalid filter, no filters', async () => {
    const b = await h.aedes();
    const log = new PacketLog();
    const c = await h.connected(b.url, { logger: log.logger });
    await expectInvalid(c.unsubscribe('x/#/y'));
    await expectInvalid(c.unsubscribe([]));
    await expectInvalid(c.unsubscribe(''));
    expect(log.out('UNSUBSCRIBE')).toEqual([]);
  });

  it('options: impossible values are refused by the constructor', () => {
    const url = 'mqtt://127.0.0.1:1';
    for (const options of [
      { keepalive: -1 },
      { keepalive: 70_000 },
      { keepalive: 1.5 },
      { inflightWindow: 0 },
      { protocolLevel: 5 as 4 },
      { password: 'secret' }, // MQTT-3.1.2-22: a password needs a user name
      { clientId: '', clean: false }, // MQTT-3.1.3-7
      { connectTimeout: -5 },
      { will: { topic: 'w', qos: 3 as QoS } },
    ]) {
      expect(() => new MqttClient(url, options), JSON.stringify(options)).toThrow(InvalidArgumentError);
    }
  });

  it('an unsupported URL scheme makes connect() reject with InvalidArgumentError', async () => {
    const c = h.client('gopher://127.0.0.1:1883');
    const err = await rejection(c.connect());
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(/gopher/);
  });
});
