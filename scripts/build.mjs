// Builds dist/esm (ESM) and dist/cjs (CommonJS), each with .d.ts.
//
// The JavaScript is bundled by esbuild, one file per entry point: a fresh Node process pays for
// every module it loads (about 1 to 2 ms each on a small machine), and the client is ~30 modules,
// which made import alone cost more than the whole cold-start budget. The ESM build splits code
// shared between entries into chunks and keeps the transports behind dynamic import(), so a
// process that only speaks mqtt:// never loads TLS or WebSocket code and a browser bundle never
// sees node:net. Types come from tsc, file for file, as before.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const tsc = (args) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', ...args], { stdio: 'inherit' });

rmSync('dist', { recursive: true, force: true });

// Declarations only: tsc checks the code (npm run typecheck) and writes the .d.ts files.
tsc(['-p', 'tsconfig.build.json', '--emitDeclarationOnly']);
tsc(['-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--module', 'CommonJS', '--moduleResolution', 'Node10', '--outDir', 'dist/cjs', '--verbatimModuleSyntax', 'false', '--ignoreDeprecations', '6.0']);

const nodeEntries = ['src/index.ts', 'src/codec/index.ts', 'src/store/file-store.ts', 'src/cli/main.ts'];
const webEntries = ['src/index.web.ts', 'src/index.workerd.ts'];
const common = {
  bundle: true,
  outbase: 'src',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  // Loaded by the runtime, never bundled: Node built-ins, the optional peers, workerd's sockets.
  external: ['node:*', 'ws', 'aedes', 'cloudflare:sockets'],
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: [...nodeEntries, ...webEntries],
  outdir: 'dist/esm',
  format: 'esm',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});

await build({
  ...common,
  entryPoints: nodeEntries,
  outdir: 'dist/cjs',
  format: 'cjs',
});
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
