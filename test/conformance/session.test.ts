/**
 * MQTT 3.1.1 statements about the session state machine, checked on the Session alone with a
 * scripted host (test/session/host.ts): packets in through receive(), packets out as the host
 * records them, time from a hand-driven clock. A reconnect is what the client does:
 * suspend(err), then start() on the new connection and the server's CONNACK.
 */
import { describe, expect, it } from 'vitest';
import type { ConnackProperties, Packet, PublishPacket } from '../../src/codec/packets.js';
import { ConnectionClosedError, MqttError, MqttProtocolError, TimeoutError } from '../../src/errors.js';
import { Session, type SessionOptions } from '../../src/session/session.js';
import { MemoryStore } from '../../src/store/store.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { defaultOptions, incoming, pub, publishTracked, ScriptedHost, sent, settle, thrownBy, track } from '../session/host.js';

interface Harness {
  session: Session;
  host: ScriptedHost;
  timers: ManualTimers;
  store: MemoryStore;
}

/** A session with CONNACK 0 received and its CONNECT taken from `host.written`. */
async function connected(options: Partial<SessionOptions> = {}, store = new MemoryStore(), properties?: ConnackProperties): Promise<Harness> {
  const host = new ScriptedHost();
  const timers = new ManualTimers();
  const resolved = { ...defaultOptions, ...options };
  const session = new Session(resolved, host, timers, store);
  session.restore(await store.open(resolved.clientId));
  const connack = session.start();
  session.receive(properties ? { type: 'connack', sessionPresent: false, returnCode: 0, properties } : { type: 'connack', sessionPresent: false, returnCode: 0 });
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

/**
 * Both levels: our PUBACK and PUBREC carry the id of the server's PUBLISH, our PUBREL the id of our
 * PUBLISH, our PUBCOMP the id of the PUBREL; an ack completes only the flow with its id.
 */
async function checkAckIds(protocolLevel: 4 | 5): Promise<void> {
  const h = await connected({ protocolLevel });
  h.session.receive(incoming('in0', 0));
  h.session.receive(incoming('in1', 1, 0x1111));
  h.session.receive(incoming('in2', 2, 0x2222));
  h.session.receive({ type: 'pubrel', packetId: 0x2222 });
  expect(h.host.take()).toStrictEqual([
    { type: 'puback', packetId: 0x1111 },
    { type: 'pubrec', packetId: 0x2222 },
    { type: 'pubcomp', packetId: 0x2222 },
  ]);
  expect(h.host.delivered.map((p) => p.topic)).toEqual(['in0', 'in1', 'in2']);
  const q2 = publishTracked(h.session, pub('out2', 2));
  const q1 = publishTracked(h.session, pub('out1', 1));
  h.host.take();
  h.session.receive({ type: 'pubrec', packetId: 1 });
  expect(h.host.take()).toStrictEqual([{ type: 'pubrel', packetId: 1 }]);
  h.session.receive({ type: 'puback', packetId: 3 });
  h.session.receive({ type: 'pubcomp', packetId: 2 });
  await settle();
  expect([q2.status, q1.status]).toEqual(['pending', 'pending']);
  h.session.receive({ type: 'puback', packetId: 2 });
  h.session.receive({ type: 'pubcomp', packetId: 1 });
  await settle();
  expect([q2.status, q1.status]).toEqual(['resolved', 'resolved']);
}

/** Both levels: a SUBACK or UNSUBACK completes only the request with its packet id. */
async function checkSubackIds(protocolLevel: 4 | 5): Promise<void> {
  const h = await connected({ protocolLevel });
  // At 3.1.1 an UNSUBACK has no reason codes, and unsubscribe() resolves with none.
  const codes = (c: number[]): number[] | undefined => (protocolLevel === 5 ? c : undefined);
  const a = track(h.session.subscribe([{ topicFilter: 'a', qos: 0 }]));
  const b = track(h.session.subscribe([{ topicFilter: 'b', qos: 1 }]));
  const u = track(h.session.unsubscribe(['a']));
  expect(h.host.take().map((p) => ('packetId' in p ? p.packetId : -1))).toEqual([1, 2, 3]);
  h.session.receive({ type: 'suback', packetId: 7, returnCodes: [0] });
  h.session.receive({ type: 'unsuback', packetId: 9, reasonCodes: codes([0]) });
  h.session.receive({ type: 'suback', packetId: 2, returnCodes: [1] });
  await settle();
  expect([a.status, b.status, b.value, u.status]).toEqual(['pending', 'resolved', [1], 'pending']);
  h.session.receive({ type: 'unsuback', packetId: 3, reasonCodes: codes([0x11]) });
  h.session.receive({ type: 'suback', packetId: 1, returnCodes: [0] });
  await settle();
  expect([a.status, a.value, u.status, u.value]).toEqual(['resolved', [0], 'resolved', codes([0x11]) ?? []]);
}

/**
 * Both levels: nothing is dropped while connected. An ack timeout rejects the caller but the flow keeps
 * its id until the late PUBACK; an incoming QoS 2 id is kept however long PUBREL takes.
 */
async function checkNothingDropped(protocolLevel: 4 | 5): Promise<void> {
  const h = await connected({ protocolLevel, ackTimeout: 1000 });
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
    await checkNothingDropped(4);
  });
});

