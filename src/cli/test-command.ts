import type { MqttClient } from '../index.js';
import { parseInteger, parseQos, type OptionSpec, type ParsedArgs } from './args.js';
import type { Command } from './command.js';
import { checkTopicFilter, checkTopicName, CliError, CONNECTION_OPTIONS, connectClient, connectionConfig, GENERAL, resolveBroker, runFailure } from './connection.js';
import { onInterrupt, sleep, type Context } from './io.js';
import { propertyOption } from './mqtt5.js';
import { publishProperties } from './pub.js';
import { formatMessage } from './sub.js';

const TEST_OPTIONS: OptionSpec[] = [
  { long: 'topic', short: 't', value: 'TOPIC', help: 'topic the counter is published to (default test/1)' },
  { long: 'sub-topic', short: 's', value: 'FILTER', help: 'topic subscribed to, where the quit message ends the run (default test/2)' },
  { long: 'quit-message', value: 'TEXT', help: 'payload that ends the run (default quit)' },
  { long: 'interval', value: 'MS', help: 'milliseconds between counter messages (default 1000)' },
  { long: 'count', short: 'C', value: 'N', help: 'also stop after publishing N counter messages' },
  { long: 'qos', short: 'q', value: '0|1|2', help: 'QoS of the publishes and the subscription (default 0)' },
  { long: 'retain', short: 'r', help: 'retain the counter messages (the Lua mqtt_test always did)' },
];
const MQTT5_OPTIONS: OptionSpec[] = [propertyOption(['connect', 'publish', 'will', 'disconnect'])];

export const testCommand: Command = {
  name: 'test',
  options: [...TEST_OPTIONS, ...MQTT5_OPTIONS, ...CONNECTION_OPTIONS, ...GENERAL],
  maxPositionals: 1,
  help: {
    usage: 'mqttwire test [HOST] [options]',
    description: [
      'The old mqtt_test loop: publish "*** mqttwire test start ***" then a counter message to test/1',
      'every second, subscribe to test/2, print what arrives there (topic and payload) on stdout, and',
      'exit 0 when "quit" arrives on test/2 (or on Ctrl-C, or after -C messages).',
      'HOST (as in mqtt_test), -L/--url or -H/--host name the broker; with none of them an embedded',
      'broker is started in this process (needs the optional "aedes" package) and its URL printed on stderr.',
    ],
    groups: [
      { title: 'Test loop', options: TEST_OPTIONS },
      { title: 'MQTT 5 properties', options: MQTT5_OPTIONS },
      { title: 'Connection', options: CONNECTION_OPTIONS },
      { title: 'General', options: GENERAL },
    ],
    examples: [
      'mqttwire test                                   # embedded broker',
      'mqttwire test localhost -d                      # like: mqtt_test -d localhost',
      'mqttwire pub -H localhost -t test/2 -m quit     # (from another shell) ends it',
      'mqttwire test -L mqtt://broker:1883 --interval 100 -C 50',
    ],
  },
  run: runTest,
};

async function runTest(args: ParsedArgs, ctx: Context): Promise<number> {
  const pubTopic = args.string('topic') ?? 'test/1';
  checkTopicName(pubTopic, '-t/--topic');
  const subTopic = args.string('sub-topic') ?? 'test/2';
  checkTopicFilter(subTopic, '-s/--sub-topic');
  const quit = args.string('quit-message') ?? 'quit';
  const interval = parseInteger(args.string('interval'), '--interval', 1, 86_400_000, 1000);
  const count = args.has('count') ? parseInteger(args.string('count'), '-C/--count', 1, Number.MAX_SAFE_INTEGER, 0) : undefined;
  const qos = parseQos(args.string('qos'), '-q/--qos');
  const retain = args.flag('retain');
  const broker = await resolveBroker(connectionConfig(args, ctx, args.positionals[0]), ctx);
  const config = broker.config;

  const stop = new AbortController();
  let reason: 'quit' | 'count' | 'interrupt' | 'output-closed' | undefined;
  const end = (why: NonNullable<typeof reason>): void => {
    reason ??= why;
    stop.abort();
  };
  const removeInterrupt = onInterrupt(() => end('interrupt'));
  ctx.out.onClose(() => end('output-closed'));
  let client: MqttClient | undefined;
  try {
    client = await connectClient(config, stop.signal);
    const subscription = await client.subscribe(subTopic, { qos });
    ctx.info(`publishing to ${pubTopic} every ${interval} ms; publish "${quit}" to ${subTopic} to stop`);

    let failure: unknown;
    const consumer = (async () => {
      try {
        for (;;) {
          const next = await subscription.next();
          if (next.done) return;
          await ctx.out.write(formatMessage(next.value, 'text', true));
          if (next.value.text() === quit) return end('quit');
        }
      } catch (err) {
        if (!stop.signal.aborted) failure ??= err;
        stop.abort();
      }
    })();

    let counter = 0;
    try {
      await client.publish(pubTopic, '*** mqttwire test start ***', { qos, retain, ...publishProperties(config) });
      while (!stop.signal.aborted) {
        await client.publish(pubTopic, `*** mqttwire test message: ${counter}`, { qos, retain, ...publishProperties(config) });
        counter++;
        if (count !== undefined && counter >= count) end('count');
        else await sleep(interval, stop.signal);
      }
    } catch (err) {
      if (!stop.signal.aborted) failure ??= err;
      stop.abort();
    }
    await client.end(config.end);
    await consumer;
    if (failure !== undefined) throw new CliError(runFailure(failure, config), 1, failure);
    const why = reason === 'quit' ? `"${quit}" received on ${subTopic}` : reason === 'count' ? `-C ${count} reached` : 'stopped';
    ctx.info(`${why} after ${counter} counter message${counter === 1 ? '' : 's'}`);
    return 0;
  } finally {
    removeInterrupt();
    client?.destroy();
    await broker.close();
  }
}
