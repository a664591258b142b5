import type { MqttClient, Subscription } from '../index.js';
import { parseInteger, parseQos, parseSeconds, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import type { Command } from './command.js';
import {
  BENCH_CONNECTION_OPTIONS,
  checkTopicName,
  CliError,
  connectClient,
  connectionConfig,
  GENERAL,
  Interrupted,
  resolveBroker,
  runFailure,
  type ConnectionConfig,
} from './connection.js';
import { formatNumber, onInterrupt, sleep, StatusLine, type Context } from './io.js';

const BENCH_OPTIONS: OptionSpec[] = [
  { long: 'count', short: 'C', value: 'N', help: 'messages to publish in all (default 1000)' },
  { long: 'clients', value: 'N', help: 'publishing clients, sharing the messages (default 1)' },
  { long: 'subscribers', value: 'N', help: 'subscribing clients, each receiving every message (default 1)' },
  { long: 'qos', short: 'q', value: '0|1|2', help: 'QoS of the publishes and subscriptions (default 0)' },
  { long: 'size', short: 's', value: 'BYTES', help: `payload size, at least ${16} (default 64)` },
  { long: 'rate', value: 'N', help: 'messages per second in all (default 0: as fast as the broker takes them)' },
  { long: 'inflight', value: 'N', help: 'publishes in flight per client (default 20)' },
  { long: 'topic', short: 't', value: 'PREFIX', help: 'topic prefix; client k publishes to PREFIX/k (default mqttwire/bench/<random>)' },
  { long: 'id', short: 'i', value: 'PREFIX', help: 'client identifier prefix (default mqttwire-bench-<random>-)' },
  { long: 'timeout', short: 'W', value: 'SECONDS', help: 'give up after this long (default 60)' },
];

export const benchCommand: Command = {
  name: 'bench',
  options: [...BENCH_OPTIONS, ...BENCH_CONNECTION_OPTIONS, ...GENERAL],
  maxPositionals: 0,
  help: {
    usage: 'mqttwire bench [-C N] [-q QOS] [--clients N] [--subscribers N] [options]',
    description: [
      'Publish N messages at QoS q from C clients while S subscribers count them, then print a table of',
      'throughput, latency percentiles (send time is in each payload) and losses on stdout.',
      'A live progress line is shown on stderr when it is a terminal. The run is bounded by -C and -W.',
      'With no -L/--url or -H/--host an embedded broker is started in this process (needs "aedes").',
      'Exit status 1 if a client fails or publishing does not finish within -W; losses are reported, not fatal.',
    ],
    groups: [
      { title: 'Benchmark', options: BENCH_OPTIONS },
      { title: 'Connection', options: BENCH_CONNECTION_OPTIONS },
      { title: 'General', options: GENERAL },
    ],
    examples: [
      'mqttwire bench                                     # 1000 messages, QoS 0, embedded broker',
      'mqttwire bench -L mqtt://broker:1883 -C 100000 -q 1 --clients 8 --subscribers 2',
      'mqttwire bench -C 6000 --rate 100 -s 1024           # 60 s at 100 msg/s, 1 KiB payloads',
    ],
  },
  run: bench,
};

/** Payload header: float64 send time (performance.now(), same process), uint32 publisher, uint32 sequence. */
const HEADER = 16;
/** After the last publish, how long the subscribers may stay silent before the rest counts as lost. */
const DRAIN_IDLE_MS = 2000;

interface Tally {
  received: number;
  duplicates: number;
  outOfOrder: number;
  foreign: number;
  lastAt: number;
  /** One bit per message, per subscriber: seen already. */
  seen: Uint8Array;
  /** Last sequence seen from each publisher. */
  lastSeq: Int32Array;
}

async function bench(args: ParsedArgs, ctx: Context): Promise<number> {
  const total = parseInteger(args.string('count'), '-C/--count', 1, 100_000_000, 1000);
  const publishers = parseInteger(args.string('clients'), '--clients', 1, 10_000, 1);
  const subscribers = parseInteger(args.string('subscribers'), '--subscribers', 0, 10_000, 1);
  const qos = parseQos(args.string('qos'), '-q/--qos');
  const size = parseInteger(args.string('size'), '-s/--size', HEADER, 256 * 1024 * 1024, 64);
  const rate = parseInteger(args.string('rate'), '--rate', 0, 100_000_000, 0);
  const inflight = parseInteger(args.string('inflight'), '--inflight', 1, 65535, 20);
  const timeoutMs = parseSeconds(args.string('timeout'), '-W/--timeout', 60_000);
  if (publishers > total) throw new UsageError(`--clients ${publishers} is more than -C ${total} messages`);
  const runId = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('');
  const prefix = args.string('topic') ?? `mqttwire/bench/${runId}`;
  checkTopicName(`${prefix}/0`, '-t/--topic');
  const idPrefix = args.string('id') ?? `mqttwire-bench-${runId}-`;

  const broker = await resolveBroker(connectionConfig(args, ctx), ctx);
  const config = broker.config;
  const clients: MqttClient[] = [];
  const abort = new AbortController();
  let interrupted = false;
  const removeInterrupt = onInterrupt(() => {
    interrupted = true;
    abort.abort();
  });
  const status = new StatusLine(ctx.stderr, ctx.stderrIsTTY);
  try {
    const connectAll = (role: string, n: number): Promise<MqttClient[]> =>
      Promise.all(
        Array.from({ length: n }, async (_, k) => {
          const c = await connectClient(withClient(config, `${idPrefix}${role}${k}`, inflight), abort.signal);
          clients.push(c);
          return c;
        }),
      );
    const subs = await connectAll('sub', subscribers);
    const subscriptions = await Promise.all(subs.map((c) => c.subscribe(`${prefix}/#`, { qos, highWaterMark: 10_000 })));
    const pubs = await connectAll('pub', publishers);

    const tallies: Tally[] = subs.map(() => ({
      received: 0, duplicates: 0, outOfOrder: 0, foreign: 0, lastAt: 0,
      seen: new Uint8Array(Math.ceil(total / 8)),
      lastSeq: new Int32Array(publishers).fill(-1),
    }));
    const latencies = new Float64Array(total * subscribers);
    let latencyCount = 0;
    const share = (k: number): number => Math.floor(total / publishers) + (k < total % publishers ? 1 : 0);
    const firstIndex = (k: number): number => k * Math.floor(total / publishers) + Math.min(k, total % publishers);

    let published = 0;
    let lastReceiveAt = 0;
    const started = performance.now();
    const consume = async (subscription: Subscription, tally: Tally): Promise<void> => {
      for (;;) {
        const next = await subscription.next();
        if (next.done) return;
        const now = performance.now();
        const p = next.value.payload;
        if (p.length < HEADER) {
          tally.foreign++;
          continue;
        }
        const view = new DataView(p.buffer, p.byteOffset, HEADER);
        const publisher = view.getUint32(8);
        const seq = view.getUint32(12);
        if (publisher >= publishers || seq >= share(publisher)) {
          tally.foreign++;
          continue;
        }
        const index = firstIndex(publisher) + seq;
        const bit = 1 << (index & 7);
        if ((tally.seen[index >> 3] as number) & bit) {
          tally.duplicates++;
          continue;
        }
        tally.seen[index >> 3] = (tally.seen[index >> 3] as number) | bit;
        if (seq < (tally.lastSeq[publisher] as number)) tally.outOfOrder++;
        tally.lastSeq[publisher] = seq;
        tally.received++;
        tally.lastAt = now;
        lastReceiveAt = now;
        latencies[latencyCount++] = now - view.getFloat64(0);
      }
    };
    const consumers = subscriptions.map((s, j) => consume(s, tallies[j] as Tally));
    consumers.forEach((c) => c.catch(() => {}));
    const receivedAll = (): number => tallies.reduce((n, t) => n + t.received, 0);
    const expected = total * subscribers;

    status.start(() => {
      const secs = (performance.now() - started) / 1000;
      return `bench: published ${published}/${total}  received ${receivedAll()}/${expected}  ${formatNumber(published / Math.max(secs, 0.001))} msg/s  ${formatNumber(secs)} s`;
    });

    const deadline = started + timeoutMs;
    const timedOut = new AbortController();
    const deadlineTimer = setTimeout(() => timedOut.abort(), timeoutMs);
    const halted = new AbortController();
    const stopped = AbortSignal.any([abort.signal, timedOut.signal, halted.signal]);

    const whenStopped = new Promise<void>((resolve) => stopped.addEventListener('abort', () => resolve(), { once: true }));
    let publishFailure: unknown;
    const publishAll = async (client: MqttClient, k: number): Promise<void> => {
      try {
        await publishShare(client, k);
      } catch (err) {
        // One client failing stops them all; the first error is the one reported.
        if (!stopped.aborted) publishFailure ??= err;
        halted.abort();
      }
    };
    const publishShare = async (client: MqttClient, k: number): Promise<void> => {
      const n = share(k);
      const topic = `${prefix}/${k}`;
      const pending = new Set<Promise<void>>();
      // Message m of this client is due at start + m / (rate / publishers) seconds.
      const periodMs = rate > 0 ? (1000 * publishers) / rate : 0;
      for (let seq = 0; seq < n && !stopped.aborted; seq++) {
        if (periodMs > 0) {
          const wait = started + seq * periodMs - performance.now();
          if (wait > 0) await sleep(wait, stopped);
          if (stopped.aborted) break;
        }
        const payload = new Uint8Array(size);
        const view = new DataView(payload.buffer);
        view.setFloat64(0, performance.now());
        view.setUint32(8, k);
        view.setUint32(12, seq);
        const p: Promise<void> = client.publish(topic, payload, { qos }).then(() => {
          published++;
          pending.delete(p);
        });
        p.catch(() => {});
        pending.add(p);
        if (pending.size >= inflight) await Promise.race([...pending, whenStopped]);
      }
      // A stalled broker must not hold the run past -W: stop waiting for acknowledgements when stopped.
      await Promise.race([Promise.all(pending), whenStopped]);
    };
    await Promise.all(pubs.map((c, k) => publishAll(c, k)));
    const publishedAt = performance.now();

    // Wait for the subscribers: until everything arrived, they fall silent, or the deadline.
    while (publishFailure === undefined && !stopped.aborted && receivedAll() < expected) {
      const idleSince = Math.max(lastReceiveAt, publishedAt);
      if (performance.now() - idleSince > DRAIN_IDLE_MS || performance.now() > deadline) break;
      await sleep(20, stopped);
    }
    clearTimeout(deadlineTimer);
    status.stop();
    await Promise.all(clients.map((c) => c.end({ timeout: 1000 }).catch(() => {})));
    await Promise.all(consumers.map((c) => c.catch(() => {})));

    if (publishFailure !== undefined) {
      throw new CliError(`publishing failed after ${published} messages: ${runFailure(publishFailure, config)}`, 1, publishFailure);
    }
    const report = renderReport({
      broker: config.display,
      total, qos, publishers, subscribers, size,
      published,
      publishSeconds: (publishedAt - started) / 1000,
      received: receivedAll(),
      receiveSeconds: (Math.max(...tallies.map((t) => t.lastAt), started) - started) / 1000,
      expected,
      duplicates: tallies.reduce((n, t) => n + t.duplicates, 0),
      outOfOrder: tallies.reduce((n, t) => n + t.outOfOrder, 0),
      latencies: latencies.subarray(0, latencyCount),
    });
    await ctx.out.write(report);
    if (interrupted) throw new Interrupted();
    if (published < total) throw new CliError(`timed out after ${timeoutMs / 1000} s with ${published} of ${total} messages published (see -W)`);
    return 0;
  } catch (err) {
    if (interrupted && !(err instanceof CliError)) throw new Interrupted();
    if (err instanceof CliError || err instanceof Interrupted || err instanceof UsageError) throw err;
    throw new CliError(runFailure(err, config), 1, err);
  } finally {
    status.stop();
    removeInterrupt();
    for (const c of clients) c.destroy();
    await broker.close();
  }
}

function withClient(config: ConnectionConfig, clientId: string, inflightWindow: number): ConnectionConfig {
  return { ...config, options: { ...config.options, clientId, inflightWindow, clean: true } };
}

export interface BenchResult {
  broker: string;
  total: number;
  qos: number;
  publishers: number;
  subscribers: number;
  size: number;
  published: number;
  publishSeconds: number;
  received: number;
  receiveSeconds: number;
  expected: number;
  duplicates: number;
  outOfOrder: number;
  latencies: Float64Array;
}

/** The final table (stdout). */
export function renderReport(r: BenchResult): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const perSecond = (n: number, s: number): string => (s > 0 ? formatNumber(n / s) : '-');
  const row = (label: string, cells: string[]): string => `  ${label.padEnd(14)}${cells.map((c) => c.padStart(12)).join('')}`.trimEnd();
  const sorted = Float64Array.from(r.latencies).sort();
  const pct = (p: number): string => (sorted.length === 0 ? '-' : formatNumber(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number));
  const lost = Math.max(0, r.expected - r.received);
  return [
    `mqttwire bench: ${r.broker}`,
    `${plural(r.total, 'message')} at QoS ${r.qos}, ${plural(r.publishers, 'publisher')}, ${plural(r.subscribers, 'subscriber')}, ${r.size}-byte payloads`,
    '',
    row('', ['messages', 'seconds', 'msg/s']),
    row('published', [String(r.published), formatNumber(r.publishSeconds), perSecond(r.published, r.publishSeconds)]),
    row('received', [String(r.received), formatNumber(r.receiveSeconds), perSecond(r.received, r.receiveSeconds)]),
    row('expected', [String(r.expected)]),
    row('lost', [String(lost)]),
    row('duplicates', [String(r.duplicates)]),
    row('out of order', [String(r.outOfOrder)]),
    '',
    row('latency ms', ['min', 'p50', 'p90', 'p99', 'max']),
    row('', [
      sorted.length === 0 ? '-' : formatNumber(sorted[0] as number),
      pct(50),
      pct(90),
      pct(99),
      sorted.length === 0 ? '-' : formatNumber(sorted[sorted.length - 1] as number),
    ]),
    '',
  ].join('\n');
}
