/** `mqttwire test` (the old mqtt_test loop) and `mqttwire bench`, against aedes and the embedded broker. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { startAedes, type AedesHandle } from '../helpers/aedes.js';
import { killAllCli, runCli, startCli, TEST_TIMEOUT_MS } from './cli.js';

let broker: AedesHandle;
beforeAll(async () => {
  broker = await startAedes();
});
afterAll(async () => {
  killAllCli();
  await broker?.close();
});

describe('mqttwire test', () => {
  it('publishes the start message and a counter to test/1, prints test/2, and exits 0 on "quit"', async () => {
    const client = await connect(broker.url);
    try {
      const counter = await client.subscribe('test/1', { qos: 0 });
      const run = startCli(['test', '-L', broker.url, '--interval', '50', '-i', 'cli-test-loop', '--will-topic', 'will/test-loop']);
      const seen: string[] = [];
      for await (const m of counter) {
        seen.push(m.text());
        if (seen.length === 4) break;
      }
      expect(seen).toEqual(['*** mqttwire test start ***', '*** mqttwire test message: 0', '*** mqttwire test message: 1', '*** mqttwire test message: 2']);
      await client.publish('test/2', 'hello', { qos: 1 });
      await run.waitFor('stdout', /test\/2 hello\n/);
      await client.publish('test/2', 'quit', { qos: 1 });
      const r = await run.done;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('test/2 hello\ntest/2 quit\n');
      expect(r.stderr).toContain(`mqttwire test: broker ${broker.url}\n`);
      expect(r.stderr).toMatch(/mqttwire test: "quit" received on test\/2 after \d+ counter messages\n$/);
      // A clean end: DISCONNECT, so the will is not published.
      expect((await broker.waitFor('clientDisconnect', (e) => e.clientId === 'cli-test-loop')).sentDisconnect).toBe(true);
      expect(broker.events.some((e) => e.type === 'publish' && e.topic === 'will/test-loop')).toBe(false);
    } finally {
      await client.end();
    }
  }, TEST_TIMEOUT_MS);

  it('with no broker given, starts an embedded one, says so, and still ends on "quit"', async () => {
    const run = startCli(['test', '--interval', '50']);
    const [, url] = (await run.waitFor('stderr', /started an embedded aedes broker at (mqtt:\/\/\S+)\n/)) as [string, string];
    await run.waitFor('stderr', /publishing to test\/1 every 50 ms; publish "quit" to test\/2 to stop/);
    const client = await connect(url);
    try {
      await client.publish('test/2', 'quit', { qos: 1 });
    } finally {
      await client.end();
    }
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('test/2 quit\n');
  }, TEST_TIMEOUT_MS);
});

describe('mqttwire bench', () => {
  const row = (table: string, label: string): string[] => {
    const line = table.split('\n').find((l) => l.trimStart().startsWith(label));
    return line === undefined ? [] : line.trim().slice(label.length).trim().split(/\s+/);
  };

  it('200 messages at QoS 1 from 2 clients: a table with throughput, latency percentiles and zero loss', async () => {
    const r = await runCli(['bench', '-L', broker.url, '-C', '200', '-q', '1', '--clients', '2', '-W', '30']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`mqttwire bench: broker ${broker.url}\n`); // not a terminal: no progress line
    expect(r.stdout).toContain('200 messages at QoS 1, 2 publishers, 1 subscriber, 64-byte payloads');
    expect(row(r.stdout, 'published')[0]).toBe('200');
    expect(row(r.stdout, 'received')[0]).toBe('200');
    expect(row(r.stdout, 'lost')).toEqual(['0']);
    expect(row(r.stdout, 'duplicates')).toEqual(['0']);
    expect(row(r.stdout, 'latency ms')).toEqual(['min', 'p50', 'p90', 'p99', 'max']);
    const lines = r.stdout.split('\n');
    const values = (lines[lines.findIndex((l) => l.includes('latency ms')) + 1] ?? '').trim().split(/\s+/).map(Number);
    expect(values).toHaveLength(5);
    // Five numbers, in order, none longer than the run itself (its -W bound).
    expect(values.every((v) => Number.isFinite(v) && v >= 0 && v < 30_000)).toBe(true);
    expect(values).toEqual([...values].sort((a, b) => a - b));
  }, TEST_TIMEOUT_MS);

  it('with no broker given, runs against the embedded broker (QoS 0, 2 subscribers)', async () => {
    const r = await runCli(['bench', '-C', '200', '--subscribers', '2', '-W', '30']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^mqttwire bench: no broker given: started an embedded aedes broker at mqtt:\/\/127\.0\.0\.1:\d+\n$/);
    expect(row(r.stdout, 'received')[0]).toBe('400');
    expect(row(r.stdout, 'lost')).toEqual(['0']);
  }, TEST_TIMEOUT_MS);
});
