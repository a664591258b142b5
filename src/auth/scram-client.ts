/**
 * The client side of one SCRAM exchange after another (RFC 5802), as a state machine driven by
 * the MQTT 5 AUTH flow: `start()` (or reading `data`) gives client-first for CONNECT (or for AUTH
 * 0x19, re-authentication); `onChallenge` answers server-first with client-final; the success
 * packet's data goes to `verifyFinal`, which resolves only if the server proved it knows the
 * password. See docs/auth.md for how the client plugs it in.
 *
 *   idle ──start()──▶ first-sent ──onChallenge(server-first)──▶ final-sent ──verifyFinal(server-final)──▶ verified
 *                                                                    └──onChallenge(server-final)──▶ server-verified ──verifyFinal()──▶ verified
 *   any error ──▶ failed; start() from any state begins a new exchange.
 */
import { AuthenticationError, InvalidArgumentError } from '../errors.js';
import { encodeBase64 } from './base64.js';
import { saslprep } from './saslprep.js';
import { deriveKeys, equalBytes, hmac, webCrypto, xor, type Bytes, type ScramHash, type ScramKeys } from './scram-crypto.js';
import { GS2_HEADER, clientFinalWithoutProof, clientFirstBare, parseServerFinal, parseServerFirst, serverText } from './scram-messages.js';

/** What the `auth` client option takes (coming with MQTT 5 support), and more: see docs/auth.md. */
export interface ScramMechanism<Method extends string = 'SCRAM-SHA-256'> {
  /** The Authentication Method of CONNECT and AUTH. */
  readonly method: Method;
  /**
   * client-first-message: the Authentication Data of CONNECT (or of AUTH 0x19). Reading it
   * returns the message of the exchange that is waiting for server-first, and otherwise begins a
   * new exchange (a fresh nonce): so each CONNECT that reads it once gets its own exchange.
   */
  readonly data: Uint8Array;
  /** Begins a new exchange (a fresh nonce, any previous exchange forgotten); returns client-first. */
  start(): Uint8Array;
  /**
   * Answers the server's challenge (the Authentication Data of AUTH 0x18): server-first gets
   * client-final. If the server sends server-final as a challenge instead of with its success
   * packet, it is verified here and the answer is empty.
   */
  onChallenge(serverData: Uint8Array): Promise<Uint8Array>;
  /**
   * The exchange is over on the server's side: pass the Authentication Data of CONNACK 0x00 (or of
   * AUTH 0x00 after re-authentication), or undefined if it had none. Resolves once the server
   * has proven it knows the password (its signature in server-final); rejects otherwise.
   */
  verifyFinal(serverData: Uint8Array | undefined): Promise<void>;
}

export interface ScramClientConfig<Method extends string> {
  method: Method;
  hash: ScramHash;
  username: string;
  password: string;
  /** Server-first with a lower iteration count is refused (RFC 7677: at least 4096). */
  minIterations: number;
  /** Server-first with a higher count is refused: a server cannot make us burn seconds of CPU. */
  maxIterations: number;
  /** The client nonce of each exchange (printable ASCII without ","). Tests pass RFC vectors' nonces. */
  nonce: () => string;
}

type State =
  | { step: 'idle' | 'busy' | 'verified' | 'failed' }
  | { step: 'first-sent'; nonce: string; bare: string; message: Uint8Array }
  | { step: 'final-sent' | 'server-verified'; serverSignature: Uint8Array };

const encoder = new TextEncoder();

