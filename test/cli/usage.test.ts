/** The CLI as a program: version, help, usage errors, connection failures, credentials in --debug. */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAedes, type AedesHandle } from '../helpers/aedes.js';
import { getFreePort } from '../helpers/mosquitto.js';
import { diagnostics, killAllCli, ROOT, runCli, TEST_TIMEOUT_MS } from './cli.js';

let broker: AedesHandle;
const seen: { user: string | undefined; password: string | undefined }[] = [];
beforeAll(async () => {
  broker = await startAedes({
    authenticate: (_id, user, password) => {
      seen.push({ user, password: password?.toString() });
      return user === 'alice' && (password?.toString() === 'pw-Secret-42' || password?.toString() === 'env-Secret-7') ? true : 4;
    },
  });
});
afterAll(async () => {
  killAllCli();
  await broker?.close();
});

describe('mqttwire as a program', () => {
  it('--version prints the package version; --help prints usage with examples', async () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
    const [version, mainHelp] = await Promise.all([runCli(['--version']), runCli(['--help'])]);
    expect(version).toMatchObject({ code: 0, stdout: `mqttwire ${pkg.version}\n`, stderr: '' });
    expect(mainHelp.code).toBe(0);
    for (const c of ['pub', 'sub', 'test', 'bench']) expect(mainHelp.stdout).toMatch(new RegExp(`^ {2}${c} `, 'm'));
    expect(mainHelp.stdout).toMatch(/Examples:\n {2}mqttwire /);
    expect(mainHelp.stderr).toBe('');
    // Each command's own --help is checked in process (args.test.ts): same code, no process start.
  }, TEST_TIMEOUT_MS);

  it('usage errors (unknown flag, missing topic, QoS 3, bad URL) exit 2 with the message and a hint', async () => {
    const cases: [string[], RegExp][] = [
      [['pub', '-t', 'a', '-m', 'x', '--bogus'], /^mqttwire pub: unknown option --bogus\n/],
      [['sub', '-v'], /^mqttwire sub: missing topic: give at least one -t\/--topic FILTER\n/],
      [['pub', '-t', 'a', '-m', 'x', '-q', '3'], /^mqttwire pub: QoS must be 0, 1 or 2, got "3" \(-q\/--qos\)\n/],
      [['sub', '-t', 'a', '-L', 'http://example.com'], /^mqttwire sub: bad URL "http:\/\/example.com": unsupported URL scheme "http:"/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i] as [string[], RegExp];
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(new RegExp(`\\ntry 'mqttwire ${args[0]} --help'\\n$`));
      expect(r.stderr.trim().split('\n')).toHaveLength(2); // the message and the hint: no stack trace
    });
  }, TEST_TIMEOUT_MS);

  it('an unreachable port exits 1 within the connect timeout, with one clear line', async () => {
    const port = await getFreePort(); // bound, then closed: nothing listens there now
    const r = await runCli(['pub', '-p', String(port), '-t', 'a', '-m', 'x', '--connect-timeout', '10']);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(10_000); // process start included
    expect(r.stderr).toBe(`mqttwire pub: cannot connect to mqtt://localhost:${port}: connection refused (is a broker listening there?)\n`);
  }, TEST_TIMEOUT_MS);

  it('a server that is not MQTT (an HTTP server): exit 1 saying it did not answer with a CONNACK and what it sent (issue 11, item 6)', async () => {
    const web = http.createServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    const { port } = web.address() as net.AddressInfo;
    try {
      const r = await runCli(['pub', '-L', `mqtt://127.0.0.1:${port}`, '-t', 'a', '-m', 'x']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `mqttwire pub: the server at mqtt://127.0.0.1:${port} did not answer with an MQTT CONNACK; it sent "HTTP/1.1 400 Bad Request" (is that the broker's MQTT port?)\n`,
      );
    } finally {
      web.close();
    }
  }, TEST_TIMEOUT_MS);

  it('a server that never answers CONNECT: exit 1 after --connect-timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const r = await runCli(['sub', '-L', `mqtt://127.0.0.1:${port}`, '-t', 'a', '--connect-timeout', '0.5']);
      expect(r.code).toBe(1);
      expect(r.ms).toBeGreaterThanOrEqual(500);
      expect(r.stderr).toMatch(/^mqttwire sub: cannot connect to mqtt:\/\/127\.0\.0\.1:\d+: no answer within 0\.5 s \(no CONNACK .*\)\n$/);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  }, TEST_TIMEOUT_MS);

  it('--debug logs packets but never the password (-P, MQTTWIRE_PASSWORD, URL); a refusal says why', async () => {
    const url = new URL(broker.url);
    const [fromFlag, fromEnv, fromUrl] = await Promise.all([
      runCli(['pub', '-L', broker.url, '-u', 'alice', '-P', 'pw-Secret-42', '-t', 'a', '-m', 'x', '-d']),
      runCli(['pub', '-L', broker.url, '-u', 'alice', '-t', 'a', '-m', 'x', '--debug'], { env: { MQTTWIRE_PASSWORD: 'env-Secret-7' } }),
      runCli(['pub', '-L', `mqtt://alice:url-Wrong-9@${url.host}`, '-t', 'a', '-m', 'x', '-d']),
    ]);
    expect(fromFlag.code, fromFlag.stderr).toBe(0);
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    for (const r of [fromFlag, fromEnv, fromUrl]) {
      expect(r.stderr).toMatch(/> CONNECT .*username="alice" password=\*\*\*/);
      expect(r.stderr + r.stdout).not.toMatch(/pw-Secret-42|env-Secret-7|url-Wrong-9/);
    }
    expect(seen).toEqual(
      expect.arrayContaining([
        { user: 'alice', password: 'pw-Secret-42' },
        { user: 'alice', password: 'env-Secret-7' },
        { user: 'alice', password: 'url-Wrong-9' },
      ]),
    );
    // Refused: exit 1 and why, with the URL shown without its credentials (the stack trace follows, as asked by -d).
    expect(fromUrl.code).toBe(1);
    expect(diagnostics(fromUrl.stderr)[0]).toBe(
      `mqttwire pub: the broker at mqtt://${url.host} refused the connection: bad user name or password (CONNACK return code 4)`,
    );
  }, TEST_TIMEOUT_MS);
});
