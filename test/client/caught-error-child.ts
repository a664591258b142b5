/**
 * Child process of caught-errors.test.ts: runs one new-user scenario in a fresh Node process,
 * where an unhandled rejection ends the process with exit code 1 (Node's default), and prints
 * one JSON line: what the application caught.
 *
 *   node --import tsx test/client/caught-error-child.ts <scenario>
 */
import net from 'node:net';
import { connect, type ClientOptions } from '../../src/index.js';

const scenarios: Record<string, ClientOptions | 'unhandled'> = {
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
