/**
 * Self-tests of the broker harness (test/helpers): aedes, mosquitto, the fake broker and the byte helpers.
 * They talk raw bytes over node:net (and MQTT.js as a reference peer), never the project's own code.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startAedes, type AedesHandle } from '../helpers/aedes.js';
import { startFakeBroker, type FakeBroker } from '../helpers/fake-broker.js';
import {
  DISCONNECT,
  PINGREQ,
  PacketType,
  connectPacket,
  frameAt,
  hex,
  packetIdOf,
  publishPacket,
  subackCodes,
  subscribePacket,
  toHex,
} from '../helpers/mqtt-bytes.js';
import { MosquittoStartError, describeMosquitto, mosquittoVersion, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';
import { openRawClient, type PacketConnection } from '../helpers/packet-conn.js';

/** The CONNECT from the brief, byte by byte: MQTT 3.1.1, clean session, keepalive 60, empty client id. */
const CONNECT_ANON = hex('10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00');
const CONNACK_OK = '20 02 00 00';

// Everything a test starts is stopped after it, whatever happened.
const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  const errors: unknown[] = [];
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0) throw errors[0];
});

async function aedes(opts?: Parameters<typeof startAedes>[0]): Promise<AedesHandle> {
  const b = await startAedes(opts);
  cleanups.push(() => b.close());
  return b;
}

async function mosquitto(opts?: Parameters<typeof startMosquitto>[0]): Promise<MosquittoHandle> {
  const m = await startMosquitto(opts);
  cleanups.push(() => m.stop());
  return m;
}

async function fakeBroker(...args: Parameters<typeof startFakeBroker>): Promise<FakeBroker> {
  const f = await startFakeBroker(...args);
  cleanups.push(() => f.close());
  return f;
}

async function raw(port: number): Promise<PacketConnection> {
  const c = await openRawClient(port);
  cleanups.push(() => c.destroy());
  return c;
}

/** Connects a raw client and returns the CONNACK bytes as hex. */
async function rawConnect(port: number, connect: Uint8Array = CONNECT_ANON): Promise<{ c: PacketConnection; connack: string }> {
  const c = await raw(port);
  c.write(connect);
  const connack = toHex(await c.expectPacket(PacketType.CONNACK));
  return { c, connack };
}

describe('mqtt-bytes', () => {
  it('hex() and toHex() round-trip, with separators', () => {
    expect(toHex(hex('20 02 00 00'))).toBe('20 02 00 00');
    expect(toHex(hex('2002:00,00'))).toBe('20 02 00 00');
    expect(() => hex('2')).toThrow(/even-length/);
    expect(() => hex('zz')).toThrow(/not an even-length hex string: "zz"/);
  });

  it('connectPacket() builds the same bytes as the hand-written CONNECT', () => {
    expect(toHex(connectPacket())).toBe(toHex(CONNECT_ANON));
    // username + password flags (0xc2), strings length-prefixed
    expect(toHex(connectPacket({ clientId: 'c', username: 'u', password: 'p' }))).toBe(
      '10 13 00 04 4d 51 54 54 04 c2 00 3c 00 01 63 00 01 75 00 01 70',
    );
  });

  it('frameAt() handles 1..4 byte remaining lengths and flags a 5th', () => {
    expect(frameAt(hex('20 02 00'))).toEqual({ kind: 'incomplete' });
    expect(frameAt(hex('20 02 00 00'))).toEqual({ kind: 'packet', length: 4 });
    const big = publishPacket({ topic: 't', payload: new Uint8Array(200) }); // remaining length 203 = cb 01
    expect(toHex(big.subarray(0, 3))).toBe('30 cb 01');
    expect(frameAt(big)).toEqual({ kind: 'packet', length: big.length });
    expect(frameAt(hex('30 80 80 80 80 01'))).toEqual({ kind: 'malformed', reason: expect.any(String) });
    expect(packetIdOf(publishPacket({ topic: 'ab', qos: 1, packetId: 0x1234 }))).toBe(0x1234);
  });
});

