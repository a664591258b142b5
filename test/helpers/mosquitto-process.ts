/**
 * Process management for the real Mosquitto broker; see mosquitto.ts (the entry point tests import),
 * which adds the vitest skip logic. Kept free of vitest so plain child processes can load it fast.
 *
 * Facts about mosquitto 2.0.11 this helper relies on (verified in test/harness/brokers.test.ts):
 *  - Bad password, unknown user, or no user when anonymous is off: CONNACK return code 5 (not 4) for
 *    MQTT 3.1.1 clients, then the broker closes the socket.
 *  - An `acl_file` `topic deny` does NOT refuse a SUBSCRIBE (SUBACK grants it; delivery is filtered).
 *    The dynamic-security plugin's `subscribePattern` deny ACL does: SUBACK 0x80 for that filter.
 *  - A `protocol websockets` listener (libwebsockets inside) starts only beside a plain MQTT listener:
 *    alone it exits with "Unable to start any listening sockets", because 2.0.11 counts only the
 *    sockets it opens itself. Every config here has the plain listener first, so it works.
 *  - Run as root it drops to user `mosquitto` unless told `user root`, and could not read the 0700 temp
 *    dir; so as root the config says `user root` (the broker then logs a harmless warning).
 *  - Passwords (password_file `$7$` lines and dynsec clients) are PBKDF2-HMAC-SHA512, 101 iterations,
 *    12-byte salt, 64-byte hash, base64: generated here without `mosquitto_passwd`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitForMatch } from './wait-for.js';

// ---------------------------------------------------------------------------------------------
// Finding the binary and the plugin

const BIN_DIRS_EXTRA = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/opt/homebrew/sbin', '/usr/local/opt/mosquitto/sbin'];

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function findMosquitto(): string | undefined {
  const override = process.env.MQTTWIRE_MOSQUITTO_BIN;
  if (override) return isExecutable(override) ? override : undefined;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...BIN_DIRS_EXTRA];
  for (const d of dirs) {
    const p = path.join(d, 'mosquitto');
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function findDynsecPlugin(bin: string | undefined): string | undefined {
  const name = 'mosquitto_dynamic_security.so';
  const override = process.env.MQTTWIRE_MOSQUITTO_DYNSEC;
  if (override) return fs.existsSync(override) ? override : undefined;
  const candidates: string[] = [];
  try {
    for (const d of fs.readdirSync('/usr/lib')) if (d.endsWith('-linux-gnu') || d.endsWith('-linux-musl')) candidates.push(path.join('/usr/lib', d, name));
  } catch {
    // no /usr/lib: not Linux
  }
  candidates.push(path.join('/usr/lib', name), path.join('/usr/lib/mosquitto', name), path.join('/usr/local/lib', name), path.join('/opt/homebrew/lib', name));
  if (bin) candidates.push(path.join(path.dirname(bin), '..', 'lib', name));
  return candidates.find((c) => fs.existsSync(c));
}

/** Absolute path of the mosquitto binary (PATH, then /usr/sbin etc.; env MQTTWIRE_MOSQUITTO_BIN overrides). */
export const mosquittoPath: string | undefined = findMosquitto();
/** The binary was found. */
export const mosquittoAvailable: boolean = mosquittoPath !== undefined;
export const MISSING_MESSAGE =
  'No mosquitto binary was found on PATH or in /usr/sbin (install it: bash .ci/install-mosquitto.sh, or apt-get install mosquitto)';

/** The dynamic-security plugin (needed for `denyTopics`); env MQTTWIRE_MOSQUITTO_DYNSEC overrides. */
export const mosquittoDynsecPlugin: string | undefined = findDynsecPlugin(mosquittoPath);

