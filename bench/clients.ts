/**
 * Many clients in one process: `npm run bench:clients`.
 *
 *   npx tsx bench/clients.ts [--counts=1000,10000] [--libs=mqttwire,mqttjs,raw] [--idle=30] [--keepalive=30]
 *                            [--concurrency=100] [--runs=1] [--breakdown] [--quick] [--src]
 *
 * For each count and library, in a fresh Mosquitto (127.0.0.1, ephemeral port, max_connections -1)
 * and a fresh worker process (bench/clients-worker.ts): `count` clients connect (at most
 * `concurrency` connecting at a time), each with its own client id and keepalive, each subscribes
 * to its own topic (QoS 1); then this process publishes one message to every topic (QoS 1) and the
 * worker waits for all of them. It reports the time to connect them all, heap, RSS and external
 * memory per client after GC, timers per client, the CPU of the idle process over `idle` seconds
 * (keepalive only: with the default 30 s every client sends one PINGREQ in the window), the time to
 * end them all and what handles are left. `raw` is the floor: node:net sockets speaking MQTT by
 * hand with one shared keepalive interval. `--breakdown` adds a run of mqttwire and of MQTT.js at
 * the smallest count that diffs two heap snapshots: what the heap grew by per client, by
 * constructor (objects) and function (closures). Its figures are left out of the tables: parsing
 * a snapshot leaves the process's RSS higher.
 *
 * File descriptors: the worker and the broker need one per connection. When the soft limit
 * (`ulimit -n`) is too low and the hard one allows, the bench runs itself again under a raised
 * soft limit (children inherit it); above the hard limit it leaves the count out and says so.
 * mqttwire runs as it ships and the worker by plain node (bench/compile-client.ts) unless --src.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MqttClient } from '../src/index.js';
import { mosquittoPath, mosquittoVersion, startMosquitto } from '../test/helpers/mosquitto-process.js';
import { collect, exited, killGroup, onLines, parseResult, spawnChild, timeout } from './children.js';
import type { BreakdownEntry, ClientsLib, ClientsResult } from './clients-worker.js';
import { prepareWorkers, type Workers } from './compile-client.js';
import { markdownTable as table } from './table.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ALL_LIBS: ClientsLib[] = ['mqttwire', 'mqttjs', 'raw'];
const LABEL: Record<ClientsLib, string> = { mqttwire: 'mqttwire', mqttjs: 'MQTT.js', raw: 'node:net by hand (floor)' };
/** File descriptors beyond one per connection (stdio, pipes, the broker's listener and its files). */
const FD_SPARE = 200;
const REEXEC_ENV = 'MQTTWIRE_CLIENTS_FD_RAISED';

