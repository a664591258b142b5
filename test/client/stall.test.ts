/**
 * Full subscriptions on a fake broker with a hand-driven clock: the stall report, which subscriptions
 * are set aside (only those never read), and stallTimeout 0. The scenario against a real broker is
 * test/interop/unread-subscription.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { AbandonedSubscriptionError, type ClientOptions } from '../../src/index.js';
import { PacketType, toHex } from '../helpers/fake-broker.js';
import { connackPacket, packetIdOf, publishPacket, subackPacket, subscribePacket } from '../helpers/mqtt-bytes.js';
import { StatusRecorder } from '../reconnect/helpers.js';
import { connectToFake, expectQuiet, take, tick, useHarness, within } from './helpers.js';

const h = useHarness();

async function setup(options: ClientOptions) {
  const s = await connectToFake(h, { highWaterMark: 2, stallTimeout: 1000, ...options });
  const status = new StatusRecorder(s.c);
  const subscribe = async (filter: string) => {
    const p = s.c.subscribe(filter, { qos: 1 });
    const packet = await s.conn.expectPacket(PacketType.SUBSCRIBE);
    s.conn.write(subackPacket(packetIdOf(packet), [1]));
    return within(p, 1000, 'subscribe');
  };
  let id = 0;
  const send = (topic: string, n: number): void => {
    for (let i = 0; i < n; i++) s.conn.write(publishPacket({ topic, payload: `${topic}#${i}`, qos: 1, packetId: ++id }));
  };
  /** Waits until the client has read `n` messages (each QoS 1 one is PUBACKed as it is read). */
  const acked = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await s.conn.expectPacket(PacketType.PUBACK);
  };
  return { ...s, status, subscribe, send, acked };
}

describe('a full subscription (stallTimeout)', () => {
  it('one that has been read but stays full is reported every stallTimeout, never set aside, and loses nothing', async () => {
    const s = await setup({});
    const sub = await s.subscribe('slow/#');
    s.send('slow/x', 1);
    await take(sub, 1); // read once: the application is reading it, just slowly
    s.send('slow/x', 2);
    await s.acked(3);
    expect(sub.buffered).toBe(2);
    s.timers.advance(999);
    await tick();
    expect(s.status.types()).toEqual([]);
    s.timers.advance(1);
    expect(await s.status.next('stalled')).toEqual({ type: 'stalled', filters: ['slow/#'], buffered: 2, fullFor: 1000 });
    s.timers.advance(1000);
    expect(await s.status.next('stalled')).toEqual({ type: 'stalled', filters: ['slow/#'], buffered: 2, fullFor: 2000 });
    expect(s.status.types()).toEqual(['stalled', 'stalled']);
    s.send('slow/x', 3); // waits in the socket: the client is not reading
    expect((await take(sub, 5)).map((m) => m.text())).toEqual(['slow/x#0', 'slow/x#1', 'slow/x#0', 'slow/x#1', 'slow/x#2']);
    await s.acked(3);
    expect(s.c.connected).toBe(true);
  });

  it('client.messages() never read is set aside like any never-read subscription; later unrouted messages are counted', async () => {
    const s = await setup({});
    const unrouted = s.c.messages();
    s.send('nobody/x', 3);
    await s.acked(3);
    s.timers.advance(1000);
    expect(await s.status.next('stalled')).toMatchObject({ filters: [], buffered: 3 });
    const err = (await s.status.next('error')).error;
    expect(err).toBeInstanceOf(AbandonedSubscriptionError);
    expect(err).toMatchObject({ filters: [], buffered: 3, reliable: 3 });
    // Reading again: the three it held, then the error; messages arriving now are counted, not held.
    expect((await take(unrouted, 3)).map((m) => m.text())).toEqual(['nobody/x#0', 'nobody/x#1', 'nobody/x#2']);
    await expect(unrouted.next()).rejects.toBe(err);
    await expect(unrouted.closed).rejects.toBe(err);
    s.send('nobody/y', 1);
    await s.acked(1);
    await expectQuiet(s.conn);
    expect(s.c.stats().unroutedDropped).toBe(1);
    expect(s.c.messages()).not.toBe(unrouted); // a new stream for whoever asks now
  });

  it('a never-read subscription set aside keeps its filter: no UNSUBSCRIBE, what arrives for it goes to messages(), a reconnect without a session subscribes it again', async () => {
    const s = await setup({ reconnect: { initialDelay: 10, maxDelay: 10 } });
    const unrouted = s.c.messages();
    await s.subscribe('aside/#'); // never read
    s.send('aside/x', 2);
    await s.acked(2);
    s.timers.advance(1000);
    expect(await s.status.next('stalled')).toMatchObject({ filters: ['aside/#'], buffered: 2, fullFor: 1000 });
    expect((await s.status.next('error')).error).toMatchObject({ code: 'SUBSCRIPTION_ABANDONED', filters: ['aside/#'], buffered: 2, reliable: 2 });
    await expectQuiet(s.conn); // reading again, and no UNSUBSCRIBE went out
    s.send('aside/x', 1);
    expect((await take(unrouted, 1)).map((m) => m.text())).toEqual(['aside/x#0']);
    s.conn.destroy();
    const r = await s.status.next('reconnecting');
    s.timers.advance(r.delay);
    const conn = await s.fake.nextConnection();
    await conn.expectPacket(PacketType.CONNECT);
    conn.write(connackPacket(0));
    const again = await conn.expectPacket(PacketType.SUBSCRIBE);
    expect(toHex(again)).toBe(toHex(subscribePacket(packetIdOf(again), [['aside/#', 1]])));
  });

  it('stallTimeout 0 turns the watch off: a never-read full subscription is neither reported nor set aside', async () => {
    const s = await setup({ stallTimeout: 0 });
    await s.subscribe('never/#');
    s.send('never/x', 2);
    await s.acked(2);
    expect(s.timers.count).toBe(0); // no stall check armed (keepalive is off in these tests)
    s.timers.advance(3_600_000);
    await tick();
    expect(s.status.types()).toEqual([]);
    expect(s.c.connected).toBe(true); // stalled by the application's choice, for as long as it lasts
  });
});
