/**
 * MQTT 3.1.1 statements about the session state machine, checked on the Session alone with a
 * scripted host (test/session/host.ts): packets in through receive(), packets out as the host
 * records them, time from a hand-driven clock. A reconnect is what the client does:
 * suspend(err), then start() on the new connection and the server's CONNACK.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, PublishPacket } from '../../src/codec/packets.js';
import { ConnectionClosedError, TimeoutError } from '../../src/errors.js';
import { Session, type SessionOptions } from '../../src/session/session.js';
import { MemoryStore } from '../../src/store/store.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { defaultOptions, incoming, pub, publishTracked, ScriptedHost, sent, settle, track } from '../session/host.js';

interface Harness {
  session: Session;
  host: ScriptedHost;
  timers: ManualTimers;
  store: MemoryStore;
}

/** A session with CONNACK 0 received and its CONNECT taken from `host.written`. */
async function connected(options: Partial<SessionOptions> = {}, store = new MemoryStore()): Promise<Harness> {
  const host = new ScriptedHost();
  const timers = new ManualTimers();
  const resolved = { ...defaultOptions, ...options };
  const session = new Session(resolved, host, timers, store);
  session.restore(await store.open(resolved.clientId));
  const connack = session.start();
  session.receive({ type: 'connack', sessionPresent: false, returnCode: 0 });
  await connack;
  host.take();
  return { session, host, timers, store };
}

/** The connection drops and a new one is accepted with `sessionPresent`; returns what was written on it. */
async function reconnect(h: Harness, sessionPresent: boolean): Promise<Packet[]> {
  h.session.suspend(new ConnectionClosedError('cut'));
  const connack = h.session.start();
  h.session.receive({ type: 'connack', sessionPresent, returnCode: 0 });
  await connack;
  return h.host.take();
}

const dup = (p: PublishPacket): PublishPacket => ({ ...p, dup: true });
const CONNECT = expect.objectContaining({ type: 'connect' });

/**
 * Four flows left mid-way on the first connection: A QoS 1 (id 1, no PUBACK), B QoS 2 (id 2, PUBREC
 * received so PUBREL sent), C QoS 2 (id 3, no PUBREC), D QoS 1 (id 4, no PUBACK).
 */
function midFlow(h: Harness): ReturnType<typeof publishTracked>[] {
  const flows = [pub('t/a', 1, 'A'), pub('t/b', 2, 'B'), pub('t/c', 2, 'C'), pub('t/d', 1, 'D')].map((p) => publishTracked(h.session, p));
  h.session.receive({ type: 'pubrec', packetId: 2 });
  expect(h.host.take()).toStrictEqual([sent('t/a', 1, 1, 'A'), sent('t/b', 2, 2, 'B'), sent('t/c', 2, 3, 'C'), sent('t/d', 1, 4, 'D'), { type: 'pubrel', packetId: 2 }]);
  return flows;
}

