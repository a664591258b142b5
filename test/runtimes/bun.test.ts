/**
 * Bun (the `bun` devDependency's binary) runs a script that imports `mqttwire` from a consumer
 * directory: Bun resolves the package's `bun` condition (the Node entry, on Bun's node:net) and does
 * a QoS 1 round trip with a real broker over TCP, TLS and WebSocket (Bun's global WebSocket), both
 * to the broker's WebSocket listener and through a bridge that re-frames packets
 * (server-runtime-suite.ts).
 */
import { describeServerRuntime } from './server-runtime-suite.js';
import { findBun } from './runtimes.js';

describeServerRuntime({
  name: 'Bun',
  binary: findBun(),
  version: /^bun \d/,
  args: (script) => ['run', '--no-install', script],
  env: { BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0', DO_NOT_TRACK: '1' },
  caVariable: 'NODE_EXTRA_CA_CERTS',
  untrustedReason: /TLS handshake failed/,
});
