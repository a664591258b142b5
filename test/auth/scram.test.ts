/**
 * SCRAM-SHA-256 (src/auth): the RFC 7677 test vector byte for byte, the RFC 5802 SHA-1 vector
 * through the same code, every way the server can be refused (each with its own code), the order
 * of the exchange, and property tests against a test-side server on node:crypto
 * (test/helpers/scram-server.ts). Set FC_SEED to replay a property failure.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthenticationError, InvalidArgumentError, MqttError } from '../../src/errors.js';
import { scramSha256, type ScramMechanism } from '../../src/auth/scram.js';
import { createScramClient, type ScramClientConfig } from '../../src/auth/scram-client.js';
import { scramServer, storedCredentials, type ScramServerOptions } from '../helpers/scram-server.js';
import { RFC7677 } from '../helpers/scram-vectors.js';

// An independent SASLprep (RFC 4013) to prepare what the test server stores, as a server would.
const mongodbSaslprep = createRequire(import.meta.url)('@mongodb-js/saslprep') as (input: string, opts?: { allowUnassigned?: boolean }) => string;
/** Its result with unassigned code points allowed; it throws a TypeError where the result is empty. */
function referenceSaslprep(input: string): string {
  try {
    return mongodbSaslprep(input, { allowUnassigned: true });
  } catch (err) {
    if (err instanceof TypeError && mongodbSaslprep(`${input}a`, { allowUnassigned: true }) === 'a') return '';
    throw err;
  }
}

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...(seed !== undefined ? { seed } : {}) });

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

/** Our client with a fixed nonce (the RFC vectors') or the hash of RFC 5802's SHA-1 vector. */
function client(over: Partial<ScramClientConfig<string>> = {}): ScramMechanism<string> {
  return createScramClient({
    method: 'SCRAM-SHA-256',
    hash: 'SHA-256',
    username: 'user',
    password: 'pencil',
    minIterations: 4096,
    maxIterations: 1_000_000,
    nonce: () => 'rOprNGfwEbeRWgbNEkqO',
    ...over,
  });
}