describe('MQTT 3.1.1 session state across connections', () => {
  it('on reconnecting, unacknowledged PUBLISHes and PUBRELs are re-sent with their original ids, in their original order, right after CONNECT [MQTT-4.4.0-1] [MQTT-2.3.1-3] [MQTT-4.6.0-1]', async () => {
    const h = await connected({ clean: false });
    const flows = midFlow(h);
    const resent = [CONNECT, dup(sent('t/a', 1, 1, 'A')), { type: 'pubrel', packetId: 2 }, dup(sent('t/c', 2, 3, 'C')), dup(sent('t/d', 1, 4, 'D'))];
    expect(await reconnect(h, true)).toStrictEqual(resent);
    // Twice over: the ids stay the same on every re-send.
    expect(await reconnect(h, true)).toStrictEqual(resent);
    // A new message meanwhile gets an id none of them holds.
    publishTracked(h.session, pub('t/e', 1, 'E'));
    expect(h.host.take()).toStrictEqual([sent('t/e', 1, 5, 'E')]);
    h.session.receive({ type: 'puback', packetId: 1 });
    h.session.receive({ type: 'pubcomp', packetId: 2 });
    h.session.receive({ type: 'pubrec', packetId: 3 });
    expect(h.host.take()).toStrictEqual([{ type: 'pubrel', packetId: 3 }]);
    h.session.receive({ type: 'pubcomp', packetId: 3 });
    h.session.receive({ type: 'puback', packetId: 4 });
    await settle();
    expect(flows.map((f) => f.status)).toEqual(['resolved', 'resolved', 'resolved', 'resolved']);
  });

  it('a PUBLISH re-sent on a new connection has DUP set; its first sending did not [MQTT-3.3.1-1]', async () => {
    const h = await connected();
    publishTracked(h.session, pub('q1', 1));
    publishTracked(h.session, pub('q2', 2));
    const first = h.host.take() as PublishPacket[];
    expect(first.map((p) => [p.packetId, p.dup])).toEqual([[1, false], [2, false]]);
    const again = (await reconnect(h, true)).slice(1) as PublishPacket[];
    expect(again.map((p) => [p.type, p.packetId, p.qos, p.dup])).toEqual([
      ['publish', 1, 1, true],
      ['publish', 2, 2, true],
    ]);
  });

  it('with clean: false, in-flight messages and incoming QoS 2 ids outlive the connection and are resumed on the next one [MQTT-3.1.2-4] [MQTT-4.1.0-1]', async () => {
    const h = await connected({ clean: false });
    const out = publishTracked(h.session, pub('out', 1));
    h.session.receive(incoming('in', 2, 9));
    expect(h.host.take()).toStrictEqual([sent('out', 1, 1), { type: 'pubrec', packetId: 9 }]);
    expect(h.host.delivered.map((p) => p.topic)).toEqual(['in']);

    expect(await reconnect(h, true)).toStrictEqual([CONNECT, dup(sent('out', 1, 1))]);
    // The server re-sends its QoS 2 PUBLISH: acknowledged again, not delivered again.
    h.session.receive(incoming('in', 2, 9, { dup: true }));
    expect(h.host.take()).toStrictEqual([{ type: 'pubrec', packetId: 9 }]);
    expect(h.host.delivered).toHaveLength(1);
    h.session.receive({ type: 'pubrel', packetId: 9 });
    h.session.receive({ type: 'puback', packetId: 1 });
    expect(h.host.take()).toStrictEqual([{ type: 'pubcomp', packetId: 9 }]);
    await settle();
    expect(out.status).toBe('resolved');
  });

  it('with clean: false the state also outlives the Session object: a new one opening the same Store resumes it [MQTT-3.1.2-4] [MQTT-4.1.0-1]', async () => {
    const store = new MemoryStore();
    const first = await connected({ clean: false, clientId: 'keeper' }, store);
    publishTracked(first.session, pub('out', 2));
    first.session.receive({ type: 'pubrec', packetId: 1 });
    first.session.receive(incoming('in', 2, 9));
    expect(first.host.take()).toStrictEqual([sent('out', 2, 1), { type: 'pubrel', packetId: 1 }, { type: 'pubrec', packetId: 9 }]);
    first.session.close();
    await store.close();

    const host = new ScriptedHost();
    const second = new Session({ ...defaultOptions, clean: false, clientId: 'keeper' }, host, new ManualTimers(), store);
    second.restore(await store.open('keeper'));
    const connack = second.start();
    second.receive({ type: 'connack', sessionPresent: true, returnCode: 0 });
    await connack;
    expect(host.take()).toStrictEqual([CONNECT, { type: 'pubrel', packetId: 1 }]);
    second.receive(incoming('in', 2, 9, { dup: true }));
    expect(host.take()).toStrictEqual([{ type: 'pubrec', packetId: 9 }]);
    expect(host.delivered).toEqual([]);
  });

  it('a new broker session (Session Present 0), with clean: true and with clean: false: the in-flight PUBLISHes go again as new messages (new ids, DUP 0) in their order, ahead of the queue; no PUBREL of the old session [MQTT-3.1.2-6]', async () => {
    for (const clean of [true, false]) {
      const h = await connected({ clean, inflightWindow: 4 });
      const flows = midFlow(h);
      const queued = publishTracked(h.session, pub('t/e', 1, 'E')); // the window is full: it waits
      expect(h.host.take()).toStrictEqual([]);
      // Ids 1 to 4 belonged to the discarded session: the new messages take 5 to 8, then E 9.
      expect(await reconnect(h, false)).toStrictEqual([CONNECT, sent('t/a', 1, 5, 'A'), sent('t/b', 2, 6, 'B'), sent('t/c', 2, 7, 'C'), sent('t/d', 1, 8, 'D')]);
      await settle();
      expect([...flows, queued].map((f) => f.status)).toEqual(['pending', 'pending', 'pending', 'pending', 'pending']);
      // Acks for the old ids are for nothing we hold now: ignored (a PUBREC is still released).
      h.session.receive({ type: 'puback', packetId: 1 });
      h.session.receive({ type: 'pubcomp', packetId: 2 });
      expect(h.host.take()).toStrictEqual([]);
      h.session.receive({ type: 'puback', packetId: 5 });
      expect(h.host.take()).toStrictEqual([sent('t/e', 1, 9, 'E')]);
      for (const id of [6, 7]) h.session.receive({ type: 'pubrec', packetId: id });
      expect(h.host.take()).toStrictEqual([{ type: 'pubrel', packetId: 6 }, { type: 'pubrel', packetId: 7 }]);
      for (const [type, packetId] of [['pubcomp', 6], ['pubcomp', 7], ['puback', 8], ['puback', 9]] as const) h.session.receive({ type, packetId });
      await settle();
      expect([...flows, queued].map((f) => f.status)).toEqual(['resolved', 'resolved', 'resolved', 'resolved', 'resolved']);
      expect(h.session.stats).toEqual({ inflight: 0, queued: 0 });
    }
  });

  it('a new broker session (Session Present 0) makes the client forget the incoming QoS 2 ids of the old one [MQTT-3.1.2-6]', async () => {
    const h = await connected();
    h.session.receive(incoming('in', 2, 9));
    expect(h.host.take()).toStrictEqual([{ type: 'pubrec', packetId: 9 }]);
    await reconnect(h, false);
    // In the new session, id 9 is a new message: delivered.
    h.session.receive(incoming('again', 2, 9));
    expect(h.host.take()).toStrictEqual([{ type: 'pubrec', packetId: 9 }]);
    expect(h.host.delivered.map((p) => p.topic)).toEqual(['in', 'again']);
    // Control: within one session the same re-sent PUBLISH is not delivered again.
    h.session.receive(incoming('again', 2, 9, { dup: true }));
    expect(h.host.delivered).toHaveLength(2);
  });
});