interface Args {
  counts: number[];
  libs: ClientsLib[];
  idleS: number;
  keepalive: number;
  concurrency: number;
  runs: number;
  breakdown: boolean;
  src: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { counts: [1_000, 10_000], libs: ALL_LIBS, idleS: 30, keepalive: 30, concurrency: 100, runs: 1, breakdown: false, src: false };
  const positive = (v: string | undefined, what: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got ${v}`);
    return n;
  };
  for (const a of argv) {
    const [key, value] = a.split('=', 2) as [string, string | undefined];
    if (key === '--counts') args.counts = (value ?? '').split(',').map((c) => positive(c, '--counts'));
    else if (key === '--libs') {
      args.libs = (value ?? '').split(',').map((l) => {
        if (!(ALL_LIBS as string[]).includes(l)) throw new Error(`unknown lib ${l} (${ALL_LIBS.join(', ')})`);
        return l as ClientsLib;
      });
    } else if (key === '--idle') args.idleS = positive(value, '--idle');
    else if (key === '--keepalive') args.keepalive = positive(value, '--keepalive');
    else if (key === '--concurrency') args.concurrency = positive(value, '--concurrency');
    else if (key === '--runs') args.runs = positive(value, '--runs');
    else if (key === '--breakdown') args.breakdown = true;
    else if (key === '--quick') {
      args.counts = [1_000];
      args.idleS = 10;
    } else if (key === '--src') args.src = true;
    else {
      throw new Error(
        `unknown argument ${a}\nusage: tsx bench/clients.ts [--counts=1000,10000] [--libs=${ALL_LIBS.join(',')}] [--idle=30] [--keepalive=30] [--concurrency=100] [--runs=1] [--breakdown] [--quick] [--src]`,
      );
    }
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// File descriptors

function fdLimits(): { soft: number; hard: number } {
  const out = execFileSync('bash', ['-c', 'ulimit -n; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n');
  const n = (s: string | undefined): number => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
  return { soft: n(out[0]), hard: n(out[1]) };
}

/** Runs this bench again under a soft limit of `limit` (bash's ulimit); returns its exit code. */
function rerunWithLimit(limit: number): number {
  const r = spawnSync('bash', ['-c', `ulimit -n ${limit} && exec "$@"`, 'bash', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [REEXEC_ENV]: '1' },
  });
  return r.status ?? 1;
}

// ---------------------------------------------------------------------------------------------
// One run

interface Run {
  lib: ClientsLib;
  count: number;
  result: ClientsResult | undefined;
  problems: string[];
}

async function runOnce(args: Args, lib: ClientsLib, count: number, workers: Workers, breakdown: boolean): Promise<Run> {
  const problems: string[] = [];
  const broker = await startMosquitto({ logTypes: ['error', 'warning'], extraConfig: 'max_connections -1' });
  const prefix = `bench/clients/${lib}/`;
  try {
    const workerArgs = [
      ...workers.args('clients-worker.ts', ['--expose-gc']),
      lib,
      String(count),
      broker.url,
      prefix,
      String(args.keepalive),
      String(args.concurrency),
      String(args.idleS * 1000),
      ...(breakdown ? ['breakdown'] : []),
    ];
    const child = spawnChild(process.execPath, workerArgs, ROOT, workers.env);
    const [out, err] = [collect(child.stdout), collect(child.stderr)];
    // Generous: connecting 10,000 clients on a loaded 2-CPU machine can take a minute.
    const deadline = timeout(120_000 + count * 20 + args.idleS * 1000);
    const ready = new Promise<'ready'>((resolve) => onLines(child.stdout, (line) => line === 'ready' && resolve('ready')));
    const first = await Promise.race([ready, exited(child).then(() => 'exited' as const), deadline.promise]);
    if (first === 'ready') {
      await publishToAll(broker.url, prefix, count).catch((e: unknown) => problems.push(`publishing failed: ${String(e)}`));
      if ((await Promise.race([exited(child), deadline.promise])) === 'timeout') problems.push('timed out: killed');
    } else problems.push(first === 'timeout' ? 'not ready in time: killed' : 'the worker exited before it was ready');
    deadline.cancel();
    killGroup(child);
    await exited(child);
    const result = parseResult<ClientsResult>(out());
    if (child.exitCode !== 0) problems.push(`worker exit ${child.exitCode ?? child.signalCode}: ${err().trim().split('\n').slice(-3).join(' | ')}`);
    if (result && result.received < count) problems.push(`${count - result.received} messages never arrived`);
    if (result?.errors) problems.push(`${result.errors} client errors, first: ${result.firstError}`);
    return { lib, count, result, problems };
  } finally {
    await broker.stop();
  }
}

/** One QoS 1 message to each client's topic, from a client in this process (not the measured one). */
async function publishToAll(url: string, prefix: string, count: number): Promise<void> {
  const publisher = new MqttClient(url, { clientId: `bench-clients-publisher-${process.pid}`, reconnect: false });
  await publisher.connect();
  try {
    await Promise.all(Array.from({ length: count }, (_, i) => publisher.publish(`${prefix}${i}`, `message ${i}`, { qos: 1 })));
  } finally {
    await publisher.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Figures

interface Row {
  lib: ClientsLib;
  count: number;
  runs: ClientsResult[];
  problems: string[];
}

const median = (values: number[]): number => {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
};

/** Per-run values of one figure, the median first and every run after it when there are several. */
function figure(r: Row, pick: (x: ClientsResult) => number, fmt: (n: number) => string): string {
  const values = r.runs.map(pick);
  if (values.length <= 1) return fmt(values[0] ?? Number.NaN);
  return `${fmt(median(values))} (${values.map(fmt).join(', ')})`;
}

const kb = (bytes: number): string => (Number.isFinite(bytes) ? (bytes / 1024).toFixed(2) : '-');
const fixed = (digits: number) => (n: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const cpuUs = (c: { user: number; system: number }): number => c.user + c.system;

const heapPer = (x: ClientsResult): number => (x.memAfter.heapUsed - x.memBefore.heapUsed) / x.count;
const rssPer = (x: ClientsResult): number => (x.memAfter.rss - x.memBefore.rss) / x.count;
const externalPer = (x: ClientsResult): number => (x.memAfter.external - x.memBefore.external) / x.count;
const timersPer = (x: ClientsResult): number => (x.timersAfter - x.timersBefore) / x.count;
/** Idle CPU in ms per second of wall time (1000 = one core). */
const idleMsPerS = (x: ClientsResult): number => cpuUs(x.idleCpu) / 1000 / (x.idleMs / 1000);
/** Idle CPU per client per second, µs. */
const idleUsPerClientS = (x: ClientsResult): number => cpuUs(x.idleCpu) / (x.idleMs / 1000) / x.count;

function resultsTable(rows: Row[]): string {
  return table(
    [
      'lib',
      'clients',
      'connect all, s',
      'connect CPU µs/client',
      'heap KiB/client',
      'RSS KiB/client',
      'external KiB/client',
      'timers/client',
      'idle CPU ms/s',
      'idle CPU µs/client/s',
      'end all, s',
      'handles left after end',
    ],
    rows.map((r) => [
      LABEL[r.lib],
      int(r.count),
      figure(r, (x) => x.connectMs / 1000, fixed(2)),
      figure(r, (x) => cpuUs(x.connectCpu) / x.count, fixed(0)),
      figure(r, heapPer, kb),
      figure(r, rssPer, kb),
      figure(r, externalPer, kb),
      figure(r, timersPer, fixed(2)),
      figure(r, idleMsPerS, fixed(2)),
      figure(r, idleUsPerClientS, fixed(3)),
      figure(r, (x) => x.endMs / 1000, fixed(2)),
      r.runs.map((x) => describeResources(x.resourcesAfterEnd)).join('; ') || '-',
    ]),
  );
}

function describeResources(res: Record<string, number>): string {
  const parts = Object.entries(res).map(([k, v]) => `${v} ${k}`);
  return parts.length ? parts.join(', ') : 'none';
}

function ratiosTable(rows: Row[], counts: number[]): string {
  const find = (lib: ClientsLib, count: number): Row | undefined => rows.find((r) => r.lib === lib && r.count === count);
  const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '-');
  return table(
    ['clients', 'heap ours/MQTT.js', 'RSS ours/MQTT.js', 'heap + external ours/MQTT.js', 'idle CPU ours/MQTT.js', 'connect time ours/MQTT.js', 'RSS ours/floor'],
    counts.map((count) => {
      const ours = find('mqttwire', count);
      const js = find('mqttjs', count);
      const raw = find('raw', count);
      const m = (r: Row | undefined, pick: (x: ClientsResult) => number): number => (r ? median(r.runs.map(pick)) : Number.NaN);
      return [
        int(count),
        ratio(m(ours, heapPer), m(js, heapPer)),
        ratio(m(ours, rssPer), m(js, rssPer)),
        ratio(m(ours, (x) => heapPer(x) + externalPer(x)), m(js, (x) => heapPer(x) + externalPer(x))),
        ratio(m(ours, idleMsPerS), m(js, idleMsPerS)),
        ratio(m(ours, (x) => x.connectMs), m(js, (x) => x.connectMs)),
        ratio(m(ours, rssPer), m(raw, rssPer)),
      ];
    }),
  );
}

function targetsTable(rows: Row[], counts: number[]): string {
  const find = (lib: ClientsLib, count: number): Row | undefined => rows.find((r) => r.lib === lib && r.count === count);
  return table(
    ['clients', 'memory per client <= MQTT.js / 2 (heap + external, and RSS)', 'idle: timers per client, and idle CPU per client-second'],
    counts.map((count) => {
      const ours = find('mqttwire', count);
      const js = find('mqttjs', count);
      const m = (r: Row | undefined, pick: (x: ClientsResult) => number): number => (r ? median(r.runs.map(pick)) : Number.NaN);
      const mem = (x: ClientsResult): number => heapPer(x) + externalPer(x);
      const [a, b, ra, rb] = [m(ours, mem), m(js, mem), m(ours, rssPer), m(js, rssPer)];
      const known = [a, b, ra, rb].every(Number.isFinite);
      const memVerdict = known ? `${a <= b / 2 && ra <= rb / 2 ? 'met' : 'NOT met'} (${kb(a)} vs ${kb(b)} KiB; RSS ${kb(ra)} vs ${kb(rb)} KiB)` : 'n/a';
      const idle = `${fixed(2)(m(ours, timersPer))} vs ${fixed(2)(m(js, timersPer))} timers; ${fixed(3)(m(ours, idleUsPerClientS))} vs ${fixed(3)(m(js, idleUsPerClientS))} µs`;
      return [int(count), memVerdict, idle];
    }),
  );
}

function breakdownTable(result: ClientsResult): string {
  const entries: BreakdownEntry[] = result.breakdown ?? [];
  return table(
    ['constructor, closure or kind', 'per client', 'bytes per client'],
    entries.map((e) => [e.name, fixed(2)(e.count / result.count), fixed(0)(e.bytes / result.count)]),
  );
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (!mosquittoPath) throw new Error('mosquitto not found (apt-get install mosquitto)');
  const needed = Math.max(...args.counts) + FD_SPARE;
  const limits = fdLimits();
  if (limits.soft < needed && limits.hard >= needed && process.env[REEXEC_ENV] !== '1') {
    process.stderr.write(`ulimit -n is ${limits.soft}: running again with ${needed} (hard limit ${limits.hard})\n`);
    return rerunWithLimit(needed);
  }
  const skipped = args.counts.filter((c) => c + FD_SPARE > limits.soft);
  const counts = args.counts.filter((c) => !skipped.includes(c));
  const started = performance.now();
  process.stdout.write(
    `mqttwire many-clients benchmark: node ${process.version}, mosquitto ${mosquittoVersion()}, ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ` +
      `ulimit -n ${limits.soft} (hard ${limits.hard})\n` +
      `counts ${counts.join(', ')}; keepalive ${args.keepalive} s; idle window ${args.idleS} s; at most ${args.concurrency} connecting at a time; ${args.runs} run(s) each\n`,
  );
  if (skipped.length) process.stdout.write(`left out (over the file descriptor limit ${limits.soft}): ${skipped.join(', ')}\n`);

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttwire-clients-'));
  process.on('exit', () => fs.rmSync(workDir, { recursive: true, force: true }));
  const workers = prepareWorkers(ROOT, workDir, args.src);
  process.stdout.write(`mqttwire: ${workers.describe}\n`);

  const rows: Row[] = [];
  for (const count of counts) {
    const byLib = new Map<ClientsLib, Row>(args.libs.map((lib) => [lib, { lib, count, runs: [], problems: [] }]));
    for (let i = 0; i < args.runs; i++) {
      for (const lib of args.libs) {
        const run = await runOnce(args, lib, count, workers, false);
        const row = byLib.get(lib) as Row;
        if (run.result) row.runs.push(run.result);
        row.problems.push(...run.problems);
        const x = run.result;
        process.stderr.write(
          `  ${LABEL[lib]} x ${int(count)}: ` +
            (x
              ? `connected in ${(x.connectMs / 1000).toFixed(2)} s, heap ${kb(heapPer(x))} KiB/client, RSS ${kb(rssPer(x))} KiB/client, ` +
                `timers ${fixed(2)(timersPer(x))}/client, idle ${fixed(2)(idleMsPerS(x))} ms/s, ${x.received}/${count} messages`
              : 'no result') +
            `${run.problems.length ? `; ${run.problems.join('; ')}` : ''}\n`,
        );
      }
    }
    rows.push(...byLib.values());
  }

  process.stdout.write(`\n${resultsTable(rows)}\n\nRatios (lower is better):\n\n${ratiosTable(rows, counts)}\n\nTargets:\n\n${targetsTable(rows, counts)}\n`);
  const breakdownLibs = args.breakdown ? args.libs.filter((l) => l !== 'raw') : [];
  for (const lib of breakdownLibs) {
    const count = Math.min(...counts);
    const run = await runOnce(args, lib, count, workers, true);
    if (!run.result?.breakdown) {
      process.stdout.write(`\nNo heap breakdown for ${LABEL[lib]}: ${run.problems.join('; ')}\n`);
      continue;
    }
    process.stdout.write(`\nHeap growth of ${LABEL[lib]}, ${int(count)} clients, by constructor (objects), function (closures) or kind (self sizes, largest first):\n\n${breakdownTable(run.result)}\n`);
  }
  const notes = rows.filter((r) => r.problems.length > 0);
  if (notes.length) process.stdout.write(`\nNotes:\n${notes.map((r) => `- ${LABEL[r.lib]} x ${int(r.count)}: ${[...new Set(r.problems)].join('; ')}\n`).join('')}`);
  process.stdout.write(`\nTotal ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`clients: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
