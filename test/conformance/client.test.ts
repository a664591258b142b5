/**
 * MQTT 3.1.1 statements that need the whole client over a real socket: what it does with bad bytes
 * from a server, what it refuses at the call, how it ends a connection, what it acknowledges. The
 * server side is the byte-level fake broker (test/helpers/fake-broker.ts); aedes where a real
 * broker is the point. Every client made here is destroyed after its test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  MemoryStore,
  MqttClient,
  MqttProtocolError,
  type ClientOptions,
} from '../../src/index.js';
import { startAedes } from '../helpers/aedes.js';
import { startFakeBroker, type FakeBroker, type FakeConnection } from '../helpers/fake-broker.js';
import { ackPacket, connackPacket, packetIdOf, PacketType, publishPacket, subackPacket, toHex } from '../helpers/mqtt-bytes.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const FAST: ClientOptions = { connectTimeout: 2000, ackTimeout: 2000, endTimeout: 1000, reconnect: false, keepalive: 0 };

async function fake(): Promise<FakeBroker> {
  const broker = await startFakeBroker();
  cleanups.push(() => broker.close());
  return broker;
}

function client(url: string, options: ClientOptions = {}): MqttClient {
  const c = new MqttClient(url, { ...FAST, ...options });
  cleanups.push(async () => {
    c.destroy();
    await c.closed.catch(() => {});
  });
  return c;
}

/** A client connected to a fake broker; the CONNECT has been read and CONNACK 0 sent. */
async function connectedToFake(options: ClientOptions = {}): Promise<{ c: MqttClient; conn: FakeConnection; broker: FakeBroker }> {
  const broker = await fake();
  const c = client(broker.url, options);
  const connecting = c.connect();
  const conn = await broker.nextConnection();
  await conn.expectPacket(PacketType.CONNECT);
  conn.write(connackPacket(0));
  await connecting;
  return { c, conn, broker };
}

/** Resolves with what `p` rejects with; fails if it resolves or takes longer than `ms`. */
async function rejectionOf(p: Promise<unknown>, ms = 2000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => {
          throw new Error('expected a rejection, but it resolved');
        },
        (err: unknown) => err,
      ),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no rejection within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends `bad` after a well-formed QoS 0 PUBLISH (the positive control: it is delivered, so the
 * connection was alive and reading) and expects the client to close the connection with an
 * MqttProtocolError of `code`, delivering nothing from `bad`.
 */
async function expectCloseOn(bad: string, code: string): Promise<void> {
  const { c, conn } = await connectedToFake();
  const messages = c.messages();
  conn.write(publishPacket({ topic: 'before', payload: 'ok' }));
  const first = await messages.next();
  expect(first.done ? undefined : first.value.topic).toBe('before');
  conn.write(bad);
  const err = await rejectionOf(c.closed);
  expect(err).toBeInstanceOf(MqttProtocolError);
  expect((err as MqttProtocolError).code).toBe(code);
  await conn.expectClosed(2000);
  expect(c.stats().messagesIn).toBe(1);
}

