/**
 * The client side of `npm run soak` (started by bench/soak.ts), in a process of its own so that
 * its heap, handles and CPU are the client's alone:
 *
 *   node --expose-gc bench/soak-worker.js <url> <client id> <topic prefix> <outstanding> <sample ms> [census ms]
 *
 * One client with a persistent session (clean: false) subscribes to `<prefix>q0`, `q1` and `q2` at
 * QoS 0, 1 and 2 and publishes to them without pause: per QoS, `outstanding` publishes are in
 * progress at any time, each followed by the next as soon as it settles. Payloads are
 * `<qos>:<seq>`. It prints `ready` once subscribed; every `sample ms` it prints `sample {json}` (heap after GC, RSS, active handles,
 * reconnects, counts). On a `stop` line on stdin it stops publishing, waits for every publish to
 * settle and for the QoS 1/2 messages to arrive (both bounded), ends the client and prints
 * `result {json}`: per QoS what was published, resolved, rejected (by error code), received,
 * lost and duplicated, and the handles left after end(). With `census ms`, it also takes a heap
 * census (bench/process-stats.ts) that long after the traffic started and another when told to
 * stop, and reports what grew between them, by constructor.
 *
 * mqttwire is loaded as bench/worker-imports.ts says: as it ships, or from src through tsx.
 */
import type { ClientOptions, MqttClient } from '../src/index.js';
import { activeResources, gcNow, startHeapDiff, type BreakdownEntry } from './process-stats.js';
import { loadMqttwire } from './worker-imports.js';

export type SoakQoS = 0 | 1 | 2;
const QOS: SoakQoS[] = [0, 1, 2];

/** How long the end of the run waits for publishes to settle, and then for messages to arrive. */
const SETTLE_MS = 60_000;
/** After everything arrived: a moment more for late duplicates. */
const LATE_DUPLICATES_MS = 1000;

export interface SoakSample {
  /** Seconds since the traffic started. */
  t: number;
  heapUsed: number;
  rss: number;
  external: number;
  /** Active resources by kind (process.getActiveResourcesInfo()). */
  resources: Record<string, number>;
  reconnects: number;
  inflight: number;
  queued: number;
  published: number;
  received: number;
  /** Process CPU since the previous sample, µs. */
  cpuUs: number;
}

export interface QosReport {
  qos: SoakQoS;
  published: number;
  resolved: number;
  /** Rejections by error code. */
  rejected: Record<string, number>;
  /** Distinct messages received. */
  received: number;
  /** Resolved publishes whose message never arrived (QoS 0: every published one that never arrived). */
  lost: number;
  /** Copies beyond the first, and how many of them carried the DUP flag. */
  duplicates: number;
  dupFlagged: number;
  /** Messages that arrived although their publish was rejected. */
  arrivedAfterRejection: number;
}

export interface SoakResult {
  qos: QosReport[];
  reconnects: number;
  /** Active resources before the client was made, and after end(). */
  resourcesBefore: Record<string, number>;
  resourcesAfterEnd: Record<string, number>;
  /** Publishes still unsettled, or QoS 1/2 messages still missing, when the bounded waits ran out. */
  unsettled: number;
  timedOutWaitingForMessages: boolean;
  errors: string[];
  /** With a census: what grew on the heap between it and the stop, largest first. */
  heapGrowth?: BreakdownEntry[];
}

/**
 * Per-sequence-number counts, 0 to 3 copies (2 bits each), in fixed chunks allocated as the
 * numbers grow: its memory is a byte per four messages, outside the JS heap, so it does not show
 * up in (or hide) the client's heap figures.
 */
class Counts {
  private static readonly CHUNK = 1 << 18;
  private readonly chunks: Uint8Array[] = [];

  get(seq: number): number {
    const chunk = this.chunks[Math.floor(seq / (Counts.CHUNK * 4))];
    if (!chunk) return 0;
    const i = seq % (Counts.CHUNK * 4);
    return ((chunk[i >> 2] as number) >> ((i & 3) * 2)) & 3;
  }

