/**
 * MQTT 5 sessions (issue 14, item 9): Clean Start with Session Expiry replaces `clean`, and a kept
 * session, DUP re-sends and the FileStore work at level 5 exactly as at 3.1.1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/index.js';
import { FileStore } from '../../src/store/file-store.js';
import { FAST, take, useHarness, within } from '../client/helpers.js';
import { client5, next5, send5 } from '../helpers/fake-broker-v5.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';

const h = useHarness();

describeMosquitto('MQTT 5 session expiry against mosquitto [v5]', () => {
  let m: MosquittoHandle;
  beforeAll(async () => {
    m = await startMosquitto();
  });
  afterAll(() => m?.stop());

  it('clean: false keeps the session across a reconnect: the QoS 1 message published meanwhile arrives (MQTT-3.1.2-23)', async () => {
    const a = client5(h, m.url, { ...FAST, clientId: 'v5-keeper', clean: false });
    await a.connect();
    await a.subscribe('kept/#', { qos: 1 });
    await a.end();
    const pub = client5(h, m.url, FAST);
    await pub.connect();
    expect(await pub.publish('kept/x', 'while away', { qos: 1 })).toEqual({ reasonCode: 0 }); // the kept subscription matched
    const again = client5(h, m.url, { ...FAST, clientId: 'v5-keeper', clean: false });
    const inbox = again.messages();
    expect(await again.connect()).toMatchObject({ sessionPresent: true });
    const [msg]: Message[] = await take(inbox, 1);
    expect(msg!.text()).toBe('while away');
    await Promise.all([again.end(), pub.end()]);
  });

  it('end({ sessionExpiryInterval: 0 }) ends a kept session: the next connect finds none, and nothing is kept for it', async () => {
    const a = client5(h, m.url, { ...FAST, clientId: 'v5-expire', clean: false });
    await a.connect();
    await a.subscribe('gone/#', { qos: 1 });
    await a.end({ sessionExpiryInterval: 0 });
    const pub = client5(h, m.url, FAST);
    await pub.connect();
    expect(await pub.publish('gone/x', 'nobody', { qos: 1 })).toEqual({ reasonCode: 0x10 }); // no subscription left
    const again = client5(h, m.url, { ...FAST, clientId: 'v5-expire', clean: false });
    expect(await again.connect()).toMatchObject({ sessionPresent: false });
    await Promise.all([again.end(), pub.end()]);
  });
});

describe('MQTT 5 FileStore and re-sends [v5]', () => {
  it('a QoS 1 publish left in a FileStore by one client is re-sent at level 5 with DUP, its packet id and its properties by the next (MQTT-4.4.0-1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttwire-v5-store-'));
    h.defer(() => rmSync(dir, { recursive: true, force: true }));
    const fake = await h.fake();
    const first = client5(h, fake.url, { clientId: 'v5-store', clean: false, keepalive: 0, reconnect: false, store: new FileStore(dir) });
    const connecting = first.connect();
    const conn = await fake.nextConnection();
    await next5(conn, 'connect');
    send5(conn, { type: 'connack', sessionPresent: false, returnCode: 0 });
    await within(connecting, 2000, 'connect');
    const properties = { contentType: 'text/plain', correlationData: Uint8Array.of(9, 8), userProperties: [['k', '1'], ['k', '2']] as [string, string][] };
    void first.publish('stored/a', 'keep me', { qos: 1, properties }).catch(() => {});
    // The control: a 3.1.1-shaped message (no properties) in the same store comes back without any.
    void first.publish('stored/b', 'plain', { qos: 1 }).catch(() => {});
    const sent = await next5(conn, 'publish');
    const sentB = await next5(conn, 'publish');
    first.destroy(); // no PUBACK came: the message stays in the store
    await first.closed.catch(() => {});

    const second = client5(h, fake.url, { clientId: 'v5-store', clean: false, keepalive: 0, reconnect: false, store: new FileStore(dir) });
    const reconnecting = second.connect();
    const conn2 = await fake.nextConnection();
    expect(await next5(conn2, 'connect')).toMatchObject({ protocolLevel: 5, clean: false, properties: { sessionExpiryInterval: 0xffffffff } });
    send5(conn2, { type: 'connack', sessionPresent: true, returnCode: 0 });
    await within(reconnecting, 2000, 'connect');
    const resent = await next5(conn2, 'publish');
    expect(resent).toMatchObject({ topic: 'stored/a', qos: 1, dup: true, packetId: sent.packetId, properties });
    expect(new TextDecoder().decode(resent.payload)).toBe('keep me');
    const resentB = await next5(conn2, 'publish');
    expect(resentB).toMatchObject({ topic: 'stored/b', dup: true, packetId: sentB.packetId });
    expect(resentB.properties).toBeUndefined();
  });

  it('a message left in a FileStore keeps its expiry across a restart: the time the process was gone counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttwire-v5-expiry-'));
    h.defer(() => rmSync(dir, { recursive: true, force: true }));
    const fake = await h.fake();
    const options = { clientId: 'v5-expiry', clean: false, keepalive: 0, reconnect: false } as const;
    const before = new ManualTimers(1_700_000_000_000);
    const first = client5(h, fake.url, { ...options, timers: before, store: new FileStore(dir) });
    const connecting = first.connect();
    const conn = await fake.nextConnection();
    await next5(conn, 'connect');
    // A window of one: the first publish is sent, the others wait in the queue (never sent).
    send5(conn, { type: 'connack', sessionPresent: false, returnCode: 0, properties: { receiveMaximum: 1 } });
    await within(connecting, 2000, 'connect');
    for (const [topic, seconds] of [['exp/sent', 10], ['exp/short', 3], ['exp/long', 100]] as const) {
      void first.publish(topic, 'x', { qos: 1, properties: { messageExpiryInterval: seconds } }).catch(() => {});
    }
    const sent = await next5(conn, 'publish');
    expect(sent).toMatchObject({ topic: 'exp/sent', properties: { messageExpiryInterval: 10 } });
    first.destroy();
    await first.closed.catch(() => {});

    // The next process starts 4.5 s later by the wall clock.
    const after = new ManualTimers(1_700_000_004_500);
    const second = client5(h, fake.url, { ...options, timers: after, store: new FileStore(dir) });
    const reconnecting = second.connect();
    const conn2 = await fake.nextConnection();
    await next5(conn2, 'connect');
    send5(conn2, { type: 'connack', sessionPresent: true, returnCode: 0 });
    await within(reconnecting, 2000, 'connect');
    // Re-sent with what is left of its interval (10 s less 4.5, in whole seconds: 6).
    expect(await next5(conn2, 'publish')).toMatchObject({ topic: 'exp/sent', dup: true, packetId: sent.packetId, properties: { messageExpiryInterval: 6 } });
    // exp/short expired while no process held it: never sent, counted. exp/long goes with 96 s left.
    expect(await next5(conn2, 'publish')).toMatchObject({ topic: 'exp/long', dup: false, properties: { messageExpiryInterval: 96 } });
    expect(second.stats().expired).toBe(1);
  });
});
