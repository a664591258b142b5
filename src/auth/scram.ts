/**
 * `mqttwire/scram`: SCRAM-SHA-256 (RFC 5802, RFC 7677) for MQTT 5 enhanced authentication, on
 * Web Crypto only, so it runs in Node 20+, Deno, Bun, workerd and browsers. Its own entry point:
 * an application that does not import it does not carry it (nor its SASLprep tables).
 *
 *   import { scramSha256 } from 'mqttwire/scram';
 *   const auth = scramSha256({ username: 'alice', password: 's3cret' });
 *   // auth.method, auth.data, auth.onChallenge, auth.verifyFinal: see docs/auth.md
 *
 * @module mqttwire/scram
 */
import { InvalidArgumentError } from '../errors.js';
import { createScramClient, type ScramMechanism } from './scram-client.js';
import { randomNonce } from './scram-crypto.js';

export type { ScramMechanism } from './scram-client.js';
export { AuthenticationError, type AuthenticationErrorCode } from '../errors.js';

/** Options of `scramSha256()`: the credentials, and the iteration counts accepted from the server. */
export interface ScramOptions {
  /** The user name: prepared with SASLprep (RFC 4013), then "," and "=" escaped for the wire. */
  username: string;
  /** The password: prepared with SASLprep (RFC 4013); never sent, never in an error message. */
  password: string;
  /**
   * The lowest iteration count accepted from the server. Default 4096, the least RFC 7677 allows
   * (a SHOULD): a lower count from the server is refused with SCRAM_ITERATIONS_TOO_LOW. Lower it
   * only for a server you cannot change, knowing that a stolen verifier is then cheaper to crack.
   */
  minIterations?: number;
  /**
   * The highest iteration count accepted from the server. Default 1,000,000 (above the 600,000
   * OWASP recommends for PBKDF2-HMAC-SHA256): a server asking for more is refused with
   * SCRAM_ITERATIONS_TOO_HIGH rather than allowed to stall the client.
   */
  maxIterations?: number;
}

/** The default `minIterations`: RFC 7677's least iteration count. */
export const DEFAULT_MIN_ITERATIONS = 4096;
/** The default `maxIterations`. */
export const DEFAULT_MAX_ITERATIONS = 1_000_000;

/**
 * A SCRAM-SHA-256 mechanism for the `auth` option (coming with MQTT 5 support). Throws
 * InvalidArgumentError for a username or password SASLprep refuses (or that is empty), and
 * AuthenticationError `WEB_CRYPTO_UNAVAILABLE` where the runtime has no `crypto.subtle`.
 */
export function scramSha256(options: ScramOptions): ScramMechanism<'SCRAM-SHA-256'> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('scramSha256() needs an options object: { username, password }');
  const { username, password } = options;
  if (typeof username !== 'string') throw new InvalidArgumentError(`username must be a string, got ${kindOf(username)}`);
  if (typeof password !== 'string') throw new InvalidArgumentError(`password must be a string, got ${kindOf(password)}`);
  const minIterations = options.minIterations ?? DEFAULT_MIN_ITERATIONS;
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  for (const [name, value] of [
    ['minIterations', minIterations],
    ['maxIterations', maxIterations],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${kindOf(value)}`);
  }
  if (minIterations > maxIterations) throw new InvalidArgumentError(`minIterations (${minIterations}) is above maxIterations (${maxIterations})`);
  return createScramClient({ method: 'SCRAM-SHA-256', hash: 'SHA-256', username, password, minIterations, maxIterations, nonce: randomNonce });
}

/** A value's kind for an error message; a password's value is never repeated. */
function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'number') return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
