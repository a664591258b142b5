/**
 * examples/consumer/consumer.ts as it is deployed: a child process (node --import tsx) against aedes.
 * The test publishes 15 jobs at QoS 1; the worker (CONCURRENCY 3) must never have more than 3 in
 * progress (read from its own log), must reach 3 (so the bound was tested, not just never
 * approached), and on SIGTERM must stop cleanly: finish the jobs it received, DISCONNECT, exit 0.
 * 15 more jobs are published while it is stopped; a second run with the same persistent session
 * gets them: none of the 30 is lost, and a job worked on twice is only ever one the first run took
 * while it was stopping (QoS 1 is at least once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type MqttClient } from '../../src/index.js';
import { startAedes, type AedesHandle } from '../helpers/aedes.js';
import { describeResult, killAllChildren, type ChildResult } from '../helpers/child.js';
import { EXAMPLE_LIMIT_MS, exampleEnv, runExample } from './run-example.js';

const JOBS = 30;
const CONCURRENCY = 3;
const CLIENT_ID = 'jobs-worker-test';

interface Run {
  /** Jobs in the order they started. */
  started: string[];
  done: string[];
  /** The most jobs in progress at once, replayed from the start/done lines. */
  maxInProgress: number;
}

/** Replays the worker's log: every start and done line, in order. */
function parseLog(stdout: string): Run {
  const run: Run = { started: [], done: [], maxInProgress: 0 };
  let inProgress = 0;
  for (const line of stdout.split('\n')) {
    const start = / start (job-\d+) \(\S+; (\d+) in progress\)$/.exec(line);
    if (start) {
      inProgress++;
      // The worker's own counter and the replay agree.
      expect(Number(start[2]), line).toBe(inProgress);
      run.started.push(start[1] as string);
      run.maxInProgress = Math.max(run.maxInProgress, inProgress);
    }
    const done = / done (job-\d+)$/.exec(line);
    if (done) {
      inProgress--;
      run.done.push(done[1] as string);
    }
  }
  return run;
}

function expectCleanStop(r: ChildResult, run: Run): void {
  expect(r.code, describeResult('consumer', r)).toBe(0);
  expect(r.stdout).toMatch(/SIGTERM: stopping: no new jobs/);
  expect(r.stdout).toMatch(new RegExp(`stopped: ${run.done.length} jobs done, 0 failed`));
  // Every job it started it finished; none twice in one run.
  expect([...run.done].sort()).toEqual([...run.started].sort());
  expect(new Set(run.done).size).toBe(run.done.length);
}

describe('examples/consumer', () => {
  let broker: AedesHandle;
  let producer: MqttClient;

  beforeAll(async () => {
    broker = await startAedes();
    producer = await connect(broker.url, { clientId: 'producer', reconnect: false });
  });
  afterAll(async () => {
    killAllChildren();
    await producer?.end();
    await broker?.close();
  });

  it(
    `works on at most ${CONCURRENCY} jobs at once, stops cleanly on SIGTERM, and a restart picks up the rest`,
    async () => {
      const env = exampleEnv({ MQTT_URL: broker.url, MQTT_CLIENT_ID: CLIENT_ID, CONCURRENCY: String(CONCURRENCY), WORK_MS: '25' });
      const first = runExample('examples/consumer/consumer.ts', env);
      await first.waitFor('stdout', /subscribed to jobs\/# /);
      const half = JOBS / 2;
      for (let i = 1; i <= half; i++) await producer.publish(`jobs/${i}`, `job-${i}`, { qos: 1 });

      // Stop in the middle: some jobs done, the others received and waiting for a free slot.
      await first.waitFor('stdout', /(?: done job-\d+\n[\s\S]*){5}/);
      first.kill('SIGTERM');
      const r1 = await first.done;
      const run1 = parseLog(r1.stdout);
      expectCleanStop(r1, run1);
      expect(run1.maxInProgress).toBe(CONCURRENCY);
      // It stopped with jobs in hand, and finished them: jobs started after the signal.
      expect(r1.stdout.slice(r1.stdout.indexOf('SIGTERM: stopping'))).toMatch(/ start job-\d+ /);
      const gone = await broker.waitFor('clientDisconnect', (e) => e.clientId === CLIENT_ID);
      expect(gone.sentDisconnect).toBe(true);

      // Jobs published while the worker is stopped wait at the broker, in its persistent session.
      for (let i = half + 1; i <= JOBS; i++) await producer.publish(`jobs/${i}`, `job-${i}`, { qos: 1 });
      broker.events.length = 0;
      const second = runExample('examples/consumer/consumer.ts', env);
      const doneByEither = (): number => new Set([...run1.done, ...parseLog(second.stdout()).done]).size;
      await expect.poll(doneByEither, { timeout: EXAMPLE_LIMIT_MS / 2, interval: 50 }).toBe(JOBS);
      second.kill('SIGTERM');
      const r2 = await second.done;
      const run2 = parseLog(r2.stdout);
      expectCleanStop(r2, run2);
      expect(run2.maxInProgress).toBe(CONCURRENCY);
      const connack = await broker.waitFor('connackSent', (e) => e.clientId === CLIENT_ID);
      expect(connack.sessionPresent).toBe(true);

      // Nothing lost: every job done in one run or the other.
      const all = Array.from({ length: JOBS }, (_, i) => `job-${i + 1}`);
      expect([...new Set([...run1.done, ...run2.done])].sort()).toEqual(all.sort());
      // QoS 1 is at least once: a job may come again, but only one the first run took while it was
      // stopping (a message that arrives after DISCONNECT is worked on but cannot be acknowledged any
      // more, so the broker sends it again). Everything taken before the signal was acknowledged.
      const takenWhileStopping = [...r1.stdout.slice(r1.stdout.indexOf('SIGTERM: stopping')).matchAll(/ start (job-\d+) /g)].map((m) => m[1]);
      const twice = run2.started.filter((job) => run1.done.includes(job));
      expect(twice.filter((job) => !takenWhileStopping.includes(job))).toEqual([]);
    },
    2 * EXAMPLE_LIMIT_MS + 10_000,
  );
});
