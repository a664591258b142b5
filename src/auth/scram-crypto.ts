/**
 * The arithmetic of SCRAM (RFC 5802 section 3) on Web Crypto (`crypto.subtle`), which Node 20+,
 * Deno, Bun, workerd and browsers (in secure contexts) all have: PBKDF2 for Hi(), HMAC, a hash.
 * The hash is a parameter so that RFC 5802's SHA-1 test vector can check the same code that
 * SCRAM-SHA-256 (RFC 7677) runs; only SHA-256 is offered to applications.
 */
import { AuthenticationError } from '../errors.js';
import { encodeBase64 } from './base64.js';

export type ScramHash = 'SHA-1' | 'SHA-256';

/** Bytes Web Crypto accepts (not backed by a SharedArrayBuffer). */
export type Bytes = Uint8Array<ArrayBuffer>;

const HASH_BYTES: Record<ScramHash, number> = { 'SHA-1': 20, 'SHA-256': 32 };

/** The keys one (password, salt, iteration count) gives; what a client may cache between exchanges. */
export interface ScramKeys {
  clientKey: Bytes;
  storedKey: Bytes;
  serverKey: Bytes;
}

/** `crypto.subtle`, or an AuthenticationError saying the runtime lacks it. */
export function webCrypto(): SubtleCrypto {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (subtle === undefined) {
    throw new AuthenticationError(
      'WEB_CRYPTO_UNAVAILABLE',
      'SCRAM needs Web Crypto (crypto.subtle), which this runtime does not provide (browsers offer it only to secure contexts: https:// pages and localhost)',
    );
  }
  return subtle;
}

/**
 * SaltedPassword := Hi(password, salt, i) (PBKDF2 with HMAC-H, one block), then
 * ClientKey := HMAC(SaltedPassword, "Client Key"), StoredKey := H(ClientKey),
 * ServerKey := HMAC(SaltedPassword, "Server Key").
 */
export async function deriveKeys(hash: ScramHash, password: Bytes, salt: Bytes, iterations: number): Promise<ScramKeys> {
  const subtle = webCrypto();
  const base = await subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
  const salted = new Uint8Array(await subtle.deriveBits({ name: 'PBKDF2', hash, salt, iterations }, base, HASH_BYTES[hash] * 8));
  const clientKey = await hmac(hash, salted, ascii('Client Key'));
  const serverKey = await hmac(hash, salted, ascii('Server Key'));
  const storedKey = new Uint8Array(await subtle.digest(hash, clientKey));
  return { clientKey, storedKey, serverKey };
}

export async function hmac(hash: ScramHash, key: Bytes, data: Bytes): Promise<Bytes> {
  const subtle = webCrypto();
  const k = await subtle.importKey('raw', key, { name: 'HMAC', hash }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', k, data));
}

export function xor(a: Uint8Array, b: Uint8Array): Bytes {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/** Compares in time that depends only on the lengths, so a forger learns nothing from timing. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** 18 random bytes, base64: 24 printable characters with no "," (144 bits, no padding). */
export function randomNonce(): string {
  const bytes = new Uint8Array(18);
  (globalThis as { crypto: Crypto }).crypto.getRandomValues(bytes);
  return encodeBase64(bytes);
}

function ascii(text: string): Bytes {
  return new TextEncoder().encode(text);
}
