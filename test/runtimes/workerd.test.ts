/**
 * Cloudflare Workers: a Worker module that imports `mqttwire`, bundled with esbuild the way wrangler
 * does it (conditions workerd, worker, browser; `cloudflare:*` external), runs in workerd through
 * miniflare. On each fetch it does the QoS 1 round trip with a real broker: over mqtt:// (outbound
 * TCP through `connect()` of cloudflare:sockets, plain and TLS) and over ws:// and wss:// (workerd's
 * WebSocket, to the broker's own WebSocket listeners, and through a bridge that re-frames packets).
 *
 * Reaching 127.0.0.1 from the Worker needs nothing special under miniflare: its `internet` network
 * service allows public and private addresses (plain workerd's default, `allow = ["public"]`, would
 * refuse loopback, and production Cloudflare refuses private ranges).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { expectCleanDisconnect, makeConsumerDir, repoRoot, roundTripModule, startBroker, type Broker, type ConsumerDir, type RoundTripResult } from './runtimes.js';
import { startWsBridge, type WsBridge } from '../helpers/ws-bridge.js';

const LIMIT_MS = 20_000;

/** How wrangler bundles a Worker: ESM, the workerd/worker/browser conditions, cloudflare:* left to workerd. */
const WRANGLER_LIKE: BuildOptions = {
  bundle: true,
  write: false,
  metafile: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  conditions: ['workerd', 'worker', 'browser'],
  mainFields: ['module', 'main'],
  external: ['cloudflare:*'],
  logLevel: 'silent',
};

const WORKER = `import { roundTrip } from './round-trip.mjs';

export default {
  async fetch(request) {
    const q = new URL(request.url).searchParams;
    return Response.json(await roundTrip(q.get('url'), q.get('topic')));
  },
};
`;