let cachedVersion: string | undefined;
/** e.g. '2.0.11' (from `mosquitto -h`), or undefined if the binary is missing. */
export function mosquittoVersion(): string | undefined {
  if (!mosquittoPath) return undefined;
  if (cachedVersion === undefined) {
    const r = spawnSync(mosquittoPath, ['-h'], { encoding: 'utf8', timeout: 5000 });
    cachedVersion = /mosquitto version (\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
  }
  return cachedVersion;
}

// ---------------------------------------------------------------------------------------------
// Never leave a broker behind: SIGKILL on process 'exit', plus a watchdog shell per broker that
// SIGTERMs it when our end of its stdin pipe closes, i.e. when this process dies, even by SIGKILL.

const live = new Map<ChildProcess, { watchdog: ChildProcess | undefined; dir: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [child, { watchdog, dir }] of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
      watchdog?.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

// Blocks in `read` (a shell builtin: no child process) until stdin hits EOF, then stops the broker and,
// once it had a moment to exit, removes its temp dir.
const WATCHDOG_SCRIPT = 'while read -r _; do :; done; kill -TERM "$1" 2>/dev/null; sleep 1; rm -rf -- "$2"';

function startWatchdog(pid: number, dir: string): ChildProcess | undefined {
  try {
    const w = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'mqttwire-mosquitto-watchdog', String(pid), dir], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    w.on('error', () => undefined);
    w.stdin?.on('error', () => undefined);
    w.unref();
    (w.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return w;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Ports

/** A port that was free on 127.0.0.1 a moment ago (bind :0, read it, close). */
export async function getFreePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(200, () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------
// Config

/** mosquitto's PBKDF2-SHA512 password hash: [hashBase64, saltBase64, iterations]. */
function hashPassword(password: string): [string, string, number] {
  const iterations = 101;
  const salt = randomBytes(12);
  return [pbkdf2Sync(password, salt, iterations, 64, 'sha512').toString('base64'), salt.toString('base64'), iterations];
}

function passwordFileText(users: Record<string, string>): string {
  return Object.entries(users)
    .map(([user, pass]) => {
      if (user.includes(':')) throw new Error(`mosquitto password file: user name may not contain ':' (${user})`);
      const [hash, salt, iterations] = hashPassword(pass);
      return `${user}:$7$${iterations}$${salt}$${hash}\n`;
    })
    .join('');
}

function dynsecJson(denyTopics: string[], users: Record<string, string>): string {
  const role = 'mqttwire-deny';
  return JSON.stringify(
    {
      clients: Object.entries(users).map(([username, pass]) => {
        const [password, salt, iterations] = hashPassword(pass);
        return { username, password, salt, iterations, roles: [{ rolename: role }] };
      }),
      groups: [{ groupname: 'mqttwire-anonymous', roles: [{ rolename: role }] }],
      roles: [
        {
          rolename: role,
          acls: denyTopics.map((topic) => ({ acltype: 'subscribePattern', topic, priority: 0, allow: false })),
        },
      ],
      anonymousGroup: 'mqttwire-anonymous',
      // Everything not denied above is allowed, for anonymous clients and for users alike.
      defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: true, unsubscribe: true },
    },
    null,
    2,
  );
}

export interface MosquittoConfigContext {
  dir: string; // the broker's temp dir (files from `files` are here)
  port: number; // the main MQTT listener
  extraPorts: number[]; // `extraPorts` free ports, for your own listeners (TLS ...)
}

export interface StartMosquittoOptions {
  /** Default: true, unless `passwordFile` is given. */
  allowAnonymous?: boolean;
  /** `persistence true` with a temp `persistence_location` (kept across restart()). Default false. */
  persistence?: boolean;
  /**
   * Users and passwords. Without `denyTopics` they go to a `password_file`; with it, to the dynamic
   * security plugin (which then handles authentication too). Either way `allow_anonymous false` by default.
   */
  passwordFile?: Record<string, string>;
  /**
   * Subscription filters (patterns) the broker refuses with SUBACK 0x80, for anonymous clients and users.
   * Uses the dynamic-security plugin; everything else stays allowed.
   */
  denyTopics?: string[];
  /** Adds a `protocol websockets` listener on 127.0.0.1, IPv4 only (wsUrl/wsPort). */
  websockets?: boolean;
  /** How many more free ports to reserve for `extraConfig` listeners. */
  extraPorts?: number;
  /** Files written into the temp dir before start (certificates ...); names relative to the dir. */
  files?: Record<string, string | Uint8Array>;
  /** Config lines appended at the end; a function gets the dir and the ports. */
  extraConfig?: string | ((ctx: MosquittoConfigContext) => string);
  /** `log_type` values. Default ['all'] (includes per-packet debug lines). */
  logTypes?: string[];
  /** Startup bound. Default 5000 ms. */
  startTimeoutMs?: number;
}

export interface MosquittoHandle {
  url: string; // mqtt://127.0.0.1:<port>
  port: number;
  wsUrl?: string; // ws://127.0.0.1:<wsPort> (websockets: true)
  wsPort?: number;
  extraPorts: number[];
  dir: string;
  /** pid of the running broker (changes on restart). */
  readonly pid: number;
  /** Everything the broker logged (stderr/stdout) since the first start, across restarts. */
  log(): string;
  /** The first log line (past or future) matching; rejects after timeoutMs (default 2000) with the log tail. */
  waitForLog(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Stops and starts again on the same port with the same config (and persistence dir). */
  restart(): Promise<void>;
  /** SIGTERM, wait for exit (SIGKILL after 2 s), remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 5000;
const STOP_GRACE_MS = 2000;
const POLL_MS = 20;

export async function startMosquitto(opts: StartMosquittoOptions = {}): Promise<MosquittoHandle> {
  if (!mosquittoPath) throw new Error(MISSING_MESSAGE);
  const bin = mosquittoPath;
  const users = opts.passwordFile;
  const denyTopics = opts.denyTopics ?? [];
  if (denyTopics.length > 0 && !mosquittoDynsecPlugin) {
    throw new Error('denyTopics needs mosquitto_dynamic_security.so (shipped in the Debian mosquitto package); not found');
  }
  installExitHook();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttwire-mosquitto-'));
  for (const [name, content] of Object.entries(opts.files ?? {})) {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }

  let logText = '';
  const logListeners = new Set<() => void>();
  const appendLog = (chunk: Buffer | string): void => {
    logText += chunk.toString();
    for (const l of [...logListeners]) l();
  };

  const writeConfig = (port: number, wsPort: number | undefined, extraPorts: number[]): string => {
    const lines: string[] = [];
    if (process.getuid?.() === 0) lines.push('user root');
    lines.push('per_listener_settings false');
    lines.push(`listener ${port} 127.0.0.1`);
    if (wsPort !== undefined) lines.push(`listener ${wsPort} 127.0.0.1`, 'protocol websockets', 'socket_domain ipv4');
    const anonymous = opts.allowAnonymous ?? users === undefined;
    lines.push(`allow_anonymous ${anonymous}`);
    if (denyTopics.length > 0) {
      const dynsecPath = path.join(dir, 'dynamic-security.json');
      fs.writeFileSync(dynsecPath, dynsecJson(denyTopics, users ?? {}));
      lines.push(`plugin ${mosquittoDynsecPlugin}`, `plugin_opt_config_file ${dynsecPath}`);
    } else if (users) {
      const pwPath = path.join(dir, 'passwd');
      fs.writeFileSync(pwPath, passwordFileText(users), { mode: 0o600 });
      lines.push(`password_file ${pwPath}`);
    }
    if (opts.persistence) {
      const pdir = path.join(dir, 'persistence');
      fs.mkdirSync(pdir, { recursive: true });
      lines.push('persistence true', `persistence_location ${pdir}/`, 'autosave_interval 0');
    } else {
      lines.push('persistence false');
    }
    lines.push('log_dest stderr', 'log_timestamp_format %H:%M:%S');
    for (const t of opts.logTypes ?? ['all']) lines.push(`log_type ${t}`);
    lines.push('connection_messages true');
    const extra = typeof opts.extraConfig === 'function' ? opts.extraConfig({ dir, port, extraPorts }) : opts.extraConfig;
    if (extra) lines.push(extra);
    const confPath = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(confPath, lines.join('\n') + '\n');
    return confPath;
  };

  const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;

  /**
   * Spawns on the given ports; resolves when every listener in the config accepts connections.
   * The main port alone is not enough: mosquitto opens its listeners one by one, and a websockets or
   * TLS listener after it can still be starting when the main one answers.
   */
  const launch = async (port: number, wsPort: number | undefined, extraPorts: number[]): Promise<ChildProcess> => {
    const confPath = writeConfig(port, wsPort, extraPorts);
    const listenerPorts = [...fs.readFileSync(confPath, 'utf8').matchAll(/^listener (\d+)/gm)].map((m) => Number(m[1]));
    const logStart = logText.length;
    const child = spawn(bin, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let exited = false;
    let spawnError: Error | undefined;
    child.on('error', (e) => {
      spawnError = e;
      exited = true;
    });
    child.once('exit', () => {
      exited = true;
    });
    child.stdout?.on('data', appendLog);
    child.stderr?.on('data', appendLog);
    if (child.pid !== undefined) live.set(child, { watchdog: startWatchdog(child.pid, dir), dir });

    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (exited) {
        await new Promise((r) => setImmediate(r)); // let the last stderr chunk in
        forget(child);
        throw new MosquittoStartError(
          `mosquitto exited during startup${spawnError ? ` (${spawnError.message})` : ` (code ${child.exitCode}, signal ${child.signalCode})`}`,
          logText.slice(logStart),
        );
      }
      if (/mosquitto version \S+ running/.test(logText.slice(logStart)) || (await allAccept(listenerPorts))) return child;
      if (Date.now() > deadline) {
        await killAndWait(child);
        throw new MosquittoStartError(`mosquitto did not accept connections on 127.0.0.1:${port} within ${startTimeoutMs} ms`, logText.slice(logStart));
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  };

  // The ports are free when picked but could be taken before mosquitto binds them: retry a few times.
  let port = 0;
  let wsPort: number | undefined;
  let extraPorts: number[] = [];
  let child: ChildProcess | undefined;
  for (let attempt = 1; !child; attempt++) {
    port = await getFreePort();
    wsPort = opts.websockets ? await getFreePort() : undefined;
    extraPorts = [];
    for (let i = 0; i < (opts.extraPorts ?? 0); i++) extraPorts.push(await getFreePort());
    try {
      child = await launch(port, wsPort, extraPorts);
    } catch (e) {
      const portClash = e instanceof MosquittoStartError && /Address already in use/i.test(e.log);
      if (!portClash || attempt >= 3) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }

  let current: ChildProcess = child;
  let stopped: Promise<void> | undefined;

  const handle: MosquittoHandle = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    extraPorts,
    dir,
    get pid() {
      return current.pid ?? -1;
    },
    log: () => logText,
    waitForLog(pattern, timeoutMs = 2000) {
      const find = (): string | undefined =>
        logText.split('\n').find((line) => (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line)));
      return waitForMatch(find, logListeners, timeoutMs, () => `mosquitto: no log line matching ${String(pattern)} within ${timeoutMs} ms; log tail:\n${tail(logText)}`);
    },
    async restart() {
      if (stopped) throw new Error('mosquitto: restart() after stop()');
      await killAndWait(current);
      current = await launch(port, wsPort, extraPorts);
    },
    stop() {
      stopped ??= (async () => {
        await killAndWait(current);
        fs.rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
  if (wsPort !== undefined) {
    handle.wsPort = wsPort;
    handle.wsUrl = `ws://127.0.0.1:${wsPort}`;
  }
  return handle;
}

async function allAccept(ports: number[]): Promise<boolean> {
  for (const p of ports) if (!(await tryConnect(p))) return false;
  return true;
}

export class MosquittoStartError extends Error {
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(`${message}\n--- mosquitto log ---\n${tail(log)}`);
    this.name = 'MosquittoStartError';
  }
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

function forget(child: ChildProcess): void {
  const entry = live.get(child);
  live.delete(child);
  entry?.watchdog?.kill('SIGKILL');
  entry?.watchdog?.stdin?.destroy();
}

/** SIGTERM, then SIGKILL after STOP_GRACE_MS; resolves once the process has exited. */
async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  forget(child);
}
