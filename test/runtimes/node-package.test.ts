/**
 * The built package as a Node application sees it (node_modules/mqttwire -> this repository):
 * `require('mqttwire')` gets the CommonJS build, `import 'mqttwire'` the ESM build, both with the
 * same exports; both builds do the QoS 1 round trip with a real broker, and in each the entry
 * points share one set of error classes.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeRun,
  expectCleanDisconnect,
  expectRoundTrip,
  makeConsumerDir,
  repoRoot,
  roundTripScript,
  runChild,
  startBroker,
  type Broker,
  type ConsumerDir,
} from './runtimes.js';

const LIMIT_MS = 20_000;

describe('Node, through the package exports', () => {
  let broker: Broker;
  let consumer: ConsumerDir;

  beforeAll(async () => {
    broker = await startBroker();
    consumer = makeConsumerDir('node');
  });
  afterAll(async () => {
    consumer?.remove();
    await broker?.stop();
  });

  it('require() loads the CommonJS build and import the ESM build, with the same exports', async () => {
    const cjs = consumer.write(
      'load.cjs',
      `const m = require('mqttwire');
console.log(JSON.stringify({ resolved: require.resolve('mqttwire'), connect: typeof m.connect, MqttClient: typeof m.MqttClient, keys: Object.keys(m).sort() }));`,
    );
    const esm = consumer.write(
      'load.mjs',
      `const m = await import('mqttwire');
console.log(JSON.stringify({ resolved: import.meta.resolve('mqttwire'), connect: typeof m.connect, MqttClient: typeof m.MqttClient, keys: Object.keys(m).filter((k) => k !== 'default').sort() }));`,
    );
    const [r1, r2] = await Promise.all([
      runChild(process.execPath, [cjs], { cwd: consumer.dir, timeoutMs: LIMIT_MS }),
      runChild(process.execPath, [esm], { cwd: consumer.dir, timeoutMs: LIMIT_MS }),
    ]);
    expect(r1.code, describeRun('require', r1)).toBe(0);
    expect(r2.code, describeRun('import', r2)).toBe(0);
    const fromRequire = JSON.parse(r1.stdout) as { resolved: string; connect: string; MqttClient: string; keys: string[] };
    const fromImport = JSON.parse(r2.stdout) as typeof fromRequire;
    expect(fromRequire.resolved).toBe(path.join(repoRoot, 'dist/cjs/index.js'));
    expect(fromImport.resolved).toBe(pathToFileURL(path.join(repoRoot, 'dist/esm/index.js')).href);
    expect(fromRequire).toMatchObject({ connect: 'function', MqttClient: 'function' });
    expect(fromImport).toMatchObject({ connect: 'function', MqttClient: 'function' });
    expect(fromRequire.keys).toEqual(fromImport.keys);
  });

  it.each([
    { build: 'ESM', file: 'tcp.mjs', commonjs: false, resolved: pathToFileURL(path.join(repoRoot, 'dist/esm/index.js')).href },
    { build: 'CommonJS', file: 'tcp.cjs', commonjs: true, resolved: path.join(repoRoot, 'dist/cjs/index.js') },
  ])('round-trips QoS 1 over TCP from the $build build', async ({ build, file, commonjs, resolved }) => {
    const topic = `runtimes/node/tcp/${build}`;
    const script = consumer.write(file, roundTripScript({ specifier: 'mqttwire', url: broker.url, topic, commonjs }));
    const r = await runChild(process.execPath, [script], { cwd: consumer.dir, timeoutMs: LIMIT_MS });
    const result = expectRoundTrip(`node ${process.version} (${broker.kind}, ${build})`, r, { topic, runtime: /^node v\d/, resolved });
    await expectCleanDisconnect(broker, result);
  });

  it('mqttwire and mqttwire/codec share their error classes, in both builds', async () => {
    // Each entry is its own bundle; errors.js is the one module they share, so instanceof holds
    // for a decoder error from mqttwire/codec checked against the class from mqttwire.
    const check = `const same = main.MqttProtocolError === codec.MqttProtocolError;
let caught;
try { new codec.PacketDecoder().push(new Uint8Array([0xf0, 0])); } catch (err) { caught = err; }
console.log(JSON.stringify({ same, instance: caught instanceof main.MqttProtocolError && caught instanceof main.MqttError, code: caught?.code }));`;
    const cjs = consumer.write('errors.cjs', `const main = require('mqttwire'); const codec = require('mqttwire/codec');\n${check}`);
    const esm = consumer.write('errors.mjs', `import * as main from 'mqttwire'; import * as codec from 'mqttwire/codec';\n${check}`);
    for (const script of [cjs, esm]) {
      const r = await runChild(process.execPath, [script], { cwd: consumer.dir, timeoutMs: LIMIT_MS });
      expect(r.code, describeRun(script, r)).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ same: true, instance: true, code: expect.any(String) });
    }
  });
});
