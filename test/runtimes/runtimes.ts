/**
 * Shared parts of the runtime tests (Deno, Bun, workerd): finding each runtime's binary in
 * node_modules, a throwaway "consumer" directory that depends on mqttwire the way an application
 * would (node_modules/mqttwire -> this repository, so each runtime resolves the package's `exports`
 * with its own conditions), the script that does the QoS 1 round trip, a real broker, and running
 * a child process with a hard time limit.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import tls from 'node:tls';
import net from 'node:net';
import { startAedes } from '../helpers/aedes.js';
import { mosquittoAvailable, startMosquitto } from '../helpers/mosquitto-process.js';
import { mosquittoTlsListener, testPki, type TestPki } from '../helpers/tls-pki.js';
import { startWsBridge } from '../helpers/ws-bridge.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const nodeModules = path.join(repoRoot, 'node_modules');

/** The last line a round-trip script prints; the test parses the JSON after the prefix. */
export const RESULT_PREFIX = 'RESULT ';

export interface RoundTripResult {
  ok: boolean;
  runtime?: string;
  /** What the runtime resolved `mqttwire` to (import.meta.resolve), where it can say. */
  resolved?: string;
  clientId?: string;
  topic?: string;
  payload?: string;
  /** The error's `code` when the round trip failed (an MqttError's). */
  code?: string;
  qos?: number;
  ms?: number;
  error?: string;
}

// ---------------------------------------------------------------------------------------------
// Binaries

export interface Binary {
  path: string;
  version: string;
}

/** The first candidate that exists and answers `--version`; otherwise an Error saying what was tried. */
function firstWorking(name: string, candidates: string[], hint: string): Binary | Error {
  const tried: string[] = [];
  for (const c of candidates) {
    if (!fs.existsSync(c)) {
      tried.push(`${path.relative(repoRoot, c)} (missing)`);
      continue;
    }
    const r = spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 15_000 });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    if (r.status === 0 && out) return { path: c, version: out.split('\n')[0] ?? out };
    const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}: ${out.slice(0, 200)}`;
    tried.push(`${path.relative(repoRoot, c)} (${why})`);
  }
  return new Error(`no working ${name} binary: tried ${tried.join('; ')}. ${hint}`);
}

function platformTriples(): { deno: string[]; bun: string[] } {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  if (process.platform === 'darwin') return { deno: [`darwin-${arch}`], bun: [`darwin-${arch === 'arm64' ? 'aarch64' : 'x64'}`] };
  if (process.platform === 'win32') return { deno: [`win32-${arch}`], bun: [`windows-${arch === 'arm64' ? 'aarch64' : 'x64'}`] };
  const bunArch = arch === 'arm64' ? 'aarch64' : 'x64';
  // Bun's default x64 build needs AVX2; without it only a -baseline build runs.
  const avx2 = arch !== 'x64' || /\bavx2\b/.test(readOr('/proc/cpuinfo', ''));
  const bun = avx2 ? [`linux-${bunArch}`, `linux-${bunArch}-baseline`, `linux-${bunArch}-musl`] : [`linux-${bunArch}-baseline`, `linux-${bunArch}-musl-baseline`];
  return { deno: [`linux-${arch}-glibc`], bun };
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

const exe = process.platform === 'win32' ? '.exe' : '';

/**
 * Deno from the `deno` devDependency: its postinstall puts the binary at node_modules/deno/deno;
 * without install scripts it stays in the platform package (@deno/linux-x64-glibc/deno ...).
 */
export function findDeno(): Binary | Error {
  const override = process.env.MQTTWIRE_DENO_BIN;
  const candidates = override
    ? [override]
    : [path.join(nodeModules, 'deno', `deno${exe}`), ...platformTriples().deno.map((t) => path.join(nodeModules, '@deno', t, `deno${exe}`))];
  return firstWorking('deno', candidates, 'Install the devDependency `deno` (npm ci), or set MQTTWIRE_DENO_BIN.');
}

/**
 * Bun from the `bun` devDependency: its postinstall moves the real binary over node_modules/bun/bin/bun.exe
 * (a placeholder until then); without install scripts it is in @oven/bun-<platform>/bin/bun.
 */
export function findBun(): Binary | Error {
  const override = process.env.MQTTWIRE_BUN_BIN;
  const candidates = override
    ? [override]
    : [path.join(nodeModules, 'bun', 'bin', 'bun.exe'), ...platformTriples().bun.map((t) => path.join(nodeModules, '@oven', `bun-${t}`, 'bin', `bun${exe}`))];
  return firstWorking('bun', candidates, 'Install the devDependency `bun` (npm ci), or set MQTTWIRE_BUN_BIN. On x64 without AVX2 Bun needs its -baseline build.');
}

// ---------------------------------------------------------------------------------------------
// A consumer directory

export interface ConsumerDir {
  dir: string;
  /** Writes a file into the directory and returns its absolute path. */
  write(name: string, text: string): string;
  remove(): void;
}

/** A temp directory with package.json depending on mqttwire and node_modules/mqttwire -> this repository. */
export function makeConsumerDir(prefix: string): ConsumerDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mqttwire-${prefix}-`));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(repoRoot, path.join(dir, 'node_modules', 'mqttwire'), 'dir');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${prefix}`, private: true, type: 'module', dependencies: { mqttwire: '*' } }));
  return {
    dir,
    write(name, text) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      return file;
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The script every runtime runs: connect, subscribe QoS 1, publish QoS 1, receive it, end, and one
 * RESULT line. Plain JavaScript that only uses what Deno, Bun, Node and workerd all have.
 * `specifier` is what it imports (a package name, or a path when bundled).
 */
export function roundTripModule(opts: { specifier: string; resolve: boolean; commonjs?: boolean }): string {
  // roundTrip(url, topic, options): options are added to connect()'s (e.g. { ca } for a test CA).
  const spec = JSON.stringify(opts.specifier);
  return `${opts.commonjs ? `const { connect } = require(${spec});` : `import { connect } from ${spec};`}

