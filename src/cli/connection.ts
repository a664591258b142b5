import { readFileSync } from 'node:fs';
import {
  ConnectionClosedError,
  ConnectionRefusedError,
  InvalidArgumentError,
  isValidTopicFilter,
  isValidTopicName,
  MqttClient,
  MqttError,
  MqttProtocolError,
  PublishError,
  ServerDisconnectError,
  SubscribeError,
  TimeoutError,
  TransportError,
  type ClientOptions,
  type EndOptions,
} from '../index.js';
import { parseUrl, redactUrl } from '../broker-url.js';
import { quote } from '../errors.js';
import { parseInteger, parseQos, parseSeconds, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import type { Context } from './io.js';
import { parseProperties, parseProtocolVersion, PROTOCOL_OPTION, type CliProperties, type PropertyCommand } from './mqtt5.js';

/** A failure with a ready-made one-line message and exit code (1: connection or protocol). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The user stopped the run (Ctrl-C) before it could finish: exit 130 without a message. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const BROKER: OptionSpec[] = [
  { long: 'url', short: 'L', value: 'URL', help: 'broker URL: mqtt://[user[:password]@]host[:port], mqtts://, ws://, wss://' },
  { long: 'host', short: 'H', value: 'HOST', help: 'broker host name or address (default localhost)' },
  { long: 'port', short: 'p', value: 'PORT', help: 'broker port (default 1883; 8883 with TLS options)' },
];
const IDENTITY: OptionSpec[] = [
  { long: 'id', short: 'i', value: 'ID', help: 'client identifier (default: random mqttwire + 12 hex digits)' },
];
const SESSION: OptionSpec[] = [
  { long: 'no-clean', short: 'c', help: 'persistent session: keep subscriptions and queued messages (needs -i)' },
];
const AUTH: OptionSpec[] = [
  { long: 'keepalive', short: 'k', value: 'SECONDS', help: 'seconds between PINGREQs when idle (default 60, 0 = off)' },
  { long: 'username', short: 'u', value: 'USER', help: 'user name' },
  { long: 'password', short: 'P', value: 'PASSWORD', help: 'password (better: the MQTTWIRE_PASSWORD environment variable)' },
];
const WILL: OptionSpec[] = [
  { long: 'will-topic', value: 'TOPIC', help: 'topic of the last will, published if the connection drops without DISCONNECT' },
  { long: 'will-message', value: 'MESSAGE', help: 'payload of the last will (default empty)' },
  { long: 'will-qos', value: '0|1|2', help: 'QoS of the last will (default 0)' },
  { long: 'will-retain', help: 'retain the last will' },
];
const PROTOCOL: OptionSpec[] = [PROTOCOL_OPTION];
const TRANSPORT: OptionSpec[] = [
  { long: 'connect-timeout', value: 'SECONDS', help: `give up connecting after this long (default ${DEFAULT_CONNECT_TIMEOUT_MS / 1000})` },
  { long: 'cafile', value: 'FILE', help: 'PEM file of the CA certificates to trust (TLS)' },
  { long: 'cert', value: 'FILE', help: 'PEM client certificate (TLS)' },
  { long: 'key', value: 'FILE', help: 'PEM private key of --cert (TLS)' },
  { long: 'insecure', help: 'do not verify the broker certificate (TLS)' },
];
export const GENERAL: OptionSpec[] = [
  { long: 'debug', short: 'd', help: 'log every packet on stderr (passwords masked); stack traces on errors' },
  { long: 'help', short: 'h', help: 'show this help' },
  { long: 'version', help: 'print the version' },
];

/** Connection options of pub, sub and test. */
export const CONNECTION_OPTIONS: OptionSpec[] = [...BROKER, ...PROTOCOL, ...IDENTITY, ...SESSION, ...AUTH, ...WILL, ...TRANSPORT];
/** bench makes its own clients: no client id of its own (a prefix instead), no session, no will, no -D. */
export const BENCH_CONNECTION_OPTIONS: OptionSpec[] = [...BROKER, ...PROTOCOL, ...AUTH, ...TRANSPORT];

/** The -D commands each CLI command takes (bench takes no -D). */
export const PROPERTY_COMMANDS: Record<string, readonly PropertyCommand[]> = {
  pub: ['connect', 'publish', 'will', 'disconnect'],
  sub: ['connect', 'will', 'disconnect'],
  test: ['connect', 'publish', 'will', 'disconnect'],
};

export interface ConnectionConfig {
  /** The URL handed to the client (may hold credentials). */
  url: string;
  /** The same without credentials, for messages. */
  display: string;
  /** --url, --host or --port was given (otherwise test and bench start an embedded broker). */
  brokerGiven: boolean;
  options: ClientOptions;
  tls: boolean;
  /** MQTT 5 (-V 5): Message.properties and subscriptionIdentifiers are printed by `sub --format json`. */
  v5: boolean;
  /** The -D publish properties (MQTT 5), for every publish of the command. */
  publishProperties: CliProperties['publish'] | undefined;
  /** What every end() of the command passes: the -D disconnect properties (MQTT 5). */
  end: EndOptions;
}

const TLS_SCHEMES = new Set(['mqtts:', 'ssl:', 'tls:', 'wss:']);

/** Reads the broker and client options shared by every command. */
export function connectionConfig(args: ParsedArgs, ctx: Context, extraHost?: string): ConnectionConfig {
  const urlArg = args.string('url');
  const hostArg = args.string('host') ?? extraHost;
  const portArg = args.string('port');
  const tlsFlags = ['cafile', 'cert', 'key', 'insecure'].filter((f) => args.has(f));
  if (urlArg !== undefined && (hostArg !== undefined || portArg !== undefined)) {
    throw new UsageError('give the broker either as -L/--url or as -H/--host and -p/--port, not both');
  }

  let url: URL;
  if (urlArg !== undefined) {
    url = parseBrokerUrl(urlArg, tlsFlags.length > 0);
  } else {
    const port = parseInteger(portArg, '-p/--port', 1, 65535, tlsFlags.length > 0 ? 8883 : 1883);
    const host = hostArg ?? 'localhost';
    if (host === '' || /[/\s@?#]/.test(host)) {
      const hint = host.includes('://') ? ' (a URL goes in -L/--url)' : '';
      throw new UsageError(`bad host ${quote(redactUrl(host))}${hint}`);
    }
    url = parseBrokerUrl(`${tlsFlags.length > 0 ? 'mqtts' : 'mqtt'}://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`, false);
  }
  const tls = TLS_SCHEMES.has(url.protocol);
  if (tlsFlags.length > 0 && !tls) {
    throw new UsageError(`--${tlsFlags[0]} needs a TLS URL (mqtts:// or wss://), not ${url.protocol}//`);
  }

  const options: ClientOptions = {};
  const version = parseProtocolVersion(args.string('protocol-version'));
  if (version !== undefined) options.protocolVersion = version;
  const properties = parseProperties(args, version, PROPERTY_COMMANDS[ctx.command] ?? []);
  Object.assign(options, properties.connect);
  const id = args.string('id');
  if (id !== undefined) options.clientId = id;
  if (args.flag('no-clean')) {
    if (id === undefined || id === '') throw new UsageError('-c/--no-clean needs a client id (-i): the broker keeps the session under that id');
    options.clean = false;
  }
  options.keepalive = parseInteger(args.string('keepalive'), '-k/--keepalive', 0, 65535, 60);
  options.connectTimeout = parseSeconds(args.string('connect-timeout'), '--connect-timeout', DEFAULT_CONNECT_TIMEOUT_MS);

  const username = args.string('username');
  if (username !== undefined) options.username = username;
  const userInUrl = url.username !== '';
  let password = args.string('password');
  if (password === undefined && url.password === '' && (username !== undefined || userInUrl)) {
    // From the environment, so it stays out of shell history and `ps`; only when there is a user to go with it.
    password = ctx.env.MQTTWIRE_PASSWORD;
  }
  if (password !== undefined) {
    if (username === undefined && !userInUrl) throw new UsageError('-P/--password needs -u/--username (MQTT 3.1.1 sends no password without a user name)');
    options.password = password;
  }

  const willTopic = args.string('will-topic');
  if (willTopic === undefined) {
    const orphan = ['will-message', 'will-qos', 'will-retain'].find((o) => args.has(o));
    if (orphan) throw new UsageError(`--${orphan} needs --will-topic`);
    if (Object.keys(properties.will).length > 0) throw new UsageError('-D will ... needs --will-topic');
  } else {
    checkTopicName(willTopic, '--will-topic');
    options.will = {
      topic: willTopic,
      payload: args.string('will-message') ?? '',
      qos: parseQos(args.string('will-qos'), '--will-qos'),
      retain: args.flag('will-retain'),
      ...(Object.keys(properties.will).length > 0 ? { properties: properties.will } : {}),
    };
  }

  if (tls) {
    const cafile = args.string('cafile');
    const cert = args.string('cert');
    const key = args.string('key');
    if (cafile !== undefined) options.ca = readOptionFile(cafile, '--cafile');
    if (cert !== undefined) options.cert = readOptionFile(cert, '--cert');
    if (key !== undefined) options.key = readOptionFile(key, '--key');
    if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together');
    options.rejectUnauthorized = !args.flag('insecure');
  }

  if (ctx.debug) options.logger = (line) => ctx.stderr.write(`mqttwire debug: ${line}\n`);

  return {
    url: url.href,
    display: `${url.protocol}//${url.host}`,
    brokerGiven: urlArg !== undefined || hostArg !== undefined || portArg !== undefined,
    options,
    tls,
    v5: version === 5,
    publishProperties: Object.keys(properties.publish).length > 0 ? properties.publish : undefined,
    end: properties.disconnect,
  };
}

/**
 * The library's URL checks (src/broker-url.ts), so the CLI refuses the same URLs for the same reasons
 * and, like the library, never repeats the user info of a URL in a message.
 */
function parseBrokerUrl(text: string, tlsDefault: boolean): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `${tlsDefault ? 'mqtts' : 'mqtt'}://${text}`;
  try {
    return parseUrl(withScheme);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new UsageError(err.message.replace(/^invalid broker URL/, 'bad URL'));
    throw err;
  }
}

function readOptionFile(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${option} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function checkTopicName(topic: string, option: string): void {
  if (topic === '') throw new UsageError(`${option}: a topic cannot be empty`);
  if (!isValidTopicName(topic)) {
    throw new UsageError(`${option}: "${topic}" is not a valid topic name${/[+#]/.test(topic) ? ' (wildcards + and # are for subscribing)' : ''}`);
  }
}

export function checkTopicFilter(filter: string, option: string): void {
  if (filter === '') throw new UsageError(`${option}: a topic filter cannot be empty`);
  if (!isValidTopicFilter(filter)) {
    throw new UsageError(`${option}: "${filter}" is not a valid topic filter (+ must fill a whole level, # must be the last level)`);
  }
}

/**
 * Connects, turning every failure into one clear line: refused and why, unreachable host, TLS
 * verification, timeout. A usage-level failure (e.g. a URL scheme the client does not support yet)
 * keeps its InvalidArgumentError, which exits 2.
 */
export async function connectClient(config: ConnectionConfig, signal?: AbortSignal, beforeConnect?: (client: MqttClient) => void): Promise<MqttClient> {
  const client = new MqttClient(config.url, config.options);
  beforeConnect?.(client);
  try {
    // The signal covers connecting only (the `signal` client option would destroy the client whenever it fires later).
    await client.connect({ signal });
    return client;
  } catch (err) {
    if (signal?.aborted) throw new Interrupted();
    if (err instanceof InvalidArgumentError || err instanceof UsageError) throw err;
    throw new CliError(connectFailure(err, config), 1, err);
  }
}

function connectFailure(err: unknown, config: ConnectionConfig): string {
  const where = config.display;
  if (err instanceof ConnectionRefusedError) {
    const why = err.message.replace(/^connection refused: /, '');
    return `the broker at ${where} refused the connection: ${why}`;
  }
  if (err instanceof TimeoutError) {
    const seconds = (config.options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS) / 1000;
    return `cannot connect to ${where}: no answer within ${seconds} s (${err.message}; see --connect-timeout)`;
  }
  if (err instanceof TransportError) {
    const code = causeCode(err);
    const host = new URL(config.url).hostname;
    if (code === 'ECONNREFUSED' || err.code === 'CONNECTION_REFUSED_BY_HOST') return `cannot connect to ${where}: connection refused (is a broker listening there?)`;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return `cannot connect to ${where}: unknown host ${host}`;
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN') return `cannot connect to ${where}: host unreachable`;
    if (code === 'ETIMEDOUT') return `cannot connect to ${where}: timed out`;
    if (code === 'ECONNRESET' || code === 'EPIPE') return `cannot connect to ${where}: the connection was reset`;
    if (code !== undefined && isTlsVerificationCode(code)) {
      return `TLS verification of ${where} failed: ${causeMessage(err)} (trust its CA with --cafile, or skip verification with --insecure)`;
    }
    if (err.code === 'TLS_ERROR') {
      // The broker's alert: TLS 1.3 says "certificate required", TLS 1.2 just "handshake failure".
      const hint = /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/.test(code ?? '') && config.options.cert === undefined ? ' (does the broker require a client certificate? see --cert and --key)' : '';
      return `TLS handshake with ${where} failed: ${causeMessage(err)}${hint}`;
    }
    return `cannot connect to ${where}: ${err.message}`;
  }
  if (err instanceof ConnectionClosedError) return `cannot connect to ${where}: the broker closed the connection before CONNACK`;
  if (err instanceof MqttProtocolError && err.statement === 'MQTT-3.2.0-1' && err.message.startsWith('the server at ')) {
    // Not an MQTT server at all: the library says what it sent; name the URL as given, and the likely cause.
    return `${err.message.replace(/^the server at \S+/, `the server at ${where}`).replace(/ \[MQTT-3\.2\.0-1\]$/, '')} (is that the broker's MQTT port?)`;
  }
  return `cannot connect to ${where}: ${err instanceof Error ? err.message : String(err)}`;
}

function causeCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !(e instanceof MqttError)) return code;
  }
  return undefined;
}

