/** pub and sub against an in-process aedes broker, each test on its own topics. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { startAedes, type AedesHandle } from '../helpers/aedes.js';
import { diagnostics, killAllCli, runCli, startCli, startSubscribed, TEST_TIMEOUT_MS, type CliRun } from './cli.js';

let broker: AedesHandle;
let url: string;
let dir: string;
beforeAll(async () => {
  broker = await startAedes();
  url = broker.url;
  dir = mkdtempSync(join(tmpdir(), 'mqttwire-cli-'));
});
afterAll(async () => {
  killAllCli();
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

type JsonLine = { topic: string; payload: string; qos: number; retain: boolean; encoding?: string };
const jsonLines = (stdout: string): JsonLine[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JsonLine)
    .sort((a, b) => a.topic.localeCompare(b.topic));

describe('pub and sub (aedes)', () => {
  it('round trip at QoS 0, 1 and 2: sub --format json sees each message at its QoS', async () => {
    const sub = await startSubscribed(['sub', '-L', url, '-t', 'rt/#', '-q', '2', '-C', '3', '--format', 'json']);
    const pubs = await Promise.all([0, 1, 2].map((q) => runCli(['pub', '-L', url, '-t', `rt/q${q}`, '-m', `hello at ${q}`, '-q', String(q)])));
    for (const p of pubs) expect(p, p.stderr).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const r = await sub.done;
    expect(r.code, r.stderr).toBe(0);
    expect(jsonLines(r.stdout)).toEqual([0, 1, 2].map((q) => ({ topic: `rt/q${q}`, payload: `hello at ${q}`, qos: q, retain: false })));
  }, TEST_TIMEOUT_MS);

  it('-v prints "topic payload"; -s publishes standard input as one message, -n an empty one', async () => {
    const sub = await startSubscribed(['sub', '-L', url, '-t', 'src/+', '-v', '-C', '2']);
    const [stdin, empty] = await Promise.all([
      runCli(['pub', '-L', url, '-t', 'src/stdin', '-s', '-q', '1'], { input: 'two\nlines' }),
      runCli(['pub', '-L', url, '-t', 'src/null', '-n', '-q', '1']),
    ]);
    expect(stdin.code, stdin.stderr).toBe(0);
    expect(empty.code, empty.stderr).toBe(0);
    const r = await sub.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('src/stdin two\nlines\n');
    expect(r.stdout).toContain('src/null \n');
  }, TEST_TIMEOUT_MS);

  it('retained messages (text and a binary -f file) are seen by a later sub; --retained-only stops at the first live one', async () => {
    const bin = new Uint8Array([0xff, 0xfe, 0x00, 0x41]);
    writeFileSync(join(dir, 'bin'), bin);
    const [a, b] = await Promise.all([
      runCli(['pub', '-L', url, '-t', 'keep/text', '-m', 'kept', '-r', '-q', '1']),
      runCli(['pub', '-L', url, '-t', 'keep/bin', '-f', join(dir, 'bin'), '-r', '-q', '1']),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);

    const later = startCli(['sub', '-L', url, '-t', 'keep/#', '-q', '1', '--retained-only', '--format', 'json']);
    await later.waitFor('stdout', /^(.*\n){2}/); // both retained messages printed
    const live = await runCli(['pub', '-L', url, '-t', 'keep/text', '-m', 'live']);
    expect(live.code).toBe(0);
    const r = await later.done;
    expect(r.code, r.stderr).toBe(0);
    expect(jsonLines(r.stdout)).toEqual([
      { topic: 'keep/bin', payload: Buffer.from(bin).toString('base64'), encoding: 'base64', qos: 1, retain: true },
      { topic: 'keep/text', payload: 'kept', qos: 1, retain: true },
    ]);
  }, TEST_TIMEOUT_MS);

  it('-W ends a quiet sub with 0, or with 1 when -C N messages did not all arrive', async () => {
    const [quiet, short] = await Promise.all([
      runCli(['sub', '-L', url, '-t', 'nothing/here', '-W', '0.5']),
      runCli(['sub', '-L', url, '-t', 'nothing/here', '-W', '0.5', '-C', '2']),
    ]);
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(short.code).toBe(1);
    expect(short.stderr).toBe('mqttwire sub: timed out after 0.5 s with 0 of 2 messages\n');
  }, TEST_TIMEOUT_MS);

  it('-c -i resumes a persistent session and prints the messages queued while away', async () => {
    const first = await runCli(['sub', '-L', url, '-i', 'cli-persist', '-c', '-q', '1', '-t', 'persist/+', '-W', '0.2']);
    expect(first).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const publisher = await connect(url);
    try {
      for (const n of [1, 2, 3]) await publisher.publish(`persist/${n}`, `queued ${n}`, { qos: 1 });
    } finally {
      await publisher.end();
    }
    // The broker sends these right after CONNACK, before any SUBSCRIBE of this run.
    const again = await runCli(['sub', '-L', url, '-i', 'cli-persist', '-c', '-q', '1', '-t', 'persist/+', '-v', '-C', '3']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('persist/1 queued 1\npersist/2 queued 2\npersist/3 queued 3\n');
  }, TEST_TIMEOUT_MS);

  it('pub -l delivers 10,000 lines in full and in order, skipping blank lines', async () => {
    const n = 10_000;
    const lines = Array.from({ length: n }, (_, i) => `line ${i}`);
    const input = lines.map((l, i) => (i % 1000 === 0 ? `${l}\n\n` : `${l}\n`)).join('');
    const client = await connect(url);
    try {
      const sub = await client.subscribe('lines/log', { qos: 1 });
      const run = startCli(['pub', '-L', url, '-t', 'lines/log', '-l'], { input });
      const got: string[] = [];
      const timer = setTimeout(() => client.destroy(new Error(`only ${got.length} of ${n} lines arrived in time`)), 30_000);
      try {
        for await (const m of sub) {
          got.push(m.text());
          if (got.length === n) break;
        }
      } finally {
        clearTimeout(timer);
      }
      expect(got).toEqual(lines);
      const r = await run.done;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe(''); // stderr is not a terminal: no progress line, no summary
    } finally {
      await client.end();
    }
  }, TEST_TIMEOUT_MS);

  it('SIGINT exits 0 after DISCONNECT, so the will is not published (and SIGKILL, as a control, gets it published)', async () => {
    const watcher = await connect(url);
    try {
      const wills = await watcher.subscribe('will/sigint', { qos: 1 });
      const sub = await startSubscribed(['sub', '-L', url, '-t', 'quiet', '-i', 'cli-sigint', '--will-topic', 'will/sigint', '--will-message', 'gone', '--will-qos', '1']);
      sub.kill('SIGINT');
      const r = await sub.done;
      expect(r.code, r.stderr).toBe(0);
      expect(diagnostics(r.stderr)).toEqual([]);
      expect(r.stderr).toMatch(/> DISCONNECT/);
      const gone = await broker.waitFor('clientDisconnect', (e) => e.clientId === 'cli-sigint');
      expect(gone.sentDisconnect).toBe(true);
      // The broker decides about the will while it handles that client's end, which it has reported: a
      // will would be on its way to the watcher before a marker published now.
      await watcher.publish('will/sigint', 'marker', { qos: 1 });
      expect((await wills.next()).value?.text()).toBe('marker');
      expect(broker.events.some((e) => e.type === 'publish' && e.topic === 'will/sigint' && e.payload.toString() === 'gone')).toBe(false);

      const killed = await startSubscribed(['sub', '-L', url, '-t', 'quiet', '-i', 'cli-sigkill', '--will-topic', 'will/sigint', '--will-message', 'gone']);
      killed.kill('SIGKILL');
      const will = await wills.next();
      expect(will.value?.text()).toBe('gone');
    } finally {
      await watcher.end();
    }
  }, TEST_TIMEOUT_MS);

  it('a reader that goes away (EPIPE, as in `sub | head -1`) ends sub quietly with 0', async () => {
    const sub: CliRun = await startSubscribed(['sub', '-L', url, '-t', 'epipe']);
    sub.child.stdout?.once('data', () => sub.child.stdout?.destroy());
    const publisher = await connect(url);
    try {
      for (let i = 0; i < 300 && sub.child.exitCode === null; i++) {
        await publisher.publish('epipe', `message ${i}\n`.repeat(100));
        await new Promise((res) => setTimeout(res, 20));
      }
    } finally {
      await publisher.end();
    }
    const r = await sub.done;
    expect(r.code).toBe(0);
    expect(diagnostics(r.stderr)).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
