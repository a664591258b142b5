/**
 * The key client scenarios against the real Eclipse Mosquitto 2.0 broker (skipped without the binary,
 * unless MQTTWIRE_REQUIRE_MOSQUITTO=1). Mosquitto runs with its default limits (max_inflight_messages 20,
 * max_queued_messages 1000).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectionRefusedError, SubscribeError, connect, type Message, type MqttClient, type QoS } from '../../src/index.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';
import { FAST, PacketLog, rejection, take, until, useHarness, within } from '../client/helpers.js';

const h = useHarness();

/**
 * The filters of each UNSUBSCRIBE from `clientId` in a mosquitto log: it prints "Received UNSUBSCRIBE from
 * <id>" and then one tab-indented line per filter. Only complete entries (followed by another line) count.
 */
function unsubscribes(log: string, clientId: string): string[][] {
  const lines = log.split('\n').map((l) => l.replace(/^\S+: /, ''));
  const out: string[][] = [];
  lines.forEach((line, i) => {
    if (line !== `Received UNSUBSCRIBE from ${clientId}`) return;
    const filters: string[] = [];
    let j = i + 1;
    for (; j < lines.length - 1 && lines[j]!.startsWith('\t'); j++) filters.push(lines[j]!.slice(1));
    if (j < lines.length - 1) out.push(filters);
  });
  return out;
}

