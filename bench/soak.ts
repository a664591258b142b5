/**
 * Hours without a leak: `npm run soak -- --duration=<seconds>`.
 *
 *   npx tsx bench/soak.ts [--duration=300] [--outstanding=50] [--restart-every=60] [--cut=50-150]
 *                         [--sample=10] [--warmup=<s, default a quarter of the run>] [--census] [--seed=N] [--src]
 *
 * One client (bench/soak-worker.ts, a process of its own) with a persistent session publishes
 * QoS 0, 1 and 2 messages without pause to topics it subscribes to itself, through a chaos proxy
 * (test/reconnect/proxy.ts) that cuts every connection every 50 to 150 ms (half of the cuts with
 * RST), to a Mosquitto with persistence that is restarted (SIGTERM, saved, started again on the
 * same port) every `restart-every` seconds. Mosquitto queues without limit (max_queued_messages 0),
 * so any loss is ours, not its default queue bound's.
 *
 * Every `sample` seconds the client reports its heap after a full GC, RSS, active handles and
 * reconnects. At the end the proxy calms down, the broker stays up, the client stops publishing,
 * waits for every publish to settle and every QoS 1/2 message to arrive (bounded), and ends.
 *
 * Verdicts: heap after warm-up flat within 10% (the last three samples against the first three
 * after warm-up); handles do not grow (the most open at once after warm-up, Timeouts, requests in progress and the
 * client's connection aside, against the most during warm-up; never more than one TCP socket), and
 * after end() no socket, timer or other resource of the client is left; QoS 1
 * and 2 lose nothing; QoS 2 is not duplicated on the publisher's hop (a copy without the DUP flag;
 * copies with DUP are Mosquitto re-sending to a subscriber, see test/reconnect/fault-proxy.test.ts).
 * The exit code is 1 when a message was lost or duplicated that way, something was left, or the
 * run could not finish; heap and handle growth are reported, not failed on (a one-minute smoke is
 * still warming up). `--census` adds what grew on the heap from the end of warm-up to the end of
 * the traffic, by constructor (two heap snapshots, bench/process-stats.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mosquittoPath, mosquittoVersion, startMosquitto } from '../test/helpers/mosquitto-process.js';
import { startChaosProxy } from '../test/reconnect/proxy.js';
import { collect, exited, killGroup, onLines, parseResult, spawnChild } from './children.js';
import { prepareWorkers } from './compile-client.js';
import { markdownTable as table } from './table.js';
import type { QosReport, SoakResult, SoakSample } from './soak-worker.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Bound on the end of the run: the worker's settle and delivery waits (60 s each) and then some. */
const FINISH_MS = 180_000;
/** Bound on the worker connecting and subscribing. */
const READY_MS = 30_000;

