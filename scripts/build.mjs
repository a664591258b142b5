// Builds dist/esm (ESM) and dist/cjs (CommonJS), each with .d.ts.
//
// The JavaScript is bundled by esbuild, one file per entry point, without code splitting: a fresh
// Node process pays for every module file it loads (resolve, read, compile, link: 1 to 2 ms each on
// a small machine), so `import 'mqttwire'` loads one file plus the tiny shared errors module, and the
// Node built-ins behind the transports (node:net, node:tls) are imported on first connect instead.
//
// One module is shared rather than bundled into each entry: src/errors.ts becomes dist/*/errors.js,
// which every entry imports, so `err instanceof MqttProtocolError` holds whichever entry (mqttwire,
// mqttwire/codec, mqttwire/scram) the class and the error came from. (Between the ESM and the CommonJS
// build, which are two copies, the classes' brand does that: see MqttError in src/errors.ts.) The CLI
// imports the public entry (index.js) the same way instead of carrying a second copy of the client.
// Types come from tsc, file for file.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const tsc = (args) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', ...args], { stdio: 'inherit' });

rmSync('dist', { recursive: true, force: true });

// Declarations only: tsc checks the code (npm run typecheck) and writes the .d.ts files.
tsc(['-p', 'tsconfig.build.json', '--emitDeclarationOnly']);
tsc(['-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--module', 'CommonJS', '--moduleResolution', 'Node10', '--outDir', 'dist/cjs', '--verbatimModuleSyntax', 'false', '--ignoreDeprecations', '6.0']);

const SRC = path.resolve('src');
const nodeEntries = ['errors', 'index', 'codec/index', 'store/file-store', 'auth/scram', 'cli/main'];
const webEntries = ['index.web', 'index.workerd'];

/** Source modules that stay their own file in dist: imports of them are rewritten, not bundled. */
function sharedFor(entry) {
  const shared = new Map([[path.join(SRC, 'errors.ts'), 'errors.js']]);
  if (entry.startsWith('cli/')) shared.set(path.join(SRC, 'index.ts'), 'index.js');
  shared.delete(path.join(SRC, `${entry}.ts`));
  return shared;
}

/** Resolves imports of shared modules to a relative path from the entry's own output file. */
function shareModules(entry) {
  const shared = sharedFor(entry);
  return {
    name: 'share-modules',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const target = path.resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
        const file = shared.get(target);
        if (file === undefined) return undefined;
        let rel = path.relative(path.dirname(path.join(SRC, entry)), path.join(SRC, file));
        if (!rel.startsWith('.')) rel = `./${rel}`;
        return { path: rel, external: true };
      });
    },
  };
}

/**
 * CommonJS output: the transports' lazy `import('node:net')` / `import('node:tls')` become
 * `require()`. Left as import(), a CommonJS process would start Node's ESM loader just to get a
 * built-in. Other dynamic imports (ws, aedes) stay: aedes is ESM-only.
 */
const requireBuiltins = {
  name: 'require-builtins',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]transport[\\/].*\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      return { contents: text.replace(/(?<!typeof )import\('(node:[\w/]+)'\)/g, "Promise.resolve().then(() => require('$1'))"), loader: 'ts' };
    });
  },
};

const buildEntry = (entry, format, outRoot) =>
  build({
    entryPoints: [`src/${entry}.ts`],
    outfile: `${outRoot}/${entry}.js`,
    bundle: true,
    format,
    platform: 'neutral',
    target: 'es2022',
    sourcemap: true,
    // Loaded by the runtime, never bundled: Node built-ins, the optional peers, workerd's sockets.
    external: ['node:*', 'ws', 'aedes', 'cloudflare:sockets'],
    plugins: format === 'cjs' ? [shareModules(entry), requireBuiltins] : [shareModules(entry)],
    logLevel: 'warning',
  });

await Promise.all([
  ...[...nodeEntries, ...webEntries].map((e) => buildEntry(e, 'esm', 'dist/esm')),
  ...nodeEntries.map((e) => buildEntry(e, 'cjs', 'dist/cjs')),
]);
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
