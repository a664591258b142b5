/**
 * A chaos TCP proxy for the "never lose a message" tests: listens on 127.0.0.1:<ephemeral> and
 * forwards every connection to a target (Mosquitto), and, while in chaos mode, cuts connections
 * at random points chosen by a seeded PRNG:
 *
 *  - every `cutEveryMs` (a random interval in [min, max]) it cuts ALL its live connections at once;
 *  - each connection also gets a random byte budget (`bytesBeforeCut`, both directions counted):
 *    the chunk that crosses it is forwarded only up to the budget, so the cut lands in the middle
 *    of an MQTT packet, then the connection is cut.
 *
 * A cut destroys both sockets of the pair; with probability `rstProbability` each side is reset
 * (RST, `socket.resetAndDestroy()`: bytes still in the send buffer are dropped) instead of closed
 * (FIN). Nothing here knows MQTT: bytes are forwarded as they come, with backpressure.
 *
 * Same seed, same sequence of intervals, budgets and RST choices; the interleaving with the
 * sockets is not deterministic, so a seed reproduces the fault pattern, not the exact run.
 */
import net from 'node:net';
import { prng } from '../helpers/prng.js';


/** The seed to use: `MQTTWIRE_CHAOS_SEED` if set (to reproduce a run), else a fresh random one. */
export function chaosSeed(): number {
  const env = process.env.MQTTWIRE_CHAOS_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n)) throw new Error(`MQTTWIRE_CHAOS_SEED must be an integer, got ${JSON.stringify(env)}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

export interface ChaosProxyOptions {
  targetPort: number;
  targetHost?: string;
  seed: number;
  /** Interval range between global cuts (all connections), ms; undefined: no global cuts. */
  cutEveryMs?: [number, number];
  /** Byte budget range of each connection (both directions), undefined: no budget cuts. */
  bytesBeforeCut?: [number, number];
  /** Probability that a side is reset (RST) rather than closed (FIN). Default 0.5. */
  rstProbability?: number;
  /** Start cutting at once (default false: call `chaos()`). */
  chaos?: boolean;
}

export interface ChaosProxyStats {
  /** Connections accepted. */
  connections: number;
  /** Connections cut by the proxy (each pair once). */
  cuts: number;
  /** Of those, cut by the global timer / by their byte budget. */
  timerCuts: number;
  budgetCuts: number;
  /** Sockets reset (RST) rather than closed. */
  resets: number;
  /** Times the global timer fired. */
  ticks: number;
  /** Bytes forwarded client->target and target->client. */
  bytesUp: number;
  bytesDown: number;
  /** Upstream connects that failed (target down). */
  upstreamFailures: number;
}

export interface ChaosProxy {
  readonly url: string;
  readonly port: number;
  readonly seed: number;
  readonly stats: ChaosProxyStats;
  /** Live connection pairs. */
  readonly live: number;
  /** Start (or resume) cutting. */
  chaos(): void;
  /** Stop cutting: connections made or alive from now on are left alone. */
  calm(): void;
  /** Cut every live connection now (counted as a timer cut). */
  cutAll(): void;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  upstreamConnected: boolean;
  budget: number;
  dead: boolean;
}

export async function startChaosProxy(opts: ChaosProxyOptions): Promise<ChaosProxy> {
  const random = prng(opts.seed);
  const between = ([lo, hi]: [number, number]): number => lo + Math.floor(random() * (hi - lo + 1));
  const rstProbability = opts.rstProbability ?? 0.5;
  const targetHost = opts.targetHost ?? '127.0.0.1';
  const pairs = new Set<Pair>();
  const stats: ChaosProxyStats = {
    connections: 0,
    cuts: 0,
    timerCuts: 0,
    budgetCuts: 0,
    resets: 0,
    ticks: 0,
    bytesUp: 0,
    bytesDown: 0,
    upstreamFailures: 0,
  };
  let active = opts.chaos ?? false;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const kill = (socket: net.Socket, connected: boolean): void => {
    if (socket.destroyed) return;
    // resetAndDestroy needs a connected TCP socket; a socket still connecting is just destroyed.
    if (connected && random() < rstProbability) {
      stats.resets++;
      socket.resetAndDestroy();
    } else {
      socket.destroy();
    }
  };

  /** Ends a pair without counting it as a cut (one side closed or failed on its own). */
  const drop = (pair: Pair): void => {
    if (pair.dead) return;
    pair.dead = true;
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  };

  const cut = (pair: Pair, why: 'timer' | 'budget'): void => {
    if (pair.dead) return;
    pair.dead = true;
    pairs.delete(pair);
    stats.cuts++;
    if (why === 'timer') stats.timerCuts++;
    else stats.budgetCuts++;
    kill(pair.client, true);
    kill(pair.upstream, pair.upstreamConnected);
  };

  /** Forwards `chunk` from `from` to `to`, honouring the pair's byte budget and backpressure. */
  const forward = (pair: Pair, from: net.Socket, to: net.Socket, chunk: Buffer, up: boolean): void => {
    if (pair.dead) return;
    let data = chunk;
    let cutAfter = false;
    if (active && opts.bytesBeforeCut) {
      if (data.length >= pair.budget) {
        data = data.subarray(0, pair.budget);
        cutAfter = true;
      }
      pair.budget -= data.length;
    }
    if (data.length > 0) {
      if (up) stats.bytesUp += data.length;
      else stats.bytesDown += data.length;
      if (!to.write(data)) {
        from.pause();
        to.once('drain', () => {
          if (!pair.dead) from.resume();
        });
      }
    }
    if (cutAfter) cut(pair, 'budget');
  };

  const server = net.createServer((client) => {
    stats.connections++;
    client.setNoDelay(true);
    client.pause();
    const upstream = net.connect({ host: targetHost, port: opts.targetPort });
    upstream.setNoDelay(true);
    const pair: Pair = {
      client,
      upstream,
      upstreamConnected: false,
      budget: opts.bytesBeforeCut ? between(opts.bytesBeforeCut) : Infinity,
      dead: false,
    };
    pairs.add(pair);
    // Errors (ECONNRESET after our own RST, ECONNREFUSED while the target is down) just end the pair.
    client.on('error', () => drop(pair));
    upstream.on('error', () => {
      if (!pair.upstreamConnected) stats.upstreamFailures++;
      drop(pair);
    });
    client.on('close', () => drop(pair));
    upstream.on('close', () => drop(pair));
    // Half-close is passed on as a full close: MQTT has no use for half-open connections.
    client.on('end', () => drop(pair));
    upstream.on('end', () => drop(pair));
    upstream.on('connect', () => {
      pair.upstreamConnected = true;
      if (pair.dead) return;
      client.resume();
    });
    client.on('data', (chunk: Buffer) => forward(pair, client, upstream, chunk, true));
    upstream.on('data', (chunk: Buffer) => forward(pair, upstream, client, chunk, false));
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const schedule = (): void => {
    if (!active || closed || !opts.cutEveryMs || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (!active || closed) return;
      stats.ticks++;
      for (const pair of [...pairs]) cut(pair, 'timer');
      schedule();
    }, between(opts.cutEveryMs));
  };

  const proxy: ChaosProxy = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    seed: opts.seed,
    stats,
    get live() {
      return pairs.size;
    },
    chaos() {
      active = true;
      schedule();
    },
    calm() {
      active = false;
      clearTimeout(timer);
      timer = undefined;
    },
    cutAll() {
      for (const pair of [...pairs]) cut(pair, 'timer');
    },
    async close() {
      if (closed) return;
      closed = true;
      proxy.calm();
      for (const pair of [...pairs]) drop(pair);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  if (active) schedule();
  return proxy;
}
