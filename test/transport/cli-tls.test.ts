/** The CLI over mqtts:// (real Mosquitto TLS listeners) and ws:// (bridge to aedes), as child processes. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllCli, runCli, startSubscribed, TEST_TIMEOUT_MS } from '../cli/cli.js';
import { startAedes, type AedesHandle } from '../helpers/aedes.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';
import { mosquittoTlsListener, testPki, type TestPki } from '../helpers/tls-pki.js';
import { startWsBridge, type WsBridge } from '../helpers/ws-bridge.js';

describeMosquitto('mqttwire pub/sub over mqtts://', () => {
  let pki: TestPki;
  let m: MosquittoHandle;
  let url: string;
  let mtlsUrl: string;
  const file = (name: string): string => path.join(m.dir, name); // the broker's temp dir has ca.pem

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
  afterAll(async () => {
    killAllCli();
    await m?.stop();
  });

  it('sub and pub with --cafile: round trip at QoS 1', async () => {
    const sub = await startSubscribed(['sub', '-L', url, '--cafile', file('ca.pem'), '-t', 'cli/tls', '-q', '1', '-C', '1']);
    const pub = await runCli(['pub', '-L', url, '--cafile', file('ca.pem'), '-t', 'cli/tls', '-m', 'one', '-q', '1']);
    expect(pub, pub.stderr).toMatchObject({ code: 0, stderr: '' });
    const r = await sub.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('one\n');
  }, TEST_TIMEOUT_MS);

  it('without --cafile: exit 1 and one line saying verification failed; without a required client certificate: one line saying so', async () => {
    const [untrusted, noCert] = await Promise.all([
      runCli(['pub', '-L', url, '-t', 'cli/tls', '-m', 'x']),
      runCli(['pub', '-L', mtlsUrl, '--cafile', file('ca.pem'), '-t', 'cli/tls', '-m', 'x']),
    ]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(
      new RegExp(`^mqttwire pub: TLS verification of ${url.replace(/\./g, '\\.')} failed: [^\\n]*certificate[^\\n]* \\(trust its CA with --cafile, or skip verification with --insecure\\)\\n$`),
    );
    expect(noCert.code).toBe(1);
    expect(noCert.stderr).toMatch(
      /^mqttwire pub: TLS handshake with mqtts:\/\/127\.0\.0\.1:\d+ failed: tlsv13 alert certificate required \(does the broker require a client certificate\? see --cert and --key\)\n$/,
    );
  }, TEST_TIMEOUT_MS);
});

describe('mqttwire pub over ws://', () => {
  let aedes: AedesHandle;
  let bridge: WsBridge;
  beforeAll(async () => {
    aedes = await startAedes();
    bridge = await startWsBridge({ brokerPort: aedes.port, seed: 3 });
  });
  afterAll(async () => {
    killAllCli();
    await bridge?.close();
    await aedes?.close();
  });

  it('publishes at QoS 1 through a WebSocket path', async () => {
    const r = await runCli(['pub', '-L', bridge.url('/mqtt'), '-t', 'cli/ws', '-m', 'over ws', '-q', '1']);
    expect(r, r.stderr).toMatchObject({ code: 0, stderr: '' });
    const p = await aedes.waitFor('publish', (e) => e.topic === 'cli/ws');
    expect(p.payload.toString()).toBe('over ws');
    expect(bridge.requests.at(-1)).toMatchObject({ path: '/mqtt', protocols: 'mqtt' });
  }, TEST_TIMEOUT_MS);
});
