/**
 * A byte-level scripted fake MQTT server on 127.0.0.1:<ephemeral>, for fault cases a real broker
 * cannot produce (garbage, split frames, wrong acks, silence, resets ...). It speaks no MQTT by itself:
 * each connection is handed to the test's script, which reads whole packets and writes raw bytes.
 *
 *   const fake = await startFakeBroker(async (conn) => {
 *     await conn.expectPacket(PacketType.CONNECT);
 *     conn.write('20 02 00 00');
 *   });
 *   ... point the client at fake.url ...
 *   await fake.close(); // rethrows the first error of a script, if any
 */
import net from 'node:net';
import { DEFAULT_PACKET_TIMEOUT_MS, PacketConnection } from './packet-conn.js';

export { hex, toHex, concatBytes, PacketType, packetType } from './mqtt-bytes.js';
export { PacketConnection } from './packet-conn.js';

/** One client connection as the fake broker sees it. */
export type FakeConnection = PacketConnection;

const SCRIPT_SETTLE_MS = 2000;

export type OnConnection = (conn: FakeConnection) => void | Promise<void>;

export interface FakeBroker {
  url: string; // mqtt://127.0.0.1:<port>
  port: number;
  /** Every connection accepted so far, in order. */
  connections: FakeConnection[];
  /** The next connection not yet returned by nextConnection (past or future). Rejects after timeoutMs. */
  nextConnection(timeoutMs?: number): Promise<FakeConnection>;
  /** Errors thrown (or rejected) by the onConnection script, in order. */
  scriptErrors: unknown[];
  /**
   * Destroys every connection, closes the server, waits for its scripts to settle (each bounded by its own
   * timeouts: the connections are closed, so pending nextPacket calls reject at once), then rejects with
   * the first script error if there was one, so a failing script fails the test.
   */
  close(): Promise<void>;
}

export async function startFakeBroker(onConnection?: OnConnection): Promise<FakeBroker> {
  const connections: FakeConnection[] = [];
  const scriptErrors: unknown[] = [];
  const scripts: Promise<void>[] = [];
  let handedOut = 0;
  const connWaiters: Array<(c: FakeConnection) => void> = [];
  let closing = false;

  const server = net.createServer((socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const conn = new PacketConnection(socket, 'client');
    connections.push(conn);
    connWaiters.shift()?.(conn);
    if (onConnection) {
      scripts.push(
        (async () => {
          try {
            await onConnection(conn);
          } catch (e) {
            // After close(), scripts see "connection closed" rejections: those are not failures.
            if (!closing) scriptErrors.push(e);
          }
        })(),
      );
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    connections,
    scriptErrors,
    nextConnection(timeoutMs = DEFAULT_PACKET_TIMEOUT_MS) {
      const ready = connections[handedOut];
      if (ready) {
        handedOut++;
        return Promise.resolve(ready);
      }
      return new Promise((resolve, reject) => {
        const waiter = (c: FakeConnection): void => {
          clearTimeout(timer);
          handedOut++;
          resolve(c);
        };
        const timer = setTimeout(() => {
          connWaiters.splice(connWaiters.indexOf(waiter), 1);
          reject(new Error(`fake broker: no new connection within ${timeoutMs} ms`));
        }, timeoutMs);
        connWaiters.push(waiter);
      });
    },
    async close() {
      if (!closing) {
        // Record errors of scripts that already failed before we start closing things under them.
        await new Promise((r) => setImmediate(r));
        closing = true;
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const c of connections) c.destroy();
        await Promise.all(connections.map((c) => c.closed));
        await serverClosed;
        let timer: NodeJS.Timeout | undefined;
        const settled = await Promise.race([
          Promise.all(scripts).then(() => true),
          new Promise<false>((r) => (timer = setTimeout(() => r(false), SCRIPT_SETTLE_MS))),
        ]);
        clearTimeout(timer);
        if (!settled) scriptErrors.push(new Error(`fake broker: a connection script was still running ${SCRIPT_SETTLE_MS} ms after close()`));
      }
      if (scriptErrors.length > 0) {
        const first = scriptErrors[0];
        throw first instanceof Error ? first : new Error(`fake broker script failed: ${String(first)}`);
      }
    },
  };
}