/** The rejection of `promise`, checked to be an AuthenticationError with `code`. */
async function refusal(promise: Promise<unknown>, code: string): Promise<AuthenticationError> {
  const err = await promise.then(
    () => expect.fail(`resolved; expected a rejection with ${code}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthenticationError);
  expect(err).toBeInstanceOf(MqttError);
  expect((err as AuthenticationError).code).toBe(code);
  return err as AuthenticationError;
}

// RFC 5802 section 5: the same exchange with SHA-1.
const RFC5802 = {
  clientNonce: 'fyko+d2lbbFgONRv9qkxdawL',
  serverNonce: '3rfcNHYJY1ZVvWVs7j',
  salt: 'QSXCR+Q6sek8bf92',
  clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
  serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
  clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
  serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
};

describe('test vectors', () => {
  it('RFC 7677: client-first, client-final are the RFC messages byte for byte, and its server-final verifies', async () => {
    const m = client();
    expect(m.method).toBe('SCRAM-SHA-256');
    expect(text(m.data)).toBe(RFC7677.clientFirst);
    expect(text(await m.onChallenge(bytes(RFC7677.serverFirst)))).toBe(RFC7677.clientFinal);
    await expect(m.verifyFinal(bytes(RFC7677.serverFinal))).resolves.toBeUndefined();
  });

  it('RFC 5802: the same code with SHA-1 gives the SHA-1 vector', async () => {
    const m = client({ method: 'SCRAM-SHA-1', hash: 'SHA-1', nonce: () => RFC5802.clientNonce });
    expect(text(m.data)).toBe(RFC5802.clientFirst);
    expect(text(await m.onChallenge(bytes(RFC5802.serverFirst)))).toBe(RFC5802.clientFinal);
    await expect(m.verifyFinal(bytes(RFC5802.serverFinal))).resolves.toBeUndefined();
  });

  it.each([
    { name: 'RFC 7677', v: RFC7677, hash: 'sha256' as const },
    { name: 'RFC 5802', v: RFC5802, hash: 'sha1' as const },
  ])('the test server plays the $name vector: its server-first and server-final are the RFC messages', ({ v, hash }) => {
    const creds = storedCredentials('pencil', { salt: Buffer.from(v.salt, 'base64'), iterations: 4096, hash });
    const exchange = scramServer({ users: { user: creds }, serverNonce: () => v.serverNonce }).exchange();
    expect(text(exchange.first(bytes(v.clientFirst)))).toBe(v.serverFirst);
    const result = exchange.final(bytes(v.clientFinal));
    expect(result).toMatchObject({ ok: true, username: 'user' });
    expect(text(result.message)).toBe(v.serverFinal);
  });
});

describe('scramSha256()', () => {
  it('gives the SCRAM-SHA-256 method and a client-first with the user name and a fresh 24-character nonce per exchange', () => {
    const m = scramSha256({ username: 'alice', password: 's3cret' });
    expect(m.method).toBe('SCRAM-SHA-256');
    const first = text(m.start());
    expect(first).toMatch(/^n,,n=alice,r=[A-Za-z0-9+/]{24}$/);
    const again = text(m.start());
    expect(again).toMatch(/^n,,n=alice,r=[A-Za-z0-9+/]{24}$/);
    expect(again).not.toBe(first);
  });

  it('data is the waiting exchange\'s client-first until server-first comes; after an exchange ends it begins a new one', async () => {
    const server = scramServer({ users: { alice: storedCredentials('s3cret') } });
    const m = scramSha256({ username: 'alice', password: 's3cret' });
    const first = text(m.data);
    expect(text(m.data)).toBe(first);
    const exchange = server.exchange();
    const final = await m.onChallenge(exchange.first(bytes(first)));
    await m.verifyFinal(exchange.final(final).message);
    const next = text(m.data);
    expect(next).toMatch(/^n,,n=alice,r=/);
    expect(next).not.toBe(first);
  });

  it('escapes "," and "=" in the user name as =2C and =3D, and the server finds the user', async () => {
    const m = scramSha256({ username: 'a,b=c', password: 'pw' });
    expect(text(m.data)).toMatch(/^n,,n=a=2Cb=3Dc,r=/);
    await expect(run(m, { users: { 'a,b=c': storedCredentials('pw') } })).resolves.toBeUndefined();
  });

  it('prepares user name and password with SASLprep: U+2168 ROMAN NUMERAL NINE is IX, a soft hyphen is nothing', async () => {
    const m = scramSha256({ username: '\u2168', password: 'I\u00ADX\u00A0y' });
    expect(text(m.data)).toMatch(/^n,,n=IX,r=/);
    // The server stores the prepared password "IX y".
    await expect(run(m, { users: { IX: storedCredentials('IX y') } })).resolves.toBeUndefined();
  });

  it('a password SASLprep maps differently does not authenticate: positive control for the test above', async () => {
    const m = scramSha256({ username: '\u2168', password: 'I\u00ADX\u00A0y' });
    await refusal(run(m, { users: { IX: storedCredentials('I\u00ADX\u00A0y') } }), 'SCRAM_SERVER_ERROR');
  });

  it.each([
    { name: 'a username that is not a string', options: { username: 42, password: 'x' }, message: /^username must be a string, got 42$/ },
    { name: 'a password that is not a string', options: { username: 'u', password: undefined }, message: /^password must be a string, got undefined$/ },
    { name: 'an empty username', options: { username: '', password: 'x' }, message: /^username is empty after SASLprep/ },
    { name: 'a username of characters mapped to nothing', options: { username: '\u00AD\u200C', password: 'x' }, message: /^username is empty after SASLprep/ },
    { name: 'an empty password', options: { username: 'u', password: '' }, message: /^password is empty after SASLprep/ },
    { name: 'a username with a control character', options: { username: 'a\u0007', password: 'x' }, message: /^username contains U\+0007, an ASCII control character .*C\.2\.1/ },
    { name: 'a password with a control character', options: { username: 'u', password: 'pw\n' }, message: /^password contains an ASCII control character \(RFC 3454 table C\.2\.1\)/ },
    { name: 'a password with a private-use character', options: { username: 'u', password: 'pw\uE000' }, message: /^password contains a private-use character/ },
    { name: 'a password mixing right-to-left and left-to-right', options: { username: 'u', password: '\u0627a\u0627' }, message: /^password mixes right-to-left and left-to-right/ },
    { name: 'a minIterations of 0', options: { username: 'u', password: 'x', minIterations: 0 }, message: /^minIterations must be a positive integer, got 0$/ },
    { name: 'a maxIterations that is not an integer', options: { username: 'u', password: 'x', maxIterations: 1.5 }, message: /^maxIterations must be a positive integer, got 1\.5$/ },
    { name: 'minIterations above maxIterations', options: { username: 'u', password: 'x', minIterations: 5000, maxIterations: 4096 }, message: /^minIterations \(5000\) is above maxIterations \(4096\)$/ },
  ])('refuses $name with InvalidArgumentError', ({ options, message }) => {
    let caught: unknown;
    try {
      scramSha256(options as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
    expect((caught as Error).message).toMatch(message);
  });

  it('never repeats the password in an error message', () => {
    for (const password of ['secret\u0007', '\u0627secret', 'secret\uE000']) {
      expect(() => scramSha256({ username: 'u', password })).toThrow(InvalidArgumentError);
      try {
        scramSha256({ username: 'u', password });
      } catch (err) {
        expect((err as Error).message).not.toContain('secret');
        expect((err as Error).message).not.toMatch(/U\+/);
      }
    }
  });

  describe('without Web Crypto', () => {
    afterEach(() => {
      vi.unstubAllGlobals();
    });

    it('throws WEB_CRYPTO_UNAVAILABLE where the runtime has no crypto.subtle (a browser page over http://)', () => {
      expect(scramSha256({ username: 'u', password: 'p' }).method).toBe('SCRAM-SHA-256');
      vi.stubGlobal('crypto', { getRandomValues: (a: Uint8Array) => a });
      let caught: unknown;
      try {
        scramSha256({ username: 'u', password: 'p' });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(AuthenticationError);
      expect((caught as AuthenticationError).code).toBe('WEB_CRYPTO_UNAVAILABLE');
    });
  });
});

/** One whole exchange of `m` with a test server; resolves when the client verified the server. */
async function run(m: ScramMechanism<string>, options: ScramServerOptions): Promise<void> {
  const exchange = scramServer(options).exchange();
  const clientFinal = await m.onChallenge(exchange.first(m.start()));
  await m.verifyFinal(exchange.final(clientFinal).message);
}

/** A client waiting for server-first, and a genuine server-first from the RFC 7677 vector to tamper with. */
function waitingClient(over: Partial<ScramClientConfig<string>> = {}): ScramMechanism<string> {
  const m = client(over);
  m.start();
  return m;
}

describe('refusing server-first', () => {
  it('accepts the genuine server-first (the positive control for every case below)', async () => {
    expect(text(await waitingClient().onChallenge(bytes(RFC7677.serverFirst)))).toBe(RFC7677.clientFinal);
  });

  it('SCRAM_NONCE_MISMATCH: the nonce does not begin with ours', async () => {
    const forged = RFC7677.serverFirst.replace('r=rOprNGfwEbeRWgbNEkqO', 'r=XOprNGfwEbeRWgbNEkqO');
    await refusal(waitingClient().onChallenge(bytes(forged)), 'SCRAM_NONCE_MISMATCH');
    // Only a prefix of ours, too short: not ours either.
    await refusal(waitingClient().onChallenge(bytes('r=rOprNGfwEbeRWgbNEk,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')), 'SCRAM_NONCE_MISMATCH');
  });

  it('SCRAM_ITERATIONS_TOO_LOW: fewer than 4096 iterations (RFC 7677), unless minIterations allows them', async () => {
    const at = (i: number): Uint8Array => bytes(RFC7677.serverFirst.replace('i=4096', `i=${i}`));
    const err = await refusal(waitingClient().onChallenge(at(4095)), 'SCRAM_ITERATIONS_TOO_LOW');
    expect(err.message).toMatch(/4095 PBKDF2 iterations, fewer than the 4096/);
    await expect(waitingClient().onChallenge(at(4096))).resolves.toBeInstanceOf(Uint8Array);
    await expect(waitingClient({ minIterations: 1000 }).onChallenge(at(1000))).resolves.toBeInstanceOf(Uint8Array);
    // scramSha256's default is the same 4096.
    await refusal(run(scramSha256({ username: 'u', password: 'p' }), { users: { u: storedCredentials('p', { iterations: 4095 }) } }), 'SCRAM_ITERATIONS_TOO_LOW');
    await expect(run(scramSha256({ username: 'u', password: 'p' }), { users: { u: storedCredentials('p', { iterations: 4096 }) } })).resolves.toBeUndefined();
  });

  it('SCRAM_ITERATIONS_TOO_HIGH: more than maxIterations (1,000,000 by default)', async () => {
    const at = (i: string): Uint8Array => bytes(RFC7677.serverFirst.replace('i=4096', `i=${i}`));
    await refusal(waitingClient().onChallenge(at('1000001')), 'SCRAM_ITERATIONS_TOO_HIGH');
    const huge = await refusal(waitingClient().onChallenge(at('9'.repeat(5000))), 'SCRAM_ITERATIONS_TOO_HIGH');
    expect(huge.message).toMatch(/^the server asked for 9{16}\.\.\. \(5000 digits\) PBKDF2 iterations, more than the 1000000 /);
    await refusal(waitingClient({ maxIterations: 5000 }).onChallenge(at('5001')), 'SCRAM_ITERATIONS_TOO_HIGH');
    await expect(waitingClient({ maxIterations: 5000 }).onChallenge(at('5000'))).resolves.toBeInstanceOf(Uint8Array);
  });

  const sf = RFC7677.serverFirst;
  it.each([
    { name: 'an empty message', data: '' },
    { name: 'no nonce first', data: sf.replace('r=', 'x=') },
    { name: 'salt before nonce', data: 's=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,i=4096' },
    { name: 'no salt', data: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,i=4096' },
    { name: 'no iteration count', data: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==' },
    { name: 'a nonce with a space', data: sf.replace('%hvY', '%h Y') },
    { name: 'a nonce with a non-ASCII character', data: sf.replace('%hvY', '%h\u00e9Y') },
    { name: 'a salt that is not base64', data: sf.replace('s=W22ZaJ0SNY7soEsUEjb6gQ==', 's=W22ZaJ0SNY7soEsUEjb6gQ') },
    { name: 'a salt with whitespace', data: sf.replace('s=W22ZaJ0SNY7soEsUEjb6gQ==', 's=W22ZaJ0S NY7soEsUEjb6gQ=') },
    { name: 'an empty salt', data: sf.replace('s=W22ZaJ0SNY7soEsUEjb6gQ==', 's=') },
    { name: 'an iteration count of 0', data: sf.replace('i=4096', 'i=0') },
    { name: 'an iteration count with a leading zero', data: sf.replace('i=4096', 'i=04096') },
    { name: 'a negative iteration count', data: sf.replace('i=4096', 'i=-4096') },
    { name: 'an iteration count that is not a number', data: sf.replace('i=4096', 'i=4k') },
    { name: 'an empty iteration count', data: sf.replace('i=4096', 'i=') },
    { name: 'a mandatory extension (m=)', data: `m=ext,${sf}` },
    { name: 'an extension that is not letter=value', data: `${sf},foo` },
    { name: 'an empty extension value', data: `${sf},x=` },
    { name: 'a trailing comma', data: `${sf},` },
  ])('SCRAM_MALFORMED: server-first with $name', async ({ data }) => {
    await refusal(waitingClient().onChallenge(bytes(data)), 'SCRAM_MALFORMED');
  });

  it('accepts extensions after the iteration count (the grammar allows them)', async () => {
    expect(text(await waitingClient().onChallenge(bytes(`${sf},x=1,y=z=2`)))).toMatch(/^c=biws,r=/);
  });

  it('SCRAM_MALFORMED: server-first that is not UTF-8, or starts with a byte-order mark', async () => {
    const invalid = new Uint8Array([...bytes('r=rOprNGfwEbeRWgbNEkqO'), 0xff, ...bytes(',s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')]);
    await refusal(waitingClient().onChallenge(invalid), 'SCRAM_MALFORMED');
    await refusal(waitingClient().onChallenge(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes(sf)])), 'SCRAM_MALFORMED');
  });

  it('SCRAM_MALFORMED: a challenge without data', async () => {
    await refusal(waitingClient().onChallenge(undefined as unknown as Uint8Array), 'SCRAM_MALFORMED');
  });
});

describe('refusing server-final', () => {
  /** A client that has sent the RFC 7677 client-final and waits for server-final. */
  async function finalSent(): Promise<ScramMechanism<string>> {
    const m = waitingClient();
    await m.onChallenge(bytes(RFC7677.serverFirst));
    return m;
  }

  it('accepts the genuine server-final, also with extensions after it (the positive control)', async () => {
    await expect((await finalSent()).verifyFinal(bytes(RFC7677.serverFinal))).resolves.toBeUndefined();
    await expect((await finalSent()).verifyFinal(bytes(`${RFC7677.serverFinal},x=1`))).resolves.toBeUndefined();
  });

  it('SCRAM_BAD_SERVER_SIGNATURE: every single-bit change of the RFC signature', async () => {
    const genuine = Buffer.from(RFC7677.serverFinal.slice(2), 'base64');
    for (let bit = 0; bit < genuine.length * 8; bit++) {
      const forged = Buffer.from(genuine);
      forged[bit >> 3]! ^= 1 << (bit & 7);
      await refusal((await finalSent()).verifyFinal(bytes(`v=${forged.toString('base64')}`)), 'SCRAM_BAD_SERVER_SIGNATURE');
    }
  });

  it('SCRAM_BAD_SERVER_SIGNATURE: a signature too short or too long', async () => {
    const genuine = Buffer.from(RFC7677.serverFinal.slice(2), 'base64');
    await refusal((await finalSent()).verifyFinal(bytes(`v=${genuine.subarray(0, 31).toString('base64')}`)), 'SCRAM_BAD_SERVER_SIGNATURE');
    await refusal((await finalSent()).verifyFinal(bytes(`v=${Buffer.concat([genuine, Buffer.from([0])]).toString('base64')}`)), 'SCRAM_BAD_SERVER_SIGNATURE');
  });

  it('SCRAM_SERVER_ERROR: e= from the server, with its reason in serverError', async () => {
    const err = await refusal((await finalSent()).verifyFinal(bytes('e=invalid-proof')), 'SCRAM_SERVER_ERROR');
    expect(err.serverError).toBe('invalid-proof');
    expect(err.message).toBe('the server refused the authentication: invalid-proof');
    const ext = await refusal((await finalSent()).onChallenge(bytes('e=unknown-user')), 'SCRAM_SERVER_ERROR');
    expect(ext.serverError).toBe('unknown-user');
  });

  it.each([
    { name: 'neither v= nor e=', data: 'x=1' },
    { name: 'an empty signature', data: 'v=' },
    { name: 'a signature that is not base64', data: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4' },
    { name: 'an empty error', data: 'e=' },
    { name: 'an extension that is not letter=value', data: `${RFC7677.serverFinal},oops` },
  ])('SCRAM_MALFORMED: server-final with $name', async ({ data }) => {
    await refusal((await finalSent()).verifyFinal(bytes(data)), 'SCRAM_MALFORMED');
  });

  it('SCRAM_MISSING_SERVER_FINAL: success without server-final (no data, or empty data)', async () => {
    await refusal((await finalSent()).verifyFinal(undefined), 'SCRAM_MISSING_SERVER_FINAL');
    await refusal((await finalSent()).verifyFinal(new Uint8Array(0)), 'SCRAM_MISSING_SERVER_FINAL');
  });
});

describe('the order of the exchange', () => {
  it('server-final as a challenge: verified there, answered with nothing, and success then needs no data', async () => {
    const m = waitingClient();
    await m.onChallenge(bytes(RFC7677.serverFirst));
    expect(await m.onChallenge(bytes(RFC7677.serverFinal))).toEqual(new Uint8Array(0));
    await expect(m.verifyFinal(undefined)).resolves.toBeUndefined();
  });

  it('server-final as a challenge and again with success: both must verify', async () => {
    const m = waitingClient();
    await m.onChallenge(bytes(RFC7677.serverFirst));
    await m.onChallenge(bytes(RFC7677.serverFinal));
    await expect(m.verifyFinal(bytes(RFC7677.serverFinal))).resolves.toBeUndefined();
    const forged = waitingClient();
    await forged.onChallenge(bytes(RFC7677.serverFirst));
    await forged.onChallenge(bytes(RFC7677.serverFinal));
    await refusal(forged.verifyFinal(bytes('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')), 'SCRAM_BAD_SERVER_SIGNATURE');
  });

  it('SCRAM_BAD_SERVER_SIGNATURE: a forged server-final sent as a challenge', async () => {
    const m = waitingClient();
    await m.onChallenge(bytes(RFC7677.serverFirst));
    await refusal(m.onChallenge(bytes('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')), 'SCRAM_BAD_SERVER_SIGNATURE');
  });

  it('SCRAM_OUT_OF_ORDER: success before the server sent server-first', async () => {
    const err = await refusal(waitingClient().verifyFinal(bytes(RFC7677.serverFinal)), 'SCRAM_OUT_OF_ORDER');
    expect(err.message).toMatch(/before the SCRAM exchange was complete/);
    await refusal(waitingClient().verifyFinal(undefined), 'SCRAM_OUT_OF_ORDER');
  });

  it('SCRAM_OUT_OF_ORDER: a challenge before any exchange began, and one after the exchange was verified', async () => {
    await refusal(client().onChallenge(bytes(RFC7677.serverFirst)), 'SCRAM_OUT_OF_ORDER');
    const m = waitingClient();
    await m.onChallenge(bytes(RFC7677.serverFirst));
    await m.verifyFinal(bytes(RFC7677.serverFinal));
    await refusal(m.onChallenge(bytes(RFC7677.serverFirst)), 'SCRAM_OUT_OF_ORDER');
    await refusal(m.verifyFinal(bytes(RFC7677.serverFinal)), 'SCRAM_OUT_OF_ORDER');
  });

  it('SCRAM_OUT_OF_ORDER: a second challenge while the first is being answered; the first still completes', async () => {
    const m = waitingClient();
    const first = m.onChallenge(bytes(RFC7677.serverFirst));
    await refusal(m.onChallenge(bytes(RFC7677.serverFirst)), 'SCRAM_OUT_OF_ORDER');
    expect(text(await first)).toBe(RFC7677.clientFinal);
    await expect(m.verifyFinal(bytes(RFC7677.serverFinal))).resolves.toBeUndefined();
  });

  it('a failed exchange stays failed; start() begins a new one that can succeed', async () => {
    const m = waitingClient();
    await refusal(m.onChallenge(bytes('r=nope,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')), 'SCRAM_NONCE_MISMATCH');
    await refusal(m.onChallenge(bytes(RFC7677.serverFirst)), 'SCRAM_OUT_OF_ORDER');
    expect(text(m.start())).toBe(RFC7677.clientFirst);
    expect(text(await m.onChallenge(bytes(RFC7677.serverFirst)))).toBe(RFC7677.clientFinal);
    await expect(m.verifyFinal(bytes(RFC7677.serverFinal))).resolves.toBeUndefined();
  });

  it('start() during an exchange abandons it: a late answer does not revive it', async () => {
    const m = waitingClient();
    const pending = m.onChallenge(bytes(RFC7677.serverFirst));
    m.start();
    await pending;
    // The new exchange waits for its own server-first; the old client-final's server-final is out of order.
    await refusal(m.verifyFinal(bytes(RFC7677.serverFinal)), 'SCRAM_OUT_OF_ORDER');
  });

  it('derives the keys once per salt and iteration count: a second exchange with the same server runs PBKDF2 no more', async () => {
    const deriveBits = vi.spyOn(globalThis.crypto.subtle, 'deriveBits');
    try {
      const m = scramSha256({ username: 'alice', password: 's3cret' });
      const options = { users: { alice: storedCredentials('s3cret') } };
      await run(m, options);
      await run(m, options);
      expect(deriveBits).toHaveBeenCalledTimes(1);
      await run(m, { users: { alice: storedCredentials('s3cret') } });
      expect(deriveBits).toHaveBeenCalledTimes(2);
    } finally {
      deriveBits.mockRestore();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Properties against the test server (node:crypto).

/** Characters SASLprep leaves alone, maps or normalizes, from several scripts (none right-to-left). */
const CHARS = [
  ...'abcXYZ019 ,=+/-_!~"\'\\',
  'é', 'ß', 'Ω', 'ж', '漢', 'ー', '😀', '𝒜',
  '\u00A0', '\u3000', '\u2003', // non-ASCII spaces: mapped to SPACE
  '\u00AD', '\u200B', '\uFE0F', // mapped to nothing (U+200B: to SPACE, which comes first)
  '\uFB01', '\u2168', '\u00AA', '\u00BD', 'e\u0301', '\uFF21', // changed by NFKC
];
const charArb = fc.constantFrom(...CHARS);
const stringArb = fc.array(charArb, { minLength: 1, maxLength: 12 }).map((cs) => cs.join(''));
/** A user name or password that is not empty once prepared. */
const credentialArb = stringArb.filter((s) => referenceSaslprep(s) !== '');
const saltArb = fc.uint8Array({ minLength: 1, maxLength: 48 });
const iterationsArb = fc.integer({ min: 4096, max: 6000 });

describe('properties against a SCRAM server on node:crypto', () => {
  it('client and server agree for any user name, password, salt and iteration count', async () => {
    await fc.assert(
      fc.asyncProperty(credentialArb, credentialArb, saltArb, iterationsArb, async (username, password, salt, iterations) => {
        const stored = storedCredentials(referenceSaslprep(password), { salt, iterations });
        const exchange = scramServer({ users: { [referenceSaslprep(username)]: stored } }).exchange();
        const m = scramSha256({ username, password });
        const clientFinal = await m.onChallenge(exchange.first(m.data));
        const result = exchange.final(clientFinal);
        expect(result.ok).toBe(true);
        await m.verifyFinal(result.message);
      }),
      params(60),
    );
  });

  it('a server that stores another password refuses the proof (e=invalid-proof), and an impostor that accepts it anyway is refused', async () => {
    await fc.assert(
      fc.asyncProperty(credentialArb, credentialArb, saltArb, iterationsArb, async (password, other, salt, iterations) => {
        fc.pre(referenceSaslprep(password) !== referenceSaslprep(other));
        const users = { alice: storedCredentials(referenceSaslprep(other), { salt, iterations }) };
        const honest = scramSha256({ username: 'alice', password });
        const err = await refusal(run(honest, { users }), 'SCRAM_SERVER_ERROR');
        expect(err.serverError).toBe('invalid-proof');
        await refusal(run(scramSha256({ username: 'alice', password }), { users, acceptAnyProof: true }), 'SCRAM_BAD_SERVER_SIGNATURE');
      }),
      params(30),
    );
  });

  it('any server-final signature but the right one is refused', async () => {
    await fc.assert(
      fc.asyncProperty(credentialArb, fc.uint8Array({ minLength: 0, maxLength: 40 }), async (password, forged) => {
        const prepared = referenceSaslprep(password);
        const exchange = scramServer({ users: { u: storedCredentials(prepared) } }).exchange();
        const m = scramSha256({ username: 'u', password });
        const result = exchange.final(await m.onChallenge(exchange.first(m.data)));
        const genuine = text(result.message).slice(2);
        const forgedText = Buffer.from(forged).toString('base64');
        fc.pre(forgedText !== genuine);
        await refusal(m.verifyFinal(bytes(`v=${forgedText}`)), forged.length === 0 ? 'SCRAM_MALFORMED' : 'SCRAM_BAD_SERVER_SIGNATURE');
      }),
      params(60),
    );
  });
});