describe('aedes helper', () => {
  it('answers a hand-written CONNECT with CONNACK 20 02 00 00', async () => {
    const b = await aedes();
    expect(b.url).toBe(`mqtt://127.0.0.1:${b.port}`);
    const { connack } = await rawConnect(b.port);
    expect(connack).toBe(CONNACK_OK);
    const ack = await b.waitFor('connackSent');
    expect(ack.returnCode).toBe(0);
  });

  it('authenticate: false -> CONNACK 5, a code 2..5 -> that code, then the socket is closed', async () => {
    const b = await aedes({
      authenticate: (_id, user, pass) => (user === 'alice' ? pass?.toString() === 'ok' || 4 : false),
    });
    const good = await rawConnect(b.port, connectPacket({ clientId: 'a1', username: 'alice', password: 'ok' }));
    expect(good.connack).toBe(CONNACK_OK);
    const badPass = await rawConnect(b.port, connectPacket({ clientId: 'a2', username: 'alice', password: 'no' }));
    expect(badPass.connack).toBe('20 02 00 04');
    await badPass.c.expectClosed();
    const anon = await rawConnect(b.port, connectPacket({ clientId: 'a3' }));
    expect(anon.connack).toBe('20 02 00 05');
    await anon.c.expectClosed();
  });

  it('authorizeSubscribe: false -> 0x80 for that filter only, others granted as requested, connection stays up', async () => {
    const b = await aedes({ authorizeSubscribe: (_id, topic) => !topic.startsWith('secret/') });
    const { c } = await rawConnect(b.port);
    c.write(subscribePacket(7, [['secret/x', 1], ['ok/x', 1], ['two', 2]]));
    const suback = await c.expectPacket(PacketType.SUBACK);
    expect(packetIdOf(suback)).toBe(7);
    expect(subackCodes(suback)).toEqual([0x80, 1, 2]);
    const sub = await b.waitFor('subscribe');
    expect(sub.subscriptions).toEqual([
      { topic: 'secret/x', qos: 0x80 },
      { topic: 'ok/x', qos: 1 },
      { topic: 'two', qos: 2 },
    ]);
    c.write(PINGREQ);
    expect(toHex(await c.expectPacket(PacketType.PINGRESP))).toBe('d0 00');
  });

  it("authorizeSubscribe: 'disconnect' -> no SUBACK, connection closed, clientError", async () => {
    const b = await aedes({ authorizeSubscribe: () => 'disconnect' });
    const { c } = await rawConnect(b.port, connectPacket({ clientId: 'sub-dc' }));
    c.write(subscribePacket(1, [['x', 0]]));
    await c.expectClosed();
    expect(c.received().length).toBe(4); // the CONNACK only
    const err = await b.waitFor('clientError', (e) => e.clientId === 'sub-dc');
    expect(err.error.message).toMatch(/refused by test/);
  });

  it('tells DISCONNECT from a plain close, and publishes the will only on the plain close', async () => {
    const b = await aedes();
    const will = { topic: 'wills/x', payload: 'gone' };
    const polite = await rawConnect(b.port, connectPacket({ clientId: 'polite', will }));
    polite.c.write(DISCONNECT);
    const e1 = await b.waitFor('clientDisconnect', (e) => e.clientId === 'polite');
    expect(e1.sentDisconnect).toBe(true);

    const rude = await rawConnect(b.port, connectPacket({ clientId: 'rude', will }));
    rude.c.destroy();
    const e2 = await b.waitFor('clientDisconnect', (e) => e.clientId === 'rude');
    expect(e2.sentDisconnect).toBe(false);
    const willPub = await b.waitFor('publish', (e) => e.topic === 'wills/x');
    expect(willPub.clientId).toBe('rude');
    expect(willPub.payload.toString()).toBe('gone');
    expect(b.events.filter((e) => e.type === 'publish' && e.clientId === 'polite')).toEqual([]);
  });

  it('close() also drops sockets that never sent CONNECT, and is idempotent', async () => {
    const b = await aedes();
    const idle = await raw(b.port);
    await b.waitFor('socketOpen');
    expect(b.openSockets()).toBe(1);
    await b.close();
    await idle.expectClosed();
    expect(b.openSockets()).toBe(0);
    await b.close();
  });

  it('works with MQTT.js as a reference peer', async () => {
    const b = await aedes();
    const client = mqtt.connect(b.url, { clientId: 'ref', reconnectPeriod: 0, connectTimeout: 2000 });
    cleanups.push(() => new Promise<void>((r) => client.end(true, {}, () => r())));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const granted = await client.subscribeAsync('a/b', { qos: 1 });
    expect(granted[0]?.qos).toBe(1);
    await b.waitFor('subscribe', (e) => e.clientId === 'ref');
  });
});