describe('MQTT 3.1.1: what the client does with bad bytes from the server', () => {
  it('ill-formed UTF-8 in a PUBLISH topic closes the connection [MQTT-1.5.3-1]', async () => {
    await expectCloseOn('30 06 00 03 61 ed a0 78', 'INVALID_UTF8');
  });

  it('U+0000 in a PUBLISH topic closes the connection [MQTT-1.5.3-2]', async () => {
    await expectCloseOn('30 06 00 03 61 00 62 78', 'INVALID_UTF8');
  });

  it('a PUBACK with reserved flag bits set closes the connection [MQTT-2.2.2-2]', async () => {
    await expectCloseOn('41 02 00 01', 'RESERVED_FLAGS');
  });

  it('a PUBLISH with both QoS bits set closes the connection [MQTT-3.3.1-4]', async () => {
    await expectCloseOn('36 06 00 01 74 00 01 78', 'INVALID_QOS');
  });

  it('a protocol violation (a second CONNACK, a DISCONNECT from the server) closes the connection it came on [MQTT-4.8.0-1]', async () => {
    await expectCloseOn('20 02 00 00', 'UNEXPECTED_PACKET');
    await expectCloseOn('e0 00', 'UNEXPECTED_PACKET');
  });

  it('an error while processing an incoming packet (the Store cannot record a QoS 2 id) closes the connection, and the packet is not acknowledged [MQTT-4.8.0-2]', async () => {
    class FailingStore extends MemoryStore {
      failNext = false;
      override putIncoming(packetId: number): void {
        if (this.failNext) throw new Error('disk full');
        super.putIncoming(packetId);
      }
    }
    const store = new FailingStore();
    const { c, conn } = await connectedToFake({ store });
    // Control: with the store working, the same PUBLISH is answered with PUBREC.
    conn.write(publishPacket({ topic: 't', payload: 'a', qos: 2, packetId: 1 }));
    expect(toHex(await conn.expectPacket(PacketType.PUBREC))).toBe(toHex(ackPacket('pubrec', 1)));
    store.failNext = true;
    conn.write(publishPacket({ topic: 't', payload: 'b', qos: 2, packetId: 2 }));
    const err = await rejectionOf(c.closed);
    expect(err).toBeInstanceOf(MqttProtocolError);
    expect((err as Error).message).toContain('disk full');
    await conn.expectClosed(2000);
    // Everything the client sent after the first PUBREC: nothing.
    expect(toHex(conn.received()).endsWith(toHex(ackPacket('pubrec', 1)))).toBe(true);
  });
});

describe('MQTT 3.1.1: the first packet on a connection', () => {
  it('CONNECT goes first on every connection: what the application asks for before CONNACK waits for it, also after a reconnect [MQTT-3.1.0-1]', async () => {
    const broker = await fake();
    const c = client(broker.url, { reconnect: { initialDelay: 0, maxDelay: 0 } });
    const early = c.publish('early', 'x', { qos: 1 });
    const connecting = c.connect();
    const conn1 = await broker.nextConnection();
    expect((await conn1.nextPacket())[0]).toBe(0x10);
    // Asked for while the CONNECT is out and the CONNACK is not in: nothing goes out until it is.
    const mid = c.publish('mid', 'y', { qos: 1 });
    await conn1.expectNoPacket(50);
    conn1.write(connackPacket(0));
    await connecting;
    expect(toHex(await conn1.expectPacket(PacketType.PUBLISH))).toBe(toHex(publishPacket({ topic: 'early', payload: 'x', qos: 1, packetId: 1 })));
    expect(toHex(await conn1.expectPacket(PacketType.PUBLISH))).toBe(toHex(publishPacket({ topic: 'mid', payload: 'y', qos: 1, packetId: 2 })));
    // Control: the same 50 ms window sees a packet the client writes at once.
    await c.publish('probe', 'p');
    await expect(conn1.expectNoPacket(50)).rejects.toThrow(toHex(publishPacket({ topic: 'probe', payload: 'p' })));
    conn1.write(ackPacket('puback', 1));
    await early;
    conn1.destroy();

    const conn2 = await broker.nextConnection();
    expect((await conn2.nextPacket())[0]).toBe(0x10);
    const subscribing = c.subscribe('late', { qos: 1 });
    const later = c.publish('later', 'z', { qos: 1 });
    await conn2.expectNoPacket(50);
    conn2.write(connackPacket(0));
    // The unacknowledged 'mid' again, 'later', and the SUBSCRIBE: all after CONNACK.
    const afterConnack = [await conn2.nextPacket(), await conn2.nextPacket(), await conn2.nextPacket()];
    const ofType = (t: number): Uint8Array[] => afterConnack.filter((p) => p[0]! >> 4 === t);
    expect([ofType(PacketType.PUBLISH).length, ofType(PacketType.SUBSCRIBE).length]).toEqual([2, 1]);
    for (const p of ofType(PacketType.PUBLISH)) conn2.write(ackPacket('puback', packetIdOf(p)));
    conn2.write(subackPacket(packetIdOf(ofType(PacketType.SUBSCRIBE)[0]!), [1]));
    await Promise.all([mid, later, subscribing]);
  });
});