describe('MQTT 3.1.1 session state while connected', () => {
  it('nothing is dropped while connected: an ack timeout rejects the caller but the flow keeps its id until the late PUBACK; an incoming QoS 2 id is kept however long PUBREL takes [MQTT-4.1.0-2]', async () => {
    const h = await connected({ ackTimeout: 1000 });
    const late = publishTracked(h.session, pub('late', 1));
    h.session.receive(incoming('in', 2, 9));
    h.host.take();
    h.timers.advance(1000);
    await settle();
    expect(late.error).toBeInstanceOf(TimeoutError);
    expect(h.session.stats).toEqual({ inflight: 1, queued: 0 });
    // Id 1 is still taken: the next message gets 2.
    publishTracked(h.session, pub('next', 1));
    expect(h.host.take()).toStrictEqual([sent('next', 1, 2)]);
    h.session.receive({ type: 'puback', packetId: 1 });
    expect(h.session.stats).toEqual({ inflight: 1, queued: 0 });
    h.timers.advance(3_600_000);
    h.session.receive(incoming('in', 2, 9, { dup: true }));
    expect(h.host.delivered.map((p) => p.topic)).toEqual(['in']);
    h.session.receive({ type: 'pubrel', packetId: 9 });
    expect(h.host.take()).toStrictEqual([{ type: 'pubrec', packetId: 9 }, { type: 'pubcomp', packetId: 9 }]);
  });
});