  /** Adds a copy (saturating at 3); returns the count before. */
  add(seq: number): number {
    const c = Math.floor(seq / (Counts.CHUNK * 4));
    while (this.chunks.length <= c) this.chunks.push(new Uint8Array(Counts.CHUNK));
    const chunk = this.chunks[c] as Uint8Array;
    const i = seq % (Counts.CHUNK * 4);
    const shift = (i & 3) * 2;
    const before = ((chunk[i >> 2] as number) >> shift) & 3;
    if (before < 3) chunk[i >> 2] = ((chunk[i >> 2] as number) & ~(3 << shift)) | ((before + 1) << shift);
    return before;
  }
}

/** What happened to one QoS's messages. */
class Stream {
  published = 0;
  resolved = 0;
  rejected: Record<string, number> = {};
  received = 0;
  duplicates = 0;
  dupFlagged = 0;
  /** 1: resolved, 2: rejected. */
  readonly outcome = new Counts();
  readonly copies = new Counts();

  constructor(readonly qos: SoakQoS) {}

  settled(seq: number, ok: boolean): void {
    if (ok) this.resolved++;
    this.outcome.add(seq);
    if (!ok) this.outcome.add(seq);
  }

  arrived(seq: number, dup: boolean): void {
    if (this.copies.add(seq) === 0) this.received++;
    else {
      this.duplicates++;
      if (dup) this.dupFlagged++;
    }
  }

  report(): QosReport {
    let lost = 0;
    let arrivedAfterRejection = 0;
    for (let seq = 0; seq < this.published; seq++) {
      const outcome = this.outcome.get(seq);
      const copies = this.copies.get(seq);
      if (copies === 0 && (outcome === 1 || this.qos === 0)) lost++;
      if (copies > 0 && outcome === 2) arrivedAfterRejection++;
    }
    return {
      qos: this.qos,
      published: this.published,
      resolved: this.resolved,
      rejected: this.rejected,
      received: this.received,
      lost,
      duplicates: this.duplicates,
      dupFlagged: this.dupFlagged,
      arrivedAfterRejection,
    };
  }

