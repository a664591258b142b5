/**
 * MQTT 5 against the real Mosquitto 2.0: the plumbing (CONNECT at level 5, level-5 decoding, acks with
 * reason codes) carries a connect, a subscribe and a QoS 0/1/2 round trip.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, ConnectionRefusedError, type Message } from '../../src/index.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';
import { FAST, rejection, take, within } from '../client/helpers.js';

describeMosquitto('MQTT 5 smoke test against mosquitto [v5]', () => {
  let m: MosquittoHandle;
  let secured: MosquittoHandle;
  beforeAll(async () => {
    [m, secured] = await Promise.all([startMosquitto(), startMosquitto({ passwordFile: { alice: 'right-Secret-1' } })]);
  });
  afterAll(() => Promise.all([m?.stop(), secured?.stop()]));

  it('connects at level 5, subscribes, round-trips QoS 0, 1 and 2, unsubscribes and ends', async () => {
    const c = await connect(m.url, { ...FAST, protocolVersion: 5, clientId: 'v5-smoke' });
    try {
      await m.waitForLog(/New client connected .* as v5-smoke .*p5/, 2000);
      const sub = await c.subscribe('v5/smoke/#', { qos: 2 });
      expect(sub.granted).toEqual([2]);
      const results = [];
      for (const qos of [0, 1, 2] as const) results.push(await c.publish(`v5/smoke/${qos}`, `at ${qos}`, { qos }));
      // QoS 0 resolves with nothing; QoS 1 and 2 with the PUBACK's / PUBREC's reason code (Success).
      expect(results).toEqual([undefined, { reasonCode: 0 }, { reasonCode: 0 }]);
      const got: Message[] = await take(sub, 3);
      expect(got.map((msg) => [msg.topic, msg.text(), msg.qos])).toEqual([
        ['v5/smoke/0', 'at 0', 0],
        ['v5/smoke/1', 'at 1', 1],
        ['v5/smoke/2', 'at 2', 2],
      ]);
      expect(await c.unsubscribe('v5/smoke/#')).toEqual([0]);
      // Nobody subscribes now: Mosquitto says so with 0x10 No matching subscribers, which still resolves.
      expect(await c.publish('v5/smoke/1', 'nobody', { qos: 1 })).toEqual({ reasonCode: 0x10 });
    } finally {
      await within(c.end(), 3000, 'end');
    }
    await m.waitForLog(/Received DISCONNECT from v5-smoke/, 2000);
  });

  it('a CONNACK reason code of 0x80 or more rejects connect() with ConnectionRefusedError carrying it (MQTT-3.2.2-7)', async () => {
    const err = await rejection(connect(secured.url, { ...FAST, protocolVersion: 5, username: 'alice', password: 'wrong' }));
    expect(err).toBeInstanceOf(ConnectionRefusedError);
    expect(err).toMatchObject({ code: 'CONNECTION_REFUSED', reasonCode: 0x87, returnCode: 0x87 }); // Mosquitto 2.0 answers a bad password with 0x87
    expect((err as Error).message).toBe('connection refused: Not authorized (CONNACK reason code 0x87)');
    // The positive control: the right password gets in on the same broker.
    const ok = await connect(secured.url, { ...FAST, protocolVersion: 5, username: 'alice', password: 'right-Secret-1' });
    await ok.end();
  });
});