function runtimeName() {
  if (typeof Deno !== 'undefined') return 'deno ' + Deno.version.deno;
  if (typeof Bun !== 'undefined') return 'bun ' + Bun.version;
  if (typeof navigator !== 'undefined' && navigator.userAgent === 'Cloudflare-Workers') return 'workerd';
  if (typeof process !== 'undefined' && process.versions && process.versions.node) return 'node ' + process.version;
  return 'unknown';
}

/** Connects to url, subscribes to topic at QoS 1, publishes to it at QoS 1, receives it, ends. */
${opts.commonjs ? '' : 'export '}async function roundTrip(url, topic, options = {}) {
  const started = Date.now();
  const runtime = runtimeName();
  const resolved = ${!opts.resolve ? 'undefined' : opts.commonjs ? `require.resolve(${spec})` : `import.meta.resolve(${spec})`};
  const clientId = 'rt-' + Math.random().toString(16).slice(2, 10);
  try {
    const payload = 'hello from ' + runtime;
    const client = await connect(url, { clientId, reconnect: false, connectTimeout: 5000, ackTimeout: 5000, keepalive: 10, ...options });
    try {
      const sub = await client.subscribe(topic, { qos: 1 });
      await client.publish(topic, payload, { qos: 1 });
      let got;
      for await (const msg of sub) {
        got = msg;
        break;
      }
      if (!got) throw new Error('the subscription ended without a message');
      await client.end();
      return { ok: true, runtime, resolved, clientId, topic: got.topic, payload: got.text(), qos: got.qos, ms: Date.now() - started };
    } finally {
      client.destroy();
    }
  } catch (err) {
    return { ok: false, runtime, resolved, clientId, error: String((err && err.stack) || err), code: err && err.code, ms: Date.now() - started };
  }
}
`;
}

/** A runnable script around roundTripModule for Deno/Bun/Node: prints the RESULT line, exits 0 or 1. */
export function roundTripScript(opts: { specifier: string; url: string; topic: string; options?: Record<string, unknown>; commonjs?: boolean }): string {
  const main = `const result = await roundTrip(${JSON.stringify(opts.url)}, ${JSON.stringify(opts.topic)}, ${JSON.stringify(opts.options ?? {})});
console.log(${JSON.stringify(RESULT_PREFIX)} + JSON.stringify(result));
if (!result.ok) {
  if (typeof Deno !== 'undefined') Deno.exit(1);
  else process.exit(1);
}`;
  // CommonJS has no top-level await: the same steps in an async function.
  return `${roundTripModule({ specifier: opts.specifier, resolve: true, commonjs: opts.commonjs })}
${opts.commonjs ? `(async () => {\n${main}\n})();` : main}
`;
}

/** The parsed RESULT line of some output, or undefined. */
export function parseResult(stdout: string): RoundTripResult | undefined {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(RESULT_PREFIX));
  return line ? (JSON.parse(line.slice(RESULT_PREFIX.length)) as RoundTripResult) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Child processes

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** Runs a command to its end, killing it (SIGKILL) after timeoutMs. Never rejects. */
export function runChild(cmd: string, args: string[], opts: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<ChildResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (err) => {
      stderr += `\n[spawn error] ${err.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
}

/** A readable account of a child run for assertion messages. */
export function describeRun(what: string, r: ChildResult): string {
  const tail = (s: string): string => (s.length > 4000 ? `...${s.slice(-4000)}` : s);
  return `${what}: ${r.timedOut ? `killed after ${r.ms} ms (time limit)` : `exit ${r.code ?? r.signal} after ${r.ms} ms`}\n--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}`;
}

// ---------------------------------------------------------------------------------------------
// The broker

