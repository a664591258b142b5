/**
 * MQTT 5 enhanced authentication through the client (issue 14, item 10): the `auth` option with our
 * SCRAM-SHA-256 against the fake broker playing the SCRAM server side (test/helpers/scram-server.ts,
 * on node:crypto), with RFC 7677's test vector; what may go out before CONNACK; a broker that cannot
 * prove itself; AUTH the spec does not allow; re-authentication; a new exchange on every connection.
 * Mosquitto 2.0.11 has no SCRAM (enhanced authentication needs a plugin there), so no real broker here.
 */
import { describe, expect, it } from 'vitest';
import { AuthenticationError, InvalidArgumentError, MqttProtocolError, type ClientOptions } from '../../src/index.js';
import { createScramClient } from '../../src/auth/scram-client.js';
import { scramSha256 } from '../../src/auth/scram.js';
import type { AuthPacket } from '../../src/codec/packets.js';
import { rejection, useHarness, within } from '../client/helpers.js';
import { client5, next5, send5 } from '../helpers/fake-broker-v5.js';
import type { FakeConnection } from '../helpers/fake-broker.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { scramServer, storedCredentials, type ScramServer } from '../helpers/scram-server.js';
import { RFC7677 } from '../helpers/scram-vectors.js';
import { dropAndReconnect, nextStatus } from '../helpers/reconnect-fake5.js';

const h = useHarness();
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);
const METHOD = 'SCRAM-SHA-256';

function rfcServer(password = 'pencil', acceptAnyProof = false): ScramServer {
  const creds = storedCredentials(password, { salt: Buffer.from(RFC7677.salt, 'base64'), iterations: 4096 });
  return scramServer({ users: { user: creds }, serverNonce: () => RFC7677.serverNonce, acceptAnyProof });
}

function rfcClient(): ReturnType<typeof createScramClient<string>> {
  return createScramClient({ method: METHOD, hash: 'SHA-256', username: 'user', password: 'pencil', minIterations: 4096, maxIterations: 1_000_000, nonce: () => RFC7677.clientNonce });
}

function auth(reasonCode: number, data?: Uint8Array, method = METHOD): AuthPacket {
  return { type: 'auth', reasonCode, properties: data ? { authenticationMethod: method, authenticationData: data } : { authenticationMethod: method } };
}

/**
 * Plays the broker's side of one SCRAM exchange on `conn` after its CONNECT: AUTH 0x18 with server-first,
 * then CONNACK 0 with server-final (or 0x87 when the proof is wrong). Returns what the client sent.
 */
async function serveScram(conn: FakeConnection, server: ScramServer): Promise<{ clientFirst: string; clientFinal: string }> {
  const connect = await next5(conn, 'connect');
  expect(connect.properties?.authenticationMethod).toBe(METHOD);
  const exchange = server.exchange();
  const clientFirst = connect.properties!.authenticationData!;
  send5(conn, auth(0x18, exchange.first(clientFirst)));
  const answer = await next5(conn, 'auth');
  expect(answer.reasonCode).toBe(0x18);
  expect(answer.properties?.authenticationMethod).toBe(METHOD);
  const clientFinal = answer.properties!.authenticationData!;
  const result = exchange.final(clientFinal);
  if (result.ok) send5(conn, { type: 'connack', sessionPresent: false, returnCode: 0, properties: { authenticationMethod: METHOD, authenticationData: result.message } });
  else send5(conn, { type: 'connack', sessionPresent: false, returnCode: 0x87, properties: { reasonString: text(result.message) } });
  return { clientFirst: text(clientFirst), clientFinal: text(clientFinal) };
}

async function fakeWithAuth(options: ClientOptions) {
  const timers = new ManualTimers();
  const fake = await h.fake();
  const c = client5(h, fake.url, { keepalive: 0, timers, ...options });
  return { c, fake, timers };
}

/** A client with SCRAM-SHA-256 for user/pencil, connected through one full exchange with the fake broker. */
async function connectedWithScram(options: ClientOptions = {}) {
  const { c, fake, timers } = await fakeWithAuth({ auth: scramSha256({ username: 'user', password: 'pencil' }), ...options });
  const connecting = c.connect();
  const conn = await fake.nextConnection();
  const first = await serveScram(conn, rfcServer());
  await within(connecting, 5000, 'connect');
  return { c, fake, timers, conn, first };
}

