/**
 * Bun (the `bun` devDependency's binary) runs a script that imports `mqttwire` from a consumer
 * directory: Bun resolves the package's `bun` condition (the Node entry, on Bun's node:net) and does
 * a QoS 1 round trip with a real broker over TCP, TLS and WebSocket (Bun's global WebSocket), both
 * to the broker's WebSocket listener and through a bridge that re-frames packets.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCleanDisconnect, expectRoundTrip, findBun, makeConsumerDir, repoRoot, roundTripScript, runChild, startBroker, type Broker, type ConsumerDir } from './runtimes.js';
import { startWsBridge, type WsBridge } from '../helpers/ws-bridge.js';

const LIMIT_MS = 20_000;
const nodeEntry = pathToFileURL(path.join(repoRoot, 'dist/esm/index.js')).href;

describe('Bun', () => {
  const bun = findBun();
  let broker: Broker;
  let bridge: WsBridge;
  let consumer: ConsumerDir;

  beforeAll(async () => {
    broker = await startBroker();
    bridge = await startWsBridge({ brokerPort: broker.port, seed: 7 });
    consumer = makeConsumerDir('bun');
  });
  afterAll(async () => {
    consumer?.remove();
    await bridge?.close();
    await broker?.stop();
  });

  async function roundTrip(name: string, url: string, topic: string, options?: Record<string, unknown>): Promise<void> {
    if (bun instanceof Error) throw bun;
    const script = consumer.write(name, roundTripScript({ specifier: 'mqttwire', url, topic, options }));
    const r = await runChild(bun.path, ['run', '--no-install', script], {
      cwd: consumer.dir,
      timeoutMs: LIMIT_MS,
      env: { ...process.env, BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0', DO_NOT_TRACK: '1', NO_COLOR: '1' },
    });
    const result = expectRoundTrip(`bun ${bun.version}: ${name} (${broker.kind})`, r, { topic, runtime: /^bun \d/, resolved: nodeEntry });
    await expectCleanDisconnect(broker, result);
  }

  it('resolves mqttwire to the Node entry and round-trips QoS 1 over TCP', async () => {
    await roundTrip('tcp.mjs', broker.url, 'runtimes/bun/tcp');
  });

  it("round-trips QoS 1 over ws:// with Bun's own WebSocket, to the broker's WebSocket listener", async () => {
    await roundTrip('ws-direct.mjs', broker.wsUrl, 'runtimes/bun/ws-direct');
  });

  it("round-trips QoS 1 over ws:// with Bun's own WebSocket (frames cut and packed at random)", async () => {
    const before = bridge.requests.length;
    await roundTrip('ws.mjs', bridge.url('/mqtt'), 'runtimes/bun/ws');
    expect(bridge.requests.slice(before).map((r) => r.protocols)).toEqual(['mqtt']);
    expect(bridge.stats.splits, JSON.stringify(bridge.stats)).toBeGreaterThan(0); // seed 7 cuts packets: the decoder reassembles
  });

  it('round-trips QoS 1 over mqtts:// (node:tls), trusting a test CA given as `ca`', async () => {
    await roundTrip('tls.mjs', broker.tlsUrl, 'runtimes/bun/tls', { ca: broker.pki.ca });
  });
});
