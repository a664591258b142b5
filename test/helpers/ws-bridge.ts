/**
 * An MQTT-over-WebSocket front for a broker that only speaks TCP (Debian's Mosquitto has no
 * websockets; aedes needs a stream): a `ws` WebSocketServer on 127.0.0.1:<ephemeral>, plain or TLS,
 * accepting subprotocol `mqtt`, piping each connection to the broker's TCP port.
 *
 * Broker-to-client bytes are re-framed adversarially with a seeded PRNG: bytes that arrive
 * together are packed into one frame (several packets per frame), and cut at random points
 * (a packet split over many frames, down to single bytes). A decoder that assumes one packet per
 * frame fails here.
 *
 *   const bridge = await startWsBridge({ brokerPort: broker.port, seed: 7 });
 *   connect(bridge.url('/mqtt'));   // ws://127.0.0.1:<port>/mqtt
 *   bridge.requests                 // [{ path: '/mqtt', protocols: 'mqtt' }]
 *   bridge.dropAll()                // the "broker" closes every connection
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { prng } from './prng.js';

export interface WsBridgeOptions {
  brokerPort: number;
  /** Serve wss:// with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** PRNG seed of the re-framing (default 1). */
  seed?: number;
}

export interface WsBridge {
  port: number;
  /** ws://127.0.0.1:<port><path> (wss:// with `tls`). */
  url(path?: string): string;
  /** Every upgrade request: its path (with query), the Sec-WebSocket-Protocol offered, any Authorization header. */
  requests: { path: string; protocols: string | undefined; authorization: string | undefined }[];
  /**
   * Broker-to-client frames so far: how many ended inside a packet (`splits`) and how many held the
   * ends of two or more packets (`packed`).
   */
  stats: { frames: number; bytes: number; splits: number; packed: number };
  /** Close every open connection from the server side (a clean WebSocket close, code 1001). */
  dropAll(): void;
  openConnections(): number;
  close(): Promise<void>;
}


export async function startWsBridge(opts: WsBridgeOptions): Promise<WsBridge> {
  const random = prng(opts.seed ?? 1);
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }) : http.createServer();
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: false,
    // Only MQTT: a client that does not offer `mqtt` gets no subprotocol (and should give up).
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
  });
  const requests: WsBridge['requests'] = [];
  const stats = { frames: 0, bytes: 0, splits: 0, packed: 0 };
  const open = new Set<{ ws: WebSocket; tcp: net.Socket }>();

  wss.on('connection', (ws, req) => {
    requests.push({ path: req.url ?? '', protocols: req.headers['sec-websocket-protocol'], authorization: req.headers.authorization });
    const tcp = net.connect({ host: '127.0.0.1', port: opts.brokerPort });
    const conn = { ws, tcp };
    open.add(conn);
    let pending: Buffer[] = [];
    let scheduled = false;
    const packets = packetEnds();
    let sent = 0; // stream offset of the next byte to frame

    // Everything read from the broker until the next macrotask goes out together, cut at random points.
    const flush = (): void => {
      scheduled = false;
      let data = Buffer.concat(pending);
      pending = [];
      while (data.length > 0 && ws.readyState === ws.OPEN) {
        const r = random();
        const size = Math.min(data.length, r < 0.45 ? 1 + Math.floor(random() * 8) : r < 0.9 ? 1 + Math.floor(random() * 64) : data.length);
        ws.send(data.subarray(0, size));
        data = data.subarray(size);
        sent += size;
        const ended = packets.passed(sent);
        stats.frames++;
        stats.bytes += size;
        if (ended >= 2) stats.packed++;
        if (!packets.isBoundary(sent)) stats.splits++;
      }
    };
    tcp.on('data', (chunk: Buffer) => {
      packets.scan(chunk);
      pending.push(chunk);
      if (!scheduled) {
        scheduled = true;
        // Sometimes wait a little longer, so packets read separately share a frame.
        if (random() < 0.5) setImmediate(flush);
        else setTimeout(flush, 1);
      }
    });
    ws.on('message', (data: Buffer) => tcp.write(data));
    const done = (): void => {
      open.delete(conn);
      tcp.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1001, 'broker gone');
    };
    tcp.on('close', done);
    tcp.on('error', () => undefined);
    ws.on('close', done);
    ws.on('error', () => undefined);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const scheme = opts.tls ? 'wss' : 'ws';

  return {
    port,
    url: (path = '') => `${scheme}://127.0.0.1:${port}${path}`,
    requests,
    stats,
    dropAll() {
      for (const { ws, tcp } of open) {
        ws.close(1001, 'broker gone');
        tcp.destroy();
      }
    },
    openConnections: () => open.size,
    async close() {
      for (const { ws, tcp } of open) {
        ws.terminate();
        tcp.destroy();
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Where MQTT packets end in a byte stream (fixed header: type byte, 1-4 length bytes). */
function packetEnds(): { scan(chunk: Buffer): void; passed(offset: number): number; isBoundary(offset: number): boolean } {
  const ends: number[] = []; // ends not yet passed, ascending
  let lastPassed = 0;
  let offset = 0; // bytes scanned
  let header: number[] = [];
  let body = 0; // body bytes still to skip
  return {
    scan(chunk) {
      let i = 0;
      while (i < chunk.length) {
        if (body > 0) {
          const n = Math.min(body, chunk.length - i);
          body -= n;
          i += n;
          if (body === 0) ends.push(offset + i);
          continue;
        }
        const b = chunk[i++] as number;
        header.push(b);
        if (header.length === 1 || b & 0x80) continue;
        body = header.slice(1).reduce((sum, x, k) => sum + (x & 0x7f) * 128 ** k, 0);
        header = [];
        if (body === 0) ends.push(offset + i);
      }
      offset += chunk.length;
    },
    passed(at) {
      let n = 0;
      while (ends.length > 0 && (ends[0] as number) <= at) {
        lastPassed = ends.shift() as number;
        n++;
      }
      return n;
    },
    isBoundary: (at) => lastPassed === at,
  };
}
