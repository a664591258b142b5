/**
 * Deno (the `deno` devDependency's binary) runs a script that imports `mqttwire` from a consumer
 * directory: Deno resolves the package's `deno` condition (the Node entry, on Deno's node:net) and
 * does a QoS 1 round trip with a real broker over TCP, TLS, and WebSocket (Deno's global WebSocket),
 * both to the broker's WebSocket listener and through a bridge that re-frames packets
 * (server-runtime-suite.ts). Permissions are tight: network to 127.0.0.1, and reading the consumer
 * directory, package.json and dist/ only; no env, no write, no subprocesses, no prompt.
 */
import path from 'node:path';
import { describeServerRuntime } from './server-runtime-suite.js';
import { findDeno, repoRoot } from './runtimes.js';

describeServerRuntime({
  name: 'Deno',
  binary: findDeno(),
  version: /^deno \d/,
  args: (script, consumerDir) => {
    const readable = [consumerDir, path.join(repoRoot, 'package.json'), path.join(repoRoot, 'dist')].join(',');
    return ['run', '--no-prompt', '--allow-net=127.0.0.1', `--allow-read=${readable}`, script];
  },
  env: { DENO_NO_UPDATE_CHECK: '1' },
  caVariable: 'DENO_CERT',
  untrustedReason: /invalid peer certificate/,
});
