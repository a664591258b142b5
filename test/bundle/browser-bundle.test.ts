/**
 * The browser and workerd entry points bundle without Node: esbuild (as a user's bundler would)
 * bundles each entry with everything it can reach, dynamic imports included, and the metafile must
 * name no `node:` module and no `ws` package. Node built-ins and `ws` are marked external by a
 * plugin that records every such import, so a violation is reported by name rather than as a
 * resolve error.
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILTINS = new Set(builtinModules);

interface Bundle {
  metafile: Metafile;
  /** Node built-ins and `ws` imported anywhere in the graph, with the importer. */
  forbidden: string[];
  bytes: number;
}

function recordForbidden(forbidden: string[]): Plugin {
  return {
    name: 'record-forbidden',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.replace(/^node:/, '');
        const isNode = args.path.startsWith('node:') || BUILTINS.has(bare.split('/')[0]!) || BUILTINS.has(bare);
        if (isNode || args.path === 'ws' || args.path.startsWith('ws/')) {
          forbidden.push(`${args.path} (from ${path.relative(ROOT, args.importer)})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
}

async function bundle(entry: string, opts: { platform: 'browser' | 'neutral'; conditions: string[]; external?: string[] }): Promise<Bundle> {
  const forbidden: string[] = [];
  const result = await build({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    write: false,
    format: 'esm',
    platform: opts.platform,
    conditions: opts.conditions,
    mainFields: ['browser', 'module', 'main'],
    external: opts.external ?? [],
    target: 'es2022',
    minify: true,
    metafile: true,
    logLevel: 'silent',
    plugins: [recordForbidden(forbidden)],
  });
  return { metafile: result.metafile, forbidden, bytes: result.outputFiles[0]!.contents.byteLength };
}

function nodeInputs(metafile: Metafile): string[] {
  const bad: string[] = [];
  for (const [file, input] of Object.entries(metafile.inputs)) {
    if (file.startsWith('node:') || /(^|\/)node_modules\/ws\//.test(file)) bad.push(file);
    for (const imp of input.imports) {
      if (imp.path.startsWith('node:') || BUILTINS.has(imp.path) || imp.path === 'ws') bad.push(`${imp.path} (from ${file})`);
    }
  }
  return bad;
}

describe('browser bundle (src/index.web.ts)', () => {
  it('reaches no node: module and no ws', { timeout: 20_000 }, async () => {
    const b = await bundle('src/index.web.ts', { platform: 'browser', conditions: ['browser'] });
    expect(b.forbidden).toEqual([]);
    expect(nodeInputs(b.metafile)).toEqual([]);
    const inputs = Object.keys(b.metafile.inputs);
    expect(inputs).toContain('src/transport/websocket.ts');
    expect(inputs.filter((f) => /node-|select-node|file-store|cli\//.test(f))).toEqual([]);
  });

  it('the check itself catches the Node entry', { timeout: 20_000 }, async () => {
    const b = await bundle('src/index.ts', { platform: 'browser', conditions: ['browser'] });
    expect(b.forbidden.some((f) => f.startsWith('node:net'))).toBe(true);
  });

  it('package.json sends bundlers for browsers to the web entry', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const root = pkg.exports['.'] as Record<string, unknown>;
    const keys = Object.keys(root);
    expect(keys).toContain('browser');
    // Conditions match in order: `browser` must come before `import`/`require`/`default`.
    for (const k of ['import', 'require', 'default']) if (keys.includes(k)) expect(keys.indexOf('browser')).toBeLessThan(keys.indexOf(k));
    expect(JSON.stringify(root.browser)).toContain('./dist/esm/index.web.js');
  });
});

const workerdEntry = 'src/index.workerd.ts';
describe.skipIf(!fs.existsSync(path.join(ROOT, workerdEntry)))('workerd bundle (src/index.workerd.ts)', () => {
  it('reaches no node: module and no ws', { timeout: 20_000 }, async () => {
    const b = await bundle(workerdEntry, { platform: 'neutral', conditions: ['workerd', 'worker', 'browser'], external: ['cloudflare:*'] });
    expect(b.forbidden).toEqual([]);
    expect(nodeInputs(b.metafile)).toEqual([]);
  });
});

describe('mqttwire/scram (src/auth/scram.ts)', () => {
  it('bundles for browsers and workerd with no node: module and no ws', { timeout: 20_000 }, async () => {
    for (const conditions of [['browser'], ['workerd', 'worker', 'browser']]) {
      const b = await bundle('src/auth/scram.ts', { platform: conditions.length === 1 ? 'browser' : 'neutral', conditions });
      expect(b.forbidden).toEqual([]);
      expect(nodeInputs(b.metafile)).toEqual([]);
      expect(Object.keys(b.metafile.inputs)).toEqual(expect.arrayContaining(['src/auth/scram-client.ts', 'src/auth/saslprep-tables.ts']));
    }
  });

  it('is not in the client: no entry point reaches src/auth/ unless the application imports mqttwire/scram', { timeout: 30_000 }, async () => {
    const entries: [string, { platform: 'browser' | 'neutral'; conditions: string[]; external?: string[] }][] = [
      ['src/index.web.ts', { platform: 'browser', conditions: ['browser'] }],
      ['src/index.workerd.ts', { platform: 'neutral', conditions: ['workerd', 'worker', 'browser'], external: ['cloudflare:*'] }],
      ['src/index.ts', { platform: 'neutral', conditions: ['node'] }],
    ];
    for (const [entry, opts] of entries) {
      const inputs = Object.keys((await bundle(entry, opts)).metafile.inputs);
      expect(inputs.length, entry).toBeGreaterThan(10);
      expect(inputs.filter((f) => f.startsWith('src/auth/')), entry).toEqual([]);
    }
  });

  it('package.json exports ./scram, for import and require, with types first', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, Record<string, string>>> };
    expect(pkg.exports['./scram']).toEqual({
      import: { types: './dist/esm/auth/scram.d.ts', default: './dist/esm/auth/scram.js' },
      require: { types: './dist/cjs/auth/scram.d.ts', default: './dist/cjs/auth/scram.js' },
    });
  });
});

describe('error names in a minified bundle', () => {
  // A minifier renames classes (`InvalidArgumentError` becomes `i`), so a name taken from the class
  // would read `i: topic must be a string` in a production bundle. Every class names itself.
  it('err.name is the class name, however the bundler renamed the class', { timeout: 20_000 }, async () => {
    const result = await build({
      stdin: {
        contents: `import * as m from ${JSON.stringify(path.join(ROOT, 'src/errors.ts'))};
export const names = [
  new m.MqttError('NO_PACKET_ID', 'x'), new m.MqttProtocolError('TRUNCATED', 'x'), new m.InvalidArgumentError('x'),
  new m.ConnectionRefusedError(5), new m.PublishError('a', 0x87, {}), new m.ServerDisconnectError(0x8e, {}), new m.TimeoutError('x'), new m.SubscribeError(['a'], []), new m.ConnectionClosedError('x'),
  new m.ClientClosedError(), new m.AbortError(), new m.AbandonedSubscriptionError(['a'], 0, 0, 1), new m.QueueFullError('x'),
  new m.TransportError('x'), new m.AuthenticationError('SCRAM_MALFORMED', 'x'),
].map((e) => [e.name, String(e).split(':')[0], e.constructor.name]);`,
        resolveDir: ROOT,
        loader: 'js',
      },
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      minify: true,
      logLevel: 'silent',
    });
    const url = `data:text/javascript;base64,${Buffer.from(result.outputFiles[0]!.contents).toString('base64')}`;
    const { names } = (await import(url)) as { names: [string, string, string][] };
    const expected = ['MqttError', 'MqttProtocolError', 'InvalidArgumentError', 'ConnectionRefusedError', 'PublishError', 'ServerDisconnectError',
      'TimeoutError', 'SubscribeError',
      'ConnectionClosedError', 'ClientClosedError', 'AbortError', 'AbandonedSubscriptionError', 'QueueFullError', 'TransportError', 'AuthenticationError'];
    expect(names.map(([name]) => name)).toEqual(expected);
    expect(names.map(([, shown]) => shown)).toEqual(expected);
    // The positive control: the minifier did rename the classes, so the check above can fail.
    expect(names.filter(([name, , cls]) => name === cls)).toEqual([]);
  });

  it("an application's own subclass, which carries no brand, keeps its class name", async () => {
    const { InvalidArgumentError, MqttError } = await import('../../src/errors.js');
    class AppError extends MqttError {}
    expect(new AppError('NO_PACKET_ID', 'x').name).toBe('AppError');
    expect(new InvalidArgumentError('x').name).toBe('InvalidArgumentError');
  });
});