export function createScramClient<Method extends string>(config: ScramClientConfig<Method>): ScramMechanism<Method> {
  webCrypto();
  const username = saslprep(config.username, { name: 'username', allowUnassigned: true, secret: false });
  if (username === '') throw new InvalidArgumentError('username is empty after SASLprep (RFC 4013): SCRAM needs a user name');
  const preparedPassword = saslprep(config.password, { name: 'password', allowUnassigned: false, secret: true });
  if (preparedPassword === '') throw new InvalidArgumentError('password is empty after SASLprep (RFC 4013): SCRAM needs a password');
  const password = encoder.encode(preparedPassword);
  const { hash, method } = config;

  let state: State = { step: 'idle' };
  /** Keys for the last (salt, iteration count): a reconnect to the same server skips PBKDF2. */
  let cached: { salt: string; iterations: number; keys: ScramKeys } | undefined;

  function start(): Uint8Array {
    const nonce = config.nonce();
    const bare = clientFirstBare(username, nonce);
    const message = encoder.encode(GS2_HEADER + bare);
    state = { step: 'first-sent', nonce, bare, message };
    return message.slice();
  }

  /** Runs one step with the state set to busy; an error fails the exchange, unless a new one began meanwhile. */
  async function step<T>(run: () => Promise<{ next: State; result: T }>): Promise<T> {
    const busy: State = { step: 'busy' };
    state = busy;
    try {
      const { next, result } = await run();
      if (state === busy) state = next;
      return result;
    } catch (err) {
      if (state === busy) state = { step: 'failed' };
      throw err;
    }
  }

  async function keysFor(salt: Bytes, iterations: number): Promise<ScramKeys> {
    const saltText = encodeBase64(salt);
    if (cached?.salt === saltText && cached.iterations === iterations) return cached.keys;
    const keys = await deriveKeys(hash, password, salt, iterations);
    cached = { salt: saltText, iterations, keys };
    return keys;
  }

  async function answerServerFirst(first: Extract<State, { step: 'first-sent' }>, data: Uint8Array): Promise<{ next: State; result: Uint8Array }> {
    const text = serverText(data, 'server-first-message');
    const server = parseServerFirst(text);
    if (!server.nonce.startsWith(first.nonce)) {
      throw new AuthenticationError('SCRAM_NONCE_MISMATCH', "the server's SCRAM nonce does not begin with the nonce this client sent (RFC 5802 section 5.1)");
    }
    if (server.iterations < config.minIterations) {
      throw new AuthenticationError(
        'SCRAM_ITERATIONS_TOO_LOW',
        `the server asked for ${server.iterationsText} PBKDF2 iterations, fewer than the ${config.minIterations} this client accepts (RFC 7677: at least 4096; see the minIterations option)`,
      );
    }
    if (server.iterations > config.maxIterations) {
      throw new AuthenticationError(
        'SCRAM_ITERATIONS_TOO_HIGH',
        `the server asked for ${shortNumber(server.iterationsText)} PBKDF2 iterations, more than the ${config.maxIterations} this client accepts (see the maxIterations option)`,
      );
    }
    const keys = await keysFor(server.salt, server.iterations);
    const withoutProof = clientFinalWithoutProof(server.nonce);
    const authMessage = encoder.encode(`${first.bare},${text},${withoutProof}`);
    const clientSignature = await hmac(hash, keys.storedKey, authMessage);
    const serverSignature = await hmac(hash, keys.serverKey, authMessage);
    const proof = encodeBase64(xor(keys.clientKey, clientSignature));
    return { next: { step: 'final-sent', serverSignature }, result: encoder.encode(`${withoutProof},p=${proof}`) };
  }

  function checkServerFinal(serverSignature: Uint8Array, data: Uint8Array): void {
    const { verifier } = parseServerFinal(serverText(data, 'server-final-message'));
    if (!equalBytes(verifier, serverSignature)) {
      throw new AuthenticationError('SCRAM_BAD_SERVER_SIGNATURE', "the server's SCRAM signature is wrong: it has not proven that it knows the password");
    }
  }

  /** Rejects with `error` and ends the exchange, unless a step is running (that one goes on). */
  function refuse(error: AuthenticationError): Promise<never> {
    if (state.step !== 'busy') state = { step: 'failed' };
    return Promise.reject(error);
  }

  function outOfOrder(what: string): AuthenticationError {
    return new AuthenticationError('SCRAM_OUT_OF_ORDER', `${what} (the SCRAM exchange is ${state.step === 'busy' ? 'busy with the previous message' : `at step ${state.step}`})`);
  }

  return {
    method,
    get data(): Uint8Array {
      return state.step === 'first-sent' ? state.message.slice() : start();
    },
    start,
    onChallenge(serverData: Uint8Array): Promise<Uint8Array> {
      const current = state;
      if (!(serverData instanceof Uint8Array)) {
        return refuse(new AuthenticationError('SCRAM_MALFORMED', 'the server sent an authentication challenge without data (RFC 5802 section 7)'));
      }
      if (current.step === 'first-sent') return step(() => answerServerFirst(current, serverData));
      if (current.step === 'final-sent') {
        return step(async () => {
          checkServerFinal(current.serverSignature, serverData);
          return { next: { step: 'server-verified', serverSignature: current.serverSignature }, result: new Uint8Array(0) };
        });
      }
      return refuse(outOfOrder('the server sent an authentication challenge the exchange does not expect'));
    },
    verifyFinal(serverData: Uint8Array | undefined): Promise<void> {
      const current = state;
      const empty = serverData === undefined || serverData.length === 0;
      if (current.step === 'final-sent' || current.step === 'server-verified') {
        if (!empty) {
          return step(async () => {
            checkServerFinal(current.serverSignature, serverData);
            return { next: { step: 'verified' }, result: undefined };
          });
        }
        if (current.step === 'server-verified') {
          state = { step: 'verified' };
          return Promise.resolve();
        }
        return refuse(
          new AuthenticationError('SCRAM_MISSING_SERVER_FINAL', 'the server reported success without its SCRAM signature (server-final): it has not proven that it knows the password'),
        );
      }
      return refuse(
        outOfOrder(
          current.step === 'first-sent'
            ? 'the server reported success before the SCRAM exchange was complete, so it has not proven that it knows the password'
            : 'the server reported success the exchange does not expect',
        ),
      );
    },
  };
}

/** A number as the server wrote it, cut short if it is absurdly long (it goes into an error message). */
function shortNumber(digits: string): string {
  return digits.length <= 16 ? digits : `${digits.slice(0, 16)}... (${digits.length} digits)`;
}
