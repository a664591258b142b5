/**
 * mqttwire/scram in the other server runtimes, through the built package as an application gets
 * it (a consumer directory, each runtime resolving the package's `exports`): Deno and Bun run one
 * SCRAM-SHA-256 exchange on their own Web Crypto against the test server
 * (test/helpers/scram-server.ts, on their node:crypto), and a forged server signature and a wrong
 * password are refused with their codes. Node loads the entry from both builds, sharing the error
 * classes of `mqttwire`. workerd and browsers: the entry is plain Web Crypto, and
 * test/bundle/browser-bundle.test.ts shows it reaches no Node module.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, findBun, findDeno, makeConsumerDir, parseResult, repoRoot, runChild, RESULT_PREFIX, type Binary, type ConsumerDir } from './runtimes.js';

const LIMIT_MS = 20_000;
const helper = path.join(repoRoot, 'test/helpers/scram-server.ts');
const esmEntry = pathToFileURL(path.join(repoRoot, 'dist/esm/auth/scram.js')).href;

/** One exchange that succeeds and two that must fail, reported as one RESULT line. */
const script = `import { scramSha256, AuthenticationError } from 'mqttwire/scram';
import { scramServer, storedCredentials } from ${JSON.stringify(pathToFileURL(helper).href)};

async function exchange(password, serverOptions, forge) {
  const m = scramSha256({ username: 'user,1', password });
  const ex = scramServer(serverOptions).exchange();
  const clientFinal = await m.onChallenge(ex.first(m.data));
  let { message } = ex.final(clientFinal);
  if (forge) {
    // One bit of the signature changed, still valid base64.
    const signature = Uint8Array.from(atob(new TextDecoder().decode(message).slice(2)), (c) => c.charCodeAt(0));
    signature[0] ^= 1;
    message = new TextEncoder().encode('v=' + btoa(String.fromCharCode(...signature)));
  }
  try {
    await m.verifyFinal(message);
    return 'verified';
  } catch (err) {
    return (err instanceof AuthenticationError ? 'AuthenticationError ' : 'other ') + err.code;
  }
}

const users = { 'user,1': storedCredentials('p\\u00e4ss word') };
const result = {
  resolved: import.meta.resolve('mqttwire/scram'),
  // Mapped by SASLprep: a no-break space is a space, "a" + U+0308 is U+00E4.
  good: await exchange('p\\u0061\\u0308ss\\u00a0word', { users }),
  forged: await exchange('p\\u00e4ss word', { users }, true),
  wrongPassword: await exchange('pass word', { users }),
};
console.log(${JSON.stringify(RESULT_PREFIX)} + JSON.stringify(result));
`;

const runtimes: { name: string; binary: Binary | Error; args: (file: string, dir: string) => string[] }[] = [
  {
    name: 'Deno',
    binary: findDeno(),
    args: (file, dir) => ['run', '--no-prompt', `--allow-read=${[dir, path.join(repoRoot, 'package.json'), path.join(repoRoot, 'dist'), helper].join(',')}`, file],
  },
  { name: 'Bun', binary: findBun(), args: (file) => ['run', '--no-install', file] },
];

describe('mqttwire/scram in Deno and Bun', () => {
  let consumer: ConsumerDir;
  beforeAll(() => {
    consumer = makeConsumerDir('scram');
  });
  afterAll(() => consumer?.remove());

  it.each(runtimes)('$name: an exchange verifies the server, a forged signature and a wrong password are refused', async ({ name, binary, args }) => {
    if (binary instanceof Error) throw binary;
    const file = consumer.write(`scram-${name.toLowerCase()}.mjs`, script);
    const r = await runChild(binary.path, args(file, consumer.dir), {
      cwd: consumer.dir,
      timeoutMs: LIMIT_MS,
      env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DO_NOT_TRACK: '1' },
    });
    const account = describeRun(`${name} ${binary.version}`, r);
    expect(r.code, account).toBe(0);
    expect(parseResult(r.stdout), account).toEqual({
      resolved: esmEntry,
      good: 'verified',
      forged: 'AuthenticationError SCRAM_BAD_SERVER_SIGNATURE',
      wrongPassword: 'AuthenticationError SCRAM_SERVER_ERROR',
    });
  });

  it('Node: require and import load the entry of their build, with the error classes of mqttwire', async () => {
    const check = `console.log(JSON.stringify({ scramSha256: typeof scram.scramSha256, same: scram.AuthenticationError === main.AuthenticationError }));`;
    const cjs = consumer.write('load-scram.cjs', `const scram = require('mqttwire/scram'); const main = require('mqttwire');\nconsole.error(require.resolve('mqttwire/scram'));\n${check}`);
    const esm = consumer.write('load-scram.mjs', `import * as scram from 'mqttwire/scram'; import * as main from 'mqttwire';\nconsole.error(import.meta.resolve('mqttwire/scram'));\n${check}`);
    for (const [file, resolved] of [
      [cjs, path.join(repoRoot, 'dist/cjs/auth/scram.js')],
      [esm, esmEntry],
    ] as const) {
      const r = await runChild(process.execPath, [file], { cwd: consumer.dir, timeoutMs: LIMIT_MS });
      expect(r.code, describeRun(file, r)).toBe(0);
      expect(r.stderr.trim()).toBe(resolved);
      expect(JSON.parse(r.stdout)).toEqual({ scramSha256: 'function', same: true });
    }
  });
});