describe('Cloudflare Workers (workerd via miniflare)', () => {
  let broker: Broker;
  let bridge: WsBridge;
  let consumer: ConsumerDir;
  let bundle: { code: string; metafile: Metafile };
  let mf: Miniflare | undefined;

  beforeAll(async () => {
    broker = await startBroker();
    bridge = await startWsBridge({ brokerPort: broker.port, seed: 7 });
    consumer = makeConsumerDir('workerd');
    consumer.write('round-trip.mjs', roundTripModule({ specifier: 'mqttwire', resolve: false }));
    const entry = consumer.write('worker.mjs', WORKER);
    const out = await build({ ...WRANGLER_LIKE, entryPoints: [entry], absWorkingDir: consumer.dir });
    bundle = { code: out.outputFiles?.[0]?.text ?? '', metafile: out.metafile as Metafile };
    mf = new Miniflare({
      modules: true,
      script: bundle.code,
      scriptPath: path.join(consumer.dir, 'worker.mjs'),
      modulesRoot: consumer.dir,
      compatibilityDate: '2025-06-01',
      // Outbound connections (fetch, WebSocket, connect()) as miniflare makes them by default, but
      // also trusting the test CA, so mqtts:// and wss:// to the local broker verify.
      outboundService: { network: { allow: ['public', 'private'], tlsOptions: { trustedCertificates: [broker.pki.ca] } } },
    });
    await mf.ready;
  });
  afterAll(async () => {
    await mf?.dispose();
    consumer?.remove();
    await bridge?.close();
    await broker?.stop();
  });

  async function roundTrip(url: string, topic: string): Promise<RoundTripResult> {
    const signal = AbortSignal.timeout(LIMIT_MS);
    const res = await (mf as Miniflare).dispatchFetch(`http://worker.test/?url=${encodeURIComponent(url)}&topic=${encodeURIComponent(topic)}`, { signal });
    const text = await res.text();
    let result: RoundTripResult;
    try {
      result = JSON.parse(text) as RoundTripResult;
    } catch {
      throw new Error(`the Worker answered ${res.status}: ${text.slice(0, 2000)}`);
    }
    expect(result, `${broker.kind}: ${JSON.stringify(result)}`).toMatchObject({ ok: true, runtime: 'workerd', topic, qos: 1, payload: 'hello from workerd' });
    await expectCleanDisconnect(broker, result);
    return result;
  }

  it('bundles the workerd entry, with no Node built-in and no Node transport', () => {
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs.some((f) => f.endsWith('dist/esm/index.workerd.js'))).toBe(true);
    expect(inputs.filter((f) => /dist\/esm\/(index\.js|index\.web\.js|transport\/node-|transport\/select-(node|web))/.test(f))).toEqual([]);
    const imports = Object.values(bundle.metafile.inputs).flatMap((i) => i.imports.map((imp) => imp.path));
    expect(imports.filter((p) => p.startsWith('node:'))).toEqual([]);
    expect(imports).toContain('cloudflare:sockets');
  });

  it('round-trips QoS 1 over mqtt:// (cloudflare:sockets connect())', async () => {
    await roundTrip(broker.url, 'runtimes/workerd/tcp');
  });

  it('round-trips QoS 1 over mqtts:// (cloudflare:sockets connect() with secureTransport "on")', async () => {
    await roundTrip(broker.tlsUrl, 'runtimes/workerd/tls');
  });

  it('refuses mqtts:// to a broker whose certificate it does not trust', async () => {
    const untrusting = new Miniflare({
      modules: true,
      script: bundle.code,
      scriptPath: path.join(consumer.dir, 'worker.mjs'),
      modulesRoot: consumer.dir,
      compatibilityDate: '2025-06-01',
      // workerd logs the expected "certificate is not trusted" with a stack trace: keep it out of the output.
      handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
        stdout.resume();
        stderr.resume();
      },
    });
    try {
      const res = await untrusting.dispatchFetch(`http://worker.test/?url=${encodeURIComponent(broker.tlsUrl)}&topic=t`, { signal: AbortSignal.timeout(LIMIT_MS) });
      const result = (await res.json()) as RoundTripResult;
      expect(result.ok, JSON.stringify(result)).toBe(false);
      // workerd logs the reason (certificate not trusted); the Worker only learns that opening failed.
      expect(result.error).toMatch(/^TransportError: TLS connect to 127\.0\.0\.1:\d+ failed/);
    } finally {
      await untrusting.dispose();
    }
  });

  it("round-trips QoS 1 over ws:// (workerd's WebSocket; frames cut and packed at random)", async () => {
    const before = bridge.requests.length;
    await roundTrip(bridge.url('/mqtt'), 'runtimes/workerd/ws');
    expect(bridge.requests.slice(before).map((r) => r.protocols)).toEqual(['mqtt']);
    expect(bridge.stats.splits, JSON.stringify(bridge.stats)).toBeGreaterThan(0);
  });

  it("round-trips QoS 1 over ws:// (workerd's WebSocket), to the broker's WebSocket listener", async () => {
    await roundTrip(broker.wsUrl, 'runtimes/workerd/ws-direct');
  });

  it("round-trips QoS 1 over wss:// (workerd's WebSocket), to the broker's WebSocket listener over TLS", async () => {
    await roundTrip(broker.wssUrl, 'runtimes/workerd/wss');
  });

  it('examples/cloudflare-worker publishes one QoS 1 message per request', async () => {
    const topic = 'runtimes/workerd/example';
    const watcher = await connect(broker.url, { clientId: 'example-watcher', reconnect: false });
    let example: Miniflare | undefined;
    try {
      const messages = (await watcher.subscribe(topic, { qos: 1 }))[Symbol.asyncIterator]();
      // The example as a user has it, next to a node_modules with mqttwire in it.
      const entry = consumer.write('example-worker.ts', fs.readFileSync(path.join(repoRoot, 'examples/cloudflare-worker/worker.ts'), 'utf8'));
      const out = await build({ ...WRANGLER_LIKE, entryPoints: [entry], absWorkingDir: consumer.dir });
      example = new Miniflare({
        modules: true,
        script: out.outputFiles?.[0]?.text ?? '',
        scriptPath: path.join(consumer.dir, 'example-worker.js'),
        modulesRoot: consumer.dir,
        compatibilityDate: '2025-06-01',
        bindings: { MQTT_URL: broker.url, MQTT_TOPIC: topic },
      });
      for (const p of ['/first', '/second']) {
        const res = await example.dispatchFetch(`http://worker.test${p}`, { signal: AbortSignal.timeout(LIMIT_MS) });
        const body = (await res.json()) as { published?: string; error?: string };
        expect(body, JSON.stringify(body)).toMatchObject({ published: topic });
        const got = await messages.next();
        expect(got.done).toBe(false);
        expect(got.value?.qos).toBe(1);
        expect(JSON.parse(got.value?.text() ?? '')).toMatchObject({ method: 'GET', path: p });
      }
    } finally {
      await example?.dispose();
      await watcher.end();
    }
  });
});
