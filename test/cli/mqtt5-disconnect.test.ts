/**
 * A server DISCONNECT ending `sub -V 5`: one line with the reason code, its name and the reason string.
 * On the byte-level fake broker because Mosquitto 2.0.11 sends no DISCONNECT on a session takeover or
 * on shutdown (it closes the socket; checked by hand with mosquitto_sub -V 5 -d).
 */
import { afterAll, expect, it } from 'vitest';
import { next5, send5 } from '../helpers/fake-broker-v5.js';
import { startFakeBroker, type FakeBroker } from '../helpers/fake-broker.js';
import { killAllCli, startCli, TEST_TIMEOUT_MS } from './cli.js';

let fake: FakeBroker | undefined;
afterAll(async () => {
  killAllCli();
  await fake?.close();
});

it('DISCONNECT 0x8E Session taken over (not retried): sub exits 1 with one line; the debug log names the code', async () => {
  fake = await startFakeBroker();
  const sub = startCli(['sub', '-V', '5', '-L', fake.url, '-t', 'a/#', '-d']);
  const conn = await fake.nextConnection(20_000);
  const connect = await next5(conn, 'connect', 20_000);
  expect(connect.protocolLevel).toBe(5);
  send5(conn, { type: 'connack', sessionPresent: false, returnCode: 0 });
  const subscribe = await next5(conn, 'subscribe', 20_000);
  send5(conn, { type: 'suback', packetId: subscribe.packetId, returnCodes: [0] });
  await sub.waitFor('stderr', /< SUBACK/);
  send5(conn, { type: 'disconnect', reasonCode: 0x8e, properties: { reasonString: 'another client took it' } });
  const r = await sub.done;
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  // -d (to see the packets) also prints the error's stack after the line: leave that out.
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('mqttwire debug:') && !l.startsWith('    at ') && !l.startsWith('ServerDisconnectError: '));
  expect(lines).toEqual([`mqttwire sub: the broker at ${fake.url} disconnected: Session taken over (DISCONNECT reason code 0x8e): "another client took it"`]);
  expect(r.stderr).toMatch(/^mqttwire debug: \S+ < DISCONNECT rc=0x8e \(Session taken over\) props=\{reasonString="another client took it"\}$/m);
}, TEST_TIMEOUT_MS);
