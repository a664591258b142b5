/**
 * In-process checks of the CLI's pure parts (parser, option validation, output formats). The
 * behaviour as a program is tested through child processes in the other files of this directory.
 */
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError, type OptionSpec } from '../../src/cli/args.js';
import { renderReport } from '../../src/cli/bench.js';
import { formatMessage } from '../../src/cli/sub.js';
import { runInProcess } from './cli.js';

const specs: OptionSpec[] = [
  { long: 'topic', short: 't', value: 'T', repeat: true, help: '' },
  { long: 'qos', short: 'q', value: 'Q', help: '' },
  { long: 'retain', short: 'r', help: '' },
  { long: 'verbose', short: 'v', help: '' },
  { long: 'help', short: 'h', help: '' },
  { long: 'no-clean', short: 'c', help: '' },
];

describe('parseArgs', () => {
  it('takes long, long=, short, attached and grouped forms', () => {
    const a = parseArgs(['--topic', 'a', '--topic=b', '-t', 'c', '-td', '-rvq1', '--no-clean', 'pos', '--', '-x'], specs);
    expect(a.strings('topic')).toEqual(['a', 'b', 'c', 'd']);
    expect(a.string('qos')).toBe('1');
    expect(a.flag('retain') && a.flag('verbose') && a.flag('no-clean')).toBe(true);
    expect(a.flag('help')).toBe(false);
    expect(a.positionals).toEqual(['pos', '-x']);
  });

  it('keeps the last value of a non-repeatable option, and values that look like numbers or dashes', () => {
    const a = parseArgs(['-q', '0', '-q', '2', '-t', '-', '-t', '-5'], specs);
    expect(a.string('qos')).toBe('2');
    expect(a.strings('topic')).toEqual(['-', '-5']);
  });

  it.each([
    [['--bogus'], /unknown option --bogus/],
    [['--topi', 'x'], /unknown option --topi \(did you mean --topic\?\)/],
    [['-x'], /unknown option -x/],
    [['-rx'], /unknown option -x in -rx/],
    [['-t'], /-t\/--topic needs a value/],
    [['-t', '--retain'], /-t\/--topic needs a value/],
    [['--retain=yes'], /--retain takes no value/],
    [['-h', 'broker.local'], /-h is --help here/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseArgs(argv, specs)).toThrow(UsageError);
    expect(() => parseArgs(argv, specs)).toThrow(message);
  });
});

