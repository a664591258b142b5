/** The CLI against the real Mosquitto broker (skipped when mosquitto is not installed). */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { within } from '../client/helpers.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';
import { diagnostics, killAllCli, runCli, startSubscribed, TEST_TIMEOUT_MS } from './cli.js';

describeMosquitto('mqttwire CLI against mosquitto', () => {
  let m: MosquittoHandle;
  let secured: MosquittoHandle;
  beforeAll(async () => {
    [m, secured] = await Promise.all([startMosquitto(), startMosquitto({ passwordFile: { alice: 'right-Secret-1' } })]);
  });
  afterAll(async () => {
    killAllCli();
    await Promise.all([m?.stop(), secured?.stop()]);
  });

  it('round trip at QoS 0, 1 and 2, and a retained message seen by a later sub', async () => {
    const sub = await startSubscribed(['sub', '-L', m.url, '-t', 'rt/#', '-q', '2', '-C', '3', '--format', 'json']);
    const pubs = await Promise.all([0, 1, 2].map((q) => runCli(['pub', '-L', m.url, '-t', `rt/q${q}`, '-m', `hello at ${q}`, '-q', String(q), ...(q === 2 ? ['-r'] : [])])));
    for (const p of pubs) expect(p.code, p.stderr).toBe(0);
    const r = await sub.done;
    expect(r.code, r.stderr).toBe(0);
    const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { topic: string }).sort((a, b) => a.topic.localeCompare(b.topic));
    expect(got).toEqual([0, 1, 2].map((q) => ({ topic: `rt/q${q}`, payload: `hello at ${q}`, qos: q, retain: false })));

    // Mosquitto downgrades the retained QoS 2 message to the subscription's QoS 1.
    const later = await runCli(['sub', '-L', m.url, '-t', 'rt/q2', '-q', '1', '-C', '1', '--format', 'json']);
    expect(later.code, later.stderr).toBe(0);
    expect(JSON.parse(later.stdout)).toEqual({ topic: 'rt/q2', payload: 'hello at 2', qos: 1, retain: true });
  }, TEST_TIMEOUT_MS);

  it('SIGINT on sub: exit 0, the broker logs a DISCONNECT, the will is not published (and SIGKILL, as a control, gets it published)', async () => {
    const watcher = await connect(m.url);
    try {
      const wills = await watcher.subscribe('will/cli', { qos: 1 });
      const sub = await startSubscribed(['sub', '-L', m.url, '-t', 'quiet', '-i', 'cli-mosq-sigint', '--will-topic', 'will/cli', '--will-message', 'gone']);
      sub.kill('SIGINT');
      const r = await sub.done;
      expect(r.code, r.stderr).toBe(0);
      expect(diagnostics(r.stderr)).toEqual([]);
      await m.waitForLog('Received DISCONNECT from cli-mosq-sigint', 5000);
      // Mosquitto decides about the will while it handles that client's end, which it has logged: a will
      // would be on its way to the watcher before a marker published now.
      await watcher.publish('will/cli', 'marker', { qos: 1 });
      expect((await within(wills.next(), 5000, 'the marker')).value?.text()).toBe('marker');
      // The control: the same watch does see a will when there is one (SIGKILL: no DISCONNECT).
      const killed = await startSubscribed(['sub', '-L', m.url, '-t', 'quiet', '-i', 'cli-mosq-sigkill', '--will-topic', 'will/cli', '--will-message', 'gone']);
      killed.kill('SIGKILL');
      expect((await within(wills.next(), 5000, 'the will of the killed sub')).value?.text()).toBe('gone');
    } finally {
      await watcher.end();
    }
  }, TEST_TIMEOUT_MS);

  it('a refused login exits 1 saying why; the right password from MQTTWIRE_PASSWORD gets in', async () => {
    const [wrong, right] = await Promise.all([
      runCli(['pub', '-L', secured.url, '-u', 'alice', '-P', 'wrong', '-t', 'a', '-m', 'x']),
      runCli(['pub', '-L', secured.url, '-u', 'alice', '-t', 'a', '-m', 'x', '-q', '1'], { env: { MQTTWIRE_PASSWORD: 'right-Secret-1' } }),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(`mqttwire pub: the broker at ${secured.url} refused the connection: not authorized (CONNACK return code 5)\n`);
    expect(right).toMatchObject({ code: 0, stderr: '' });
  }, TEST_TIMEOUT_MS);
});
