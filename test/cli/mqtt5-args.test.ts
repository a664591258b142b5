/**
 * In-process checks of the CLI's MQTT 5 options: -V, -D (mosquitto_pub's spelling), sub's subscription
 * options, and the JSON output of message properties. Against a real broker: mqtt5-mosquitto.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { connectionConfig, runFailure } from '../../src/cli/connection.js';
import type { Context } from '../../src/cli/io.js';
import { parseSubscriptionOptions } from '../../src/cli/mqtt5.js';
import { pubCommand } from '../../src/cli/pub.js';
import { formatMessage, subCommand } from '../../src/cli/sub.js';
import { testCommand } from '../../src/cli/test-command.js';
import { runInProcess } from './cli.js';
import { PublishError, ServerDisconnectError } from '../../src/index.js';

/** The connection config `mqttwire <command> <argv>` would use (parsing only: nothing connects). */
function configOf(command: 'pub' | 'sub' | 'test', argv: string[]): ReturnType<typeof connectionConfig> {
  const spec = { pub: pubCommand, sub: subCommand, test: testCommand }[command];
  const ctx = { command, env: {}, debug: false } as unknown as Context;
  return connectionConfig(parseArgs(argv, spec.options), ctx);
}

describe('-V/--protocol-version', () => {
  it.each([
    ['5', 5],
    ['mqttv5', 5],
    ['MQTTv5', 5],
    ['311', 4],
    ['mqttv311', 4],
    ['4', 4],
    ['31', 3],
    ['mqttv31', 3],
    ['3', 3],
  ])('-V %s is protocolVersion %d', (value, level) => {
    expect(configOf('pub', ['-V', value]).options.protocolVersion).toBe(level);
    expect(configOf('sub', [`--protocol-version=${value}`]).options.protocolVersion).toBe(level);
  });

  it('without -V the option is left to the client (its default, 4)', () => {
    const config = configOf('pub', []);
    expect('protocolVersion' in config.options).toBe(false);
    expect(config.v5).toBe(false);
  });
});

