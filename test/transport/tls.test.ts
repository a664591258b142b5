/**
 * mqtts:// against a real Mosquitto TLS listener, with a PKI made at test time (test/helpers/tls-pki.ts):
 * verification on by default, client certificates, host name and CA failures as TLS_ERROR, and a
 * reconnecting client that stops (instead of retrying forever) once the broker's certificate no
 * longer verifies.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, MqttClient, TransportError, type ClientOptions, type StatusEvent } from '../../src/index.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';
import { mosquittoTlsListener, testPki, type TestPki } from '../helpers/tls-pki.js';
import fs from 'node:fs';
import path from 'node:path';

const FAST: ClientOptions = { connectTimeout: 5000, reconnect: false };

async function roundTrip(url: string, options: ClientOptions, topic = 'tls/rt'): Promise<void> {
  const client = await connect(url, { ...FAST, ...options });
  try {
    const sub = await client.subscribe(topic, { qos: 1 });
    await client.publish(topic, 'over tls', { qos: 1 });
    const it = sub[Symbol.asyncIterator]();
    const { value } = await it.next();
    expect(value?.text()).toBe('over tls');
    expect(value?.qos).toBe(1);
  } finally {
    await client.end();
  }
}

async function connectError(url: string, options: ClientOptions): Promise<TransportError> {
  const client = new MqttClient(url, { ...FAST, ...options });
  const err = await client.connect().then(
    () => {
      throw new Error('connected, but should not have');
    },
    (e: unknown) => e,
  );
  expect(client.state).toBe('closed');
  expect(err).toBeInstanceOf(TransportError);
  return err as TransportError;
}

describeMosquitto('mqtts:// against Mosquitto', () => {
  let pki: TestPki;
  let m: MosquittoHandle;
  let url: string; // server certificate of the test CA
  let mtlsUrl: string; // the same, and require_certificate true

  beforeAll(async () => {
    pki = await testPki();
    m = await startMosquitto({
      extraPorts: 2,
      files: { 'ca.pem': pki.ca, 'server.pem': pki.server.cert, 'server.key': pki.server.key },
      extraConfig: ({ dir, extraPorts }) => mosquittoTlsListener(dir, extraPorts[0] as number) + mosquittoTlsListener(dir, extraPorts[1] as number, true),
    });
    url = `mqtts://127.0.0.1:${m.extraPorts[0]}`;
    mtlsUrl = `mqtts://127.0.0.1:${m.extraPorts[1]}`;
  });
  afterAll(() => m?.stop());

  it('QoS 1 round trip trusting the test CA (the IP is in the certificate)', async () => {
    await roundTrip(url, { ca: pki.ca });
  });

  it('ssl:// and tls:// are the same transport; ca as bytes or a list; servername checked against the DNS name', async () => {
    const caBytes = new TextEncoder().encode(pki.ca);
    await Promise.all([
      roundTrip(url.replace('mqtts:', 'ssl:'), { ca: caBytes }, 'tls/ssl'),
      roundTrip(url.replace('mqtts:', 'tls:'), { ca: [pki.otherCa, caBytes] }, 'tls/tls'),
      roundTrip(url, { ca: pki.ca, servername: 'localhost', alpnProtocols: ['mqtt'] }, 'tls/sni'),
    ]);
  });

  it('a broker requiring a client certificate accepts ours and refuses a client without one', async () => {
    await roundTrip(mtlsUrl, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key }, 'tls/mtls');
    const err = await connectError(mtlsUrl, { ca: pki.ca });
    // TLS 1.3: the refusal is an alert after the client's side of the handshake; still TLS_ERROR.
    expect(err.code).toBe('TLS_ERROR');
    expect(err.message).toMatch(/^TLS: handshake with 127\.0\.0\.1:\d+ failed: tlsv13 alert certificate required$/);
  });

  it('a host name the certificate does not name fails with TLS_ERROR', async () => {
    const err = await connectError(url, { ca: pki.ca, servername: 'wrong.example' });
    expect(err.code).toBe('TLS_ERROR');
    expect(err.message).toMatch(/^TLS: certificate verification failed for 127\.0\.0\.1:\d+: Hostname\/IP does not match certificate's altnames: Host: wrong\.example/);
  });

  it('an untrusted CA fails with TLS_ERROR; verification is on by default; rejectUnauthorized: false connects anyway', async () => {
    const [other, none] = await Promise.all([connectError(url, { ca: pki.otherCa }), connectError(url, {})]);
    for (const err of [other, none]) {
      expect(err.code).toBe('TLS_ERROR');
      expect(err.message).toMatch(/^TLS: certificate verification failed for 127\.0\.0\.1:\d+: (unable to verify the first certificate|unable to get local issuer certificate|self-signed certificate in certificate chain)$/);
    }
    await roundTrip(url, { ca: pki.otherCa, rejectUnauthorized: false }, 'tls/insecure');
  });

  it('a TLS URL to a plain MQTT port fails at once, not at the connect timeout', async () => {
    const started = performance.now();
    // Mosquitto drops the connection on a ClientHello: a reset (transient in general), not a TLS verdict.
    const err = await connectError(`mqtts://127.0.0.1:${m.port}`, { ca: pki.ca });
    expect(err.code).toBe('TRANSPORT_ERROR');
    expect(err.message).toMatch(/^TLS connect to 127\.0\.0\.1:\d+ failed: .*(ECONNRESET|secure TLS connection)/);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('a first connect with reconnect on rejects once with TLS_ERROR and closes the client', async () => {
    const client = new MqttClient(url, { connectTimeout: 5000, reconnect: { initialDelay: 10, maxDelay: 20 } });
    const events: StatusEvent['type'][] = [];
    void (async () => {
      for await (const e of client.status()) events.push(e.type);
    })();
    await expect(client.connect()).rejects.toMatchObject({ code: 'TLS_ERROR' });
    await expect(client.closed).rejects.toMatchObject({ code: 'TLS_ERROR' });
    expect(client.state).toBe('closed');
    expect(events).not.toContain('reconnecting');
  });
});

describeMosquitto('mqtts:// reconnecting to a broker whose certificate stopped verifying', () => {
  let pki: TestPki;
  let m: MosquittoHandle;

  beforeAll(async () => {
    pki = await testPki();
    m = await startMosquitto({
      extraPorts: 1,
      files: { 'ca.pem': pki.ca, 'server.pem': pki.server.cert, 'server.key': pki.server.key },
      extraConfig: ({ dir, extraPorts }) => mosquittoTlsListener(dir, extraPorts[0] as number),
    });
  });
  afterAll(() => m?.stop());

  it('stops with TLS_ERROR after one failed attempt instead of retrying forever', async () => {
    const client = await connect(`mqtts://127.0.0.1:${m.extraPorts[0]}`, { ca: pki.ca, connectTimeout: 5000, reconnect: { initialDelay: 20, maxDelay: 50 } });
    const events: StatusEvent[] = [];
    const watching = (async () => {
      for await (const e of client.status()) events.push(e);
    })();
    // The broker comes back with a certificate of a CA the client does not trust.
    fs.writeFileSync(path.join(m.dir, 'server.pem'), pki.otherServer.cert);
    fs.writeFileSync(path.join(m.dir, 'server.key'), pki.otherServer.key);
    await m.restart();
    await expect(client.closed).rejects.toMatchObject({ code: 'TLS_ERROR', message: expect.stringMatching(/^TLS: certificate verification failed/) });
    await watching;
    const errors = events.filter((e): e is Extract<StatusEvent, { type: 'error' }> => e.type === 'error');
    // Attempts while the broker was still down may fail with ECONNREFUSED; the first TLS_ERROR is the last attempt.
    expect(errors.at(-1)?.error).toMatchObject({ code: 'TLS_ERROR' });
    expect(errors.filter((e) => (e.error as TransportError).code === 'TLS_ERROR')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'closed' });
  });
});