function causeMessage(err: Error): string {
  const cause = err.cause instanceof Error ? err.cause : err;
  // OpenSSL errors carry a short `reason`; their message adds file:line noise and a newline.
  const reason = (cause as { reason?: unknown }).reason;
  return typeof reason === 'string' && reason !== '' ? reason : cause.message.trim();
}

/** OpenSSL's certificate verification codes and node's host name mismatch; not the broker's alerts (ERR_SSL_...). */
function isTlsVerificationCode(code: string): boolean {
  return !code.startsWith('ERR_SSL_') && /CERT|SIGNATURE|ISSUER|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME|ALTNAME/.test(code);
}

/** One line for a failure after the connection was up. */
export function runFailure(err: unknown, config: ConnectionConfig): string {
  // MQTT 5 refusals: their messages already name the code, its meaning and the broker's reason string.
  if (err instanceof PublishError) return err.message;
  if (err instanceof ServerDisconnectError) return err.message.replace(/^the broker /, `the broker at ${config.display} `);
  if (err instanceof ConnectionClosedError) return `connection to ${config.display} lost: ${err.message.replace(/^connection lost: /, '')}`;
  if (err instanceof SubscribeError) return err.message;
  if (err instanceof TimeoutError) return `timed out: ${err.message}`;
  if (err instanceof MqttProtocolError) return `protocol error from ${config.display}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The broker for test and bench: the one given, or an embedded aedes broker started here (say
 * which on stderr either way). `close` stops the embedded one.
 */
export async function resolveBroker(config: ConnectionConfig, ctx: Context): Promise<{ config: ConnectionConfig; close(): Promise<void> }> {
  if (config.brokerGiven) {
    ctx.info(`broker ${config.display}`);
    return { config, close: async () => {} };
  }
  if (config.tls) throw new UsageError('TLS options need a broker: give -L/--url or -H/--host');
  let embedded: { url: string; close(): Promise<void> };
  try {
    const { startEmbeddedBroker } = await import('./embedded-broker.js');
    embedded = await startEmbeddedBroker();
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err), 1, err);
  }
  ctx.info(`no broker given: started an embedded aedes broker at ${embedded.url}`);
  const url = new URL(embedded.url);
  return {
    config: { ...config, url: url.href, display: `${url.protocol}//${url.host}`, brokerGiven: true },
    close: () => embedded.close(),
  };
}
