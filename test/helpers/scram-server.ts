/**
 * The server side of SCRAM (RFC 5802, RFC 7677) for tests: it plays the broker's part of an
 * enhanced-authentication exchange. It computes with node:crypto, not Web Crypto, so that a test
 * of our client (src/auth, on Web Crypto) checks it against a second implementation.
 *
 *   const server = scramServer({ users: { alice: storedCredentials('s3cret') } });
 *   const exchange = server.exchange();
 *   const serverFirst = exchange.first(clientFirst);           // AUTH 0x18 to the client
 *   const { ok, message } = exchange.final(clientFinal);       // CONNACK 0x00 with message, or a refusal
 *
 * Passwords and user names are taken as given: a server prepares them (SASLprep) when it stores
 * them, so tests pass them already prepared.
 */
// Buffer imported, not global: Deno runs this file too (test/runtimes/scram.test.ts).
import { Buffer } from 'node:buffer';
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type ScramServerHash = 'sha1' | 'sha256';

/** What a server keeps for a user instead of the password (RFC 5802 section 3). */
export interface StoredCredentials {
  hash: ScramServerHash;
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** The credentials a server derives when the (prepared) password is set. */
export function storedCredentials(password: string, opts: { salt?: Uint8Array; iterations?: number; hash?: ScramServerHash } = {}): StoredCredentials {
  const hash = opts.hash ?? 'sha256';
  const salt = Buffer.from(opts.salt ?? randomBytes(16));
  const iterations = opts.iterations ?? 4096;
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, hash === 'sha1' ? 20 : 32, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  return {
    hash,
    salt,
    iterations,
    storedKey: createHash(hash).update(clientKey).digest(),
    serverKey: createHmac(hash, salted).update('Server Key').digest(),
  };
}

export interface ScramServerOptions {
  /** Credentials by user name (after unescaping =2C and =3D); a name not found fails the proof. */
  users: Record<string, StoredCredentials>;
  /** The server's part of each nonce (printable ASCII without ","); random by default. */
  serverNonce?: () => string;
  /**
   * An impostor: it accepts any proof and signs server-final with the ServerKey it has. Paired with
   * credentials of another password, it is a server that does not know the user's password.
   */
  acceptAnyProof?: boolean;
}

export interface ServerFinalResult {
  /** True when the client's proof was right (or acceptAnyProof): `message` is v=<signature>. */
  ok: boolean;
  /** server-final-message: v=<signature>, or e=<error>. */
  message: Uint8Array;
  /** The user name the client sent (unescaped). */
  username: string;
}

export interface ScramServerExchange {
  /** client-first-message in, server-first-message out. Throws on a client-first the grammar refuses. */
  first(clientFirst: Uint8Array): Uint8Array;
  /** client-final-message in, server-final-message out (with whether the proof was right). */
  final(clientFinal: Uint8Array): ServerFinalResult;
}

export interface ScramServer {
  exchange(): ScramServerExchange;
}

const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;

export function scramServer(options: ScramServerOptions): ScramServer {
  return {
    exchange() {
      let firstState: { username: string; bare: string; serverFirst: string; nonce: string; creds: StoredCredentials | undefined } | undefined;
      return {
        first(clientFirst) {
          const text = Buffer.from(clientFirst).toString('utf8');
          const m = /^n,,(n=([^,]*),r=([^,]*)(?:,[A-Za-z]=[^,]+)*)$/.exec(text);
          if (!m) throw new Error(`scram-server: not a client-first-message without channel binding: ${JSON.stringify(text)}`);
          const [, bare, saslname, clientNonce] = m as unknown as [string, string, string, string];
          if (!PRINTABLE.test(clientNonce)) throw new Error(`scram-server: client nonce ${JSON.stringify(clientNonce)} is not printable ASCII without ","`);
          if (/=(?!2C|3D)/.test(saslname)) throw new Error(`scram-server: user name ${JSON.stringify(saslname)} has an "=" that is not =2C or =3D`);
          const username = saslname.replace(/=2C/g, ',').replace(/=3D/g, '=');
          const creds = Object.hasOwn(options.users, username) ? options.users[username] : undefined;
          const nonce = clientNonce + (options.serverNonce?.() ?? randomBytes(18).toString('base64'));
          // An unknown user gets a made-up salt, so server-first does not say the name is unknown.
          const salt = creds?.salt ?? randomBytes(16);
          const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${creds?.iterations ?? 4096}`;
          firstState = { username, bare, serverFirst, nonce, creds };
          return Buffer.from(serverFirst, 'utf8');
        },
        final(clientFinal) {
          if (!firstState) throw new Error('scram-server: client-final before client-first');
          const { username, bare, serverFirst, nonce, creds } = firstState;
          const text = Buffer.from(clientFinal).toString('utf8');
          const m = /^(c=([^,]*),r=([^,]*)(?:,[A-Za-z]=[^,]+)*),p=([^,]*)$/.exec(text);
          if (!m) throw new Error(`scram-server: not a client-final-message: ${JSON.stringify(text)}`);
          const [, withoutProof, channelBinding, finalNonce, proofText] = m as unknown as [string, string, string, string, string];
          const reply = (ok: boolean, message: string): ServerFinalResult => ({ ok, message: Buffer.from(message, 'utf8'), username });
          if (channelBinding !== 'biws') return reply(false, 'e=channel-bindings-dont-match');
          if (finalNonce !== nonce) return reply(false, 'e=other-error');
          if (!creds) return reply(false, 'e=unknown-user');
          const authMessage = `${bare},${serverFirst},${withoutProof}`;
          const clientSignature = createHmac(creds.hash, creds.storedKey).update(authMessage).digest();
          const proof = Buffer.from(proofText, 'base64');
          const clientKey = Buffer.from(proof.map((b, i) => b ^ (clientSignature[i] ?? 0)));
          const computed = createHash(creds.hash).update(clientKey).digest();
          const proofOk = proof.length === clientSignature.length && timingSafeEqual(computed, creds.storedKey);
          if (!proofOk && !options.acceptAnyProof) return reply(false, 'e=invalid-proof');
          const serverSignature = createHmac(creds.hash, creds.serverKey).update(authMessage).digest('base64');
          return reply(true, `v=${serverSignature}`);
        },
      };
    },
  };
}
