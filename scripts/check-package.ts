/**
 * The package as npm users get it (`npm run check:package`, run by .ci/run). Packs the tarball
 * with `npm pack`, then:
 *  - its file list: dist/ plus package.json, README.md and LICENSE; no tests, benches, fixtures,
 *    examples or sources, and every entry point the exports map names is there;
 *  - publint and @arethetypeswrong/cli on the tarball: nothing reported, at any level;
 *  - installs it (`npm install <tarball>`, offline: it has no dependencies) into an empty temp app,
 *    and imports it there from ESM and from CommonJS, compiles TypeScript against it with
 *    `moduleResolution` node16 (ESM and CJS files, with @types/node) and bundler (a browser app, no
 *    Node types), where a misuse marked `@ts-expect-error` must be an error and a file with a type
 *    error must fail to compile, naming the line;
 *  - runs `npx mqttwire --help` from that app.
 * Builds dist first when it is stale. Exits 1 on the first failure, saying what and why.
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { ensureDist } from './ensure-dist.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STEP_LIMIT_MS = 120_000;
const pkgJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; exports: unknown; bin: Record<string, string> };

let passed = 0;
function ok(what: string): void {
  passed++;
  console.log(`check-package: ok: ${what}`);
}
class CheckFailed extends Error {}
function fail(what: string, detail = ''): never {
  throw new CheckFailed(`${what}${detail ? `\n${detail.trimEnd()}` : ''}`);
}

interface Run {
  status: number;
  output: string;
}
/** Runs a command to completion (bounded); never throws for a non-zero exit. */
function run(cmd: string, args: string[], opts: ExecFileSyncOptions = {}): Run {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: STEP_LIMIT_MS, ...opts });
    return { status: 0, output: String(out) };
  } catch (e) {
    const err = e as { status?: number | null; stdout?: string; stderr?: string; message: string };
    return { status: err.status ?? -1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message };
  }
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** Every file path the exports map (and bin, main, types) points at. */
function targetsOf(value: unknown, into: Set<string>): Set<string> {
  if (typeof value === 'string') into.add(value.replace(/^\.\//, ''));
  else if (value && typeof value === 'object') for (const v of Object.values(value)) targetsOf(v, into);
  return into;
}

// ---------------------------------------------------------------------------------------------

function checkFileList(files: string[]): void {
  const allowedTop = new Set(['package.json', 'README.md', 'LICENSE']);
  const stray = files.filter((f) => !f.startsWith('dist/') && !allowedTop.has(f));
  if (stray.length > 0) fail('the tarball holds files outside dist/ besides package.json, README.md and LICENSE', stray.join('\n'));
  const forbidden = files.filter((f) => /(^|\/)(test|tests|__tests__|bench|benches|fixtures|examples|src)\//.test(f) || /\.(test|spec|bench)\.[cm]?[jt]s$/.test(f));
  if (forbidden.length > 0) fail('the tarball holds tests, benches, fixtures, examples or sources', forbidden.join('\n'));
  const wanted = targetsOf([pkgJson.exports, pkgJson.bin], new Set<string>());
  const missing = [...wanted].filter((f) => f !== 'package.json' && !files.includes(f));
  if (missing.length > 0) fail('files named by exports/bin are missing from the tarball', missing.join('\n'));
  ok(`tarball file list: ${files.length} files, all under dist/ but package.json, README.md, LICENSE; the ${wanted.size} export and bin targets are present`);
}

async function checkPublint(tarball: string): Promise<void> {
  const buf = fs.readFileSync(tarball);
  const { messages, pkg } = await publint({ pack: { tarball: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) }, level: 'suggestion', strict: true });
  if (messages.length > 0) fail(`publint reported ${messages.length} message(s)`, messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`).join('\n'));
  ok('publint: nothing reported (suggestions included, warnings as errors)');
}

function checkAttw(tarball: string): void {
  const bin = path.join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js');
  const r = run(process.execPath, [bin, tarball, '--format', 'table', '--no-color', '--no-emoji'], { env: { ...process.env, FORCE_COLOR: '0' } });
  if (r.status !== 0 || !/No problems found/.test(r.output)) fail(`@arethetypeswrong/cli reported problems (exit ${r.status})`, r.output);
  ok('@arethetypeswrong/cli: no problems for node10, node16 (from CJS and ESM) and bundler');
}

// ---------------------------------------------------------------------------------------------
// The temp app

const ESM_APP = `import { connect, MqttClient, MqttError, TransportError } from 'mqttwire';
import { encode, PacketDecoder } from 'mqttwire/codec';
import { FileStore } from 'mqttwire/file-store';
import { scramSha256 } from 'mqttwire/scram';
const decoded = new PacketDecoder().push(encode({ type: 'pingreq' }));
console.log(JSON.stringify({
  resolved: import.meta.resolve('mqttwire'),
  connect: typeof connect, MqttClient: typeof MqttClient, FileStore: typeof FileStore,
  scram: scramSha256({ username: 'u', password: 'p' }).method,
  errorsShared: new TransportError('x') instanceof MqttError,
  decoded: decoded.map((p) => p.type),
}));
`;

const CJS_APP = `const { connect, MqttClient, MqttError, TransportError } = require('mqttwire');
const { encode, PacketDecoder } = require('mqttwire/codec');
const { FileStore } = require('mqttwire/file-store');
const { scramSha256 } = require('mqttwire/scram');
const decoded = new PacketDecoder().push(encode({ type: 'pingreq' }));
console.log(JSON.stringify({
  resolved: require.resolve('mqttwire'),
  connect: typeof connect, MqttClient: typeof MqttClient, FileStore: typeof FileStore,
  scram: scramSha256({ username: 'u', password: 'p' }).method,
  errorsShared: new TransportError('x') instanceof MqttError,
  decoded: decoded.map((p) => p.type),
}));
`;

/** Uses the API with its real types; the @ts-expect-error lines fail to compile if the types were `any` or missing. */
const TS_USE = (importLines: string): string => `${importLines}

export async function main(): Promise<void> {
  const client: MqttClient = await connect('mqtt://127.0.0.1:1883', { clientId: 'typed', keepalive: 30 });
  const sub: Subscription = await client.subscribe('a/+', { qos: 1 });
  for await (const msg of sub) {
    const text: string = msg.text();
    const qos: 0 | 1 | 2 = msg.qos;
    console.log(text, qos);
    break;
  }
  await client.publish('a/b', 'hello', { qos: 1 });
  // @ts-expect-error publish() takes a topic string, not a number
  await client.publish(42, 'hello');
  // @ts-expect-error QoS 3 does not exist
  await client.publish('a/b', 'x', { qos: 3 });
  const bytes: Uint8Array = encode({ type: 'pingreq' });
  const err: unknown = new TransportError('no', { code: 'TLS_ERROR' });
  if (err instanceof MqttError) console.log(err.code, bytes.length);
  await client.end();
}
`;

const TS_IMPORTS_ESM = `import { connect, MqttError, TransportError, type MqttClient, type Subscription } from 'mqttwire';
import { encode } from 'mqttwire/codec';`;
const TS_IMPORTS_FILE_STORE = `import { FileStore } from 'mqttwire/file-store';
export const store: FileStore = new FileStore('/tmp/mqttwire-store');`;

/** A misuse in plain sight: compiling it must fail, at this line. */
const TS_BAD = `import { connect } from 'mqttwire';
const client = await connect('mqtt://127.0.0.1:1883');
await client.publish('a/b', 'x', { qos: 'high' });
`;

function tsconfig(dir: string, name: string, options: Record<string, unknown>, files: string[]): string {
  const file = path.join(dir, name);
  const base = { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', esModuleInterop: true };
  fs.writeFileSync(file, JSON.stringify({ compilerOptions: { ...base, ...options }, files }, null, 2));
  return file;
}

function tsc(app: string, project: string): Run {
  return run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: app });
}

function checkImports(app: string): void {
  const installed = path.join(fs.realpathSync(app), 'node_modules/mqttwire');
  for (const [file, text, entry] of [
    ['esm.mjs', ESM_APP, 'dist/esm/index.js'],
    ['cjs.cjs', CJS_APP, 'dist/cjs/index.js'],
  ] as const) {
    fs.writeFileSync(path.join(app, file), text);
    const r = run(process.execPath, [file], { cwd: app });
    if (r.status !== 0) fail(`node ${file} failed (exit ${r.status})`, r.output);
    const got = JSON.parse(r.output.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    const resolved = String(got.resolved ?? '').replace(/^file:\/\//, '');
    const want = { connect: 'function', MqttClient: 'function', FileStore: 'function', scram: 'SCRAM-SHA-256', errorsShared: true, decoded: ['pingreq'] };
    const wrong = Object.entries(want).filter(([k, v]) => JSON.stringify(got[k]) !== JSON.stringify(v));
    if (wrong.length > 0 || resolved !== path.join(installed, entry)) fail(`node ${file}: unexpected result`, `${r.output}\nwanted ${JSON.stringify(want)} from ${path.join(installed, entry)}`);
    ok(`${file === 'esm.mjs' ? 'import' : 'require'}() of mqttwire, mqttwire/codec, mqttwire/file-store and mqttwire/scram from the installed tarball (${entry})`);
  }
}

function checkTypes(app: string): void {
  // node16: an ESM file and a CommonJS file of a Node app, with Node's types.
  fs.writeFileSync(path.join(app, 'use.mts'), `${TS_USE(TS_IMPORTS_ESM)}\n${TS_IMPORTS_FILE_STORE}\n`);
  fs.writeFileSync(path.join(app, 'use.cts'), `${TS_USE(TS_IMPORTS_ESM)}\n${TS_IMPORTS_FILE_STORE}\n`);
  const node16 = { module: 'node16', moduleResolution: 'node16', lib: ['ES2022'], types: ['node'] };
  const r16 = tsc(app, tsconfig(app, 'tsconfig.node16.json', node16, ['use.mts', 'use.cts']));
  if (r16.status !== 0) fail('TypeScript (moduleResolution node16) does not accept correct use of the package', r16.output);
  ok('TypeScript, moduleResolution node16, from ESM (.mts) and CommonJS (.cts): types resolve, and misuse is an error');

  // bundler: a browser app, no Node types.
  fs.writeFileSync(path.join(app, 'use.ts'), TS_USE(TS_IMPORTS_ESM));
  const bundler = { module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'ESNext.Disposable', 'DOM'], types: [] };
  const rb = tsc(app, tsconfig(app, 'tsconfig.bundler.json', bundler, ['use.ts']));
  if (rb.status !== 0) fail('TypeScript (moduleResolution bundler) does not accept correct use of the package', rb.output);
  ok('TypeScript, moduleResolution bundler, without Node types: types resolve, and misuse is an error');

  // The positive control for both: a plain type error is reported, at its line.
  fs.writeFileSync(path.join(app, 'bad.mts'), TS_BAD);
  fs.writeFileSync(path.join(app, 'bad.ts'), TS_BAD);
  for (const [config, options, file] of [
    ['tsconfig.bad-node16.json', node16, 'bad.mts'],
    ['tsconfig.bad-bundler.json', bundler, 'bad.ts'],
  ] as const) {
    const r = tsc(app, tsconfig(app, config, options, [file]));
    if (r.status === 0 || !new RegExp(`${file.replace('.', '\\.')}\\(3,\\d+\\): error TS2322`).test(r.output)) {
      fail(`TypeScript (${options.moduleResolution}) did not report the type error in ${file} line 3`, r.output);
    }
  }
  ok("a type error in use (qos: 'high') fails compilation under node16 and bundler, at its line");
}

function checkCli(app: string): void {
  const r = run(npx, ['--no-install', 'mqttwire', '--help'], { cwd: app });
  if (r.status !== 0 || !/^Usage: mqttwire <command>/m.test(r.output)) fail(`npx mqttwire --help failed (exit ${r.status})`, r.output);
  ok('npx mqttwire --help from the installed tarball');
}

async function main(): Promise<void> {
  ensureDist(ROOT, ['dist/esm/index.js', 'dist/cjs/index.js', 'dist/esm/index.web.js', 'dist/esm/index.workerd.js', 'dist/esm/cli/main.js']);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttwire-check-package-'));
  try {
    const packed = run(npm, ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT });
    if (packed.status !== 0) fail('npm pack failed', packed.output);
    const info = (JSON.parse(packed.output.slice(packed.output.indexOf('['))) as { filename: string; files: { path: string }[] }[])[0];
    if (!info) fail('npm pack printed no JSON', packed.output);
    const tarball = path.join(tmp, info.filename);
    console.log(`check-package: packed ${info.filename} (${fs.statSync(tarball).size} bytes, ${info.files.length} files), Node ${process.version}`);

    checkFileList(info.files.map((f) => f.path).sort());
    await checkPublint(tarball);
    checkAttw(tarball);

    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'mqttwire-check-app', private: true, type: 'module' }, null, 2));
    const installed = run(npm, ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], { cwd: app });
    if (installed.status !== 0) fail('npm install <tarball> into an empty app failed', installed.output);
    // The one thing the app takes from this repository: Node's types, for the node16 check.
    fs.mkdirSync(path.join(app, 'node_modules/@types'), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules/@types/node'), path.join(app, 'node_modules/@types/node'), 'dir');

    checkImports(app);
    checkTypes(app);
    checkCli(app);
    console.log(`check-package: all ${passed} checks passed`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (e) {
  console.error(`check-package: FAILED: ${e instanceof CheckFailed ? e.message : (e as Error).stack}`);
  process.exitCode = 1;
}
