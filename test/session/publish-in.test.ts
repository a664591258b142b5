import { describe, expect, it } from 'vitest';
import { connectedSession, incoming, useClock } from './host.js';

useClock();

describe('incoming PUBLISH (MQTT-3.3.4-1: respond per Table 3.4)', () => {
  it('QoS 0 is delivered and nothing is written', async () => {
    const { session, host } = await connectedSession();
    const p = incoming('a/b', 0);
    session.receive(p);
    expect(host.delivered).toStrictEqual([p]);
    expect(host.take()).toEqual([]);
  });

  it('QoS 1 is delivered, then PUBACK with the same id (MQTT-4.3.2-2, MQTT-2.3.1-6)', async () => {
    const { session, host } = await connectedSession();
    const p = incoming('a', 1, 17);
    session.receive(p);
    expect(host.delivered).toStrictEqual([p]);
    expect(host.take()).toStrictEqual([{ type: 'puback', packetId: 17 }]);
  });

  it('QoS 1 re-sent with DUP is delivered again and acknowledged again (at least once)', async () => {
    const { session, host } = await connectedSession();
    session.receive(incoming('a', 1, 5));
    session.receive(incoming('a', 1, 5, { dup: true }));
    expect(host.delivered).toHaveLength(2);
    expect(host.take()).toStrictEqual([
      { type: 'puback', packetId: 5 },
      { type: 'puback', packetId: 5 },
    ]);
  });

  it('PUBACKs go out in the order the PUBLISHes came (MQTT-4.6.0-2)', async () => {
    const { session, host } = await connectedSession();
    session.receive(incoming('a', 1, 3));
    session.receive(incoming('b', 1, 1));
    session.receive(incoming('c', 1, 2));
    expect(host.take()).toStrictEqual([
      { type: 'puback', packetId: 3 },
      { type: 'puback', packetId: 1 },
      { type: 'puback', packetId: 2 },
    ]);
    expect(host.delivered.map((p) => p.topic)).toEqual(['a', 'b', 'c']);
  });

  it('QoS 2 (method B, MQTT-4.3.3-2): delivered once + PUBREC; a re-sent PUBLISH before PUBREL is not delivered again but PUBREC is re-sent', async () => {
    const { session, host } = await connectedSession();
    const first = incoming('q2', 2, 9);
    session.receive(first);
    expect(host.delivered).toStrictEqual([first]);
    expect(host.take()).toStrictEqual([{ type: 'pubrec', packetId: 9 }]);

    session.receive(incoming('q2', 2, 9, { dup: true }));
    session.receive(incoming('q2', 2, 9, { dup: true }));
    expect(host.delivered).toHaveLength(1);
    expect(host.take()).toStrictEqual([
      { type: 'pubrec', packetId: 9 },
      { type: 'pubrec', packetId: 9 },
    ]);
  });

  it('QoS 2: PUBREL -> PUBCOMP and frees the id, so a later PUBLISH with the same id is a new message and is delivered', async () => {
    const { session, host } = await connectedSession();
    session.receive(incoming('one', 2, 4));
    session.receive({ type: 'pubrel', packetId: 4 });
    expect(host.take()).toStrictEqual([
      { type: 'pubrec', packetId: 4 },
      { type: 'pubcomp', packetId: 4 },
    ]);
    const second = incoming('two', 2, 4);
    session.receive(second);
    expect(host.delivered.map((p) => p.topic)).toEqual(['one', 'two']);
    expect(host.take()).toStrictEqual([{ type: 'pubrec', packetId: 4 }]);
  });

  it('QoS 2: de-duplication is per id; other ids are delivered', async () => {
    const { session, host } = await connectedSession();
    session.receive(incoming('a', 2, 1));
    session.receive(incoming('b', 2, 2));
    session.receive(incoming('a', 2, 1, { dup: true }));
    session.receive({ type: 'pubrel', packetId: 2 });
    session.receive(incoming('b2', 2, 2));
    expect(host.delivered.map((p) => p.topic)).toEqual(['a', 'b', 'b2']);
    expect(host.take()).toStrictEqual([
      { type: 'pubrec', packetId: 1 },
      { type: 'pubrec', packetId: 2 },
      { type: 'pubrec', packetId: 1 },
      { type: 'pubcomp', packetId: 2 },
      { type: 'pubrec', packetId: 2 },
    ]);
  });

  it('QoS 2 ids and QoS 1 ids are independent of our own outgoing ids', async () => {
    const { session, host } = await connectedSession();
    session.receive(incoming('in', 2, 1));
    void session.publish({ type: 'publish', topic: 'out', payload: new Uint8Array(0), qos: 1, retain: false, dup: false }).catch(() => {});
    expect(host.take()).toStrictEqual([
      { type: 'pubrec', packetId: 1 },
      { type: 'publish', topic: 'out', payload: new Uint8Array(0), qos: 1, retain: false, dup: false, packetId: 1 },
    ]);
    session.close();
  });

  it('PUBREL for an unknown id is answered with PUBCOMP', async () => {
    const { session, host } = await connectedSession();
    session.receive({ type: 'pubrel', packetId: 321 });
    expect(host.take()).toStrictEqual([{ type: 'pubcomp', packetId: 321 }]);
    expect(host.delivered).toEqual([]);
    expect(host.failures).toEqual([]);
  });

  it('a duplicate PUBREL is answered with PUBCOMP again', async () => {
    const { session, host } = await connectedSession();
    session.receive(incoming('a', 2, 8));
    session.receive({ type: 'pubrel', packetId: 8 });
    session.receive({ type: 'pubrel', packetId: 8 });
    expect(host.take()).toStrictEqual([
      { type: 'pubrec', packetId: 8 },
      { type: 'pubcomp', packetId: 8 },
      { type: 'pubcomp', packetId: 8 },
    ]);
    expect(host.delivered).toHaveLength(1);
  });
});