describeMosquitto('mosquitto helper', () => {
  it('runs mosquitto 2.x and answers a hand-written CONNECT with CONNACK 20 02 00 00', async () => {
    expect(mosquittoVersion()).toMatch(/^2\./);
    const m = await mosquitto();
    expect(m.url).toBe(`mqtt://127.0.0.1:${m.port}`);
    const { connack } = await rawConnect(m.port);
    expect(connack).toBe(CONNACK_OK);
    expect(m.log()).toMatch(/mosquitto version 2\.\S+ running/);
  });

  it('passwordFile: good credentials -> 0; bad password, unknown user, anonymous -> 5 (never 4), then closes', async () => {
    const m = await mosquitto({ passwordFile: { alice: 'wonderland' } });
    expect(fs.readFileSync(`${m.dir}/passwd`, 'utf8')).toMatch(/^alice:\$7\$101\$/);
    expect((await rawConnect(m.port, connectPacket({ clientId: 'p1', username: 'alice', password: 'wonderland' }))).connack).toBe(CONNACK_OK);
    for (const fields of [
      { clientId: 'p2', username: 'alice', password: 'nope' },
      { clientId: 'p3', username: 'bob', password: 'wonderland' },
      { clientId: 'p4', username: 'alice' }, // no password at all
      { clientId: 'p5' }, // anonymous
    ]) {
      const { c, connack } = await rawConnect(m.port, connectPacket(fields));
      expect(connack, JSON.stringify(fields)).toBe('20 02 00 05');
      await c.expectClosed();
    }
  });

  it('denyTopics: SUBACK 0x80 for denied filters, granted QoS for the rest, connection stays up', async () => {
    const m = await mosquitto({ denyTopics: ['secret/#', 'private'] });
    const { c } = await rawConnect(m.port);
    c.write(subscribePacket(3, [['secret/x', 1], ['ok/x', 1], ['secret/#', 0], ['private', 2], ['#', 2]]));
    const suback = await c.expectPacket(PacketType.SUBACK);
    expect(packetIdOf(suback)).toBe(3);
    expect(subackCodes(suback)).toEqual([0x80, 1, 0x80, 0x80, 2]);
    c.write(PINGREQ);
    await c.expectPacket(PacketType.PINGRESP);
  });

  it('denyTopics + passwordFile: users live in dynsec; bad credentials -> 5, denied filter -> 0x80', async () => {
    const m = await mosquitto({ denyTopics: ['secret/#'], passwordFile: { alice: 'wonderland' } });
    expect((await rawConnect(m.port, connectPacket({ clientId: 'd1', username: 'alice', password: 'x' }))).connack).toBe('20 02 00 05');
    expect((await rawConnect(m.port, connectPacket({ clientId: 'd2' }))).connack).toBe('20 02 00 05');
    const { c, connack } = await rawConnect(m.port, connectPacket({ clientId: 'd3', username: 'alice', password: 'wonderland' }));
    expect(connack).toBe(CONNACK_OK);
    c.write(subscribePacket(1, [['secret/a', 0], ['open/a', 0]]));
    expect(subackCodes(await c.expectPacket(PacketType.SUBACK))).toEqual([0x80, 0]);
  });

  it('an acl_file deny does NOT refuse SUBSCRIBE in mosquitto 2.0 (that is why denyTopics uses dynsec)', async () => {
    const m = await mosquitto({
      files: { acl: 'topic deny secret/#\ntopic readwrite #\n' },
      extraConfig: ({ dir }) => `acl_file ${dir}/acl`,
    });
    const { c } = await rawConnect(m.port);
    c.write(subscribePacket(1, [['secret/x', 1]]));
    expect(subackCodes(await c.expectPacket(PacketType.SUBACK))).toEqual([1]);
  });

  it('the log tells DISCONNECT ("disconnected.") from a plain close ("closed its connection.")', async () => {
    const m = await mosquitto();
    const polite = await rawConnect(m.port, connectPacket({ clientId: 'polite' }));
    polite.c.write(DISCONNECT);
    await m.waitForLog('Client polite disconnected.');
    const rude = await rawConnect(m.port, connectPacket({ clientId: 'rude' }));
    rude.c.destroy();
    await m.waitForLog('Client rude closed its connection.');
    await expect(m.waitForLog('never printed', 50)).rejects.toThrow(/no log line/);
  });

  it('persistence + restart(): a persistent session survives a broker restart on the same port', async () => {
    const m = await mosquitto({ persistence: true });
    const first = await rawConnect(m.port, connectPacket({ clientId: 'keeper', clean: false }));
    expect(first.connack).toBe('20 02 00 00');
    first.c.write(subscribePacket(1, [['keep/#', 1]]));
    await first.c.expectPacket(PacketType.SUBACK);
    first.c.write(DISCONNECT);
    await first.c.expectClosed();
    const pid = m.pid;
    await m.restart();
    expect(m.pid).not.toBe(pid);
    const again = await rawConnect(m.port, connectPacket({ clientId: 'keeper', clean: false }));
    expect(again.connack).toBe('20 02 01 00'); // session present
  });

  it('stop() ends the process, removes the temp dir, and is idempotent', async () => {
    const m = await startMosquitto();
    const { pid, dir } = m;
    expect(isAlive(pid)).toBe(true);
    await m.stop();
    await m.stop();
    expect(isAlive(pid)).toBe(false);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('websockets: a WebSocket listener beside the plain one carries MQTT (QoS 1 round trip over ws://)', async () => {
    const m = await startMosquitto({ websockets: true });
    cleanups.push(() => m.stop());
    expect(m.wsUrl).toBe(`ws://127.0.0.1:${m.wsPort}`);
    const { connect } = await import('../../src/index.js');
    const client = await connect(`${m.wsUrl}/mqtt`, { clientId: 'harness-ws', reconnect: false });
    try {
      const sub = await client.subscribe('harness/ws', { qos: 1 });
      await client.publish('harness/ws', 'over websockets', { qos: 1 });
      for await (const msg of sub) {
        expect([msg.topic, msg.text(), msg.qos]).toEqual(['harness/ws', 'over websockets', 1]);
        break;
      }
    } finally {
      await client.end();
    }
    await m.waitForLog(/New client connected from 127\.0\.0\.1:\d+ as harness-ws/);
  });

  it('extraConfig errors surface as MosquittoStartError', async () => {
    const failed = startMosquitto({ extraConfig: 'no_such_option 1' });
    await expect(failed).rejects.toBeInstanceOf(MosquittoStartError);
    await expect(failed).rejects.toThrow(/exited during startup[\s\S]*no_such_option/);
  });

  it('a test process that dies (process.exit, or SIGKILL) without stop() does not leave mosquitto running', async () => {
    // Both deaths in parallel: the child pays ~1 s of tsx startup.
    const fixture = fileURLToPath(new URL('./fixtures/mosquitto-orphan.ts', import.meta.url));
    const orphan = async (how: 'exit' | 'kill'): Promise<number> => {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, how], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
      await new Promise((r) => child.once('close', r));
      clearTimeout(killer);
      const pid = Number(out.trim());
      expect(pid, `fixture (${how}) output: ${JSON.stringify(out)}`).toBeGreaterThan(0);
      return pid;
    };
    const pids = await Promise.all([orphan('exit'), orphan('kill')]);
    const deadline = Date.now() + 2000;
    while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const survivors = pids.filter(isAlive);
    for (const pid of survivors) process.kill(pid, 'SIGKILL');
    expect(survivors).toEqual([]);
  });

  it('works with MQTT.js as a reference peer: a denied subscription is refused with 0x80', async () => {
    const m = await mosquitto({ denyTopics: ['secret/#'] });
    const client = mqtt.connect(m.url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 2000 });
    cleanups.push(() => new Promise<void>((r) => client.end(true, {}, () => r())));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    // MQTT.js 5 turns any 0x80 in a SUBACK into an error carrying the SUBACK.
    await expect(client.subscribeAsync(['secret/1', 'open/1'], { qos: 1 })).rejects.toMatchObject({ packet: { granted: [128, 1] } });
    await expect(client.subscribeAsync('open/2', { qos: 1 })).resolves.toEqual([{ topic: 'open/2', qos: 1 }]);
  });
});

