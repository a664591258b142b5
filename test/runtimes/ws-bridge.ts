/**
 * A WebSocket listener in front of a TCP MQTT broker, for the runtime tests: Debian's Mosquitto is
 * built without websockets. Each WebSocket (subprotocol `mqtt`, any path) gets its own TCP
 * connection to the broker; bytes pass through unchanged both ways, frame boundaries ignored.
 * (test/helpers/ws-bridge.ts is the adversarial one: it re-frames what the broker sends.)
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

export interface WsBridge {
  /** ws://127.0.0.1:<port>/mqtt */
  url: string;
  port: number;
  /** WebSocket connections accepted so far, and the subprotocol each asked for. */
  readonly accepted: string[];
  close(): Promise<void>;
}

export async function startWsBridge(brokerPort: number): Promise<WsBridge> {
  const accepted: string[] = [];
  const pairs = new Set<{ ws: WebSocket; tcp: net.Socket }>();
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('connection', (ws, req) => {
    accepted.push(String(req.headers['sec-websocket-protocol'] ?? ''));
    const tcp = net.connect({ host: '127.0.0.1', port: brokerPort });
    const pair = { ws, tcp };
    pairs.add(pair);
    ws.on('message', (data: RawData) => {
      tcp.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
    });
    tcp.on('data', (chunk) => ws.send(chunk, { binary: true }));
    const done = (): void => {
      pairs.delete(pair);
      tcp.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
    };
    tcp.on('close', done);
    tcp.on('error', done);
    ws.on('close', () => tcp.end());
    ws.on('error', done);
  });
  const port = (wss.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `ws://127.0.0.1:${port}/mqtt`,
    port,
    accepted,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const { ws, tcp } of pairs) {
          ws.terminate();
          tcp.destroy();
        }
        wss.close(() => resolve());
      });
      return closing;
    },
  };
}