describe('MQTT 3.1.1: what the client refuses at the call', () => {
  it('an empty clientId with clean: false is refused by the constructor, before any connection [MQTT-3.1.3-7]', async () => {
    const broker = await fake();
    expect(() => new MqttClient(broker.url, { ...FAST, clientId: '', clean: false })).toThrow(InvalidArgumentError);
    // Control: with clean: true an empty clientId is sent as such.
    const c = client(broker.url, { clientId: '' });
    const connecting = c.connect();
    const conn = await broker.nextConnection();
    const connect = await conn.expectPacket(PacketType.CONNECT);
    expect(toHex(connect.subarray(9, 14))).toBe('02 00 00 00 00');
    conn.write(connackPacket(0));
    await connecting;
    expect(broker.connections).toHaveLength(1);
  });

  it('a will of QoS 3 is refused by the constructor [MQTT-3.1.2-14]', () => {
    expect(() => new MqttClient('mqtt://127.0.0.1:1', { ...FAST, will: { topic: 'w', payload: 'x', qos: 3 as never } })).toThrow(InvalidArgumentError);
    expect(() => new MqttClient('mqtt://127.0.0.1:1', { ...FAST, will: { topic: 'w', payload: 'x', qos: 2 } })).not.toThrow();
  });

  it('subscribe() without a filter or at QoS 3, and unsubscribe() without a filter, reject at the call and send nothing [MQTT-3.8.3-3] [MQTT-3-8.3-4] [MQTT-3.10.3-2]', async () => {
    const { c, conn } = await connectedToFake();
    await expect(c.subscribe([])).rejects.toThrow(InvalidArgumentError);
    await expect(c.subscribe({})).rejects.toThrow(InvalidArgumentError);
    await expect(c.subscribe('a', { qos: 3 as never })).rejects.toThrow(InvalidArgumentError);
    await expect(c.unsubscribe([])).rejects.toThrow(InvalidArgumentError);
    // Control: the next packet the broker sees is the valid SUBSCRIBE that follows.
    const ok = c.subscribe('a', { qos: 2 });
    expect(toHex(await conn.expectPacket(PacketType.SUBSCRIBE))).toBe('82 06 00 01 00 01 61 02');
    conn.write('90 03 00 01 02');
    await ok;
  });

  it('publish(), subscribe() and unsubscribe() refuse topic names with wildcards, misplaced wildcards in filters, empty topics and U+0000, and send nothing [MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1] [MQTT-4.7.3-2]', async () => {
    const { c, conn } = await connectedToFake();
    for (const topic of ['a/+', '#', '', 'a\u0000']) {
      await expect(c.publish(topic, 'x'), JSON.stringify(topic)).rejects.toThrow(InvalidArgumentError);
    }
    for (const filter of ['a#', 'a/#/b', 'a+', 'a/+b', '', 'a\u0000']) {
      await expect(c.subscribe(filter), JSON.stringify(filter)).rejects.toThrow(InvalidArgumentError);
      await expect(c.unsubscribe(filter), JSON.stringify(filter)).rejects.toThrow(InvalidArgumentError);
    }
    // Control: a valid publish is the next packet.
    await c.publish('a/b', 'x');
    expect(toHex(await conn.expectPacket(PacketType.PUBLISH))).toBe(toHex(publishPacket({ topic: 'a/b', payload: 'x' })));
  });
});