describe('MQTT 3.1.1 acknowledgements', () => {
  it('PUBRECs go out in the order the QoS 2 PUBLISHes came [MQTT-4.6.0-3]', async () => {
    const h = await connected();
    for (const id of [5, 3, 9, 1, 65535]) h.session.receive(incoming(`t${id}`, 2, id));
    expect(h.host.take()).toStrictEqual([5, 3, 9, 1, 65535].map((packetId) => ({ type: 'pubrec', packetId })));
  });

  it("our PUBREC carries the id of the server's PUBLISH and our PUBREL the id of our PUBLISH; an ack completes only the flow with its id [MQTT-2.3.1-6]", async () => {
    const h = await connected();
    h.session.receive(incoming('in', 2, 0x1234));
    expect(h.host.take()).toStrictEqual([{ type: 'pubrec', packetId: 0x1234 }]);
    const q2 = publishTracked(h.session, pub('out2', 2));
    const q1 = publishTracked(h.session, pub('out1', 1));
    h.host.take();
    h.session.receive({ type: 'pubrec', packetId: 1 });
    expect(h.host.take()).toStrictEqual([{ type: 'pubrel', packetId: 1 }]);
    // A PUBACK with another id leaves the QoS 1 flow (id 2) open.
    h.session.receive({ type: 'puback', packetId: 3 });
    await settle();
    expect([q2.status, q1.status]).toEqual(['pending', 'pending']);
    h.session.receive({ type: 'puback', packetId: 2 });
    h.session.receive({ type: 'pubcomp', packetId: 1 });
    await settle();
    expect([q2.status, q1.status]).toEqual(['resolved', 'resolved']);
  });

  it('a SUBACK completes only the SUBSCRIBE with its packet id [MQTT-3.8.4-2]', async () => {
    const h = await connected();
    const a = track(h.session.subscribe([{ topicFilter: 'a', qos: 0 }]));
    const b = track(h.session.subscribe([{ topicFilter: 'b', qos: 1 }]));
    expect(h.host.take().map((p) => (p.type === 'subscribe' ? p.packetId : -1))).toEqual([1, 2]);
    h.session.receive({ type: 'suback', packetId: 7, returnCodes: [0] });
    h.session.receive({ type: 'suback', packetId: 2, returnCodes: [1] });
    await settle();
    expect([a.status, b.status, b.value]).toEqual(['pending', 'resolved', [1]]);
    h.session.receive({ type: 'suback', packetId: 1, returnCodes: [0] });
    await settle();
    expect([a.status, a.value]).toEqual(['resolved', [0]]);
  });
});

describe('MQTT 5 session state across connections [v5]', () => {
  it('Clean Start 1 (Session Present 0): in-flight PUBLISHes go again as new messages with new ids and DUP 0, and no PUBREL; Clean Start 0 with Session Present 1: re-sent with their ids and DUP [MQTT-4.4.0-1]', async () => {
    const fresh = await connected({ protocolLevel: 5, clean: true });
    midFlow(fresh);
    expect(await reconnect(fresh, false)).toStrictEqual([CONNECT, sent('t/a', 1, 5, 'A'), sent('t/b', 2, 6, 'B'), sent('t/c', 2, 7, 'C'), sent('t/d', 1, 8, 'D')]);
    // Control: the same flows on a resumed session keep their ids.
    const kept = await connected({ protocolLevel: 5, clean: false });
    midFlow(kept);
    expect(await reconnect(kept, true)).toStrictEqual([CONNECT, dup(sent('t/a', 1, 1, 'A')), { type: 'pubrel', packetId: 2 }, dup(sent('t/c', 2, 3, 'C')), dup(sent('t/d', 1, 4, 'D'))]);
  });
});
