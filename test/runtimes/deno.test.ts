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
import { expectCleanDisconnect, expectRoundTrip, findDeno, makeConsumerDir, repoRoot, roundTripScript, runChild, startBroker, type Broker, type ConsumerDir } from './runtimes.js';
import { startWsBridge, type WsBridge } from '../helpers/ws-bridge.js';

const LIMIT_MS = 20_000;
const nodeEntry = pathToFileURL(path.join(repoRoot, 'dist/esm/index.js')).href;

describe('Deno', () => {
  const deno = findDeno();
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

  async function roundTrip(name: string, url: string, topic: string, options?: Record<string, unknown>): Promise<void> {
    if (deno instanceof Error) throw deno;
    const script = consumer.write(name, roundTripScript({ specifier: 'mqttwire', url, topic, options }));
    const readable = [consumer.dir, path.join(repoRoot, 'package.json'), path.join(repoRoot, 'dist')].join(',');
    const r = await runChild(deno.path, ['run', '--no-prompt', '--allow-net=127.0.0.1', `--allow-read=${readable}`, script], {
      cwd: consumer.dir,
      timeoutMs: LIMIT_MS,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    });
    const result = expectRoundTrip(`${deno.version}: ${name} (${broker.kind})`, r, { topic, runtime: /^deno \d/, resolved: nodeEntry });
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
});