describe('MQTT 3.1.1: ending a connection', () => {
  it('end() sends DISCONNECT as the last packet and then closes the connection itself [MQTT-3.14.4-1]', async () => {
    const { c, conn } = await connectedToFake();
    await c.publish('last', 'x');
    await conn.expectPacket(PacketType.PUBLISH);
    await c.end();
    // The fake broker never closes: the close seen here is the client's (a FIN, then the socket closes).
    await conn.expectClosed(2000);
    expect(conn.peerEnded).toBe(true);
    expect(toHex(conn.received()).endsWith('e0 00')).toBe(true);
  });
});

describe('MQTT 3.1.1: acknowledging what nobody reads', () => {
  it('QoS 1 and QoS 2 messages that match no subscription, with nobody reading messages(), are still acknowledged [MQTT-4.5.0-2]', async () => {
    const { c, conn } = await connectedToFake();
    const sub = await (async () => {
      const s = c.subscribe('other/#', { qos: 2 });
      await conn.expectPacket(PacketType.SUBSCRIBE);
      conn.write('90 03 00 01 02');
      return s;
    })();
    conn.write(publishPacket({ topic: 'unread/1', payload: 'a', qos: 1, packetId: 5 }));
    expect(toHex(await conn.nextPacket())).toBe(toHex(ackPacket('puback', 5)));
    conn.write(publishPacket({ topic: 'unread/2', payload: 'b', qos: 2, packetId: 6 }));
    expect(toHex(await conn.nextPacket())).toBe(toHex(ackPacket('pubrec', 6)));
    conn.write(ackPacket('pubrel', 6));
    expect(toHex(await conn.nextPacket())).toBe(toHex(ackPacket('pubcomp', 6)));
    expect(c.stats()).toMatchObject({ messagesIn: 2, unroutedDropped: 2 });
    expect(sub.topicFilters).toEqual(['other/#']);
  });
});

describe('MQTT 3.1.1: session state belongs to a client id', () => {
  it('a MemoryStore shared by two client ids keeps their sessions apart: a client never re-sends another client id\'s messages [MQTT-3.1.3-2]', async () => {
    const store = new MemoryStore();
    const broker = await fake();
    const run = async (clientId: string): Promise<{ c: MqttClient; conn: FakeConnection }> => {
      const c = client(broker.url, { clientId, clean: false, store });
      const connecting = c.connect();
      const conn = await broker.nextConnection();
      await conn.expectPacket(PacketType.CONNECT);
      conn.write(connackPacket(0, true));
      await connecting;
      return { c, conn };
    };
    const a = await run('alice');
    const pending = a.c.publish('from/alice', 'x', { qos: 1 });
    pending.catch(() => {});
    await a.conn.expectPacket(PacketType.PUBLISH);
    a.c.destroy();

    const b = await run('bob');
    await b.conn.expectNoPacket(100);
    b.c.destroy();

    // Control: alice herself resumes, and the same 100 ms window sees her message re-sent.
    const again = await run('alice');
    await expect(again.conn.expectNoPacket(100)).rejects.toThrow(
      toHex(publishPacket({ topic: 'from/alice', payload: 'x', qos: 1, packetId: 1, dup: true })),
    );
  });
});

describe('MQTT 3.1.1: transport', () => {
  it('the client runs over an ordered, lossless byte stream: 200 QoS 1 messages round trip over TCP to aedes, complete and in order [MQTT-7.1.2-1]', async () => {
    const broker = await startAedes();
    cleanups.push(() => broker.close());
    const c = client(broker.url);
    await c.connect();
    const sub = await c.subscribe('stream/#', { qos: 1 });
    const sent = Array.from({ length: 200 }, (_, i) => `m${i}`);
    await Promise.all(sent.map((m) => c.publish('stream/x', m, { qos: 1 })));
    const got: string[] = [];
    for await (const m of sub) {
      got.push(m.text());
      if (got.length === sent.length) break;
    }
    expect(got).toEqual(sent);
  });
});