interface Args {
  durationS: number;
  outstanding: number;
  restartEveryS: number;
  cutMs: [number, number];
  sampleS: number;
  warmupS: number | undefined;
  census: boolean;
  seed: number;
  src: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    durationS: 300,
    outstanding: 50,
    restartEveryS: 60,
    cutMs: [50, 150],
    sampleS: 10,
    warmupS: undefined,
    census: false,
    seed: Math.floor(Math.random() * 2 ** 31),
    src: false,
  };
  const num = (v: string | undefined, what: string, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${what} must be a number >= ${min}, got ${v}`);
    return n;
  };
  for (const a of argv) {
    const [key, value] = a.split('=', 2) as [string, string | undefined];
    if (key === '--duration') args.durationS = num(value, '--duration', 5);
    else if (key === '--outstanding') args.outstanding = num(value, '--outstanding', 1);
    else if (key === '--restart-every') args.restartEveryS = num(value, '--restart-every', 0);
    else if (key === '--cut') {
      const m = /^(\d+)-(\d+)$/.exec(value ?? '');
      if (!m || Number(m[1]) > Number(m[2])) throw new Error(`--cut takes MIN-MAX in ms, got ${value}`);
      args.cutMs = [Number(m[1]), Number(m[2])];
    } else if (key === '--sample') args.sampleS = num(value, '--sample', 1);
    else if (key === '--warmup') args.warmupS = num(value, '--warmup', 0);
    else if (key === '--seed') args.seed = num(value, '--seed', 0);
    else if (key === '--census') args.census = true;
    else if (key === '--src') args.src = true;
    else {
      throw new Error(
        `unknown argument ${a}\nusage: tsx bench/soak.ts [--duration=300] [--outstanding=50] [--restart-every=60 (0: never)] [--cut=50-150] [--sample=10] [--warmup=S] [--census] [--seed=N] [--src]`,
      );
    }
  }
  return args;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(2);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** Resources of the client's connection: its socket, and the connect and DNS requests of a reconnect. */
/** The client's connection: its socket, and while it reconnects the DNS lookup and the connect request (`ConnectWrap` in Node 20). */
const CONNECTION_KINDS = /^(TCP|GetAddrInfo)|^ConnectWrap$/;
/** Operations in progress as process.getActiveResourcesInfo() names them (CloseReq, FSReqCallback, ShutdownWrap, WriteWrap...). */
const REQUEST_KINDS = /Req|^(ShutdownWrap|WriteWrap)$/;

/**
 * What the client could leave behind after end(): sockets, timers, anything but the worker's stdio
 * pipes (which come alive when first used) and requests still finishing (a file's CloseReq...).
 */
function clientLeftovers(res: Record<string, number>): number {
  return Object.entries(res).reduce((n, [kind, count]) => (/^(PipeWrap|TTYWrap)$/.test(kind) || REQUEST_KINDS.test(kind) ? n : n + count), 0);
}

/** Active resources that are handles (sockets, pipes, servers): Timeouts and Immediates aside. */
function handles(res: Record<string, number>): number {
  return Object.entries(res).reduce((n, [kind, count]) => (kind === 'Timeout' || kind === 'Immediate' ? n : n + count), 0);
}

/** `res` without timers (they are judged by the census, not counted as handles). */
function untimed(res: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(res).filter(([kind]) => kind !== 'Timeout' && kind !== 'Immediate'));
}

function describe(res: Record<string, number>): string {
  const parts = Object.entries(res).map(([k, v]) => `${v} ${k}`);
  return parts.length ? parts.join(', ') : 'none';
}

/** At most `max` samples, evenly spread, always with the first and the last. */
function thin<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(items[Math.round((i * (items.length - 1)) / (max - 1))] as T);
  return out;
}

function samplesTable(samples: SoakSample[], sampleS: number): string {
  return table(
    ['t (s)', 'heap after GC (MB)', 'RSS (MB)', 'external (MB)', 'handles', 'TCP sockets', 'reconnects', 'published', 'received', 'CPU %'],
    thin(samples, 16).map((s) => [
      s.t.toFixed(0),
      mb(s.heapUsed),
      mb(s.rss),
      mb(s.external),
      String(handles(s.resources)),
      String(s.resources.TCPSocketWrap ?? 0),
      int(s.reconnects),
      int(s.published),
      int(s.received),
      ((100 * s.cpuUs) / (sampleS * 1e6)).toFixed(0),
    ]),
  );
}

function qosTable(reports: QosReport[]): string {
  return table(
    ['QoS', 'published', 'resolved', 'rejected (by code)', 'received', 'lost', 'duplicates (DUP-flagged)', 'arrived although rejected'],
    reports.map((r) => [
      String(r.qos),
      int(r.published),
      int(r.resolved),
      Object.keys(r.rejected).length ? Object.entries(r.rejected).map(([code, n]) => `${int(n)} ${code}`).join(', ') : '0',
      int(r.received),
      int(r.lost),
      `${int(r.duplicates)} (${int(r.dupFlagged)})`,
      int(r.arrivedAfterRejection),
    ]),
  );
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (!mosquittoPath) throw new Error('mosquitto not found (apt-get install mosquitto)');
  const warmupS = args.warmupS ?? args.durationS / 4;
  process.stdout.write(
    `mqttwire soak: node ${process.version}, mosquitto ${mosquittoVersion()}, ${os.availableParallelism()} CPUs; ` +
      `${args.durationS} s, ${args.outstanding} publishes in progress per QoS, cuts every ${args.cutMs[0]}-${args.cutMs[1]} ms, ` +
      `broker restart every ${args.restartEveryS || 'never'}${args.restartEveryS ? ' s' : ''}, warm-up ${warmupS.toFixed(0)} s, seed ${args.seed}\n`,
  );

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttwire-soak-'));
  process.on('exit', () => fs.rmSync(workDir, { recursive: true, force: true }));
  const workers = prepareWorkers(ROOT, workDir, args.src);

  const broker = await startMosquitto({ persistence: true, logTypes: ['error', 'warning'], extraConfig: 'max_queued_messages 0\nmax_inflight_messages 20' });
  const proxy = await startChaosProxy({ targetPort: broker.port, seed: args.seed, cutEveryMs: args.cutMs, rstProbability: 0.5 });
  const problems: string[] = [];
  const samples: SoakSample[] = [];
  let restarts = 0;
  let result: SoakResult | undefined;
  try {
    const child = spawnChild(
      process.execPath,
      [
        ...workers.args('soak-worker.ts', ['--expose-gc']),
        proxy.url,
        `soak-${args.seed}`,
        `soak/${args.seed}/`,
        String(args.outstanding),
        String(args.sampleS * 1000),
        String(args.census ? Math.round(warmupS * 1000) : 0),
      ],
      ROOT,
      workers.env,
    );
    const [out, err] = [collect(child.stdout), collect(child.stderr)];
    let onReady!: () => void;
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    onLines(child.stdout, (line) => {
      if (line === 'ready') onReady();
      if (!line.startsWith('sample ')) return;
      const s = JSON.parse(line.slice('sample '.length)) as SoakSample;
      samples.push(s);
      process.stderr.write(
        `  ${s.t.toFixed(0)} s: heap ${mb(s.heapUsed)} MB, RSS ${mb(s.rss)} MB, handles ${handles(s.resources)} (${describe(untimed(s.resources))}), reconnects ${int(s.reconnects)}, ` +
          `published ${int(s.published)}, received ${int(s.received)}, broker restarts ${restarts}, proxy cuts ${int(proxy.stats.cuts)}\n`,
      );
    });
    const startedBy = await Promise.race([ready.then(() => 'ready' as const), exited(child).then(() => 'exited' as const), sleep(READY_MS).then(() => 'timeout' as const)]);
    if (startedBy !== 'ready') {
      problems.push(`the client did not start (${startedBy}): ${err().trim().split('\n').slice(-3).join(' | ')}`);
      killGroup(child);
    } else {
      proxy.chaos();
      const end = performance.now() + args.durationS * 1000;
      let nextRestart = args.restartEveryS ? performance.now() + args.restartEveryS * 1000 : Number.POSITIVE_INFINITY;
      while (performance.now() < end && child.exitCode === null) {
        await sleep(Math.min(250, Math.max(0, end - performance.now())));
        if (performance.now() >= nextRestart && performance.now() < end) {
          await broker.restart();
          restarts++;
          nextRestart = performance.now() + args.restartEveryS * 1000;
        }
      }
      proxy.calm();
      child.stdin?.write('stop\n');
      const finished = await Promise.race([exited(child).then(() => true), sleep(FINISH_MS).then(() => false)]);
      if (!finished) problems.push(`the client did not finish within ${FINISH_MS / 1000} s of the end: killed`);
      killGroup(child);
      await exited(child);
      result = parseResult<SoakResult>(out());
      if (child.exitCode !== 0) problems.push(`client exit ${child.exitCode ?? child.signalCode}: ${err().trim().split('\n').slice(-3).join(' | ')}`);
    }
  } finally {
    await proxy.close();
    await broker.stop();
  }

  process.stdout.write(
    `\nproxy: ${int(proxy.stats.connections)} connections, ${int(proxy.stats.cuts)} cuts (${int(proxy.stats.resets)} sockets reset), ` +
      `${int(proxy.stats.upstreamFailures)} refused while the broker was down; broker restarts: ${restarts}\n\n${samplesTable(samples, args.sampleS)}\n`,
  );
  if (result) process.stdout.write(`\nreconnects: ${int(result.reconnects)}\n\n${qosTable(result.qos)}\n`);
  if (result?.heapGrowth) {
    process.stdout.write(
      `\nHeap growth from the end of warm-up (${warmupS.toFixed(0)} s) to the end of the traffic, by constructor (objects), function (closures) or kind:\n\n` +
        table(
          ['constructor, closure or kind', 'count', 'bytes'],
          result.heapGrowth.map((e) => [e.name, int(e.count), int(e.bytes)]),
        ) +
        '\n',
    );
  }

  // Verdicts.
  const verdicts: [string, boolean | undefined, string][] = [];
  const after = samples.filter((s) => s.t >= warmupS);
  if (after.length >= 6) {
    const first = mean(after.slice(0, 3).map((s) => s.heapUsed));
    const last = mean(after.slice(-3).map((s) => s.heapUsed));
    verdicts.push(['heap after warm-up flat within 10%', last <= first * 1.1, `${mb(first)} MB after warm-up, ${mb(last)} MB at the end (${((100 * (last - first)) / first).toFixed(1)}%)`]);
    // The client's connection (its socket, a connect or DNS request while it reconnects) comes and
    // goes with every cut: judged on its own, at most one socket at a time.
    // Requests (a close, a shutdown or a write still finishing) are operations in progress, not
    // resources held: one caught by a sample is no growth.
    const others = (s: SoakSample): number => handles(Object.fromEntries(Object.entries(s.resources).filter(([kind]) => !CONNECTION_KINDS.test(kind) && !REQUEST_KINDS.test(kind))));
    const during = samples.filter((s) => s.t < warmupS).map(others);
    const most = Math.max(...after.map(others));
    const before = during.length ? Math.max(...during) : Number.NaN;
    const sockets = Math.max(...samples.map((s) => s.resources.TCPSocketWrap ?? 0));
    verdicts.push([
      'handles do not grow',
      Number.isFinite(before) ? most <= before && sockets <= 1 : undefined,
      `sockets aside, at most ${most} open after warm-up, ${before} during it; at most ${sockets} TCP socket(s) at a time`,
    ]);
  } else {
    verdicts.push(['heap after warm-up flat within 10%', undefined, `${after.length} samples after warm-up: too few to judge (the run is too short)`]);
  }
  let failed = problems.length > 0;
  if (result) {
    const q = (n: number): QosReport | undefined => result?.qos.find((r) => r.qos === n);
    const lost12 = (q(1)?.lost ?? 0) + (q(2)?.lost ?? 0);
    const dup2 = (q(2)?.duplicates ?? 0) - (q(2)?.dupFlagged ?? 0);
    const left = clientLeftovers(result.resourcesAfterEnd);
    verdicts.push(['QoS 1 and 2: nothing lost', lost12 === 0, `${lost12} lost${result.unsettled ? `, ${result.unsettled} unsettled or missing when the waits ran out` : ''}`]);
    verdicts.push(['QoS 2: no duplicate on the publisher hop', dup2 === 0, `${dup2} copies without DUP; ${q(2)?.dupFlagged ?? 0} re-sent by the broker with DUP`]);
    verdicts.push([
      'nothing of the client left after end()',
      left === 0,
      `before the client: ${describe(result.resourcesBefore)}; after end(): ${describe(result.resourcesAfterEnd)} (stdio pipes and requests in progress aside)`,
    ]);
    if (lost12 > 0 || dup2 > 0 || left > 0 || result.unsettled > 0) failed = true;
    for (const e of result.errors) problems.push(e);
  } else failed = true;
  process.stdout.write(`\n${table(['verdict', 'met', 'detail'], verdicts.map(([what, ok, detail]) => [what, ok === undefined ? 'n/a' : ok ? 'met' : 'NOT met', detail]))}\n`);
  if (problems.length) process.stdout.write(`\nProblems:\n${problems.map((p) => `- ${p}\n`).join('')}`);
  process.stdout.write(`\nseed ${args.seed}${failed ? ': FAILED' : ''}\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