describe('MQTT 3.1.1 acknowledgements', () => {
  it('PUBRECs go out in the order the QoS 2 PUBLISHes came [MQTT-4.6.0-3]', async () => {
    const h = await connected();
    for (const id of [5, 3, 9, 1, 65535]) h.session.receive(incoming(`t${id}`, 2, id));
    expect(h.host.take()).toStrictEqual([5, 3, 9, 1, 65535].map((packetId) => ({ type: 'pubrec', packetId })));
  });

  it("our PUBREC carries the id of the server's PUBLISH and our PUBREL the id of our PUBLISH; an ack completes only the flow with its id [MQTT-2.3.1-6]", async () => {
    await checkAckIds(4);
  });

  it('a SUBACK completes only the SUBSCRIBE with its packet id [MQTT-3.8.4-2]', async () => {
    await checkSubackIds(4);
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

describe('MQTT 5 packet identifiers and the QoS flows [v5]', () => {
  const v5 = { protocolLevel: 5 as const };

  it('QoS 0 goes with QoS 0, DUP 0 and no id; SUBSCRIBE, UNSUBSCRIBE and QoS 1/2 PUBLISH each get a non-zero id no open flow holds, with DUP 0 [MQTT-2.2.1-3] [MQTT-4.3.1-1] [MQTT-4.3.2-1] [MQTT-4.3.2-2] [MQTT-4.3.3-1] [MQTT-4.3.3-2]', async () => {
    const h = await connected(v5);
    publishTracked(h.session, pub('q0', 0));
    publishTracked(h.session, pub('q1', 1));
    publishTracked(h.session, pub('q2', 2));
    track(h.session.subscribe([{ topicFilter: 's', qos: 1 }]));
    track(h.session.unsubscribe(['u']));
    const out = h.host.take();
    expect(out.slice(0, 3)).toStrictEqual([sent('q0', 0), sent('q1', 1, 1), sent('q2', 2, 2)]);
    expect(out.slice(3).map((p) => [p.type, 'packetId' in p ? p.packetId : undefined])).toEqual([
      ['subscribe', 3],
      ['unsubscribe', 4],
    ]);
    // Id 1 is freed by its PUBACK; 2, 3 and 4 are still open, and none of them may serve again.
    h.session.receive({ type: 'puback', packetId: 1 });
    publishTracked(h.session, pub('again', 1));
    publishTracked(h.session, pub('more', 2));
    const ids = (h.host.take() as PublishPacket[]).map((p) => p.packetId as number);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(ids.filter((id) => [0, 2, 3, 4].includes(id))).toEqual([]);
  });

  it("our PUBACK and PUBREC carry the id of the server's PUBLISH, our PUBREL the id of our PUBLISH, our PUBCOMP the id of the PUBREL; an ack completes only the flow with its id [MQTT-2.2.1-5] [MQTT-4.3.2-4] [MQTT-4.3.3-8] [MQTT-4.3.3-11] [MQTT-3.3.4-1]", async () => {
    await checkAckIds(5);
  });

  it('a SUBACK or UNSUBACK completes only the request with its packet id [MQTT-2.2.1-6] [MQTT-3.8.4-2]', async () => {
    await checkSubackIds(5);
  });

  it('a QoS 1 PUBLISH stays unacknowledged until its PUBACK, a QoS 2 PUBLISH until its PUBREC and then its PUBREL until PUBCOMP: each goes again on a resumed session until then, and the PUBLISH never again after its PUBREL [MQTT-4.3.2-3] [MQTT-4.3.3-3] [MQTT-4.3.3-5] [MQTT-4.3.3-6] [MQTT-3.3.1-1]', async () => {
    const h = await connected({ ...v5, clean: false });
    const q1 = publishTracked(h.session, pub('one', 1));
    const q2 = publishTracked(h.session, pub('two', 2));
    expect(h.host.take()).toStrictEqual([sent('one', 1, 1), sent('two', 2, 2)]);
    // Acks of the wrong kind complete nothing.
    h.session.receive({ type: 'pubcomp', packetId: 1 });
    h.session.receive({ type: 'pubcomp', packetId: 2 });
    await settle();
    expect([q1.status, q2.status]).toEqual(['pending', 'pending']);
    expect(await reconnect(h, true)).toStrictEqual([CONNECT, dup(sent('one', 1, 1)), dup(sent('two', 2, 2))]);
    h.session.receive({ type: 'pubrec', packetId: 2 });
    expect(h.host.take()).toStrictEqual([{ type: 'pubrel', packetId: 2 }]);
    expect(await reconnect(h, true)).toStrictEqual([CONNECT, dup(sent('one', 1, 1)), { type: 'pubrel', packetId: 2 }]);
    h.session.receive({ type: 'puback', packetId: 1 });
    h.session.receive({ type: 'pubcomp', packetId: 2 });
    await settle();
    expect([q1.status, q2.status]).toEqual(['resolved', 'resolved']);
    expect(await reconnect(h, true)).toStrictEqual([CONNECT]);
  });

  it('after our PUBACK, a PUBLISH with the same id is a new message, DUP or not [MQTT-4.3.2-5]', async () => {
    const h = await connected(v5);
    h.session.receive(incoming('first', 1, 5));
    h.session.receive(incoming('second', 1, 5, { dup: true }));
    expect(h.host.take()).toStrictEqual([
      { type: 'puback', packetId: 5 },
      { type: 'puback', packetId: 5 },
    ]);
    expect(h.host.delivered.map((p) => p.topic)).toEqual(['first', 'second']);
  });

  it('until its PUBREL a repeated QoS 2 PUBLISH gets PUBREC again and is not delivered again; after our PUBCOMP the same id is a new message [MQTT-4.3.3-10] [MQTT-4.3.3-12]', async () => {
    const h = await connected(v5);
    h.session.receive(incoming('q2', 2, 5));
    h.session.receive(incoming('q2', 2, 5, { dup: true }));
    expect(h.host.take()).toStrictEqual([
      { type: 'pubrec', packetId: 5 },
      { type: 'pubrec', packetId: 5 },
    ]);
    expect(h.host.delivered).toHaveLength(1);
    h.session.receive({ type: 'pubrel', packetId: 5 });
    h.session.receive(incoming('next', 2, 5));
    expect(h.host.take()).toStrictEqual([
      { type: 'pubcomp', packetId: 5 },
      { type: 'pubrec', packetId: 5 },
    ]);
    expect(h.host.delivered.map((p) => p.topic)).toEqual(['q2', 'next']);
  });

  it('PUBACKs and PUBRECs go out in the order the PUBLISHes came, PUBRELs in the order the PUBRECs came [MQTT-4.6.0-2] [MQTT-4.6.0-3] [MQTT-4.6.0-4]', async () => {
    const h = await connected(v5);
    const order: [number, 1 | 2][] = [[7, 1], [3, 2], [9, 1], [1, 2], [65535, 1]];
    for (const [id, qos] of order) h.session.receive(incoming(`t${id}`, qos, id));
    expect(h.host.take()).toStrictEqual(order.map(([packetId, qos]) => ({ type: qos === 1 ? 'puback' : 'pubrec', packetId })));
    for (let i = 0; i < 4; i++) publishTracked(h.session, pub(`o${i}`, 2));
    h.host.take();
    for (const id of [3, 1, 4, 2]) h.session.receive({ type: 'pubrec', packetId: id });
    expect(h.host.take()).toStrictEqual([3, 1, 4, 2].map((packetId) => ({ type: 'pubrel', packetId })));
  });

  it('re-sent PUBLISHes go in their original order, after CONNECT, the first packet of the connection [MQTT-4.6.0-1] [MQTT-3.1.0-1]', async () => {
    const h = await connected({ ...v5, clean: false });
    for (const t of ['a', 'b', 'c']) publishTracked(h.session, pub(t, 1));
    h.host.take();
    h.session.suspend(new ConnectionClosedError('cut'));
    // Published while offline: queued behind the in-flight ones.
    publishTracked(h.session, pub('d', 1));
    const connack = h.session.start();
    expect(h.host.take()).toStrictEqual([CONNECT]);
    h.session.receive({ type: 'connack', sessionPresent: true, returnCode: 0 });
    await connack;
    expect(h.host.take()).toStrictEqual([dup(sent('a', 1, 1)), dup(sent('b', 1, 2)), dup(sent('c', 1, 3)), sent('d', 1, 4)]);
  });

  it('nothing is dropped while connected: an ack timeout rejects the caller but the flow keeps its id until the late PUBACK; an incoming QoS 2 id is kept however long PUBREL takes [MQTT-4.1.0-1]', async () => {
    await checkNothingDropped(5);
  });

  it('the state is kept under the ClientID: a new Session opening the Store under the same id resumes it, under another id finds none [MQTT-3.1.3-2]', async () => {
    const store = new MemoryStore();
    const first = await connected({ ...v5, clean: false, clientId: 'keeper' }, store);
    publishTracked(first.session, pub('out', 1));
    first.host.take();
    first.session.close();
    await store.close();
    const other = await connected({ ...v5, clean: false, clientId: 'stranger' }, store);
    expect(other.session.stats).toEqual({ inflight: 0, queued: 0 });
    other.session.close();
    await store.close();
    const again = await connected({ ...v5, clean: false, clientId: 'keeper' }, store);
    expect(again.session.stats).toEqual({ inflight: 1, queued: 0 });
    expect(await reconnect(again, true)).toStrictEqual([CONNECT, dup(sent('out', 1, 1))]);
  });
});

describe('MQTT 5 a new session and the CONNACK [v5]', () => {
  it('Clean Start 1 (Session Present 0) discards the incoming QoS 2 ids too: the server re-using one sends a new message [MQTT-3.1.2-4] [MQTT-3.2.2-5]', async () => {
    const h = await connected({ protocolLevel: 5, clean: true });
    h.session.receive(incoming('old', 2, 9));
    h.host.take();
    await reconnect(h, false);
    h.session.receive(incoming('new', 2, 9));
    expect(h.host.take()).toStrictEqual([{ type: 'pubrec', packetId: 9 }]);
    expect(h.host.delivered.map((p) => p.topic)).toEqual(['old', 'new']);
  });

  it('Session Present 1 after our Clean Start 1 is a protocol error; after Clean Start 0 it resumes [MQTT-3.2.2-4]', async () => {
    const h = await connected({ protocolLevel: 5, clean: true });
    h.session.suspend(new ConnectionClosedError('cut'));
    track(h.session.start());
    const err = thrownBy(() => h.session.receive({ type: 'connack', sessionPresent: true, returnCode: 0 }));
    expect(err).toBeInstanceOf(MqttProtocolError);
    expect((err as MqttProtocolError).statement).toBe('MQTT-3.2.2-4');
    expect(h.session.phase).not.toBe('connected');
    const kept = await connected({ protocolLevel: 5, clean: false });
    await reconnect(kept, true);
    expect(kept.session.phase).toBe('connected');
  });

  it('before CONNACK anything but CONNACK or AUTH, DISCONNECT included, is a protocol error; so is a second CONNACK [MQTT-3.2.0-1] [MQTT-3.14.0-1] [MQTT-3.2.0-2]', async () => {
    for (const early of [incoming('t', 0), { type: 'disconnect', reasonCode: 0x80 }, { type: 'pingresp' }] as Packet[]) {
      const h = await connected({ protocolLevel: 5 });
      h.session.suspend(new ConnectionClosedError('cut'));
      track(h.session.start());
      const err = thrownBy(() => h.session.receive(early));
      expect([err instanceof MqttProtocolError, (err as MqttProtocolError).statement]).toEqual([true, 'MQTT-3.2.0-1']);
    }
    const h = await connected({ protocolLevel: 5 });
    const second = thrownBy(() => h.session.receive({ type: 'connack', sessionPresent: false, returnCode: 0 }));
    expect([second instanceof MqttProtocolError, (second as MqttProtocolError).code]).toEqual([true, 'UNEXPECTED_PACKET']);
    // Control: after CONNACK a DISCONNECT is the server's to send, not an error.
    expect(() => h.session.receive({ type: 'disconnect', reasonCode: 0x80 })).not.toThrow();
    expect(h.host.failures.map((e) => e.code)).toEqual(['SERVER_DISCONNECT']);
  });
});

describe('MQTT 5 flow control within the server\'s Receive Maximum [v5]', () => {
  it('the send quota starts at Receive Maximum; at zero no QoS 1/2 PUBLISH goes (a QoS 0 one keeps its place behind them), while SUBSCRIBE and our acks do [MQTT-4.9.0-1] [MQTT-4.9.0-2] [MQTT-4.9.0-3] [MQTT-3.3.4-8]', async () => {
    const h = await connected({ protocolLevel: 5 }, new MemoryStore(), { receiveMaximum: 2 });
    for (const t of ['a', 'b', 'c']) publishTracked(h.session, pub(t, 1));
    expect(h.host.take()).toStrictEqual([sent('a', 1, 1), sent('b', 1, 2)]);
    publishTracked(h.session, pub('zero', 0));
    track(h.session.subscribe([{ topicFilter: 's', qos: 1 }]));
    h.session.receive(incoming('in1', 1, 40));
    h.session.receive(incoming('in2', 2, 41));
    h.session.receive({ type: 'pubrel', packetId: 41 });
    expect(h.host.take().map((p) => p.type)).toEqual(['subscribe', 'puback', 'pubrec', 'pubcomp']);
    h.session.receive({ type: 'puback', packetId: 1 });
    expect(h.host.take()).toStrictEqual([sent('c', 1, 4), sent('zero', 0)]);
  });
});

describe('MQTT 5 Message Expiry and the QoS 2 flows [v5]', () => {
  it('a QoS 2 PUBLISH once sent is never dropped for expiry: re-sent with at least a second left and completed, while a queued one that expired is not sent [MQTT-4.3.3-7]', async () => {
    const h = await connected({ protocolLevel: 5, clean: false, ackTimeout: 600_000 });
    const expiring = { properties: { messageExpiryInterval: 5 } };
    const gone = publishTracked(h.session, pub('sent', 2, 'S', expiring));
    expect(h.host.take()).toStrictEqual([{ ...sent('sent', 2, 1, 'S'), properties: { messageExpiryInterval: 5 } }]);
    h.session.suspend(new ConnectionClosedError('cut'));
    // The control: queued, never sent, and expired by the time the next connection comes.
    const queued = publishTracked(h.session, pub('queued', 2, 'Q', expiring));
    h.timers.advance(60_000);
    expect(await reconnect(h, true)).toStrictEqual([CONNECT, { ...dup(sent('sent', 2, 1, 'S')), properties: { messageExpiryInterval: 1 } }]);
    await settle();
    expect([queued.status, (queued.error as MqttError).code]).toEqual(['rejected', 'MESSAGE_EXPIRED']);
    h.session.receive({ type: 'pubrec', packetId: 1 });
    expect(h.host.take()).toStrictEqual([{ type: 'pubrel', packetId: 1 }]);
    h.timers.advance(60_000);
    expect(await reconnect(h, true)).toStrictEqual([CONNECT, { type: 'pubrel', packetId: 1 }]);
    h.session.receive({ type: 'pubcomp', packetId: 1 });
    await settle();
    expect(gone.status).toBe('resolved');
  });

  it('an incoming QoS 2 message past its expiry still gets its whole acknowledgement sequence [MQTT-4.3.3-13]', async () => {
    const h = await connected({ protocolLevel: 5 });
    h.session.receive(incoming('short', 2, 7, { properties: { messageExpiryInterval: 1 } }));
    h.timers.advance(10_000);
    h.session.receive(incoming('short', 2, 7, { dup: true, properties: { messageExpiryInterval: 1 } }));
    h.timers.advance(10_000);
    h.session.receive({ type: 'pubrel', packetId: 7 });
    expect(h.host.take()).toStrictEqual([
      { type: 'pubrec', packetId: 7 },
      { type: 'pubrec', packetId: 7 },
      { type: 'pubcomp', packetId: 7 },
    ]);
    expect(h.host.delivered).toHaveLength(1);
  });
});

describe('MQTT 5 SUBACK [v5]', () => {
  it('a SUBACK with another number of Reason Codes than the SUBSCRIBE had filters is a protocol error; one per filter completes it [MQTT-3.8.4-6]', async () => {
    const h = await connected({ protocolLevel: 5 });
    track(h.session.subscribe([{ topicFilter: 'a', qos: 0 }, { topicFilter: 'b', qos: 1 }]));
    const err = thrownBy(() => h.session.receive({ type: 'suback', packetId: 1, returnCodes: [0] }));
    expect([err instanceof MqttProtocolError, (err as MqttProtocolError).statement]).toEqual([true, 'MQTT-3.8.4-6']);
    const ok = track(h.session.subscribe([{ topicFilter: 'a', qos: 0 }, { topicFilter: 'b', qos: 1 }]));
    h.session.receive({ type: 'suback', packetId: 2, returnCodes: [0, 0x87] });
    await settle();
    expect([ok.status, ok.value]).toEqual(['resolved', [0, 0x87]]);
  });
});
