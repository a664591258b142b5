/**
 * Child process of caught-errors.test.ts: runs one new-user scenario in a fresh Node process,
 * where an unhandled rejection ends the process with exit code 1 (Node's default), and prints
 * one JSON line: what the application caught.
 *
 *   node --import tsx test/client/caught-error-child.ts <scenario>
 */
import net from 'node:net';
import { connect, MqttClient, type ClientOptions } from '../../src/index.js';

const scenarios: Record<string, ClientOptions | 'unhandled' | 'closed-read-before' | 'closed-read-after'> = {
  'will-wildcard': { will: { topic: 'status/+', payload: 'x' } },
  'will-empty-topic': { will: { topic: '', payload: 'x' } },
  'will-nul-topic': { will: { topic: 'a\u0000b', payload: 'x' } },
  'will-no-topic': { will: { payload: 'x' } as unknown as ClientOptions['will'] },
  // CONNECT cannot be written: the logger throws on it, inside connect(), after the socket opened.
  'logger-throws': {
    logger: (line) => {
      if (line.includes('> CONNECT')) throw new Error('the logger broke');
    },
  },
  // `closed` is made when first read: read (and not awaited) before or after destroy(err) rejects it.
  'closed-read-before': 'closed-read-before',
  'closed-read-after': 'closed-read-after',
  // The positive control: a rejection nobody handles must end this process with code 1.
  control: 'unhandled',
};

const name = process.argv[2] ?? '';
const scenario = scenarios[name];
if (scenario === undefined) throw new Error(`unknown scenario ${name}`);

// A listener that accepts and never answers: a client that gets as far as CONNECT waits for CONNACK.
const server = net.createServer((socket) => socket.on('error', () => {}));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as net.AddressInfo;

let caught: { name: string; code: unknown; message: string } | undefined;
if (scenario === 'unhandled') {
  void Promise.reject(new Error('deliberately unhandled'));
} else if (scenario === 'closed-read-before' || scenario === 'closed-read-after') {
  const client = new MqttClient(`mqtt://127.0.0.1:${port}`, { reconnect: false });
  const before = scenario === 'closed-read-before' ? client.closed : undefined;
  client.destroy(new Error('destroyed on purpose'));
  const closed = before ?? client.closed;
  // What the application would see if it did await it (after the turn below, with nobody listening meanwhile).
  await new Promise((resolve) => setImmediate(resolve));
  await closed.catch((err: Error) => (caught = { name: err.name, code: undefined, message: err.message }));
} else {
  try {
    await connect(`mqtt://127.0.0.1:${port}`, { ...scenario, connectTimeout: 5000, reconnect: false });
  } catch (err) {
    const e = err as { name: string; code?: unknown; message: string };
    caught = { name: e.name, code: e.code, message: e.message };
  }
}
// One turn of the event loop: any rejection left behind by the library is reported before this.
await new Promise((resolve) => setImmediate(resolve));
server.close();
console.log(JSON.stringify({ caught }));