describeMosquitto('mqttwire against mosquitto, with no extension to MQTT 3.1.1 (MQTT-7.0.0-2)', () => {
  let m: MosquittoHandle;
  beforeAll(async () => {
    // sys_interval 1: $SYS topics are published (retained) from the first second.
    m = await startMosquitto({ extraConfig: 'sys_interval 1' });
  });
  afterAll(() => m?.stop());

  /** Mosquitto's log since `from` (log_type all prints every packet it receives). */
  const logSince = (from: number): string => m.log().slice(from);
  /** Waits until mosquitto's log since `from` matches (its stderr reaches us a little after its packets). */
  const logShows = (from: number, re: RegExp): Promise<void> => until(() => re.test(logSince(from)), 2000, `mosquitto log matching ${re}`);
  /** Everything mosquitto logged before this call is in our copy once the broker has logged a PUBLISH of ours after it. */
  const syncLog = async (c: MqttClient, from: number): Promise<void> => {
    const topic = `mq/sync/${Math.random().toString(16).slice(2)}`;
    await c.publish(topic, 's', { qos: 1 });
    await logShows(from, new RegExp(`Received PUBLISH from ${c.clientId} .*'${topic}'`));
  };

  it('connects; sessionPresent reflects a kept session', async () => {
    const a = await h.connected(m.url, { clientId: 'mq-keeper', clean: false });
    await a.subscribe('mq/keep/#', { qos: 1 });
    await a.end();
    const b = h.client(m.url, { clientId: 'mq-keeper', clean: false });
    await expect(b.connect()).resolves.toEqual({ sessionPresent: true, properties: {} });
    await b.end();
    const c = h.client(m.url, { clientId: 'mq-keeper', clean: true });
    await expect(c.connect()).resolves.toEqual({ sessionPresent: false, properties: {} });
  });

  it('bad credentials: ConnectionRefusedError with return code 5 (mosquitto 2.0 never answers 4), closed rejects with it', async () => {
    const auth = await h.mosquitto({ passwordFile: { alice: 'wonderland' } });
    for (const options of [{ username: 'alice', password: 'nope' }, { username: 'bob', password: 'wonderland' }, {}]) {
      const c = h.client(auth.url, options);
      const err = await rejection(c.connect());
      expect(err, JSON.stringify(options)).toBeInstanceOf(ConnectionRefusedError);
      expect(err).toMatchObject({ code: 'CONNECTION_REFUSED', returnCode: 5 });
      expect((err as Error).message).toMatch(/not authorized/);
      await expect(c.closed).rejects.toBe(err);
    }
    const ok = h.client(auth.url, { username: 'alice', password: 'wonderland' });
    await expect(ok.connect()).resolves.toEqual({ sessionPresent: false, properties: {} });
  });

  it('the will is delivered after destroy(), and not after end()', async () => {
    const watcher = await h.connected(m.url);
    const wills = await watcher.subscribe('mq/will/#', { qos: 1 });
    const dying = await h.connected(m.url, { clientId: 'mq-dying', will: { topic: 'mq/will/dying', payload: 'gone', qos: 1 } });
    const polite = await h.connected(m.url, { clientId: 'mq-polite', will: { topic: 'mq/will/polite', payload: 'x', qos: 1 } });
    await polite.end();
    await m.waitForLog('Client mq-polite disconnected.');
    dying.destroy();
    const [w] = await take(wills, 1);
    expect(w).toMatchObject({ topic: 'mq/will/dying', qos: 1, retain: false });
    expect(w!.text()).toBe('gone');
    await watcher.publish('mq/will/marker', 'm', { qos: 1 });
    const [marker] = await take(wills, 1);
    expect(marker!.topic).toBe('mq/will/marker');
  });

  it('a retained message reaches a later subscriber with retain=true', async () => {
    const pub = await h.connected(m.url);
    await pub.publish('mq/ret/a', 'kept', { qos: 1, retain: true });
    const sub = await h.connected(m.url);
    const s = await sub.subscribe('mq/ret/#', { qos: 1 });
    const [r] = await take(s, 1);
    expect(r).toMatchObject({ topic: 'mq/ret/a', retain: true, qos: 1 });
    expect(r!.text()).toBe('kept');
    await pub.publish('mq/ret/a', '', { qos: 1, retain: true }); // clear it
  });

  it('QoS 0/1/2 in both directions: same bytes, delivered at min(publish, subscribe) QoS', async () => {
    const sub = await h.connected(m.url);
    const pub = await h.connected(m.url);
    const payload = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
    for (const sq of [0, 1, 2] as const) {
      const s = await sub.subscribe(`mq/q/${sq}`, { qos: sq });
      expect(s.granted).toEqual([sq]);
      for (const pq of [0, 1, 2] as const) {
        await within(pub.publish(`mq/q/${sq}`, payload, { qos: pq }), 2000, `publish QoS ${pq}`);
        const [msg] = await take(s, 1);
        expect({ pq, sq, qos: msg!.qos, retain: msg!.retain }).toEqual({ pq, sq, qos: Math.min(pq, sq) as QoS, retain: false });
        expect(Array.from(msg!.payload)).toEqual(Array.from(payload));
      }
      await s.unsubscribe();
    }
    const j = await sub.subscribe('mq/json', { qos: 1 });
    await pub.publish('mq/json', JSON.stringify({ a: [1, 'é'] }), { qos: 2 });
    const [doc] = await take(j, 1);
    expect(doc!.json()).toEqual({ a: [1, 'é'] });
  });

  it('`#` does not match $SYS/broker/uptime; a $SYS filter does', async () => {
    const c = await h.connected(m.url);
    const all = await c.subscribe('#', { qos: 0 });
    const plus = await c.subscribe('+/broker/uptime', { qos: 0 });
    const sys = await c.subscribe('$SYS/broker/uptime', { qos: 0 });
    const [uptime] = await take(sys, 1, 3000);
    expect(uptime!.topic).toBe('$SYS/broker/uptime');
    expect(uptime!.text()).toMatch(/^\d+ seconds$/);
    const pub = await h.connected(m.url);
    await pub.publish('mq/sys-marker', 'm', { qos: 1 });
    let first: Message | undefined;
    do [first] = await take(all, 1); // other tests' retained or live messages may come first
    while (first!.topic !== 'mq/sys-marker' && !first!.topic.startsWith('$'));
    expect(first!.topic).toBe('mq/sys-marker');
    expect(plus.buffered).toBe(0);
  });

  it('overlapping a/# and a/+: each subscription gets each PUBLISH received exactly once', async () => {
    const log = new PacketLog();
    const c = await h.connected(m.url, { logger: log.logger });
    const hash = await c.subscribe('mq/ov/#', { qos: 1 });
    const plus = await c.subscribe('mq/ov/+', { qos: 1 });
    const pub = await h.connected(m.url);
    for (let i = 0; i < 3; i++) await pub.publish('mq/ov/b', `m${i}`, { qos: 1 });
    await pub.publish('mq/ov/b/end', 'end', { qos: 1 });
    const fromHash: Message[] = [];
    while (fromHash.at(-1)?.topic !== 'mq/ov/b/end') fromHash.push(...(await take(hash, 1)));
    const copies = log.in('PUBLISH').filter((l) => l.includes('topic="mq/ov/b"')).length;
    expect([3, 6]).toContain(copies);
    expect(fromHash.filter((x) => x.topic === 'mq/ov/b')).toHaveLength(copies);
    expect(plus.buffered).toBe(copies);
  });

  it('subscribe refused (dynsec deny -> SUBACK 0x80): SubscribeError, the granted filter is unsubscribed', async () => {
    const deny = await h.mosquitto({ denyTopics: ['secret/#'] });
    const c = await h.connected(deny.url, { clientId: 'mq-refused' });
    const unrouted = c.messages();
    const from = deny.log().length;
    const err = await rejection(c.subscribe(['open/a', 'secret/x'], { qos: 1 }));
    expect(err).toBeInstanceOf(SubscribeError);
    expect(err).toMatchObject({ code: 'SUBSCRIBE_REFUSED', refused: ['secret/x'], granted: [{ topicFilter: 'open/a', qos: 1 }] });
    await until(() => unsubscribes(deny.log().slice(from), 'mq-refused').length > 0, 2000, 'UNSUBSCRIBE in the log');
    expect(unsubscribes(deny.log().slice(from), 'mq-refused')).toEqual([['open/a']]);
    const marker = await c.subscribe('open/marker', { qos: 1 });
    const pub = await h.connected(deny.url);
    await pub.publish('open/a', 'not for you', { qos: 1 });
    await pub.publish('open/marker', 'm', { qos: 1 });
    await take(marker, 1);
    expect(unrouted.buffered).toBe(0);
    expect(c.stats().messagesIn).toBe(1);
  });

  it('unsubscribe stops delivery; break unsubscribes unless another live subscription shares the filter', async () => {
    const c = await h.connected(m.url, { clientId: 'mq-unsub' });
    const pub = await h.connected(m.url);
    const marker = await c.subscribe('mq/un/marker', { qos: 1 });
    const unrouted = c.messages();

    const a = await c.subscribe('mq/un/a', { qos: 1 });
    let from = m.log().length;
    await c.unsubscribe('mq/un/a');
    await until(() => unsubscribes(logSince(from), 'mq-unsub').length > 0, 2000, 'UNSUBSCRIBE in the log');
    expect(unsubscribes(logSince(from), 'mq-unsub')).toEqual([['mq/un/a']]);
    await expect(a.next()).resolves.toEqual({ value: undefined, done: true });

    const first = await c.subscribe('mq/un/shared', { qos: 1 });
    const second = await c.subscribe('mq/un/shared', { qos: 1 });
    await pub.publish('mq/un/shared', '1', { qos: 1 });
    from = m.log().length;
    for await (const _x of first) break;
    const [kept] = await take(second, 1);
    expect(kept!.text()).toBe('1');
    await pub.publish('mq/un/shared', '2', { qos: 1 });
    const [still] = await take(second, 1);
    expect(still!.text()).toBe('2');
    await syncLog(c, from);
    expect(unsubscribes(logSince(from), 'mq-unsub')).toEqual([]);
    await pub.publish('mq/un/shared', '3', { qos: 1 }); // something for the loop to read
    for await (const _x of second) break;
    await until(() => unsubscribes(logSince(from), 'mq-unsub').length > 0, 2000, 'UNSUBSCRIBE in the log');
    expect(unsubscribes(logSince(from), 'mq-unsub')).toEqual([['mq/un/shared']]);

    await pub.publish('mq/un/a', 'late', { qos: 1 });
    await pub.publish('mq/un/shared', 'late', { qos: 1 });
    await pub.publish('mq/un/marker', 'm', { qos: 1 });
    await take(marker, 1);
    expect(unrouted.buffered).toBe(0);
  });

  it('10,000 QoS 2 messages fired without awaiting arrive complete, unique and in order (default limits)', async () => {
    // Its own broker without per-packet logging (80,000 log lines would cost more than the broker's work).
    const quiet = await h.mosquitto({ logTypes: ['error', 'warning'] });
    const sub = await h.connected(quiet.url, { clientId: 'mq-burst-sub' });
    const pub = await h.connected(quiet.url, { clientId: 'mq-burst-pub', ackTimeout: 20_000 });
    const s = await sub.subscribe('mq/burst', { qos: 2 });
    const N = 10_000;
    const got: number[] = [];
    const reading = (async () => {
      for await (const x of s) {
        got.push(Number(x.text()));
        if (got.length === N) break;
      }
    })();
    const published = Promise.all(Array.from({ length: N }, (_, i) => pub.publish('mq/burst', String(i), { qos: 2 })));
    expect(pub.stats().inflight).toBe(20);
    await within(Promise.all([published, reading]), 15_000, '10,000 QoS 2 messages through mosquitto');
    expect(got.length).toBe(N);
    expect(new Set(got).size).toBe(N);
    expect(got.every((v, i) => v === i)).toBe(true);
    expect(pub.stats()).toMatchObject({ inflight: 0, queued: 0 });
    await until(() => sub.stats().messagesIn === N, 1000, 'subscriber stats');
  }, 20_000);

  it('the connect() helper and `await using` (mosquitto logs the DISCONNECT)', async () => {
    {
      await using c = await connect(m.url, { ...FAST, clientId: 'mq-using' });
      expect(c.connected).toBe(true);
    }
    await m.waitForLog('Client mq-using disconnected.');
  });
});
