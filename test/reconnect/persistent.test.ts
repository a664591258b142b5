/**
 * Persistent sessions and shared subscriptions against the real Mosquitto 2.0 (skipped without the
 * binary): messages queued by the broker for an offline clean: false client reach it, whether it
 * is a new client with the same clientId or the same client reconnecting on its own (through a
 * proxy that cuts the connection, or across a broker restart with persistence); `$share/group/`
 * subscriptions split the messages and route to the right Subscription, also after a reconnect.
 */
import { expect, it } from 'vitest';
import type { Message, MqttClient, Subscription } from '../../src/index.js';
import { openTcp } from '../../src/transport/node-tcp.js';
import type { TransportFactory } from '../../src/transport/transport.js';
import { describeMosquitto } from '../helpers/mosquitto.js';
import { PacketLog, take, until, useHarness, within } from '../client/helpers.js';
import { startProxy, StatusRecorder, type TcpProxy } from './helpers.js';
import { forwarding } from '../helpers/transport.js';

const h = useHarness();
const QUICK = { initialDelay: 20, maxDelay: 100 } as const;
/** Less log chatter than the default 'all'. */
const QUIET = { logTypes: ['error', 'warning', 'notice'] };

function texts(msgs: Message[]): string[] {
  return msgs.map((m) => m.text());
}

/** Packets the client sent after its last CONNECT. */
function sentSinceLastConnect(log: PacketLog): string[] {
  const out = log.out();
  return out.slice(out.map((l) => l.startsWith('> CONNECT')).lastIndexOf(true) + 1);
}

async function proxyTo(port: number): Promise<TcpProxy> {
  const p = await startProxy(port);
  h.defer(() => p.close());
  return p;
}