export interface Broker {
  kind: 'mosquitto' | 'aedes';
  url: string;
  port: number;
  /** mqtts://127.0.0.1:<port>: a TLS listener with a server certificate of `pki.ca` for 127.0.0.1 and localhost. */
  tlsUrl: string;
  /** ws://127.0.0.1:<port>/mqtt: Mosquitto's own WebSocket listener (a plain bridge in front of aedes). */
  wsUrl: string;
  /** wss://127.0.0.1:<port>/mqtt: the same over TLS, with the certificate of tlsUrl. */
  wssUrl: string;
  pki: TestPki;
  /**
   * Resolves once the client's connection is gone: true if it sent DISCONNECT first (a clean
   * end()), false if the socket just closed. Rejects after timeoutMs.
   */
  disconnect(clientId: string, timeoutMs?: number): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Mosquitto (the real broker) when installed, with MQTT, MQTT over TLS, WebSocket and WebSocket
 * over TLS listeners; else in-process aedes behind a node:tls front and WebSocket bridges. With
 * MQTTWIRE_REQUIRE_MOSQUITTO=1 (CI) a missing Mosquitto is an error, not a fallback. Both listen on
 * 127.0.0.1 only, on ephemeral ports.
 */
export async function startBroker(): Promise<Broker> {
  const pki = await testPki();
  if (mosquittoAvailable) {
    const m = await startMosquitto({
      logTypes: ['error', 'warning', 'notice', 'information'],
      websockets: true,
      extraPorts: 2,
      files: { 'ca.pem': pki.ca, 'server.pem': pki.server.cert, 'server.key': pki.server.key },
      extraConfig: ({ dir, extraPorts }) => mosquittoTlsListener(dir, extraPorts[0] as number) + mosquittoTlsListener(dir, extraPorts[1] as number, false, true),
    });
    return {
      kind: 'mosquitto',
      url: m.url,
      port: m.port,
      tlsUrl: `mqtts://127.0.0.1:${m.extraPorts[0]}`,
      wsUrl: `${m.wsUrl}/mqtt`,
      wssUrl: `wss://127.0.0.1:${m.extraPorts[1]}/mqtt`,
      pki,
      // Mosquitto 2.0: "Client <id> disconnected." after DISCONNECT; "closed its connection." or a socket error otherwise.
      disconnect: async (clientId, timeoutMs = 5000) => {
        const line = await m.waitForLog(new RegExp(`Client ${clientId} (disconnected\\.|closed its connection|.*disconnecting)|on client ${clientId}, disconnecting`), timeoutMs);
        return new RegExp(`Client ${clientId} disconnected\\.`).test(line);
      },
      stop: () => m.stop(),
    };
  }
  if (process.env.MQTTWIRE_REQUIRE_MOSQUITTO === '1') throw new Error('MQTTWIRE_REQUIRE_MOSQUITTO=1, but no mosquitto binary was found');
  const a = await startAedes();
  const front = tls.createServer({ cert: pki.server.cert, key: pki.server.key }, (socket) => {
    const upstream = net.connect({ host: '127.0.0.1', port: a.port });
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const wsFront = await startWsBridge({ brokerPort: a.port });
  const wssFront = await startWsBridge({ brokerPort: a.port, tls: pki.server });
  return {
    kind: 'aedes',
    url: a.url,
    port: a.port,
    tlsUrl: `mqtts://127.0.0.1:${(front.address() as net.AddressInfo).port}`,
    wsUrl: wsFront.url('/mqtt'),
    wssUrl: wssFront.url('/mqtt'),
    pki,
    disconnect: async (clientId, timeoutMs = 5000) => (await a.waitFor('clientDisconnect', (e) => e.clientId === clientId, timeoutMs)).sentDisconnect,
    stop: async () => {
      front.close();
      await Promise.all([wsFront.close(), wssFront.close()]);
      await a.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Assertions

/** Checks a child's run: the RESULT line says the message came back at QoS 1, within the time limit. */
export function expectRoundTrip(what: string, r: ChildResult, want: { topic: string; runtime: RegExp; resolved?: string }): RoundTripResult {
  const result = parseResult(r.stdout);
  const account = describeRun(what, r);
  expect(r.timedOut, account).toBe(false);
  expect(result, account).toBeDefined();
  expect(result, account).toMatchObject({ ok: true, topic: want.topic, qos: 1 });
  expect(result?.runtime, account).toMatch(want.runtime);
  expect(result?.payload, account).toBe(`hello from ${result?.runtime}`);
  if (want.resolved !== undefined) expect(result?.resolved, account).toBe(want.resolved);
  expect(r.code, account).toBe(0);
  return result as RoundTripResult;
}

/** The broker saw the round trip's client end cleanly: DISCONNECT, then the socket closed. */
export async function expectCleanDisconnect(broker: Broker, result: RoundTripResult): Promise<void> {
  expect(result.clientId).toBeTruthy();
  expect(await broker.disconnect(result.clientId as string), `${broker.kind} saw ${result.clientId} go without DISCONNECT`).toBe(true);
}
