import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, PublishError, type MqttClient, type PublishOptions } from '../index.js';
import { parseQos, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import type { Command } from './command.js';
import { checkTopicName, CliError, CONNECTION_OPTIONS, connectClient, connectionConfig, GENERAL, Interrupted, runFailure, type ConnectionConfig } from './connection.js';
import { formatNumber, onInterrupt, StatusLine, type Context } from './io.js';
import { propertyOption } from './mqtt5.js';

const MESSAGE_OPTIONS: OptionSpec[] = [
  { long: 'topic', short: 't', value: 'TOPIC', help: 'topic to publish to (required)' },
  { long: 'message', short: 'm', value: 'MESSAGE', help: 'publish MESSAGE (UTF-8)' },
  { long: 'file', short: 'f', value: 'FILE', help: 'publish the bytes of FILE as one message' },
  { long: 'stdin-file', short: 's', help: 'publish all of standard input as one message' },
  { long: 'stdin-line', short: 'l', help: 'publish each line of standard input as a message (blank lines are skipped)' },
  { long: 'null-message', short: 'n', help: 'publish an empty message (with -r: clears the retained message)' },
  { long: 'qos', short: 'q', value: '0|1|2', help: 'quality of service (default 0)' },
  { long: 'retain', short: 'r', help: 'ask the broker to retain the message' },
];
const MQTT5_OPTIONS: OptionSpec[] = [propertyOption(['connect', 'publish', 'will', 'disconnect'])];

/** Publishes in flight at once in line mode: enough to keep the socket busy, few enough to stay in order cheaply. */
const LINE_WINDOW = 64;

export const pubCommand: Command = {
  name: 'pub',
  options: [...MESSAGE_OPTIONS, ...MQTT5_OPTIONS, ...CONNECTION_OPTIONS, ...GENERAL],
  maxPositionals: 0,
  help: {
    usage: 'mqttwire pub -t TOPIC (-m MESSAGE | -f FILE | -s | -l | -n) [options]',
    description: [
      'Publish one message and exit, or with -l one message per line of standard input until it ends.',
      'The broker is mqtt://localhost:1883 unless -L/--url or -H/--host/-p/--port say otherwise.',
      'With -l on a terminal, a live count and rate are shown on stderr, and a summary at the end.',
    ],
    groups: [
      { title: 'Message', options: MESSAGE_OPTIONS },
      { title: 'MQTT 5 properties', options: MQTT5_OPTIONS },
      { title: 'Connection', options: CONNECTION_OPTIONS },
      { title: 'General', options: GENERAL },
    ],
    examples: [
      'mqttwire pub -t sensors/1/temp -m 21.5',
      'mqttwire pub -H broker.local -t config/device7 -f config.json -q 1 -r',
      'mqttwire pub -t config/device7 -n -r                  # clear a retained message',
      'tail -f /var/log/app.log | mqttwire pub -t logs/app -l',
      'MQTTWIRE_PASSWORD=secret mqttwire pub -u alice -t a/b -m hi',
      "mqttwire pub -L 'mqtt://alice@broker:1884' -t a/b -m hi -q 2 --will-topic status/alice --will-message gone",
      'mqttwire pub -V 5 -t a/b -m hi -D publish content-type text/plain -D publish user-property source cli',
    ],
  },
  run: pub,
};

async function pub(args: ParsedArgs, ctx: Context): Promise<number> {
  const topic = args.string('topic');
  if (topic === undefined) throw new UsageError('missing topic: give -t/--topic TOPIC');
  checkTopicName(topic, '-t/--topic');
  const sources = ['message', 'file', 'stdin-file', 'stdin-line', 'null-message'].filter((s) => args.has(s));
  if (sources.length === 0) throw new UsageError('missing message: give -m MESSAGE, -f FILE, -s (standard input), -l (one message per line) or -n (empty)');
  if (sources.length > 1) throw new UsageError(`give only one of -m, -f, -s, -l, -n (got --${sources.join(', --')})`);
  const qos = parseQos(args.string('qos'), '-q/--qos');
  const retain = args.flag('retain');
  const config = connectionConfig(args, ctx);

  if (args.flag('stdin-line')) return publishLines(config, ctx, topic, qos, retain);

  let payload: Uint8Array | string;
  const file = args.string('file');
  if (file !== undefined) {
    try {
      payload = readFileSync(file);
    } catch (err) {
      throw new UsageError(`cannot read -f ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else if (args.flag('stdin-file')) {
    payload = await readAll(ctx.stdin);
  } else {
    payload = args.string('message') ?? '';
  }

  const abort = new AbortController();
  const removeInterrupt = onInterrupt(() => abort.abort());
  try {
    const client = await connectClient(config, abort.signal);
    try {
      await client.publish(topic, payload, { qos, retain, signal: abort.signal, ...publishProperties(config) });
    } catch (err) {
      await client.end({ ...config.end, timeout: 500 }).catch(() => {});
      if (abort.signal.aborted) throw new Interrupted();
      // Refused by the client at the call (-D publish payload-format-indicator 1 on a payload that is not UTF-8): a usage error.
      if (err instanceof InvalidArgumentError) throw err;
      // A PublishError's message already says which publish the broker refused and why.
      throw new CliError(err instanceof PublishError ? err.message : `publish to ${topic} failed: ${runFailure(err, config)}`, 1, err);
    }
    await client.end(config.end);
    return 0;
  } finally {
    removeInterrupt();
  }
}

/** `{ properties }` when -D publish gave some (MQTT 5), else nothing (the option is refused below level 5). */
export function publishProperties(config: ConnectionConfig): Pick<PublishOptions, 'properties'> {
  return config.publishProperties ? { properties: config.publishProperties } : {};
}

async function readAll(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/**
 * -l: one message per line, in order, with at most LINE_WINDOW publishes awaiting completion (the
 * client keeps them in order; awaiting the oldest is the backpressure on standard input).
 * Ctrl-C or the end of input stops reading; what was read is still published before DISCONNECT.
 */
async function publishLines(config: ConnectionConfig, ctx: Context, topic: string, qos: 0 | 1 | 2, retain: boolean): Promise<number> {
  const abort = new AbortController();
  let lines: ReturnType<typeof createInterface> | undefined;
  let interrupted = false;
  const removeInterrupt = onInterrupt(() => {
    interrupted = true;
    if (lines) lines.close();
    else abort.abort();
  });
  let client: MqttClient;
  try {
    client = await connectClient(config, abort.signal);
  } catch (err) {
    removeInterrupt();
    throw err;
  }

  const status = new StatusLine(ctx.stderr, ctx.stderrIsTTY);
  const started = performance.now();
  let published = 0;
  const rate = (): string => `${formatNumber(published / Math.max(0.001, (performance.now() - started) / 1000))} msg/s`;
  status.start(() => `published ${published} (${rate()})`);

  const window: Promise<void>[] = [];
  let failure: unknown;
  const stopOnFailure = (err: unknown): void => {
    failure ??= err;
    lines?.close();
  };
  try {
    lines = createInterface({ input: ctx.stdin, crlfDelay: Infinity, terminal: false });
    client.closed.catch(stopOnFailure);
    for await (const line of lines) {
      if (failure !== undefined) break;
      if (line === '') continue;
      const p = client.publish(topic, line, { qos, retain, ...publishProperties(config) }).then(() => {
        published++;
      });
      p.catch(stopOnFailure);
      window.push(p);
      if (window.length >= LINE_WINDOW) await window.shift();
    }
    await Promise.all(window);
    if (failure !== undefined) throw failure;
  } catch (err) {
    status.stop();
    await client.end({ ...config.end, timeout: 500 }).catch(() => {});
    throw new CliError(`line mode stopped after ${published} messages: ${runFailure(err, config)}`, 1, err);
  } finally {
    removeInterrupt();
  }
  status.stop();
  await client.end(config.end);
  const seconds = (performance.now() - started) / 1000;
  if (ctx.stderrIsTTY) {
    ctx.info(`published ${published} message${published === 1 ? '' : 's'} to ${topic} in ${formatNumber(seconds)} s (${rate()})${interrupted ? ', interrupted' : ''}`);
  }
  return 0;
}
