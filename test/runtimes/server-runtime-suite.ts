/**
 * One suite for the server runtimes that run the Node entry on their own node:net and bring their
 * own global WebSocket (Deno, Bun): a script in a consumer directory imports `mqttwire`, the runtime
 * resolves the package's own condition for it (the Node entry), and the script does a QoS 1 round
 * trip with a real broker over TCP, TLS and WebSocket (to the broker's WebSocket listener, and
 * through a bridge that re-frames packets); wss:// trusts the test CA through the runtime's own
 * variable, and without it fails with TLS_ERROR and the runtime's reason.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, expectCleanDisconnect, expectRoundTrip, parseResult, makeConsumerDir, repoRoot, roundTripScript, runChild, startBroker, type Binary, type Broker, type ChildResult, type ConsumerDir } from './runtimes.js';
import { startWsBridge, type WsBridge } from '../helpers/ws-bridge.js';

const LIMIT_MS = 20_000;
const nodeEntry = pathToFileURL(path.join(repoRoot, 'dist/esm/index.js')).href;

export interface ServerRuntime {
  /** 'Deno', 'Bun': the suite's name and the tests' wording. */
  name: string;
  /** The binary, or why it is missing. */
  binary: Binary | Error;
  /** What `--version` gives first, to check the round trip ran in this runtime. */
  version: RegExp;
  /** Command-line arguments that run `script` from `consumerDir`. */
  args(script: string, consumerDir: string): string[];
  /** Environment for every run (quiet, no update checks). */
  env: NodeJS.ProcessEnv;
  /** The variable that adds a CA file to the runtime's trust store (its WebSocket takes no TLS options). */
  caVariable: string;
  /** How the runtime words an untrusted certificate. */
  untrustedReason: RegExp;
}

export function describeServerRuntime(rt: ServerRuntime): void {
  const slug = rt.name.toLowerCase();
  describe(rt.name, () => {
    const version = rt.binary instanceof Error ? '' : rt.binary.version;
    const who = version.startsWith(slug) ? version : `${slug} ${version}`.trim();
    let broker: Broker;
    let bridge: WsBridge;
    let consumer: ConsumerDir;

    beforeAll(async () => {
      broker = await startBroker();
      bridge = await startWsBridge({ brokerPort: broker.port, seed: 7 });
      consumer = makeConsumerDir(slug);
    });
    afterAll(async () => {
      consumer?.remove();
      await bridge?.close();
      await broker?.stop();
    });

    /** Runs the round-trip script in the runtime and returns what the process did. */
    async function run(name: string, url: string, topic: string, options?: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
      if (rt.binary instanceof Error) throw rt.binary;
      const script = consumer.write(name, roundTripScript({ specifier: 'mqttwire', url, topic, options }));
      return runChild(rt.binary.path, rt.args(script, consumer.dir), {
        cwd: consumer.dir,
        timeoutMs: LIMIT_MS,
        env: { ...process.env, NO_COLOR: '1', ...rt.env, ...env },
      });
    }

    async function roundTrip(name: string, url: string, topic: string, options?: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<void> {
      const r = await run(name, url, topic, options, env);
      const result = expectRoundTrip(`${who}: ${name} (${broker.kind})`, r, { topic, runtime: rt.version, resolved: nodeEntry });
      await expectCleanDisconnect(broker, result);
    }

    it('resolves mqttwire to the Node entry and round-trips QoS 1 over TCP', async () => {
      await roundTrip('tcp.mjs', broker.url, `runtimes/${slug}/tcp`);
    });

    it(`round-trips QoS 1 over ws:// with ${rt.name}'s own WebSocket, to the broker's WebSocket listener`, async () => {
      await roundTrip('ws-direct.mjs', broker.wsUrl, `runtimes/${slug}/ws-direct`);
    });

    it(`round-trips QoS 1 over ws:// with ${rt.name}'s own WebSocket (frames cut and packed at random)`, async () => {
      const before = bridge.requests.length;
      await roundTrip('ws.mjs', bridge.url('/mqtt'), `runtimes/${slug}/ws`);
      expect(bridge.requests.slice(before).map((r) => r.protocols)).toEqual(['mqtt']);
      expect(bridge.stats.splits, JSON.stringify(bridge.stats)).toBeGreaterThan(0); // seed 7 cuts packets: the decoder reassembles
    });

    it('round-trips QoS 1 over mqtts:// (node:tls), trusting a test CA given as `ca`', async () => {
      await roundTrip('tls.mjs', broker.tlsUrl, `runtimes/${slug}/tls`, { ca: broker.pki.ca });
    });

    it(`round-trips QoS 1 over wss:// with ${rt.name}'s own WebSocket, trusting the test CA through ${rt.caVariable}`, async () => {
      // A WHATWG WebSocket takes no TLS options: the runtime's trust store decides (docs/transports.md).
      const ca = consumer.write('ca.pem', broker.pki.ca);
      await roundTrip('wss.mjs', broker.wssUrl, `runtimes/${slug}/wss`, {}, { [rt.caVariable]: ca });
    });

    it(`wss:// to a broker whose certificate it does not trust (no ${rt.caVariable}): TLS_ERROR, with the runtime's reason`, async () => {
      const r = await run('wss-untrusted.mjs', broker.wssUrl, `runtimes/${slug}/wss-untrusted`);
      const result = parseResult(r.stdout);
      expect(result, describeRun('untrusted wss://', r)).toMatchObject({ ok: false, code: 'TLS_ERROR' });
      expect(result?.error).toMatch(/^TransportError: WebSocket wss:\/\/127\.0\.0\.1:\d+\/mqtt: connect failed: /);
      expect(result?.error).toMatch(rt.untrustedReason);
    });
  });
}
