import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, MemoryStore, MqttClient, connect, type ClientOptions, type QoS } from '../../src/index.js';
import { PacketType } from '../helpers/fake-broker.js';
import { expectQuiet, FAST, ManualTimers, PacketLog, rejection, tick, track, useHarness } from './helpers.js';

const h = useHarness();

/** The error `new MqttClient(url, options)` throws (fails the test if it throws none). */
function constructorError(options: ClientOptions): unknown {
  try {
    new MqttClient('mqtt://127.0.0.1:1', options).destroy();
  } catch (err) {
    return err;
  }
  throw new Error(`new MqttClient accepted ${JSON.stringify(options)}`);
}

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

  it('publish: an absent payload is refused, so a retained message is never erased by accident; an explicit empty one erases it', async () => {
    const b = await h.aedes();
    const log = new PacketLog();
    const c = await h.connected(b.url, { logger: log.logger });
    const retained = async (): Promise<string[]> => {
      const out: string[] = [];
      const persistence = (b.broker as unknown as { persistence: { createRetainedStream(pattern: string): AsyncIterable<{ topic: string; payload: Buffer }> } }).persistence;
      for await (const p of persistence.createRetainedStream('r/#')) out.push(`${p.topic}=${p.payload.toString()}`);
      return out;
    };
    await c.publish('r/a', 'keep', { qos: 1, retain: true });
    expect(await retained()).toEqual(['r/a=keep']);
    await expectInvalid(c.publish('r/a', undefined as unknown as string, { qos: 1, retain: true }), /^payload is missing: pass '' or new Uint8Array\(0\)/);
    await expectInvalid(c.publish('r/a', null as unknown as string, { retain: true }), /^payload must be a string, .*got null$/);
    expect(log.out('PUBLISH')).toEqual(['> PUBLISH topic="r/a" qos=1 id=1 retain payload=4B']);
    expect(await retained()).toEqual(['r/a=keep']);
    // The way to clear it, as docs/client.md says: an explicit empty payload.
    await c.publish('r/a', new Uint8Array(0), { qos: 1, retain: true });
    expect(await retained()).toEqual([]);
  });

  it('publish, subscribe, unsubscribe, messages, connect, end: unknown options and non-boolean flags are refused', async () => {
    const b = await h.aedes();
    const log = new PacketLog();
    const c = await h.connected(b.url, { logger: log.logger });
    // Options as JavaScript (or a careless cast) may pass them: the types would refuse each one.
    type Loose = never;
    await expectInvalid(c.publish('ok', 'x', { retain: 'yes' } as Loose), /^retain must be true or false, got the string "yes"$/);
    await expectInvalid(c.publish('ok', 'x', { retain: 1 } as Loose), /^retain must be true or false, got 1$/);
    await expectInvalid(c.publish('ok', 'x', { dup: true } as Loose), /^unknown publish option "dup": the client sets DUP itself/);
    await expectInvalid(c.publish('ok', 'x', { retained: true } as Loose), /^unknown publish option "retained": did you mean "retain"\?$/);
    await expectInvalid(c.publish('ok', 'x', { properties: {} } as Loose), /^publish properties are an MQTT 5 feature: set protocolVersion: 5$/);
    await expectInvalid(c.publish('ok', 'x', 1 as unknown as Loose), /^publish options must be an object, got 1$/);
    await expectInvalid(c.subscribe('ok/a', { qos: 1, nl: true } as Loose), /^unknown subscribe option "nl": mqttwire calls it "noLocal"$/);
    await expectInvalid(c.subscribe('ok/a', { overflow: 'drop' } as Loose), /^overflow must be 'block', 'drop-oldest', 'drop-newest', got the string "drop"$/);
    await expectInvalid(c.subscribe({ 'ok/a': { qos: 1, rh: 0 } } as Loose), /^unknown topic filter option "rh"/);
    // MQTT 5 subscription options on a 3.1.1 client: named, with how to turn MQTT 5 on.
    await expectInvalid(c.subscribe('ok/a', { noLocal: true }), /^noLocal is an MQTT 5 subscription option: set protocolVersion: 5$/);
    await expectInvalid(c.subscribe({ 'ok/a': { qos: 1, retainHandling: 2 } }), /^retainHandling is an MQTT 5 subscription option: set protocolVersion: 5$/);
    await expectInvalid(c.subscribe({ 'ok/a': 1 } as Loose), /^topic filter options must be an object, got 1$/);
    await expectInvalid(c.unsubscribe('ok/a', { signl: null } as Loose), /^unknown call option "signl": did you mean "signal"\?$/);
    await expectInvalid(c.connect({ timeout: 5 } as Loose), /^unknown call option "timeout" \(known: signal\)$/);
    await expectInvalid(c.end({ timout: 10 } as Loose), /^unknown end option "timout": did you mean "timeout"\?$/);
    await expectInvalid(c.end({ timeout: '10' } as Loose), /^timeout must be a number >= 0, got the string "10"$/);
    expect(() => c.messages({ highWatermark: 5 } as Loose)).toThrow(/^unknown subscription option "highWatermark": did you mean "highWaterMark"\?$/);
    expect(log.out().filter((l) => !l.startsWith('> CONNECT'))).toEqual([]);
    expect(c.connected).toBe(true);
    // The same calls with the options spelt right go through.
    await c.publish('ok', 'x', { qos: 1, retain: false });
    expect(log.out('PUBLISH')).toEqual(['> PUBLISH topic="ok" qos=1 id=1 payload=1B']);
  });

  it('error messages say what the wrong value was, and quote long input cut short', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url);
    await expectInvalid(c.publish('ok', 'x', { qos: '1' as unknown as QoS }), /^qos must be 0, 1 or 2, got the string "1"$/);
    await expectInvalid(c.subscribe('ok', { qos: '2' as unknown as QoS }), /^qos must be 0, 1 or 2, got the string "2"$/);
    const huge = 'a/'.repeat(35_000); // 70,000 characters
    const messages: string[] = [];
    const long = 'a/'.repeat(30_000); // 60,000 characters: within the limit, so the wildcard is what is wrong
    for (const p of [c.publish(huge, 'x'), c.publish(`${long}+`, 'x'), c.subscribe(`${long}#/x`), c.unsubscribe(`${long}x+`)]) {
      const err = await rejection(p);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      messages.push((err as Error).message);
    }
    const cut = `"${'a/'.repeat(32)}"... (70000 characters)`;
    expect(messages[0]).toBe(`invalid topic ${cut}: topic name is 70000 bytes in UTF-8; the limit is 65535 [MQTT-4.7.3-3]`);
    const longCut = `"${'a/'.repeat(32)}"... (60001 characters)`;
    expect(messages[1]).toBe(`invalid topic ${longCut}: topic name ${longCut} must not contain wildcards [MQTT-3.3.2-2]`); // the PUBLISH rule, as the encoder reports it
    expect(messages[2]).toBe(`invalid topic filter "${'a/'.repeat(32)}"... (60003 characters): '#' must be the last level of topic filter "${'a/'.repeat(32)}"... (60003 characters) [MQTT-4.7.1-2]`);
    for (const m of messages) expect(m.length).toBeLessThan(300);
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
    await expectQuiet(conn);
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
      { protocolLevel: 6 as 4 },
      { protocolVersion: 5 as const, protocolLevel: 4 as const }, // the alias disagrees
      { password: 'secret' }, // MQTT-3.1.2-22: a password needs a user name
      { clientId: '', clean: false }, // MQTT-3.1.3-7
      { connectTimeout: -5 },
      { will: { topic: 'w', payload: '', qos: 3 as QoS } },
      // CONNECT's strings: the encoder would find these only inside connect().
      { clientId: 'a\u0000b' },
      { clientId: 42 as unknown as string },
      { username: 'u\uDC00' },
      { username: 'u', password: new Uint8Array(65_536) },
    ]) {
      expect(() => new MqttClient(url, options), JSON.stringify(options)).toThrow(InvalidArgumentError);
    }
  });

  it('will: checked like a publish by the constructor, with a message naming what is wrong', () => {
    const cases: [unknown, RegExp][] = [
      [{ topic: 'status/+', payload: 'x' }, /^invalid will\.topic "status\/\+": .*wildcards/],
      [{ topic: 'status/#', payload: 'x' }, /^invalid will\.topic "status\/#"/],
      [{ topic: '', payload: 'x' }, /^invalid will\.topic "": .*at least one character/],
      [{ topic: 'a\u0000b', payload: 'x' }, /^invalid will\.topic "a\\u0000b": .*U\+0000/],
      [{ topic: 'a\uD800', payload: 'x' }, /^invalid will\.topic .*unpaired surrogate/],
      [{ payload: 'x' }, /^will\.topic must be a string, got undefined$/],
      [{ topic: 7, payload: 'x' }, /^will\.topic must be a string, got 7$/],
      [{ topic: 'w' }, /^will\.payload is missing: pass '' or new Uint8Array\(0\)/],
      [{ topic: 'w', payload: 42 }, /payload must be a string, Uint8Array, ArrayBuffer or ArrayBufferView/],
      [{ topic: 'w', payload: new Uint8Array(65_536) }, /^will\.payload is 65536 bytes; the limit is 65535$/],
      [{ topic: 'w', payload: 'x', qos: 3 }, /^will\.qos must be 0, 1 or 2/],
      [{ topic: 'w', payload: 'x', retain: 'yes' }, /^will\.retain must be true or false, got the string "yes"$/],
      [{ topic: 'w', payload: 'x', retain: 1 }, /^will\.retain must be true or false, got 1$/],
      [null, /^will must be an object/],
      ['status', /^will must be an object .*got the string "status"$/],
    ];
    for (const [will, message] of cases) {
      const err = constructorError({ will } as ClientOptions);
      expect(err, JSON.stringify(will)).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message, JSON.stringify(will)).toMatch(message);
    }
    // The valid forms, an explicitly empty payload included, are accepted.
    for (const will of [{ topic: 'w', payload: '' }, { topic: 'w', payload: new Uint8Array(0), qos: 2 as QoS, retain: true }, { topic: 'w', payload: new Uint8Array(65_535) }]) {
      expect(() => new MqttClient('mqtt://127.0.0.1:1', { will }).destroy()).not.toThrow();
    }
  });

  it('will: connect() with a bad will rejects with InvalidArgumentError and opens no socket', async () => {
    const fake = await h.fake();
    const err = await rejection(connect(fake.url, { ...FAST, will: { topic: 'status/+', payload: 'x' } }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    await expect(fake.nextConnection(300)).rejects.toThrow(/no new connection within 300 ms/);
    // The positive control: a valid will reaches the same listener within the same window.
    const c = h.client(fake.url, { will: { topic: 'status/gone', payload: '' } });
    void c.connect().catch(() => {});
    const conn = await fake.nextConnection(300);
    expect(Buffer.from(await conn.expectPacket(PacketType.CONNECT)).toString('latin1')).toContain('status/gone');
  });

  it('options: an unknown option is refused, naming it and the option meant', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      // What an MQTT.js user writes (issue 11): each would otherwise leave a default in force.
      [{ protocolId: 'MQTT' }, /^unknown client option "protocolId": it follows protocolVersion/],
      [{ keepAlive: 30 }, /^unknown client option "keepAlive": mqttwire calls it "keepalive" \(seconds\)$/],
      [{ reconnectPeriod: 1000 }, /^unknown client option "reconnectPeriod": use reconnect: \{ initialDelay \}/],
      [{ queueQoSZero: false }, /^unknown client option "queueQoSZero": mqttwire calls it "queueQoS0"$/],
      [{ port: 1883 }, /^unknown client option "port": put it in the broker URL/],
      // Several at once are named together.
      [{ protocolId: 'MQTT', keepAlive: 30, reconnectPeriod: 1000 }, /^unknown client options "protocolId": it follows .*; "keepAlive": mqttwire calls it "keepalive" \(seconds\); "reconnectPeriod": use reconnect: /],
      [{ properties: {} }, /^unknown client option "properties": give each MQTT 5 property as an option of its own/],
      // Slips of the keyboard get the nearest name.
      [{ keepalvie: 30 }, /^unknown client option "keepalvie": did you mean "keepalive"\?$/],
      [{ conectTimeout: 10 }, /^unknown client option "conectTimeout": did you mean "connectTimeout"\?$/],
      [{ rejectUnauthorised: false }, /^unknown client option "rejectUnauthorised": did you mean "rejectUnauthorized"\?$/],
      [{ clientid: 'x' }, /^unknown client option "clientid": did you mean "clientId"\?$/],
      // Nothing near: the known names are listed.
      [{ frobnicate: true }, /^unknown client option "frobnicate" \(known: clientId, clean, keepalive, .*alpnProtocols, sessionExpiryInterval, .*followRedirects, topicAliases, auth\)$/],
      // The nested objects are checked the same way.
      [{ reconnect: { period: 1000 } }, /^unknown reconnect option "period" \(known: initialDelay, maxDelay, resetAfter, retryRefused, retryFirstConnect\)$/],
      [{ reconnect: { initialDelay: -1 } }, /^reconnect\.initialDelay must be a number >= 0, got -1$/],
      [{ reconnect: { retryRefused: 'yes' } }, /^reconnect\.retryRefused must be true or false, got the string "yes"$/],
      [{ will: { topic: 'w', payload: '', properties: {} } }, /^will\.properties is an MQTT 5 option: set protocolVersion: 5$/],
      // MQTT 5 options below level 5 are named, with how to turn MQTT 5 on.
      [{ sessionExpiryInterval: 60 }, /^sessionExpiryInterval is an MQTT 5 option: set protocolVersion: 5$/],
      [{ userProperties: [['a', 'b']], protocolLevel: 4 }, /^userProperties is an MQTT 5 option: set protocolVersion: 5$/],
      [{ servers: [{ host: 'b', port: 1883 }] }, /^servers takes broker URLs \('mqtt:\/\/host:1883'\), not \{ host, port \} objects$/],
      [{ servers: 'mqtt://b:1883' }, /^servers must be an array of broker URLs, got the string "mqtt:\/\/b:1883"$/],
      [{ servers: ['mqtt://b:99999'] }, /^invalid broker URL "mqtt:\/\/b:99999": port 99999 is out of range \(1 to 65535\)$/],
      [{ clean: 'false' }, /^clean must be true or false, got the string "false"$/],
      [{ overflow: 'drop' }, /^overflow must be 'block', 'drop-oldest', 'drop-newest', got the string "drop"$/],
    ];
    for (const [options, message] of cases) {
      const err = constructorError(options as ClientOptions);
      expect(err, JSON.stringify(options)).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message, JSON.stringify(options)).toMatch(message);
    }
  });

  it('options: the internal timers option is never listed or suggested (it is not part of the API)', () => {
    const listed = constructorError({ frobnicate: true } as ClientOptions) as Error;
    expect(listed.message).toMatch(/^unknown client option "frobnicate" \(known: clientId, /);
    expect(listed.message).not.toContain('timers');
    expect((constructorError({ timer: 1 } as ClientOptions) as Error).message).not.toContain('timers');
    // The positive control: every test's hand-driven clock goes through it, so it is still accepted.
    expect(() => new MqttClient('mqtt://127.0.0.1:1', { timers: new ManualTimers() }).destroy()).not.toThrow();
  });

  it('options: every documented option (and the internal timers) is accepted', () => {
    const every: Required<ClientOptions> = {
      clientId: 'all', clean: true, keepalive: 30, username: 'u', password: 'p', will: { topic: 'w', payload: '' },
      connectTimeout: 1000, ackTimeout: 1000, pingTimeout: 1000, endTimeout: 1000, maxPacketSize: 1024, protocolLevel: 5,
      inflightWindow: 5, highWaterMark: 10, overflow: 'drop-oldest', stallTimeout: 5000, signal: new AbortController().signal, logger: () => {},
      debug: false, transport: () => Promise.reject(new Error('unused')), timers: new ManualTimers(),
      reconnect: { initialDelay: 10, maxDelay: 100, resetAfter: 1000, retryRefused: true, retryFirstConnect: true }, servers: ['mqtt://127.0.0.1:2', new URL('mqtt://127.0.0.1:3')],
      offlineQueueLimit: 10, queueQoS0: false, store: new MemoryStore(),
      ca: 'x', cert: 'x', key: 'x', passphrase: 'x', servername: 'x', rejectUnauthorized: true, alpnProtocols: ['mqtt'],
      protocolVersion: 5, sessionExpiryInterval: 60, receiveMaximum: 10, topicAliasMaximum: 0, requestResponseInformation: true,
      requestProblemInformation: false, userProperties: [['k', 'v']], followRedirects: true,
      topicAliases: 'off', auth: { method: 'X', onChallenge: () => Promise.resolve(new Uint8Array(0)) },
    };
    const c = new MqttClient('mqtt://127.0.0.1:1', every);
    expect(c.state).toBe('new');
    c.destroy();
    for (const reconnect of [true, false, {}] as const) expect(new MqttClient('mqtt://127.0.0.1:1', { reconnect: reconnect as false }).state).toBe('new');
  });

  it('broker URL: each mistake is named in the constructor, not taken for localhost or "not valid"', () => {
    const cases: [string | URL, RegExp][] = [
      ['mqtt://', /^invalid broker URL "mqtt:\/\/": it has no host$/],
      ['mqtt://:1883', /^invalid broker URL "mqtt:\/\/:1883": it has no host$/],
      ['ws://', /^invalid broker URL "ws:\/\/": it has no host$/],
      [new URL('mqtt://'), /^invalid broker URL "mqtt:\/\/": it has no host$/],
      ['mqtt://broker:99999', /^invalid broker URL "mqtt:\/\/broker:99999": port 99999 is out of range \(1 to 65535\)$/],
      ['broker:70000', /^invalid broker URL "mqtt:\/\/broker:70000": port 70000 is out of range/],
      ['mqtt://broker:0', /^invalid broker URL "mqtt:\/\/broker:0": port 0 is out of range/],
      ['mqtt://broker:mqtt', /^invalid broker URL "mqtt:\/\/broker:mqtt": the port "mqtt" is not a number$/],
      ['gopher://broker:1883', /^invalid broker URL "gopher:\/\/broker:1883": unsupported URL scheme "gopher:" \(supported: mqtt:\/\/, .*wss:\/\/\)$/],
      ['mqtt://broker:1883/mqtt', /^invalid broker URL "mqtt:\/\/broker:1883\/mqtt": mqtt:\/\/ has no path, query or fragment \(a path is for ws:\/\/ and wss:\/\/\)$/],
      ['mqtts://broker?x=1', /^invalid broker URL "mqtts:\/\/broker\?x=1": mqtts:\/\/ has no path/],
      ['mqtt://bro ker', /^invalid broker URL "mqtt:\/\/bro ker": it is not a valid URL$/],
      [42 as unknown as string, /^the broker URL must be a string or a URL, got 42$/],
    ];
    for (const [url, message] of cases) {
      let err: unknown;
      try {
        new MqttClient(url);
      } catch (e) {
        err = e;
      }
      expect(err, String(url)).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message, String(url)).toMatch(message);
    }
    // What is fine stays fine: a trailing slash, a ws:// path, a bare host, IPv6.
    for (const url of ['mqtt://broker/', 'ws://broker:8080/mqtt?token=1', 'broker', 'broker:1883', 'mqtt://[::1]:1883']) {
      new MqttClient(url).destroy();
    }
  });

  it('broker URL: with options.transport the scheme and path are the transport\'s business', async () => {
    const seen: string[] = [];
    const c = h.client('pipe://bridge/a/b?x=1', { transport: (url) => (seen.push(url.href), Promise.reject(new Error('no pipe here'))) });
    await expect(c.connect()).rejects.toThrow('no pipe here');
    expect(seen).toEqual(['pipe://bridge/a/b?x=1']);
  });
});

