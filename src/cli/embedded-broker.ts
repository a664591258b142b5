import { createServer, type Server, type Socket } from 'node:net';

/**
 * An in-process aedes broker on 127.0.0.1 and an ephemeral port, for the demo and for the CLI
 * when no broker is given. aedes is an optional peer dependency: library users never download
 * it, and it is loaded only here, only when asked for.
 */
export async function startEmbeddedBroker(): Promise<{ url: string; close(): Promise<void> }> {
  let Aedes: typeof import('aedes').Aedes;
  try {
    ({ Aedes } = await import('aedes'));
  } catch {
    throw new Error('no broker given and the embedded broker needs the "aedes" package: npm install aedes, or pass --url/--host');
  }
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