  /** Resolved QoS 1/2 publishes whose message has not arrived yet. */
  missing(): number {
    if (this.qos === 0) return 0;
    let n = 0;
    for (let seq = 0; seq < this.published; seq++) if (this.outcome.get(seq) === 1 && this.copies.get(seq) === 0) n++;
    return n;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `done()` holds (checked every 50 ms) or after `ms`; true when it held. */
async function waitUntil(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown';
}

async function main(argv: string[]): Promise<void> {
  const [url, clientId, prefix, outstandingText, sampleText, censusText] = argv;
  const outstanding = Number(outstandingText);
  const sampleMs = Number(sampleText);
  const censusMs = Number(censusText ?? 0);
  if (!url || !clientId || !prefix || !(outstanding > 0) || !(sampleMs > 0) || !(censusMs >= 0)) {
    throw new Error('usage: soak-worker.ts <url> <client id> <topic prefix> <outstanding> <sample ms> [census ms]');
  }
  const { MqttClient: Client } = await loadMqttwire();

  gcNow();
  const resourcesBefore = activeResources();
  const errors: string[] = [];
  const noteError = (what: string, err: unknown): void => {
    if (errors.length < 20) errors.push(`${what}: ${String(err)}`);
  };

  const options: ClientOptions = {
    clientId,
    clean: false,
    keepalive: 10,
    connectTimeout: 2000,
    // Publishes wait out every cut and broker restart; a rejection by timeout would be counted, not hidden.
    ackTimeout: 120_000,
    reconnect: { initialDelay: 10, maxDelay: 500, resetAfter: 100 },
    offlineQueueLimit: 100_000,
  };
  const client: MqttClient = new Client(url, options);
  await client.connect();
  const streams = QOS.map((q) => new Stream(q));
  const topic = (q: SoakQoS): string => `${prefix}q${q}`;
  const subscription = await client.subscribe({ [topic(0)]: { qos: 0 }, [topic(1)]: { qos: 1 }, [topic(2)]: { qos: 2 } });
  const reading = (async () => {
    for await (const msg of subscription) {
      const text = msg.text();
      const colon = text.indexOf(':');
      const q = Number(text.slice(0, colon));
      const seq = Number(text.slice(colon + 1));
      const stream = streams[q];
      if (!stream || !Number.isInteger(seq) || msg.topic !== topic(q as SoakQoS)) {
        noteError('foreign message', `${msg.topic} ${text}`);
        continue;
      }
      stream.arrived(seq, msg.dup);
    }
  })();
  reading.catch((err: unknown) => noteError('subscription', err));
  process.stdout.write('ready\n');

  // Publishing: per QoS, `outstanding` chains, each publishing the next as soon as the last settled.
  let stopping = false;
  let inProgress = 0;
  const chain = async (stream: Stream): Promise<void> => {
    while (!stopping) {
      const seq = stream.published++;
      inProgress++;
      try {
        await client.publish(topic(stream.qos), `${stream.qos}:${seq}`, { qos: stream.qos });
        stream.settled(seq, true);
      } catch (err) {
        const code = codeOf(err);
        stream.rejected[code] = (stream.rejected[code] ?? 0) + 1;
        stream.settled(seq, false);
        // A client that is closed for good will not come back: stop rather than spin.
        if (client.state === 'closed') {
          noteError('publish', err);
          stopping = true;
        }
      } finally {
        inProgress--;
      }
    }
  };
  const chains = streams.flatMap((s) => Array.from({ length: outstanding }, () => chain(s)));

  const started = performance.now();
  let heapDiff: ((top: number) => BreakdownEntry[]) | undefined;
  const censusTimer = censusMs > 0 ? setTimeout(() => (heapDiff = startHeapDiff()), censusMs) : undefined;
  let lastCpu = process.cpuUsage();
  const sampler = setInterval(() => {
    gcNow();
    const m = process.memoryUsage();
    const stats = client.stats();
    const cpu = process.cpuUsage(lastCpu);
    lastCpu = process.cpuUsage();
    const sample: SoakSample = {
      t: (performance.now() - started) / 1000,
      heapUsed: m.heapUsed,
      rss: m.rss,
      external: m.external,
      resources: activeResources(),
      reconnects: stats.reconnects,
      inflight: stats.inflight,
      queued: stats.queued,
      published: streams.reduce((n, s) => n + s.published, 0),
      received: streams.reduce((n, s) => n + s.received, 0),
      cpuUs: cpu.user + cpu.system,
    };
    process.stdout.write(`sample ${JSON.stringify(sample)}\n`);
  }, sampleMs);

  await new Promise<void>((resolve, reject) => {
    let text = '';
    process.stdin.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('stop\n')) resolve();
    });
    process.stdin.once('end', () => reject(new Error('stdin closed before "stop"')));
  });
  // Closed, not paused: a paused stdin pipe stays an active handle, and would count as one left behind.
  process.stdin.destroy();
  clearInterval(sampler);
  clearTimeout(censusTimer);
  const heapGrowth = heapDiff?.(25);
  stopping = true;

  if (await waitUntil(() => inProgress === 0, SETTLE_MS)) await Promise.all(chains);
  const arrived = await waitUntil(() => streams.every((s) => s.missing() === 0), SETTLE_MS);
  await sleep(LATE_DUPLICATES_MS);
  const reconnects = client.stats().reconnects;
  await client.end({ timeout: 5000 });
  await reading.catch(() => undefined);
  gcNow();
  // Sockets closed by end() release their handles on the next turns of the loop.
  await sleep(200);

  const result: SoakResult = {
    qos: streams.map((s) => s.report()),
    reconnects,
    resourcesBefore,
    resourcesAfterEnd: activeResources(),
    unsettled: inProgress + streams.reduce((n, s) => n + s.missing(), 0),
    timedOutWaitingForMessages: !arrived,
    errors,
    ...(heapGrowth ? { heapGrowth } : {}),
  };
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`soak-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
