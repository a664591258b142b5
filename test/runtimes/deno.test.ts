/**
 * Deno (the `deno` devDependency's binary) runs a script that imports `mqttwire` from a consumer
 * directory: Deno resolves the package's `deno` condition (the Node entry, on Deno's node:net) and
 * does a QoS 1 round trip with a real broker over TCP, TLS, and WebSocket (Deno's global WebSocket),
 * both to the broker's WebSocket listener and through a bridge that re-frames packets. Permissions are tight: network to 127.0.0.1, and reading the
 * consumer directory, package.json and dist/ only; no env, no write, no subprocesses, no prompt.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, expectCleanDisconnect, expectRoundTrip, parseResult, findDeno, makeConsumerDir, repoRoot, roundTripScript, runChild, startBroker, type Broker, type ChildResult, type ConsumerDir } from './runtimes.js';
import { startWsBridge, type WsBridge } from '../helpers/ws-bridge.js';

const LIMIT_MS = 20_000;
const nodeEntry = pathToFileURL(path.join(repoRoot, 'dist/esm/index.js')).href;

describe('Deno', () => {
  const deno = findDeno();
  const who = deno instanceof Error ? 'deno' : deno.version;
  let broker: Broker;
  let bridge: WsBridge;
  let consumer: ConsumerDir;

  beforeAll(async () => {
    broker = await startBroker();
    bridge = await startWsBridge({ brokerPort: broker.port, seed: 7 });
    consumer = makeConsumerDir('deno');
  });
  afterAll(async () => {
    consumer?.remove();
    await bridge?.close();
    await broker?.stop();
  });

  /** Runs the round-trip script in Deno and returns what the process did. */
  async function run(name: string, url: string, topic: string, options?: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
    if (deno instanceof Error) throw deno;
    const script = consumer.write(name, roundTripScript({ specifier: 'mqttwire', url, topic, options }));
    const readable = [consumer.dir, path.join(repoRoot, 'package.json'), path.join(repoRoot, 'dist')].join(',');
    return runChild(deno.path, ['run', '--no-prompt', '--allow-net=127.0.0.1', `--allow-read=${readable}`, script], {
      cwd: consumer.dir,
      timeoutMs: LIMIT_MS,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', ...env },
    });
  }

  async function roundTrip(name: string, url: string, topic: string, options?: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<void> {
    const r = await run(name, url, topic, options, env);
    const result = expectRoundTrip(`${who}: ${name} (${broker.kind})`, r, { topic, runtime: /^deno \d/, resolved: nodeEntry });
    await expectCleanDisconnect(broker, result);
  }

  it('resolves mqttwire to the Node entry and round-trips QoS 1 over TCP', async () => {
    await roundTrip('tcp.mjs', broker.url, 'runtimes/deno/tcp');
  });

  it("round-trips QoS 1 over ws:// with Deno's own WebSocket, to the broker's WebSocket listener", async () => {
    await roundTrip('ws-direct.mjs', broker.wsUrl, 'runtimes/deno/ws-direct');
  });

  it("round-trips QoS 1 over ws:// with Deno's own WebSocket (frames cut and packed at random)", async () => {
    const before = bridge.requests.length;
    await roundTrip('ws.mjs', bridge.url('/mqtt'), 'runtimes/deno/ws');
    expect(bridge.requests.slice(before).map((r) => r.protocols)).toEqual(['mqtt']);
    expect(bridge.stats.splits, JSON.stringify(bridge.stats)).toBeGreaterThan(0); // seed 7 cuts packets: the decoder reassembles
  });

  it('round-trips QoS 1 over mqtts:// (node:tls), trusting a test CA given as `ca`', async () => {
    await roundTrip('tls.mjs', broker.tlsUrl, 'runtimes/deno/tls', { ca: broker.pki.ca });
  });

  it("round-trips QoS 1 over wss:// with Deno's own WebSocket, trusting the test CA through DENO_CERT", async () => {
    // A WHATWG WebSocket takes no TLS options: the runtime's trust store decides (docs/transports.md).
    const ca = consumer.write('ca.pem', broker.pki.ca);
    await roundTrip('wss.mjs', broker.wssUrl, 'runtimes/deno/wss', {}, { DENO_CERT: ca });
  });

  it("wss:// to a broker whose certificate it does not trust (no DENO_CERT): TLS_ERROR, with the runtime's reason", async () => {
    const r = await run('wss-untrusted.mjs', broker.wssUrl, 'runtimes/deno/wss-untrusted');
    const result = parseResult(r.stdout);
    expect(result, describeRun('untrusted wss://', r)).toMatchObject({ ok: false, code: 'TLS_ERROR' });
    expect(result?.error).toMatch(/^TransportError: WebSocket wss:\/\/127\.0\.0\.1:\d+\/mqtt: connect failed: .*invalid peer certificate/);
  });
});
