/**
 * Issue 11, item 4, against the real Mosquitto: a subscription nobody reads must not stall the whole
 * client. The habit MQTT.js users bring, `await client.subscribe('a/#')` without keeping the result,
 * used to fill that subscription, pause the socket, starve every other subscription, leave the
 * PINGRESP unread so that keepalive declared the connection dead, reconnect into the same stall and
 * lose the QoS 0 messages in between (2 of 20 reached a second, well-read subscription).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AbandonedSubscriptionError } from '../../src/index.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';
import { ManualTimers, PacketLog, tick, until, useHarness, within } from '../client/helpers.js';
import { StatusRecorder } from '../reconnect/helpers.js';

const h = useHarness();

describeMosquitto('a subscription nobody reads (issue 11, item 4)', () => {
  let m: MosquittoHandle;
  beforeAll(async () => {
    m = await startMosquitto();
  });
  afterAll(() => m?.stop());

  it('keepalive outlives the stall, the stall is reported by filter and duration, the unread subscription is set aside, and a well-read one receives all 20', async () => {
    const timers = new ManualTimers();
    const log = new PacketLog();
    // keepalive 1 s (pingTimeout 1 s): without the fix the stall looks like a dead broker within 2 s.
    const c = await h.connected(m.url, {
      clientId: 'stalled-sub',
      keepalive: 1,
      timers,
      logger: log.logger,
      highWaterMark: 5,
      stallTimeout: 10_000,
      reconnect: { initialDelay: 10, maxDelay: 10 },
    });
    const st = new StatusRecorder(c);
    await c.subscribe('unread/#'); // the result is not kept: nobody will ever read it
    const read = await c.subscribe('read/#');
    const got: string[] = [];
    const reading = (async () => {
      for await (const msg of read) {
        got.push(msg.text());
        if (got.length === 20) break;
      }
    })();
    const pub = await h.connected(m.url, { clientId: 'stalled-pub' });
    for (let i = 0; i < 10; i++) await pub.publish('unread/x', `u${i}`);
    // Five messages fill the unread subscription (highWaterMark 5), and the client stops reading.
    await until(() => c.stats().messagesIn >= 5, 3000, () => `5 messages in (got ${c.stats().messagesIn})`);
    for (let i = 0; i < 20; i++) await pub.publish('read/x', `r${i}`);

    // Five keepalive intervals, each far past pingTimeout: PINGREQs go out, their answers wait unread.
    for (let s = 0; s < 5; s++) {
      timers.advance(1000);
      await tick(); // each PINGREQ is written before the next second passes
    }
    await m.waitForLog(/Received PINGREQ from stalled-sub/, 3000);
    expect(c.state).toBe('connected');
    expect(st.types()).toEqual([]);
    expect(got).toEqual([]); // still stalled: the read subscription gets nothing yet

    // stallTimeout after the stall began: reported, and the never-read subscription is set aside.
    timers.advance(5000);
    const stalled = await st.next('stalled');
    expect(stalled).toMatchObject({ filters: ['unread/#'], fullFor: 10_000 });
    expect(stalled.buffered).toBeGreaterThanOrEqual(5);
    const abandoned = await st.next('error');
    expect(abandoned.error).toBeInstanceOf(AbandonedSubscriptionError);
    expect(abandoned.error).toMatchObject({ code: 'SUBSCRIPTION_ABANDONED', filters: ['unread/#'], buffered: stalled.buffered, reliable: 0 });
    expect(log.lines).toContain(`subscription ["unread/#"] has been full (${stalled.buffered} messages) for 10000 ms: nothing is read from the broker until it is read`);

    await within(reading, 3000, 'the read subscription receiving its 20 messages');
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
    expect(c.state).toBe('connected');
    expect(st.types()).toEqual(['stalled', 'error']);
    expect(c.stats().reconnects).toBe(0);
    // What arrived for the set-aside filter after it was set aside is unrouted (nobody reads messages()).
    expect(c.stats().unroutedDropped).toBe(10 - stalled.buffered);
  });
});