describe('fake broker', () => {
  it('frames packets split byte by byte, coalesced, and with 2-byte remaining lengths', async () => {
    const got: string[] = [];
    const f = await fakeBroker(async (conn) => {
      for (let i = 0; i < 3; i++) got.push(toHex(await conn.nextPacket()));
      conn.write(CONNACK_OK);
    });
    const c = await raw(f.port);
    for (const b of CONNECT_ANON) c.write(Uint8Array.of(b)); // one byte per write
    const big = publishPacket({ topic: 't', payload: new Uint8Array(200).fill(0xab) });
    c.write(Buffer.concat([PINGREQ, big])); // two packets in one write
    expect(toHex(await c.expectPacket(PacketType.CONNACK))).toBe(CONNACK_OK);
    expect(got).toEqual([toHex(CONNECT_ANON), 'c0 00', toHex(big)]);
    const conn = await f.nextConnection();
    expect(conn.received().length).toBe(CONNECT_ANON.length + 2 + big.length);
  });

  it('nextPacket rejects on timeout, on close, and on a malformed remaining length', async () => {
    const f = await fakeBroker();
    const c1 = await raw(f.port);
    const s1 = await f.nextConnection();
    await expect(s1.nextPacket(30)).rejects.toThrow(/no packet from client within 30 ms/);
    c1.write('30 05 00'); // a partial packet, then close
    const pending = s1.nextPacket(1000);
    c1.end();
    await expect(pending).rejects.toThrow(/closed before the next packet.*partial bytes pending: 30 05 00/);
    await s1.closed;

    const c2 = await raw(f.port);
    const s2 = await f.nextConnection();
    c2.write('30 ff ff ff ff 01');
    await expect(s2.nextPacket(1000)).rejects.toThrow(/malformed/);
  });

  it('end() sends FIN, destroy() closes, reset() sends RST, as seen by the client', async () => {
    const f = await fakeBroker();
    const a = await raw(f.port);
    (await f.nextConnection()).end();
    await a.expectClosed();
    expect(a.peerEnded).toBe(true);

    const b = await raw(f.port);
    (await f.nextConnection()).reset();
    await b.expectClosed();
    expect(b.error?.message).toMatch(/ECONNRESET/);
  });

  it('expectNoPacket passes on silence and fails on a packet, or when the connection closes (silence then proves nothing)', async () => {
    const f = await fakeBroker();
    const c = await raw(f.port);
    const s = await f.nextConnection();
    await s.expectNoPacket(30);
    c.write(PINGREQ);
    await expect(s.expectNoPacket(500)).rejects.toThrow(/unexpected packet from client: c0 00/);
    const quiet = s.expectNoPacket(2000);
    c.destroy();
    await expect(quiet).rejects.toThrow(/closed during the quiet window/);
    await expect(s.expectNoPacket(30)).rejects.toThrow(/is closed: silence proves nothing/);
  });

  it('close() rethrows the first error of a connection script', async () => {
    const f = await startFakeBroker(async (conn) => {
      await conn.expectPacket(PacketType.SUBSCRIBE, 1000);
    });
    const c = await raw(f.port);
    c.write(CONNECT_ANON);
    await vi.waitFor(() => expect(f.scriptErrors).toHaveLength(1), { timeout: 2000, interval: 5 });
    await expect(f.close()).rejects.toThrow(/expected packet type 8 from client, got 1/);
  });

  it('serves MQTT.js as a reference client', async () => {
    const f = await fakeBroker(async (conn) => {
      await conn.expectPacket(PacketType.CONNECT);
      conn.write('20 02 00 00');
      const sub = await conn.expectPacket(PacketType.SUBSCRIBE);
      conn.write(Uint8Array.of(0x90, 0x03, sub[2]!, sub[3]!, 0x80));
    });
    const client = mqtt.connect(f.url, { reconnectPeriod: 0, connectTimeout: 2000 });
    cleanups.push(() => new Promise<void>((r) => client.end(true, {}, () => r())));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await expect(client.subscribeAsync('x', { qos: 1 })).rejects.toMatchObject({ packet: { granted: [128] } });
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped by a non-reaping init) still answers kill(pid, 0).
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}
