/**
 * MQTT 5 reason codes on acknowledgements (issue 14, item 4): PUBACK/PUBREC refusals reject with
 * PublishError and are never re-sent, a refused PUBREC ends the QoS 2 flow, codes under 0x80 resolve
 * with the code and properties; SUBACK refusals name each filter's reason; UNSUBACK codes are returned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublishError, SubscribeError } from '../../src/index.js';
import { FAST, rejection, until, useHarness, within } from '../client/helpers.js';
import { client5, connectToFake5, expectQuiet5, next5, send5 } from '../helpers/fake-broker-v5.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';

const h = useHarness();


describe('MQTT 5 PUBACK and PUBREC reason codes [v5]', () => {
  it('PUBACK 0x87 rejects with PublishError; the message is never re-sent, while an unacknowledged one is (MQTT-4.4.0-2)', async () => {
    const { c, conn, fake, timers } = await connectToFake5(h, { clientId: 'acks', clean: false, reconnect: { initialDelay: 10, maxDelay: 10 } });
    const refused = c.publish('a/refused', 'x', { qos: 1 });
    const pending = c.publish('a/pending', 'y', { qos: 1 });
    void pending.catch(() => {});
    const first = await next5(conn, 'publish');
    await next5(conn, 'publish');
    send5(conn, { type: 'puback', packetId: first.packetId!, reasonCode: 0x87, properties: { reasonString: 'not for you' } });
    const err = await rejection(refused);
    expect(err).toBeInstanceOf(PublishError);
    expect(err).toMatchObject({ code: 'PUBLISH_REFUSED', reasonCode: 0x87, reasonString: 'not for you', topic: 'a/refused' });
    expect((err as Error).message).toBe('publish to "a/refused" refused: Not authorized (PUBACK/PUBREC reason code 0x87): "not for you"');
    // Reconnect: only the unacknowledged publish goes out again (DUP); the refused one never does.
    conn.destroy();
    await until(() => c.state === 'reconnecting', 2000, 'reconnecting');
    timers.advance(10);
    const again = await fake.nextConnection();
    await next5(again, 'connect');
    send5(again, { type: 'connack', sessionPresent: true, returnCode: 0 });
    expect(await next5(again, 'publish')).toMatchObject({ topic: 'a/pending', dup: true });
    await expectQuiet5(again);
  });

  it('PUBREC 0x80 ends the QoS 2 flow: no PUBREL, PublishError, and the id is free (MQTT-4.3.3-4)', async () => {
    const { c, conn } = await connectToFake5(h);
    const p = c.publish('q2', 'x', { qos: 2 });
    const sent = await next5(conn, 'publish');
    send5(conn, { type: 'pubrec', packetId: sent.packetId!, reasonCode: 0x80 });
    expect(await rejection(p)).toMatchObject({ code: 'PUBLISH_REFUSED', reasonCode: 0x80 });
    await expectQuiet5(conn); // no PUBREL came before the probe's answer
    expect(c.stats().inflight).toBe(0);
    // The positive control: a PUBREC under 0x80 is answered with PUBREL.
    const ok = c.publish('q2', 'y', { qos: 2 });
    const next = await next5(conn, 'publish');
    send5(conn, { type: 'pubrec', packetId: next.packetId!, reasonCode: 0x10, properties: { userProperties: [['k', 'v']] } });
    expect(await next5(conn, 'pubrel')).toMatchObject({ packetId: next.packetId });
    send5(conn, { type: 'pubcomp', packetId: next.packetId! });
    // QoS 2 resolves with the PUBREC's code and properties.
    expect(await within(ok, 2000, 'publish')).toEqual({ reasonCode: 0x10, properties: { userProperties: [['k', 'v']] } });
  });

  it('PUBACK 0x10 (No matching subscribers) resolves with the code and the ack properties; 0x00 with { reasonCode: 0 }', async () => {
    const { c, conn } = await connectToFake5(h);
    const a = c.publish('t', '1', { qos: 1 });
    const b = c.publish('t', '2', { qos: 1 });
    const pa = await next5(conn, 'publish');
    const pb = await next5(conn, 'publish');
    send5(conn, { type: 'puback', packetId: pa.packetId!, reasonCode: 0x10, properties: { reasonString: 'nobody' } });
    send5(conn, { type: 'puback', packetId: pb.packetId! });
    expect(await a).toEqual({ reasonCode: 0x10, properties: { reasonString: 'nobody' } });
    expect(await b).toEqual({ reasonCode: 0 });
  });
});

describe('MQTT 5 acknowledging what the application does not take [v5]', () => {
  it('a QoS 1 and a QoS 2 PUBLISH no subscription matches and nobody reads are acknowledged all the same [MQTT-4.5.0-2]', async () => {
    const { conn } = await connectToFake5(h);
    send5(conn, { type: 'publish', topic: 'nobody/1', payload: new Uint8Array(0), qos: 1, retain: false, dup: false, packetId: 11 });
    send5(conn, { type: 'publish', topic: 'nobody/2', payload: new Uint8Array(0), qos: 2, retain: false, dup: false, packetId: 12 });
    expect(await next5(conn, 'puback')).toMatchObject({ packetId: 11 });
    expect(await next5(conn, 'pubrec')).toMatchObject({ packetId: 12 });
    send5(conn, { type: 'pubrel', packetId: 12 });
    expect(await next5(conn, 'pubcomp')).toMatchObject({ packetId: 12 });
  });
});

describe('MQTT 5 SUBACK and UNSUBACK reason codes [v5]', () => {
  it('a SUBACK refusal names each refused filter with its reason; the granted one is unsubscribed again (MQTT-3.9.3-1)', async () => {
    const { c, conn } = await connectToFake5(h);
    const p = c.subscribe({ 'ok/#': { qos: 1 }, 'no/#': { qos: 1 } });
    const sub = await next5(conn, 'subscribe');
    send5(conn, { type: 'suback', packetId: sub.packetId, returnCodes: [1, 0x87] });
    const unsub = await next5(conn, 'unsubscribe');
    expect(unsub.topicFilters).toEqual(['ok/#']);
    send5(conn, { type: 'unsuback', packetId: unsub.packetId, reasonCodes: [0] });
    const err = await rejection(p);
    expect(err).toBeInstanceOf(SubscribeError);
    expect(err).toMatchObject({
      refused: ['no/#'],
      granted: [{ topicFilter: 'ok/#', qos: 1 }],
      reasons: [{ topicFilter: 'no/#', reasonCode: 0x87, reason: 'Not authorized' }],
    });
    expect((err as Error).message).toBe('subscription refused by the broker for: "no/#" (Not authorized, 0x87)');
  });

  it('unsubscribe() resolves with the UNSUBACK reason codes, one per filter (MQTT-3.11.3-1)', async () => {
    const { c, conn } = await connectToFake5(h);
    const p = c.unsubscribe(['a', 'b']);
    const u = await next5(conn, 'unsubscribe');
    send5(conn, { type: 'unsuback', packetId: u.packetId, reasonCodes: [0x00, 0x11] });
    expect(await within(p, 2000, 'unsubscribe')).toEqual([0x00, 0x11]);
  });
});

describeMosquitto('MQTT 5 reason codes from mosquitto [v5]', () => {
  let m: MosquittoHandle;
  beforeAll(async () => {
    m = await startMosquitto({ denyTopics: ['secret/#'] });
  });
  afterAll(() => m?.stop());

  it('a denied filter: SubscribeError with 0x87 Not authorized; the allowed filter of the same call is left', async () => {
    const c = client5(h, m.url, FAST);
    await c.connect();
    const err = await rejection(c.subscribe(['open/#', 'secret/#'], { qos: 1 }));
    expect(err).toMatchObject({ code: 'SUBSCRIBE_REFUSED', refused: ['secret/#'], reasons: [{ topicFilter: 'secret/#', reasonCode: 0x87, reason: 'Not authorized' }] });
    // Nobody subscribes to open/# any more: a QoS 1 publish is answered 0x10 No matching subscribers.
    await eventually(async () => (await c.publish('open/x', 'p', { qos: 1 }))?.reasonCode === 0x10);
    await c.end();
  });
});

async function eventually(check: () => Promise<boolean>, tries = 50): Promise<void> {
  for (let i = 0; i < tries; i++) if (await check()) return;
  throw new Error('condition never held');
}
