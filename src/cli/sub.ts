import type { Message, Subscription } from '../index.js';
import { parseInteger, parseQos, parseSeconds, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import type { Command } from './command.js';
import { checkTopicFilter, CliError, CONNECTION_OPTIONS, connectClient, connectionConfig, GENERAL, runFailure } from './connection.js';
import { onInterrupt, type Context } from './io.js';
import { parseSubscriptionOptions, propertyOption, SUBSCRIPTION_OPTIONS } from './mqtt5.js';

const SUB_OPTIONS: OptionSpec[] = [
  { long: 'topic', short: 't', value: 'FILTER', repeat: true, help: 'topic filter to subscribe to (repeat for more; + and # allowed)' },
  { long: 'qos', short: 'q', value: '0|1|2', help: 'maximum QoS to receive (default 0)' },
  { long: 'verbose', short: 'v', help: 'print "topic payload" instead of the payload alone' },
  { long: 'format', value: 'text|json', help: 'json: one object per line {topic, payload, qos, retain} (binary payloads in base64; with -V 5 also properties, subscriptionIdentifiers)' },
  { long: 'count', short: 'C', value: 'N', help: 'exit after N messages' },
  { long: 'timeout', short: 'W', value: 'SECONDS', help: 'exit this long after subscribing (exit 1 if -C N messages have not all arrived)' },
  { long: 'retained-only', help: 'print only retained messages; exit at the first message that is not retained' },
  { long: 'no-retained', short: 'R', help: 'skip retained messages (print only new ones)' },
];
const MQTT5_OPTIONS: OptionSpec[] = [...SUBSCRIPTION_OPTIONS, propertyOption(['connect', 'will', 'disconnect'])];

export const subCommand: Command = {
  name: 'sub',
  options: [...SUB_OPTIONS, ...MQTT5_OPTIONS, ...CONNECTION_OPTIONS, ...GENERAL],
  maxPositionals: 0,
  help: {
    usage: 'mqttwire sub -t FILTER [-t FILTER ...] [options]',
    description: [
      'Subscribe and print each message on standard output, one per line, until Ctrl-C, -C or -W.',
      'The broker is mqtt://localhost:1883 unless -L/--url or -H/--host/-p/--port say otherwise.',
      'Ctrl-C disconnects cleanly (DISCONNECT: the will is not published) and exits 0.',
    ],
    groups: [
      { title: 'Subscription', options: SUB_OPTIONS },
      { title: 'MQTT 5', options: MQTT5_OPTIONS },
      { title: 'Connection', options: CONNECTION_OPTIONS },
      { title: 'General', options: GENERAL },
    ],
    examples: [
      "mqttwire sub -t 'sensors/#' -v",
      'mqttwire sub -t a -t b -q 1 -C 5 | wc -l',
      "mqttwire sub -t 'sensors/+/temp' --format json | jq .payload",
      "mqttwire sub -t 'config/#' --retained-only -W 2     # dump the retained messages",
      'mqttwire sub -t jobs/done -C 1 -W 30                 # wait at most 30 s for one message',
      'mqttwire sub -i worker-1 -c -q 1 -t jobs/new          # persistent session',
      "mqttwire sub -V 5 -t 'sensors/#' --format json --no-local --retain-handling 1",
    ],
  },
  run: sub,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NEWLINE = Buffer.from('\n');

/**
 * The line printed for a message (payload bytes verbatim in text mode, so binary passes through).
 * `v5`: the JSON also has `properties` (correlation data in base64) and `subscriptionIdentifiers`.
 */
export function formatMessage(
  msg: Pick<Message, 'topic' | 'payload' | 'qos' | 'retain'> & Partial<Pick<Message, 'properties' | 'subscriptionIdentifiers'>>,
  format: 'text' | 'json',
  verbose: boolean,
  v5 = false,
): Uint8Array {
  if (format === 'json') {
    let text: string | undefined;
    try {
      text = utf8.decode(msg.payload);
    } catch {
      text = undefined;
    }
    const obj: Record<string, unknown> =
      text !== undefined
        ? { topic: msg.topic, payload: text, qos: msg.qos, retain: msg.retain }
        : { topic: msg.topic, payload: base64(msg.payload), encoding: 'base64', qos: msg.qos, retain: msg.retain };
    if (v5) {
      const { correlationData, ...rest } = msg.properties ?? {};
      obj.properties = correlationData !== undefined ? { ...rest, correlationData: base64(correlationData) } : rest;
      obj.subscriptionIdentifiers = msg.subscriptionIdentifiers ?? [];
    }
    return Buffer.from(JSON.stringify(obj) + '\n');
  }
  return verbose ? Buffer.concat([Buffer.from(`${msg.topic} `), msg.payload, NEWLINE]) : Buffer.concat([msg.payload, NEWLINE]);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

async function sub(args: ParsedArgs, ctx: Context): Promise<number> {
  const filters = args.strings('topic');
  if (filters.length === 0) throw new UsageError('missing topic: give at least one -t/--topic FILTER');
  for (const f of filters) checkTopicFilter(f, '-t/--topic');
  const qos = parseQos(args.string('qos'), '-q/--qos');
  const format = args.string('format') ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, got "${format}"`);
  const count = args.has('count') ? parseInteger(args.string('count'), '-C/--count', 1, Number.MAX_SAFE_INTEGER, 0) : undefined;
  const timeoutMs = args.has('timeout') ? parseSeconds(args.string('timeout'), '-W/--timeout', 0) : undefined;
  const retainedOnly = args.flag('retained-only');
  const noRetained = args.flag('no-retained');
  if (retainedOnly && noRetained) throw new UsageError('--retained-only and -R/--no-retained exclude each other');
  const verbose = args.flag('verbose');
  const config = connectionConfig(args, ctx);
  const subscriptionOptions = parseSubscriptionOptions(args, config.options.protocolVersion);

  // Why the run ended, when it was not the connection failing.
  let stopped: 'interrupt' | 'timeout' | 'output-closed' | undefined;
  const abort = new AbortController();
  let stop = (why: NonNullable<typeof stopped>): void => {
    stopped ??= why;
    abort.abort();
  };
  const removeInterrupt = onInterrupt(() => stop('interrupt'));
  let timer: ReturnType<typeof setTimeout> | undefined;
  ctx.out.onClose(() => stop('output-closed'));
  try {
    // Connecting is bounded by --connect-timeout; -W counts from the SUBACK.
    // A resumed session (-c) gets its queued messages right after CONNACK, in the same read, before any
    // SUBSCRIBE: the client hands those to messages(), which must exist before connect() or they are dropped.
    let queued: Subscription | undefined;
    const client = await connectClient(config, abort.signal, (c) => {
      if (config.options.clean === false) queued = c.messages();
    }).catch((err: unknown) => {
      if (stopped === 'output-closed') return undefined;
      throw err;
    });
    if (!client) return 0;
    stop = (why) => {
      stopped ??= why;
      void client.end(config.end);
    };
    if (stopped) stop(stopped);

    let printed = 0;
    try {
      const subscribing = client.subscribe(filters, { qos, ...subscriptionOptions }).then((subscription) => {
        if (timeoutMs !== undefined && stopped === undefined) timer = setTimeout(() => stop('timeout'), timeoutMs);
        return subscription;
      });
      // Queued messages are printed while the SUBACK is awaited: unread, they would pause the socket before it.
      // Read by hand rather than `for await`: leaving that loop would UNSUBSCRIBE, which a CLI exiting has no need for.
      const nextMessage = merge(queued ? [queued, subscribing] : [subscribing]);
      while (count === undefined || printed < count) {
        const next = await nextMessage();
        if (next.done) break;
        const msg = next.value;
        if (retainedOnly && !msg.retain) break;
        if (noRetained && msg.retain) continue;
        await ctx.out.write(formatMessage(msg, format, verbose, config.v5));
        printed++;
      }
    } catch (err) {
      if (stopped === undefined) {
        client.destroy();
        throw new CliError(runFailure(err, config), 1, err);
      }
    }
    await client.end(config.end);
    if (stopped === 'timeout' && count !== undefined && printed < count) {
      throw new CliError(`timed out after ${seconds(timeoutMs)} s with ${printed} of ${count} messages`);
    }
    return 0;
  } finally {
    if (timer) clearTimeout(timer);
    removeInterrupt();
  }
}

/**
 * One `next()` over several subscriptions, some still being made (a promise): whichever has a
 * message first, the earlier source winning a tie (so queued messages come first); done when all
 * are done. A failing source (a refused subscribe, a lost connection) makes next() throw.
 */
function merge(sources: (Subscription | Promise<Subscription>)[]): () => Promise<IteratorResult<Message>> {
  type Source = Subscription | Promise<Subscription>;
  type Settled = { source: Source; result?: IteratorResult<Message>; ready?: Subscription; failed?: true; error?: unknown };
  const pending = new Map<Source, Promise<Settled>>();
  let live: Source[] = [...sources];
  const wait = (source: Source): Promise<Settled> =>
    source instanceof Promise
      ? source.then((ready) => ({ source, ready }), (error: unknown) => ({ source, failed: true, error }))
      : source.next().then((result) => ({ source, result }), (error: unknown) => ({ source, failed: true, error }));
  return async () => {
    while (live.length > 0) {
      for (const source of live) if (!pending.has(source)) pending.set(source, wait(source));
      const settled = await Promise.race(pending.values());
      pending.delete(settled.source);
      if (settled.failed) throw settled.error;
      if (settled.ready) live = live.map((s) => (s === settled.source ? (settled.ready as Subscription) : s));
      else if (settled.result?.done === false) return settled.result;
      else live = live.filter((s) => s !== settled.source);
    }
    return { value: undefined, done: true };
  };
}

function seconds(ms: number | undefined): number {
  return (ms ?? 0) / 1000;
}