describe('-D/--property', () => {
  it('publish, connect, will and disconnect properties become the client options, in order, names repeated', () => {
    const config = configOf('pub', [
      '-V', '5',
      '-D', 'publish', 'user-property', 'a', 'b',
      '-D', 'PUBLISH', 'content-type', 'text/plain',
      '-D', 'publish', 'user-property', 'a', 'c',
      '-D', 'publish', 'message-expiry-interval', '60',
      '-D', 'publish', 'response-topic', 'replies/1',
      '-D', 'publish', 'correlation-data', 'req-7',
      '-D', 'publish', 'payload-format-indicator', '1',
      '-D', 'connect', 'session-expiry-interval', '300',
      '-D', 'connect', 'receive-maximum', '10',
      '-D', 'connect', 'topic-alias-maximum', '8',
      '-D', 'connect', 'maximum-packet-size', '4096',
      '-D', 'connect', 'user-property', 'who', 'cli',
      '-D', 'connect', 'request-problem-information', '0',
      '--will-topic', 'w', '-D', 'will', 'will-delay-interval', '5', '-D', 'will', 'content-type', 'text/plain',
      '-D', 'disconnect', 'session-expiry-interval', '0',
    ]);
    expect(config.v5).toBe(true);
    expect(config.publishProperties).toEqual({
      userProperties: [['a', 'b'], ['a', 'c']],
      contentType: 'text/plain',
      messageExpiryInterval: 60,
      responseTopic: 'replies/1',
      correlationData: new TextEncoder().encode('req-7'),
      payloadFormatIndicator: true,
    });
    expect(config.options).toMatchObject({
      protocolVersion: 5,
      sessionExpiryInterval: 300,
      receiveMaximum: 10,
      topicAliasMaximum: 8,
      maxPacketSize: 4096,
      userProperties: [['who', 'cli']],
      requestProblemInformation: false,
      will: { topic: 'w', properties: { willDelayInterval: 5, contentType: 'text/plain' } },
    });
    expect(config.end).toEqual({ sessionExpiryInterval: 0 });
  });

  it('a user property value may look like an option value (-5) and words may be attached (-Dpublish)', () => {
    const config = configOf('pub', ['-V5', '-Dpublish', 'user-property', 'n', '-5', '--property=publish', 'content-type', 'x']);
    expect(config.publishProperties).toEqual({ userProperties: [['n', '-5']], contentType: 'x' });
  });

  it.each([
    [['pub', '-t', 'a', '-m', 'x', '-D', 'publish', 'content-type', 'text/plain'], /^mqttwire pub: -D\/--property is MQTT 5 only: add -V 5\n/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '311', '-D', 'publish', 'content-type', 'x'], /-D\/--property is MQTT 5 only: add -V 5 \(not -V 311\)/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '6'], /-V\/--protocol-version must be 5, 311 or 31 \(also mqttv5, mqttv311, mqttv31, 4, 3\), got "6"/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '5', '-D', 'publish', 'colour', 'red'], /-D publish colour: unknown property for publish \(known: content-type, correlation-data, message-expiry-interval, payload-format-indicator, response-topic, user-property, topic-alias\)/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '5', '-D', 'connec', 'receive-maximum', '1'], /-D: unknown command "connec" \(this command takes: connect, publish, will, disconnect\)/],
    [['sub', '-t', 'a', '-V', '5', '-D', 'publish', 'content-type', 'x'], /-D: unknown command "publish" \(this command takes: connect, will, disconnect\)/],
    [['sub', '-t', 'a', '-V', '5', '-D', 'subscribe', 'user-property', 'k', 'v'], /-D: "subscribe" properties are not supported here: the client sends SUBSCRIBE without user properties/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '5', '-D', 'publish', 'topic-alias', '1'], /-D publish topic-alias: not supported: the client assigns topic aliases itself/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '5', '-D', 'publish', 'message-expiry-interval', '4294967296'], /-D publish message-expiry-interval must be a whole number from 0 to 4294967295, got "4294967296"/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '5', '-D', 'connect', 'receive-maximum', '0'], /-D connect receive-maximum must be a whole number from 1 to 65535/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '5', '-D', 'publish', 'payload-format-indicator', 'yes'], /-D publish payload-format-indicator must be 0 or 1, got "yes"/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '5', '-D', 'publish', 'response-topic', 'a/#'], /-D publish response-topic: "a\/#" is not a valid topic name/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '5', '-D', 'will', 'content-type', 'x'], /-D will \.\.\. needs --will-topic/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '5', '-D', 'publish', 'user-property', 'k'], /option -D\/--property needs COMMAND PROPERTY VALUE \(got 3 of 4 words\)/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '5', '-D', 'publish', 'content-type', '-q', '1'], /option -D\/--property needs COMMAND PROPERTY VALUE \(got 2 of 3 words\)/],
    [['sub', '-t', 'a', '--no-local'], /--no-local is an MQTT 5 subscription option: add -V 5/],
    [['sub', '-t', 'a', '-V', '5', '--retain-handling', '3'], /--retain-handling must be 0, 1 or 2, got "3"/],
    [['bench', '-D', 'connect', 'receive-maximum', '5'], /unknown option -D/],
  ])('%j is a usage error', async (argv, message) => {
    const r = await runInProcess(argv);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(`try 'mqttwire ${argv[0]} --help'`);
  });
});

describe('sub: subscription options', () => {
  it('--no-local, --retain-as-published and --retain-handling N at -V 5; none given: none sent', () => {
    const specs = subCommand.options;
    expect(parseSubscriptionOptions(parseArgs(['--no-local', '--retain-as-published', '--retain-handling', '2'], specs), 5)).toEqual({ noLocal: true, retainAsPublished: true, retainHandling: 2 });
    expect(parseSubscriptionOptions(parseArgs(['--retain-handling=1'], specs), 5)).toEqual({ retainHandling: 1 });
    expect(parseSubscriptionOptions(parseArgs([], specs), 4)).toEqual({});
  });
});