describe('MQTT 5 enhanced authentication with SCRAM-SHA-256 [v5]', () => {
  it("RFC 7677's exchange: CONNECT carries method and client-first, AUTH 0x18 both ways, CONNACK's server-final verified (MQTT-4.12.0-2, MQTT-4.12.0-3, MQTT-4.12.0-5)", async () => {
    const { c, fake } = await fakeWithAuth({ auth: rfcClient() });
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    const sent = await serveScram(conn, rfcServer());
    expect(sent).toEqual({ clientFirst: RFC7677.clientFirst, clientFinal: RFC7677.clientFinal });
    const result = await within(connecting, 5000, 'connect');
    expect(result.properties.authenticationData && text(result.properties.authenticationData)).toBe(RFC7677.serverFinal);
    expect(c.connected).toBe(true);
  });

  it('nothing but AUTH goes out before CONNACK: a publish made during the exchange waits for it (MQTT-3.1.2-30)', async () => {
    const { c, fake } = await fakeWithAuth({ auth: scramSha256({ username: 'user', password: 'pencil' }) });
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    const connect = await next5(conn, 'connect');
    const exchange = rfcServer().exchange();
    // Published while the exchange runs (connect() has not resolved): it must wait.
    const publishing = c.publish('early', 'x', { qos: 1 });
    send5(conn, auth(0x18, exchange.first(connect.properties!.authenticationData!)));
    const answer = await next5(conn, 'auth'); // the next packet is the AUTH, not the PUBLISH
    const result = exchange.final(answer.properties!.authenticationData!);
    expect(result.ok).toBe(true);
    send5(conn, { type: 'connack', sessionPresent: false, returnCode: 0, properties: { authenticationMethod: METHOD, authenticationData: result.message } });
    await within(connecting, 5000, 'connect');
    const p = await next5(conn, 'publish');
    expect(p.topic).toBe('early');
    send5(conn, { type: 'puback', packetId: p.packetId! });
    await within(publishing, 2000, 'publish');
  });

  it('a broker that cannot prove it knows the password: AuthenticationError, DISCONNECT 0x80, nothing else sent', async () => {
    const { c, fake } = await fakeWithAuth({ auth: scramSha256({ username: 'user', password: 'pencil' }) });
    const connecting = rejection(c.connect(), 5000);
    const conn = await fake.nextConnection();
    // An impostor: it has credentials of another password and accepts any proof.
    await serveScram(conn, rfcServer('not-pencil', true));
    const err = await connecting;
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ code: 'SCRAM_BAD_SERVER_SIGNATURE' });
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x80 });
  });

  it('a wrong proof: the broker refuses with CONNACK 0x87 and connect() rejects with its reason', async () => {
    const { c, fake } = await fakeWithAuth({ auth: scramSha256({ username: 'user', password: 'wrong' }) });
    const connecting = rejection(c.connect(), 5000);
    await serveScram(await fake.nextConnection(), rfcServer());
    expect(await connecting).toMatchObject({ code: 'CONNECTION_REFUSED', reasonCode: 0x87, reasonString: 'e=invalid-proof' });
  });

  it('AUTH with another Authentication Method: DISCONNECT 0x82 and a protocol error (MQTT-4.12.0-5)', async () => {
    const { c, fake } = await fakeWithAuth({ auth: rfcClient() });
    const connecting = rejection(c.connect(), 5000);
    const conn = await fake.nextConnection();
    await next5(conn, 'connect');
    send5(conn, auth(0x18, bytes('r=x'), 'PLAIN'));
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x82 });
    const err = await connecting;
    expect(err).toBeInstanceOf(MqttProtocolError);
    expect((err as Error).message).toBe('the broker sent AUTH with Authentication Method "PLAIN"; CONNECT named "SCRAM-SHA-256" [MQTT-4.12.0-5]');
  });

  it('AUTH when CONNECT named no method: DISCONNECT 0x82 (MQTT-4.12.0-6)', async () => {
    const { c, fake } = await fakeWithAuth({});
    const connecting = rejection(c.connect(), 5000);
    const conn = await fake.nextConnection();
    const connect = await next5(conn, 'connect');
    expect(connect.properties?.authenticationMethod).toBeUndefined();
    send5(conn, auth(0x18, bytes('r=x')));
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x82 });
    expect(await connecting).toMatchObject({ code: 'UNEXPECTED_PACKET', message: 'the broker sent AUTH, but CONNECT named no Authentication Method [MQTT-4.12.0-6]' });
  });

  it('reauthenticate(): AUTH 0x19 with a fresh exchange, challenges answered, resolves on AUTH 0x00; traffic goes on meanwhile (MQTT-4.12.1-1)', async () => {
    const { c, conn, first } = await connectedWithScram();
    const reauth = c.reauthenticate();
    const start = await next5(conn, 'auth');
    expect(start.reasonCode).toBe(0x19);
    expect(start.properties?.authenticationMethod).toBe(METHOD);
    const clientFirst = text(start.properties!.authenticationData);
    expect(clientFirst).toMatch(/^n,,n=user,r=/);
    expect(clientFirst).not.toBe(first.clientFirst); // a new nonce
    const exchange = rfcServer().exchange();
    send5(conn, auth(0x18, exchange.first(start.properties!.authenticationData!)));
    const answer = await next5(conn, 'auth');
    expect(answer.reasonCode).toBe(0x18);
    // Normal traffic meanwhile: a QoS 1 publish goes out and completes before the exchange does.
    const publishing = c.publish('during', 'x', { qos: 1 });
    const p = await next5(conn, 'publish');
    send5(conn, { type: 'puback', packetId: p.packetId! });
    await within(publishing, 2000, 'publish');
    const result = exchange.final(answer.properties!.authenticationData!);
    send5(conn, auth(0x00, result.message));
    await within(reauth, 5000, 'reauthenticate');
    expect(c.connected).toBe(true);
  });

  it('a re-authentication the broker cannot prove: reauthenticate() rejects, DISCONNECT 0x80, the connection closes (MQTT-4.12.1-2)', async () => {
    const { c, conn } = await connectedWithScram();
    const closed = c.closed.then(() => undefined, (e: unknown) => e);
    const reauth = rejection(c.reauthenticate(), 5000);
    const start = await next5(conn, 'auth');
    // An impostor now: it accepts any proof but signs with the verifier of another password.
    const exchange = rfcServer('not-pencil', true).exchange();
    send5(conn, auth(0x18, exchange.first(start.properties!.authenticationData!)));
    const answer = await next5(conn, 'auth');
    send5(conn, auth(0x00, exchange.final(answer.properties!.authenticationData!).message));
    const err = await reauth;
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ code: 'SCRAM_BAD_SERVER_SIGNATURE' });
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x80 });
    expect(await within(closed, 2000, 'closed')).toBe(err);
  });

  it('an AUTH 0x00 with no re-authentication under way is a Protocol Error (0x82)', async () => {
    const { c, conn } = await connectedWithScram();
    const closed = c.closed.then(() => undefined, (e: unknown) => e);
    send5(conn, auth(0x00));
    expect(await next5(conn, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x82 });
    expect(await within(closed, 2000, 'closed')).toMatchObject({ code: 'UNEXPECTED_PACKET', message: 'the broker sent AUTH with reason code 0x00 with no re-authentication under way' });
  });

  it('reauthenticate() without the auth option is InvalidArgumentError, and nothing is sent (MQTT-4.12.0-7)', async () => {
    const { c, fake } = await fakeWithAuth({});
    const connecting = c.connect();
    const conn = await fake.nextConnection();
    await next5(conn, 'connect');
    send5(conn, { type: 'connack', sessionPresent: false, returnCode: 0 });
    await within(connecting, 2000, 'connect');
    const err = await rejection(c.reauthenticate());
    expect(err).toBeInstanceOf(InvalidArgumentError);
    // Positive control: the next packet the broker sees is this publish, not an AUTH.
    void c.publish('after', 'x');
    expect((await next5(conn, 'publish')).topic).toBe('after');
  });

  it('each connection runs a new exchange: a reconnect sends a new client-first and authenticates again', async () => {
    const { c, fake, timers, conn, first } = await connectedWithScram({ reconnect: { initialDelay: 10, maxDelay: 10 } });
    const reconnected = nextStatus(c, 'connected', 5000);
    const again = await dropAndReconnect(c, conn, timers, fake);
    const second = await serveScram(again, rfcServer());
    expect(second.clientFirst).not.toBe(first.clientFirst);
    await reconnected;
    expect(c.connected).toBe(true);
  });

  it('a reconnect whose broker fails verification is not retried: the client closes with the AuthenticationError', async () => {
    const { c, fake, timers, conn } = await connectedWithScram({ reconnect: { initialDelay: 10, maxDelay: 10 } });
    const closed = c.closed.then(() => undefined, (e: unknown) => e);
    const again = await dropAndReconnect(c, conn, timers, fake);
    await serveScram(again, rfcServer('not-pencil', true));
    expect(await next5(again, 'disconnect')).toEqual({ type: 'disconnect', reasonCode: 0x80 });
    expect(await within(closed, 2000, 'closed')).toMatchObject({ code: 'SCRAM_BAD_SERVER_SIGNATURE' });
    // No third connection once the backoff delay has passed (the same steps caught the reconnect above).
    timers.advance(1000);
    await expect(fake.nextConnection(300)).rejects.toThrow('no new connection within 300 ms');
    expect(c.state).toBe('closed');
  });

  it('a mechanism whose answer cannot be sent (Authentication Data over 65,535 bytes): connect() rejects, no crash, no unhandled rejection', async () => {
    const huge = { method: 'HUGE', onChallenge: () => Promise.resolve(new Uint8Array(70_000)) };
    const { c, fake } = await fakeWithAuth({ auth: huge });
    const connecting = rejection(c.connect(), 5000);
    const conn = await fake.nextConnection();
    await next5(conn, 'connect');
    send5(conn, auth(0x18, bytes('challenge'), 'HUGE'));
    const err = await connecting;
    expect(err).toMatchObject({ name: 'MqttProtocolError' });
    expect((err as Error).message).toMatch(/authenticationData/);
  });

  it('a bad auth option is refused by the constructor; auth needs protocolVersion 5', () => {
    expect(() => h.client('mqtt://127.0.0.1:1', { auth: { method: 'X', onChallenge: () => Promise.resolve(new Uint8Array(0)) } })).toThrow('auth is an MQTT 5 option: set protocolVersion: 5');
    expect(() => client5(h, 'mqtt://127.0.0.1:1', { auth: { method: '' } as never })).toThrow(/^auth must be an authenticator \{ method, data\?, onChallenge\(data\), verifyFinal\?\(data\), start\?\(\) \}/);
  });
});
