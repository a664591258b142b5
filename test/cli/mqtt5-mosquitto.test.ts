/**
 * The CLI at MQTT 5 (-V 5) against the real Mosquitto broker: properties end to end, and refusal lines.
 * Not here: a server DISCONNECT. Mosquitto 2.0.11 sends none on a session takeover or on shutdown (it
 * closes the socket); that line is tested on the fake broker (mqtt5-disconnect.test.ts).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { within } from '../client/helpers.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';
import { killAllCli, runCli, startSubscribed, TEST_TIMEOUT_MS } from './cli.js';

describeMosquitto('mqttwire CLI at MQTT 5 against mosquitto', () => {
  let m: MosquittoHandle;
  let acl: MosquittoHandle;
  let denying: MosquittoHandle;
  let secured: MosquittoHandle;
  beforeAll(async () => {
    [m, acl, denying, secured] = await Promise.all([
      startMosquitto(),
      // Anonymous clients may read ro/# but not publish there (Mosquitto 2.0.11 answers PUBACK/PUBREC 0x87 at
      // MQTT 5, and drops the message without a word at 3.1.1); rw/# is open.
      startMosquitto({ files: { acl: 'topic read ro/#\ntopic readwrite rw/#\n' }, extraConfig: ({ dir }) => `acl_file ${dir}/acl` }),
      startMosquitto({ denyTopics: ['secret/#'] }),
      startMosquitto({ passwordFile: { alice: 'right-Secret-1' } }),
    ]);
  });
  afterAll(async () => {
    killAllCli();
    await Promise.all([m?.stop(), acl?.stop(), denying?.stop(), secured?.stop()]);
  });

  it('pub -V 5 -D publish ... is seen by sub -V 5 --format json with its properties, user properties in order', async () => {
    const sub = await startSubscribed(['sub', '-V', '5', '-L', m.url, '-t', 'props/#', '-q', '1', '-C', '1', '--format', 'json']);
    const pub = await runCli([
      'pub', '-V', '5', '-L', m.url, '-t', 'props/a', '-m', 'hi', '-q', '1',
      '-D', 'publish', 'user-property', 'a', 'b',
      '-D', 'publish', 'content-type', 'text/plain',
      '-D', 'publish', 'user-property', 'a', 'c',
      '-D', 'publish', 'correlation-data', 'req-7',
      '-D', 'publish', 'response-topic', 'replies/7',
    ]);
    expect(pub.code, pub.stderr).toBe(0);
    expect(pub.stderr).toBe('');
    const r = await sub.done;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      topic: 'props/a',
      payload: 'hi',
      qos: 1,
      retain: false,
      properties: { userProperties: [['a', 'b'], ['a', 'c']], contentType: 'text/plain', correlationData: Buffer.from('req-7').toString('base64'), responseTopic: 'replies/7' },
      // sub's one subscription has the identifier the client gave it (Mosquitto allows them).
      subscriptionIdentifiers: [1],
    });
  }, TEST_TIMEOUT_MS);

  it('the debug log at MQTT 5 shows the properties and reason codes', async () => {
    const r = await runCli(['pub', '-V', '5', '-L', m.url, '-t', 'log/a', '-m', 'x', '-q', '1', '-d', '-D', 'publish', 'content-type', 'text/plain', '-D', 'publish', 'user-property', 'k', 'v']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^mqttwire debug: \S+ > CONNECT clientId="\S+" level=5 /m);
    expect(r.stderr).toMatch(/^mqttwire debug: \S+ < CONNACK sessionPresent=false rc=0x00 \(Success\) props=\{/m);
    expect(r.stderr).toMatch(/^mqttwire debug: \S+ > PUBLISH topic="log\/a" qos=1 id=1 payload=1B props=\{contentType="text\/plain", userProperties=\[\["k","v"\]\]\}$/m);
    // Nobody subscribes: Mosquitto says so in the PUBACK.
    expect(r.stderr).toMatch(/^mqttwire debug: \S+ < PUBACK id=1 rc=0x10 \(No matching subscribers\)$/m);
  }, TEST_TIMEOUT_MS);

  it('a publish the ACL denies: one line with the reason code and its name, exit 1, at QoS 1 and 2; the same at 3.1.1 passes unnoticed (the control)', async () => {
    const [q1, q2, open, v311] = await Promise.all([
      runCli(['pub', '-V', '5', '-L', acl.url, '-t', 'ro/x', '-m', 'hi', '-q', '1']),
      runCli(['pub', '-V', 'mqttv5', '-L', acl.url, '-t', 'ro/x', '-m', 'hi', '-q', '2']),
      runCli(['pub', '-V', '5', '-L', acl.url, '-t', 'rw/x', '-m', 'hi', '-q', '1']),
      runCli(['pub', '-V', '311', '-L', acl.url, '-t', 'ro/x', '-m', 'hi', '-q', '1']),
    ]);
    expect(q1).toMatchObject({ code: 1, stdout: '', stderr: 'mqttwire pub: publish to "ro/x" refused: Not authorized (PUBACK/PUBREC reason code 0x87)\n' });
    expect(q2).toMatchObject({ code: 1, stdout: '', stderr: 'mqttwire pub: publish to "ro/x" refused: Not authorized (PUBACK/PUBREC reason code 0x87)\n' });
    expect(open).toMatchObject({ code: 0, stderr: '' });
    expect(v311).toMatchObject({ code: 0, stderr: '' });
  }, TEST_TIMEOUT_MS);

  it('a subscription the broker refuses: one line with the filter, the reason and its code, exit 1', async () => {
    const r = await runCli(['sub', '-V', '5', '-L', denying.url, '-t', 'secret/#', '-W', '5']);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: 'mqttwire sub: subscription refused by the broker for: "secret/#" (Not authorized, 0x87)\n' });
  }, TEST_TIMEOUT_MS);

  it('-D connect and -D disconnect properties go out in CONNECT and DISCONNECT (debug log)', async () => {
    const r = await runCli([
      'pub', '-V', '5', '-L', m.url, '-t', 'log/b', '-m', 'x', '-d', '-i', 'cli5-props',
      '-D', 'connect', 'user-property', 'who', 'cli', '-D', 'connect', 'session-expiry-interval', '30', '-D', 'connect', 'receive-maximum', '5',
      '-D', 'disconnect', 'session-expiry-interval', '0',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^mqttwire debug: cli5-props > CONNECT clientId="cli5-props" level=5 clean=true keepalive=60 props=\{sessionExpiryInterval=30, receiveMaximum=5, userProperties=\[\["who","cli"\]\]\}$/m);
    expect(r.stderr).toMatch(/^mqttwire debug: cli5-props > DISCONNECT props=\{sessionExpiryInterval=0\}$/m);
  }, TEST_TIMEOUT_MS);

  it('--retain-handling 2: no retained message at subscribe; 0 (the control) gets it', async () => {
    const set = await runCli(['pub', '-V', '5', '-L', m.url, '-t', 'rh/a', '-m', 'kept', '-r', '-q', '1']);
    expect(set.code, set.stderr).toBe(0);
    const [never, always] = await Promise.all([
      runCli(['sub', '-V', '5', '-L', m.url, '-t', 'rh/#', '--retain-handling', '2', '-W', '1', '--format', 'json']),
      runCli(['sub', '-V', '5', '-L', m.url, '-t', 'rh/#', '--retain-handling', '0', '-C', '1', '-W', '10', '--format', 'json']),
    ]);
    expect(never).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(always.code, always.stderr).toBe(0);
    expect(JSON.parse(always.stdout)).toMatchObject({ topic: 'rh/a', payload: 'kept', retain: true });
  }, TEST_TIMEOUT_MS);

  it('--retain-as-published: a live message published with -r arrives with retain true; without it (the control), false', async () => {
    const [rap, plain] = await Promise.all([
      startSubscribed(['sub', '-V', '5', '-L', m.url, '-t', 'rap/live', '--retain-as-published', '-C', '1', '--format', 'json']),
      startSubscribed(['sub', '-V', '5', '-L', m.url, '-t', 'rap/live', '-C', '1', '--format', 'json']),
    ]);
    const pub = await runCli(['pub', '-V', '5', '-L', m.url, '-t', 'rap/live', '-m', 'now', '-r', '-q', '1']);
    expect(pub.code, pub.stderr).toBe(0);
    const [a, b] = await Promise.all([rap.done, plain.done]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ topic: 'rap/live', payload: 'now', retain: true });
    expect(JSON.parse(b.stdout)).toMatchObject({ topic: 'rap/live', payload: 'now', retain: false });
  }, TEST_TIMEOUT_MS);

  it('a refused login at MQTT 5: the CONNACK reason code and its name (Mosquitto 2.0.11 says 0x87, as it says 5 at 3.1.1)', async () => {
    const r = await runCli(['pub', '-V', '5', '-L', secured.url, '-u', 'alice', '-P', 'wrong', '-t', 'a', '-m', 'x']);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: `mqttwire pub: the broker at ${secured.url} refused the connection: Not authorized (CONNACK reason code 0x87)\n` });
  }, TEST_TIMEOUT_MS);

  it('-D will properties travel with the will (sub killed without DISCONNECT)', async () => {
    const watcher = await connect(m.url, { protocolVersion: 5 });
    try {
      const wills = await watcher.subscribe('will/cli5', { qos: 1 });
      const sub = await startSubscribed(['sub', '-V', '5', '-L', m.url, '-t', 'quiet', '--will-topic', 'will/cli5', '--will-message', 'gone', '-D', 'will', 'content-type', 'text/plain', '-D', 'will', 'user-property', 'why', 'killed']);
      sub.kill('SIGKILL');
      const will = (await within(wills.next(), 10_000, 'the will')).value;
      expect(will?.text()).toBe('gone');
      expect(will?.properties).toEqual({ contentType: 'text/plain', userProperties: [['why', 'killed']] });
    } finally {
      await watcher.end();
    }
  }, TEST_TIMEOUT_MS);

  it('test and bench at -V 5: they connect at level 5 and finish', async () => {
    const [t, b] = await Promise.all([
      runCli(['test', '-V', '5', '-L', m.url, '-C', '2', '--interval', '10', '-t', 'v5test/1', '-s', 'v5test/2', '-D', 'publish', 'user-property', 'k', 'v', '-d']),
      runCli(['bench', '-V', '5', '-L', m.url, '-C', '20', '-q', '1', '-d']),
    ]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/^mqttwire debug: \S+ > CONNECT clientId="\S+" level=5 /m);
    expect(t.stderr).toMatch(/^mqttwire debug: \S+ > PUBLISH topic="v5test\/1" qos=0 payload=\d+B props=\{userProperties=\[\["k","v"\]\]\}$/m);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/^mqttwire debug: \S+ > CONNECT clientId="\S+" level=5 /m);
    expect(b.stdout).toMatch(/^ {2}lost +0$/m);
  }, TEST_TIMEOUT_MS);

  it('-D publish payload-format-indicator 1 on a payload that is not UTF-8: a usage error (exit 2), nothing published', async () => {
    const watcher = await connect(m.url, { protocolVersion: 5 });
    try {
      const seen = await watcher.subscribe('pfi/#', { qos: 1 });
      const bad = await runCli(['pub', '-V', '5', '-L', m.url, '-t', 'pfi/bad', '-s', '-q', '1', '-D', 'publish', 'payload-format-indicator', '1'], { input: new Uint8Array([0xff, 0xfe]) });
      expect(bad).toMatchObject({ code: 2, stdout: '' });
      expect(bad.stderr).toBe("mqttwire pub: properties.payloadFormatIndicator is true but the payload is not valid UTF-8\ntry 'mqttwire pub --help'\n");
      // The control, published after it: the first message the watcher gets, so the refused one never went out.
      const good = await runCli(['pub', '-V', '5', '-L', m.url, '-t', 'pfi/good', '-s', '-q', '1', '-D', 'publish', 'payload-format-indicator', '1'], { input: 'text' });
      expect(good).toMatchObject({ code: 0, stderr: '' });
      const first = (await within(seen.next(), 10_000, 'the control message')).value;
      expect(first?.topic).toBe('pfi/good');
      expect(first?.properties).toEqual({ payloadFormatIndicator: true });
    } finally {
      await watcher.end();
    }
  }, TEST_TIMEOUT_MS);
});