describe('sub --format json at MQTT 5', () => {
  const message = {
    topic: 'a/b',
    payload: Buffer.from('21.5'),
    qos: 1 as const,
    retain: false,
    properties: { contentType: 'text/plain', userProperties: [['k', 'v'], ['k', 'w']] as [string, string][], correlationData: new Uint8Array([0, 1, 0xff]), messageExpiryInterval: 59, payloadFormatIndicator: true },
    subscriptionIdentifiers: [3, 7],
  };

  it('adds properties (correlation data in base64) and subscriptionIdentifiers', () => {
    expect(JSON.parse(Buffer.from(formatMessage(message, 'json', false, true)).toString())).toEqual({
      topic: 'a/b',
      payload: '21.5',
      qos: 1,
      retain: false,
      properties: { contentType: 'text/plain', userProperties: [['k', 'v'], ['k', 'w']], correlationData: 'AAH/', messageExpiryInterval: 59, payloadFormatIndicator: true },
      subscriptionIdentifiers: [3, 7],
    });
  });

  it('a message without properties: empty ones; at 3.1.1 and in text the output is as before', () => {
    expect(JSON.parse(Buffer.from(formatMessage({ ...message, properties: {}, subscriptionIdentifiers: [] }, 'json', false, true)).toString())).toEqual({
      topic: 'a/b', payload: '21.5', qos: 1, retain: false, properties: {}, subscriptionIdentifiers: [],
    });
    expect(JSON.parse(Buffer.from(formatMessage(message, 'json', false)).toString())).toEqual({ topic: 'a/b', payload: '21.5', qos: 1, retain: false });
    expect(Buffer.from(formatMessage(message, 'text', true, true)).toString()).toBe('a/b 21.5\n');
  });
});

describe('help lists the MQTT 5 options', () => {
  it.each([
    ['pub', ['-V, --protocol-version 5|311|31', '-D, --property COMMAND PROPERTY VALUE']],
    ['sub', ['-V, --protocol-version 5|311|31', '-D, --property COMMAND PROPERTY VALUE', '--no-local', '--retain-as-published', '--retain-handling 0|1|2']],
    ['test', ['-V, --protocol-version 5|311|31', '-D, --property COMMAND PROPERTY VALUE']],
    ['bench', ['-V, --protocol-version 5|311|31']],
  ])('%s --help', async (command, options) => {
    const r = await runInProcess([command, '--help']);
    expect(r.code).toBe(0);
    // A long option and its value may take the whole column: the help then goes on the next line.
    for (const o of options) expect(r.stdout).toMatch(new RegExp(`^ {2,6}${o.replace(/[|.]/g, '\\$&')}\\s`, 'm'));
  });
});

describe('MQTT 5 failure lines', () => {
  const config = configOf('sub', ['-V', '5', '-L', 'mqtt://user:pw@broker.example:1883']);

  it('a server DISCONNECT: where, the reason code, its name, the reason string and the server reference; no credentials', () => {
    const err = new ServerDisconnectError(0x9c, { name: 'Use another server', reasonString: 'maintenance', serverReference: 'other:1883' });
    expect(runFailure(err, config)).toBe('the broker at mqtt://broker.example:1883 disconnected: Use another server (DISCONNECT reason code 0x9c): "maintenance" (server reference "other:1883")');
  });

  it('a refused publish: the topic, the reason code, its name and the reason string', () => {
    const err = new PublishError('ro/x', 0x97, { name: 'Quota exceeded', reasonString: 'slow down' });
    expect(runFailure(err, config)).toBe('publish to "ro/x" refused: Quota exceeded (PUBACK/PUBREC reason code 0x97): "slow down"');
  });
});
