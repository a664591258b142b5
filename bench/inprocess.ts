/**
 * The publisher's own CPU per QoS 1/2 message, without a socket: `npx tsx bench/inprocess.ts`
 *
 *   npx tsx bench/inprocess.ts [--qos=1,2] [--runs=N (default 3)] [--rounds=N (default 12)] [--acks-per-read=N (default 3)] [--src]
 *
 * bench:e2e measures a publisher through Mosquitto, where socket reads and writes (and on loopback the
 * kernel's TCP work for both ends) are most of the CPU; this bench takes them away, to see the
 * library's own part. Each run starts one process per library (bench/inprocess-worker.ts, compiled and
 * run by plain node as bench:e2e's workers are, with --expose-gc), mqttwire and MQTT.js alternating.
 * Each process fires every publish at once against a broker that is a function in the same process
 * and answers `acks-per-read` packets per turn of the event loop; it runs `rounds` rounds and reports
 * the median CPU µs per message of the rounds after the first two (warm-up). The table gives the
 * median of the runs, each run's figure, and ours / MQTT.js.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareWorkers } from './compile-client.js';
import { markdownTable } from './table.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LIBS = ['mqttwire', 'mqttjs'] as const;
const WARMUP_ROUNDS = 2;

interface Args {
  qos: (1 | 2)[];
  runs: number;
  rounds: number;
  acksPerRead: number;
  src: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { qos: [1, 2], runs: 3, rounds: 12, acksPerRead: 3, src: false };
  const count = (value: string | undefined, name: string, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`bad ${name} ${value} (an integer, at least ${min})`);
    return n;
  };
  for (const a of argv) {
    const [key, value] = a.split('=', 2);
    if (key === '--qos' && value) {
      args.qos = value.split(',').map((q) => {
        if (q !== '1' && q !== '2') throw new Error(`bad --qos ${value} (1, 2)`);
        return Number(q) as 1 | 2;
      });
    } else if (key === '--runs') args.runs = count(value, '--runs', 1);
    else if (key === '--rounds') args.rounds = count(value, '--rounds', WARMUP_ROUNDS + 1);
    else if (key === '--acks-per-read') args.acksPerRead = count(value, '--acks-per-read', 1);
    else if (key === '--src') args.src = true;
    else throw new Error(`unknown argument ${a}\nusage: tsx bench/inprocess.ts [--qos=1,2] [--runs=N] [--rounds=N] [--acks-per-read=N] [--src]`);
  }
  return args;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** One worker process; resolves with its median CPU µs per message after the warm-up rounds. */
function runWorker(nodeArgs: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...nodeArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('result '));
      if (code !== 0 || !line) return reject(new Error(`worker exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      const { usPerMessage } = JSON.parse(line.slice('result '.length)) as { usPerMessage: number[] };
      resolve(median(usPerMessage.slice(WARMUP_ROUNDS)));
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttwire-inprocess-'));
  process.on('exit', () => fs.rmSync(workDir, { recursive: true, force: true }));
  const workers = prepareWorkers(ROOT, workDir, args.src);
  process.stdout.write(`in-process publisher CPU: node ${process.version}; ${workers.describe}\n`);
  process.stdout.write(`${args.runs} run(s), ${args.rounds} rounds per process (the first ${WARMUP_ROUNDS} not counted), ${args.acksPerRead} acks per read\n`);
  const rows: string[][] = [];
  for (const qos of args.qos) {
    const figures: Record<(typeof LIBS)[number], number[]> = { mqttwire: [], mqttjs: [] };
    for (let run = 0; run < args.runs; run++) {
      // Alternate which library goes first, so neither always gets the quieter moment.
      const order = run % 2 === 0 ? LIBS : [...LIBS].reverse();
      for (const lib of order) {
        const us = await runWorker(workers.args('inprocess-worker.ts', []).concat([lib, String(qos), String(args.acksPerRead), String(args.rounds)]), workers.env);
        figures[lib].push(us);
        process.stdout.write(`  QoS ${qos} ${lib}: ${us.toFixed(2)} µs/msg\n`);
      }
    }
    const ours = median(figures.mqttwire);
    const theirs = median(figures.mqttjs);
    const each = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(', ');
    rows.push([String(qos), ours.toFixed(2), each(figures.mqttwire), theirs.toFixed(2), each(figures.mqttjs), `${(ours / theirs).toFixed(2)}x`]);
  }
  process.stdout.write(`\n${markdownTable(['QoS', 'mqttwire µs/msg', 'each run', 'MQTT.js µs/msg', 'each run', 'ours / MQTT.js'], rows)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
