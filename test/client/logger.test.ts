/**
 * The packet log with several clients in one process (issue 11, item 11): every line names its
 * client, stderr lines carry the time too, and MQTTWIRE_DEBUG takes the usual spellings of on.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError, MqttClient } from '../../src/index.js';
import { resolveLogger } from '../../src/logger.js';
import { PacketLog, useHarness } from './helpers.js';

const h = useHarness();
const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

describe('the packet log names its client', () => {
  const savedEnv = process.env.MQTTWIRE_DEBUG;
  afterEach(() => {
    vi.restoreAllMocks();
    if (savedEnv === undefined) delete process.env.MQTTWIRE_DEBUG;
    else process.env.MQTTWIRE_DEBUG = savedEnv;
  });

  it('one logger for two clients: each line starts with the client id, and no two lines of a publish are the same', async () => {
    const b = await h.aedes();
    const log = new PacketLog();
    const one = await h.connected(b.url, { clientId: 'one', logger: log.logger });
    const two = await h.connected(b.url, { clientId: 'two', logger: log.logger });
    await one.publish('same/topic', 'x', { qos: 1 });
    await two.publish('same/topic', 'x', { qos: 1 });
    const publishes = log.raw.filter((l) => l.includes('> PUBLISH'));
    expect(publishes).toEqual(['one > PUBLISH topic="same/topic" qos=1 id=1 payload=1B', 'two > PUBLISH topic="same/topic" qos=1 id=1 payload=1B']);
    expect(log.raw.every((l) => l.startsWith('one ') || l.startsWith('two '))).toBe(true);
    expect(log.raw.filter((l) => l.startsWith('one ') && l.includes('connected (sessionPresent=false)'))).toHaveLength(1);
  });

  it('debug: true prints "mqttwire <ISO time> <client id> <line>" on stderr', async () => {
    const b = await h.aedes();
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => void lines.push(String(line)));
    const one = await h.connected(b.url, { clientId: 'dbg-one', debug: true });
    const two = await h.connected(b.url, { clientId: 'dbg-two', debug: true });
    await Promise.all([one.publish('t', 'x', { qos: 1 }), two.publish('t', 'x', { qos: 1 })]);
    for (const id of ['dbg-one', 'dbg-two']) {
      expect(lines.filter((l) => l.includes(' > PUBLISH ') && l.includes(` ${id} `)), id).toEqual([
        expect.stringMatching(new RegExp(`^mqttwire ${ISO} ${id} > PUBLISH topic="t" qos=1 id=1 payload=1B$`)),
      ]);
    }
    expect(lines.every((l) => new RegExp(`^mqttwire ${ISO} dbg-(one|two) `).test(l))).toBe(true);
  });

  it('an empty client id (the broker assigns one) shows as "-"', () => {
    const got: string[] = [];
    resolveLogger({ logger: (l: string) => got.push(l) }, '')?.('x');
    expect(got).toEqual(['- x']);
  });

  it.each([
    ['1', true], ['true', true], ['TRUE', true], ['True', true], ['yes', true], ['YES', true], ['on', true], ['On', true], [' on ', true],
    ['0', false], ['false', false], ['FALSE', false], ['no', false], ['off', false], ['', false], ['nope', false],
  ])('MQTTWIRE_DEBUG=%j turns stderr logging %s', (value, on) => {
    process.env.MQTTWIRE_DEBUG = value;
    const log = resolveLogger({}, 'env');
    expect(log !== undefined).toBe(on);
    if (!log) return;
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => void lines.push(String(line)));
    log('> PINGREQ');
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^mqttwire ${ISO} env > PINGREQ$`))]);
  });

  it('a logger that is not a function, or a debug that is not a boolean, is refused', () => {
    expect(() => new MqttClient('mqtt://127.0.0.1:1', { logger: 'console' as never })).toThrow(InvalidArgumentError);
    expect(() => new MqttClient('mqtt://127.0.0.1:1', { logger: 'console' as never })).toThrow(/^logger must be a function taking one line, got the string "console"$/);
    expect(() => new MqttClient('mqtt://127.0.0.1:1', { debug: 'yes' as never })).toThrow(/^debug must be true or false, got the string "yes"$/);
  });
});
