/**
 * One application, two builds (issue 11, item 10): a process that `import`s mqttwire and also
 * `require`s it (itself, or through a dependency) holds the ESM and the CommonJS build, two sets
 * of error classes. `instanceof` must hold across them, both ways, for every error class, and
 * across two installed copies of the package too; and it must still tell the classes apart.
 * Runs the built package (dist/, through package.json's exports) in a fresh Node process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, makeConsumerDir, repoRoot, runChild, type ConsumerDir } from '../runtimes/runtimes.js';

const LIMIT_MS = 15_000;

/**
 * For every pair of builds (made in A, checked against B) and every pair of classes (C made, D
 * checked): `new A[C](...) instanceof B[D]` must be true exactly when D is C or an ancestor of C.
 */
const SCRIPT = `
import { createRequire } from 'node:module';
import * as esm from 'mqttwire';
import * as esmCodec from 'mqttwire/codec';
import * as copy from 'mqttwire-copy';
const require = createRequire(import.meta.url);
const cjs = require('mqttwire');
const cjsCodec = require('mqttwire/codec');

const make = {
  MqttError: (m) => new m.MqttError('NO_PACKET_ID', 'x'),
  MqttProtocolError: (m) => new m.MqttProtocolError('TRUNCATED', 'x'),
  InvalidArgumentError: (m) => new m.InvalidArgumentError('x'),
  ConnectionRefusedError: (m) => new m.ConnectionRefusedError(5),
  TimeoutError: (m) => new m.TimeoutError('x'),
  SubscribeError: (m) => new m.SubscribeError(['a'], []),
  ConnectionClosedError: (m) => new m.ConnectionClosedError('x'),
  ClientClosedError: (m) => new m.ClientClosedError(),
  AbortError: (m) => new m.AbortError(),
  QueueFullError: (m) => new m.QueueFullError('x'),
  AbandonedSubscriptionError: (m) => new m.AbandonedSubscriptionError(['a'], 0, 0, 1),
  TransportError: (m) => new m.TransportError('x'),
};
const builds = { esm, cjs, copy };
const failures = [];
let checks = 0;
for (const [a, A] of Object.entries(builds)) {
  for (const [b, B] of Object.entries(builds)) {
    for (const c of Object.keys(make)) {
      const err = make[c](A);
      for (const d of Object.keys(make)) {
        const want = d === c || d === 'MqttError';
        checks++;
        if ((err instanceof B[d]) !== want) failures.push(\`\${a} \${c} instanceof \${b} \${d} is \${!want}\`);
      }
      checks++;
      if (!(err instanceof Error)) failures.push(\`\${a} \${c} is not an Error\`);
    }
  }
}
// Errors the library raises itself, caught by code written against the other build.
const raised = [];
try { new cjs.MqttClient('mqtt://'); } catch (e) { raised.push(['cjs client -> esm InvalidArgumentError', e instanceof esm.InvalidArgumentError]); }
try { new esm.MqttClient('mqtt://', { keepAlive: 1 }); } catch (e) { raised.push(['esm client -> cjs InvalidArgumentError', e instanceof cjs.InvalidArgumentError]); }
try { new esmCodec.PacketDecoder().push(new Uint8Array([0xf0, 0])); } catch (e) { raised.push(['esm codec -> cjs MqttProtocolError', e instanceof cjs.MqttProtocolError && e instanceof cjs.MqttError]); }
try { new cjsCodec.PacketDecoder().push(new Uint8Array([0xf0, 0])); } catch (e) { raised.push(['cjs codec -> esm MqttProtocolError', e instanceof esm.MqttProtocolError]); }
// An application's own subclass keeps ordinary identity: neither build's classes are it.
class AppError extends esm.MqttError {}
raised.push(['app subclass is not a cjs InvalidArgumentError', !(new AppError('TIMEOUT', 'x') instanceof cjs.InvalidArgumentError)]);
raised.push(['app subclass instanceof itself', new AppError('TIMEOUT', 'x') instanceof AppError]);
raised.push(['cjs MqttError is not an AppError', !(new cjs.MqttError('TIMEOUT', 'x') instanceof AppError)]);
raised.push(['plain Error is no MqttError', !(new Error('x') instanceof cjs.MqttError)]);
raised.push(['null is no MqttError', !(null instanceof esm.MqttError)]);
console.log(JSON.stringify({ distinct: esm.MqttError !== cjs.MqttError && copy.MqttError !== esm.MqttError, checks, failures, raised }));
`;

describe('error classes across the ESM build, the CommonJS build and a second copy', () => {
  let consumer: ConsumerDir;
  beforeAll(() => {
    consumer = makeConsumerDir('dual');
    // A second installed copy (another package's dependency, say): package.json and dist only.
    const copy = path.join(consumer.dir, 'node_modules', 'mqttwire-copy');
    fs.mkdirSync(copy);
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string };
    fs.writeFileSync(path.join(copy, 'package.json'), JSON.stringify({ ...pkg, name: 'mqttwire-copy' }));
    fs.cpSync(path.join(repoRoot, 'dist'), path.join(copy, 'dist'), { recursive: true });
  });
  afterAll(() => consumer?.remove());

  it('instanceof holds both ways for every class, and only for the class and its ancestors', { timeout: LIMIT_MS + 5000 }, async () => {
    const script = consumer.write('dual.mjs', SCRIPT);
    const r = await runChild(process.execPath, [script], { cwd: consumer.dir, timeoutMs: LIMIT_MS });
    expect(r.code, describeRun('dual', r)).toBe(0);
    const out = JSON.parse(r.stdout) as { distinct: boolean; checks: number; failures: string[]; raised: [string, boolean][] };
    // Three separate sets of classes, or the test proves nothing.
    expect(out.distinct).toBe(true);
    expect(out.checks).toBe(3 * 3 * 12 * 13);
    expect(out.failures).toEqual([]);
    expect(out.raised.filter(([, ok]) => !ok)).toEqual([]);
    expect(out.raised).toHaveLength(9);
  });
});