describe('MQTT.js callbacks are refused, not ignored', () => {
  it('a callback after the options rejects with InvalidArgumentError, and nothing is sent', async () => {
    const b = await h.aedes();
    const c = await h.connected(b.url);
    const cb = (): void => {};
    const calls: [string, () => Promise<unknown>][] = [
      ['publish', () => (c.publish as (...a: unknown[]) => Promise<unknown>)('t/cb', 'x', { qos: 1 }, cb)],
      ['subscribe', () => (c.subscribe as (...a: unknown[]) => Promise<unknown>)('t/#', { qos: 1 }, cb)],
      ['unsubscribe', () => (c.unsubscribe as (...a: unknown[]) => Promise<unknown>)('t/#', {}, cb)],
      ['end', () => (c.end as (...a: unknown[]) => Promise<unknown>)({}, cb)],
    ];
    for (const [method, call] of calls) {
      await expect(call(), method).rejects.toThrow(new InvalidArgumentError(`${method}() takes no callback: it returns a promise (await it, or use .then() and .catch())`));
    }
    await expect((c.publish as (...a: unknown[]) => Promise<unknown>)('t/cb', 'x', {}, 'extra')).rejects.toThrow(new InvalidArgumentError('publish() takes at most 3 arguments, got 4'));
    expect(c.stats()).toMatchObject({ messagesOut: 0 });
    expect(c.state).toBe('connected'); // end() with a callback ended nothing
    // The positive control: the same calls without the callback work.
    await c.publish('t/cb', 'x', { qos: 1 });
    expect(c.stats()).toMatchObject({ messagesOut: 1 });
  });
});