describe('usage errors never show a password (in process)', () => {
  it.each([
    ['pub', '-t', 'a', '-m', 'x', '-L', 'mqtt://alice:s3cr3t@127.0.0.1:99999'],
    ['pub', '-t', 'a', '-m', 'x', '-L', 'foo://alice:s3cr3t@127.0.0.1:1883'],
    ['sub', '-t', 'a', '-L', 'http://alice:s3cr3t@127.0.0.1:1883'],
    ['sub', '-t', 'a', '-L', 'mqtt://alice:s3cr3t@'],
    ['sub', '-t', 'a', '-L', 'mqtt://alice:s3cr3t@127.0.0.1:abc'],
    ['test', 'mqtt://alice:s3cr3t@127.0.0.1:99999'],
  ])('%s %s ... %s: exit 2, the reason, and *** for the user info', async (...argv) => {
    const r = await runInProcess(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad (URL|host) "[a-z]+:\/\/\*\*\*@/);
    expect(r.stderr).not.toContain('s3cr3t');
    expect(r.stderr).not.toContain('alice');
  });
});

describe('usage errors (in process)', () => {
  it.each([
    [['sub', '-t', 'a', '--retained-onyl'], /unknown option --retained-onyl \(did you mean --retained-only\?\)/],
    [['pub', '-t', 'a'], /missing message/],
    [['pub', '-t', 'a', '-m', 'x', '-n'], /give only one of -m, -f, -s, -l, -n/],
    [['pub', '-t', 'a', '-m', 'x', '-L', 'mqtt://exa mple'], /bad URL/],
    [['pub', '-t', 'a', '-m', 'x', '-L', 'mqtt://h', '-p', '1884'], /either as -L\/--url or as -H\/--host/],
    [['pub', '-t', 'a', '-m', 'x', '-p', '70000'], /-p\/--port must be a whole number from 1 to 65535/],
    [['sub', '-t', 'a', '-c'], /-c\/--no-clean needs a client id/],
    [['pub', '-t', 'a/#', '-m', 'x'], /not a valid topic name \(wildcards/],
    [['sub', '-t', 'a/b#'], /not a valid topic filter/],
    [['sub', '-t', 'a', '--format', 'xml'], /--format must be text or json/],
    [['sub', '-t', 'a', '-C', '0'], /-C\/--count must be a whole number from 1/],
    [['sub', '-t', 'a', '-W', 'soon'], /-W\/--timeout must be a number of seconds/],
    [['pub', '-t', 'a', '-m', 'x', '-k', '70000'], /-k\/--keepalive/],
    [['pub', '-t', 'a', '-m', 'x', '-P', 'secret'], /-P\/--password needs -u\/--username/],
    [['pub', '-t', 'a', '-m', 'x', '--will-qos', '1'], /--will-qos needs --will-topic/],
    [['pub', '-t', 'a', '-m', 'x', '--will-topic', 'w', '--will-qos', '3'], /QoS must be 0, 1 or 2, got "3" \(--will-qos\)/],
    [['pub', '-t', 'a', '-m', 'x', '--cafile', '/nonexistent/ca.pem'], /cannot read --cafile \/nonexistent\/ca.pem: ENOENT/],
    [['pub', '-t', 'a', '-m', 'x', '-L', 'mqtt://h', '--insecure'], /--insecure needs a TLS URL \(mqtts:\/\/ or wss:\/\/\)/],
    [['pub', '-t', 'a', '-f', '/nonexistent/payload'], /cannot read -f \/nonexistent\/payload: ENOENT/],
    [['pub', '-t', 'a', '-m', 'two', 'words'], /unexpected argument "words" \(quote a message/],
    [['test', '--interval', '0'], /--interval must be a whole number from 1/],
    [['test', 'host-a', 'host-b'], /unexpected argument "host-b"/],
    [['bench', '-s', '8'], /-s\/--size must be a whole number from 16/],
    [['bench', '-C', '2', '--clients', '3'], /--clients 3 is more than -C 2 messages/],
    [['bench', '--will-topic', 'w'], /unknown option --will-topic/],
  ])('%j', async (argv, message) => {
    const r = await runInProcess(argv);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(`try 'mqttwire ${argv[0]} --help'`);
  });

  it('MQTTWIRE_PASSWORD alone (no user name) is ignored rather than refused', async () => {
    // -P without -u is an error, but a password in the environment applies only when there is a user.
    const r = await runInProcess(['pub', '-t', 'a', '-m', 'x', '--will-topic', 'w', '--will-qos', '3'], { MQTTWIRE_PASSWORD: 'pw' });
    expect(r.stderr).toMatch(/^mqttwire pub: QoS must be 0, 1 or 2, got "3" \(--will-qos\)$/m); // checked after the password
  });
});

describe('help (in process)', () => {
  it.each(['pub', 'sub', 'test', 'bench'])('%s --help: usage, every option, examples', async (command) => {
    const r = await runInProcess([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^Usage: mqttwire ${command} `));
    expect(r.stdout).toMatch(/^ {2}-L, --url URL +broker URL/m);
    expect(r.stdout).toMatch(/^ {6}--connect-timeout SECONDS +give up connecting/m);
    expect(r.stdout).toMatch(new RegExp(`Examples:\\n {2}(\\S+ \\| )?mqttwire ${command === 'pub' ? 'pub' : command}`));
    expect(r.stdout).toMatch(/Exit status: 0 success, 1 connection or protocol failure, 2 usage error/);
  });

  it('help <command> and --help anywhere on the line', async () => {
    expect((await runInProcess(['help', 'sub'])).stdout).toMatch(/^Usage: mqttwire sub /);
    expect((await runInProcess(['sub', '-t', 'x', '--help'])).stdout).toMatch(/^Usage: mqttwire sub /);
    expect((await runInProcess(['test', '--help'])).stdout).toMatch(/test\/1[\s\S]*test\/2[\s\S]*quit/);
  });

  it('no command: the overview on stderr and 2; an unknown command: 2 with the list', async () => {
    const none = await runInProcess([]);
    expect(none).toMatchObject({ code: 2, stdout: '' });
    expect(none.stderr).toContain('Usage: mqttwire <command>');
    const unknown = await runInProcess(['publsh', '-t', 'a']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(`mqttwire: unknown command "publsh" (commands: pub, sub, test, bench)\ntry 'mqttwire --help'\n`);
    expect((await runInProcess(['-t', 'a'])).stderr).toMatch(/^mqttwire: expected a command before -t/);
  });
});

describe('output formats', () => {
  const msg = (payload: Uint8Array, retain = false): { topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean } => ({ topic: 'a/b', payload, qos: 1, retain });

  it('text: the payload bytes verbatim, -v prefixes the topic', () => {
    expect(Buffer.from(formatMessage(msg(Buffer.from('hé')), 'text', false)).toString()).toBe('hé\n');
    expect(Buffer.from(formatMessage(msg(Buffer.from('hé')), 'text', true)).toString()).toBe('a/b hé\n');
    expect([...formatMessage(msg(new Uint8Array([0xff, 0])), 'text', false)]).toEqual([0xff, 0, 0x0a]);
  });

  it('json: text when the payload is UTF-8, base64 with an encoding field otherwise', () => {
    expect(JSON.parse(Buffer.from(formatMessage(msg(Buffer.from('{"t":1}'), true), 'json', false)).toString())).toEqual({ topic: 'a/b', payload: '{"t":1}', qos: 1, retain: true });
    expect(JSON.parse(Buffer.from(formatMessage(msg(new Uint8Array([0xc3, 0x28])), 'json', false)).toString())).toEqual({
      topic: 'a/b', payload: 'wyg=', encoding: 'base64', qos: 1, retain: false,
    });
  });

  it('bench table: counts, losses and latency percentiles', () => {
    const latencies = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    const table = renderReport({
      broker: 'mqtt://b:1883', total: 100, qos: 1, publishers: 2, subscribers: 1, size: 64, published: 100, publishSeconds: 0.5,
      received: 98, receiveSeconds: 0.5, expected: 100, duplicates: 1, outOfOrder: 0, latencies,
    });
    expect(table).toMatch(/^ {2}published +100 +0\.500 +200$/m);
    expect(table).toMatch(/^ {2}lost +2$/m);
    expect(table).toMatch(/^ {2}duplicates +1$/m);
    expect(table).toMatch(/^ {2}latency ms +min +p50 +p90 +p99 +max\n +1\.00 +50\.0 +90\.0 +99\.0 +100$/m);
  });
});