describeMosquitto('persistent sessions (Mosquitto)', () => {
  it('a clean: false client comes back with the same clientId: the QoS 1 messages published while it was away arrive via messages()', async () => {
    const m = await h.mosquitto(QUIET);
    const first = await h.connected(m.url, { clientId: 'ps-away', clean: false });
    await first.subscribe('ps/away', { qos: 1 });
    await first.end();
    const pub = await h.connected(m.url, { clientId: 'ps-away-pub' });
    for (const i of [1, 2, 3]) await pub.publish('ps/away', `m${i}`, { qos: 1 });

    const again = h.client(m.url, { clientId: 'ps-away', clean: false });
    await expect(again.connect()).resolves.toEqual({ sessionPresent: true, properties: {} });
    const msgs = await take(again.messages(), 3); // held from CONNACK on until the application reads
    expect(msgs.map((x) => [x.topic, x.text(), x.qos])).toEqual([
      ['ps/away', 'm1', 1],
      ['ps/away', 'm2', 1],
      ['ps/away', 'm3', 1],
    ]);
    expect(again.stats().unroutedDropped).toBe(0);
  });

  it('... and via a subscribe() made right after connect (the held messages go to the matching subscription)', async () => {
    const m = await h.mosquitto(QUIET);
    const first = await h.connected(m.url, { clientId: 'ps-resub', clean: false });
    await first.subscribe('ps/resub/#', { qos: 1 });
    await first.end();
    const pub = await h.connected(m.url, { clientId: 'ps-resub-pub' });
    for (const i of [1, 2, 3]) await pub.publish(`ps/resub/${i}`, `m${i}`, { qos: 1 });

    const again = await h.connected(m.url, { clientId: 'ps-resub', clean: false });
    const sub = await again.subscribe('ps/resub/#', { qos: 1 });
    expect(texts(await take(sub, 3))).toEqual(['m1', 'm2', 'm3']);
    await pub.publish('ps/resub/4', 'm4', { qos: 1 });
    expect(texts(await take(sub, 1))).toEqual(['m4']);
  });

  it('the same client, cut off by the network: reconnects with sessionPresent, sends no SUBSCRIBE, and the same loop gets what was queued meanwhile', async () => {
    const m = await h.mosquitto(QUIET);
    const proxy = await proxyTo(m.port);
    const log = new PacketLog();
    const c = await h.connected(proxy.url, { clientId: 'ps-cut', clean: false, reconnect: QUICK, logger: log.logger });
    const sub = await c.subscribe('ps/cut/#', { qos: 1 });
    const got: string[] = [];
    const loop = (async () => {
      for await (const msg of sub) {
        got.push(msg.text());
        if (got.length === 4) break;
      }
    })();
    const st = new StatusRecorder(c);
    await proxy.down();
    await st.next('reconnecting');
    const pub = await h.connected(m.url, { clientId: 'ps-cut-pub' });
    for (const i of [1, 2, 3]) await pub.publish('ps/cut/x', `m${i}`, { qos: 1 });
    expect(got).toEqual([]);

    await proxy.up();
    expect(await st.next('connected', 3000)).toMatchObject({ sessionPresent: true, url: proxy.url });
    await until(() => got.length === 3, 2000, () => `3 queued messages (got ${JSON.stringify(got)})`);
    expect(got).toEqual(['m1', 'm2', 'm3']);
    expect(sentSinceLastConnect(log).filter((l) => l.startsWith('> SUBSCRIBE'))).toEqual([]);
    await pub.publish('ps/cut/x', 'm4', { qos: 1 });
    await within(loop, 2000, 'the loop');
    expect(got).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('a broker restart with persistence: the client reconnects with sessionPresent and keeps receiving without resubscribing', async () => {
    const m = await h.mosquitto({ ...QUIET, persistence: true });
    const log = new PacketLog();
    const c = await h.connected(m.url, { clientId: 'ps-restart', clean: false, reconnect: QUICK, logger: log.logger });
    const sub = await c.subscribe('ps/restart/#', { qos: 1 });
    const st = new StatusRecorder(c);
    await m.restart();
    expect(await st.next('connected', 5000)).toMatchObject({ sessionPresent: true });
    expect(sentSinceLastConnect(log).filter((l) => l.startsWith('> SUBSCRIBE'))).toEqual([]);
    const pub = await h.connected(m.url, { clientId: 'ps-restart-pub' });
    await pub.publish('ps/restart/x', 'after restart', { qos: 1 });
    expect(texts(await take(sub, 1))).toEqual(['after restart']);
  });

  it('a broker restart without persistence: sessionPresent 0, so the client subscribes again (same QoS) and keeps receiving', async () => {
    const m = await h.mosquitto(QUIET);
    const log = new PacketLog();
    const c = await h.connected(m.url, { clientId: 'ps-amnesia', clean: false, reconnect: QUICK, logger: log.logger });
    const sub = await c.subscribe({ 'ps/amnesia/a': { qos: 2 }, 'ps/amnesia/b': { qos: 0 } });
    const st = new StatusRecorder(c);
    await m.restart();
    expect(await st.next('connected', 5000)).toMatchObject({ sessionPresent: false });
    await until(() => sentSinceLastConnect(log).length > 0, 1000, 'a packet after CONNECT');
    expect(sentSinceLastConnect(log)[0]).toMatch(/^> SUBSCRIBE id=\d+ "ps\/amnesia\/a"@2 "ps\/amnesia\/b"@0$/);
    await until(() => log.in('SUBACK').length === 2, 1000, 'the second SUBACK');
    expect(log.in('SUBACK').at(-1)).toMatch(/returnCodes=2,0$/);
    const pub = await h.connected(m.url, { clientId: 'ps-amnesia-pub' });
    await pub.publish('ps/amnesia/a', 'back', { qos: 2 });
    const [msg] = await take(sub, 1);
    expect([msg?.text(), msg?.qos]).toEqual(['back', 2]);
  });

  it('clean: true, cut off after PUBREC, before the broker read our PUBREL: Mosquitto had not passed the QoS 2 message on, and publishing it again as a new message delivers it once [MQTT-3.1.2-6]', async () => {
    const m = await h.mosquitto(QUIET);
    const proxy = await proxyTo(m.port);
    const subscriber = await h.connected(m.url, { clientId: 'ps-pubrel-sub' });
    const sub = await subscriber.subscribe('ps/pubrel/#', { qos: 2 });
    // The publisher's PUBREL for its first QoS 2 message never leaves: the connection stays up, the flow waits for PUBCOMP.
    let held = 0;
    const transport: TransportFactory = async (url, handlers, options) => {
      const t = await openTcp(url, handlers, options);
      return forwarding(t, {
        write: (data) => {
          if (held === 0 && data.length === 4 && data[0] === 0x62) {
            held++;
            return true;
          }
          return t.write(data);
        },
      });
    };
    const log = new PacketLog();
    const c = await h.connected(proxy.url, { clientId: 'ps-pubrel-pub', reconnect: QUICK, transport, logger: log.logger });
    const st = new StatusRecorder(c);
    const x = c.publish('ps/pubrel/x', 'X', { qos: 2 });
    await until(() => held === 1, 2000, 'the PUBREL held back');
    // Control: a later message on the same connection arrives, X does not (Mosquitto passes QoS 2 on at PUBREL).
    await c.publish('ps/pubrel/control', 'control', { qos: 1 });
    expect(texts(await take(sub, 1))).toEqual(['control']);
    proxy.cut();
    expect(await st.next('connected', 3000)).toMatchObject({ sessionPresent: false });
    await within(x, 2000, 'X, published again as a new message');
    expect(texts(await take(sub, 1))).toEqual(['X']);
    const again = sentSinceLastConnect(log).filter((l) => l.startsWith('> PUBLISH') || l.startsWith('> PUBREL'));
    // Id 1 belonged to the discarded session (and 2 went to the control): a new id, no DUP, and no PUBREL for 1.
    expect(again).toEqual(['> PUBLISH topic="ps/pubrel/x" qos=2 id=3 payload=1B', '> PUBREL id=3']);
    // Nothing more reaches the subscriber: a last message is the next one it gets.
    await c.publish('ps/pubrel/control', 'last', { qos: 1 });
    expect(texts(await take(sub, 1))).toEqual(['last']);
  });
});

describeMosquitto('shared subscriptions (Mosquitto)', () => {
  /** Reads a subscription into `into` until stopped. */
  function drain(sub: Subscription, into: string[]): Promise<void> {
    return (async () => {
      for await (const msg of sub) into.push(msg.text());
    })();
  }

  it('two clients in one $share group split the messages: each message reaches exactly one of them', async () => {
    const m = await h.mosquitto(QUIET);
    const a = await h.connected(m.url, { clientId: 'sh-a' });
    const b = await h.connected(m.url, { clientId: 'sh-b' });
    const subA = await a.subscribe('$share/grp/sh/work', { qos: 1 });
    const subB = await b.subscribe('$share/grp/sh/work', { qos: 1 });
    const gotA: string[] = [];
    const gotB: string[] = [];
    const loops = [drain(subA, gotA), drain(subB, gotB)];
    const pub = await h.connected(m.url, { clientId: 'sh-pub' });
    const N = 40;
    for (let i = 0; i < N; i++) await pub.publish('sh/work', `job${i}`, { qos: 1 });
    await until(() => gotA.length + gotB.length >= N, 3000, () => `${N} jobs (A ${gotA.length}, B ${gotB.length})`);
    await new Promise((r) => setTimeout(r, 100)); // room for a duplicate to show up
    const all = [...gotA, ...gotB].sort();
    expect(all).toEqual(Array.from({ length: N }, (_, i) => `job${i}`).sort());
    expect(gotA.length).toBeGreaterThan(0);
    expect(gotB.length).toBeGreaterThan(0);
    expect(gotA.filter((x) => gotB.includes(x))).toEqual([]);
    await subA.unsubscribe();
    await subB.unsubscribe();
    await Promise.all(loops);
  });

  it('$share/g/t/# routes by the filter after the prefix, to the right Subscription only', async () => {
    const m = await h.mosquitto(QUIET);
    const c = await h.connected(m.url, { clientId: 'sh-route' });
    const unrouted = c.messages();
    const shared = await c.subscribe('$share/g/t/#', { qos: 1 });
    const other = await c.subscribe('u/+', { qos: 1 });
    expect(shared.granted).toEqual([1]);
    const pub = await h.connected(m.url, { clientId: 'sh-route-pub' });
    await pub.publish('t/a/b', 'to shared', { qos: 1 });
    await pub.publish('u/x', 'to other', { qos: 1 });
    const [s1] = await take(shared, 1);
    expect([s1?.topic, s1?.text()]).toEqual(['t/a/b', 'to shared']);
    const [o1] = await take(other, 1);
    expect([o1?.topic, o1?.text()]).toEqual(['u/x', 'to other']);
    expect(shared.buffered).toBe(0);
    expect(other.buffered).toBe(0);
    expect(unrouted.buffered).toBe(0);
    expect(c.stats().unroutedDropped).toBe(0);
  });

  it('a $share subscription is subscribed again after a broker restart and keeps routing to the same iterator', async () => {
    const m = await h.mosquitto(QUIET);
    const log = new PacketLog();
    const c: MqttClient = await h.connected(m.url, { clientId: 'sh-restart', reconnect: QUICK, logger: log.logger });
    const shared = await c.subscribe('$share/g/sr/#', { qos: 1 });
    const st = new StatusRecorder(c);
    await m.restart();
    await st.next('connected', 5000);
    await until(() => log.in('SUBACK').length === 2, 2000, 'the re-SUBSCRIBE acknowledged');
    expect(sentSinceLastConnect(log)[0]).toMatch(/^> SUBSCRIBE id=\d+ "\$share\/g\/sr\/#"@1$/);
    const pub = await h.connected(m.url, { clientId: 'sh-restart-pub' });
    await pub.publish('sr/x', 'after', { qos: 1 });
    const [msg] = await take(shared, 1);
    expect([msg?.topic, msg?.text()]).toEqual(['sr/x', 'after']);
  });
});
